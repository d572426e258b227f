package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.util.IllegalReferenceCountException;
import io.slab4j.buffer.BufferPool;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round-5 adversarial review of SlabByteBuf reference counting through Netty's public API. */
class AdapterRound5ReviewTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static BufferPool pool() {
        return BufferPool.builder().name("r5n-" + SEQ.incrementAndGet()).reserve(16L << 20).build();
    }

    private static void join(Thread... ts) throws InterruptedException {
        for (Thread t : ts) {
            t.join(TimeUnit.SECONDS.toMillis(10));
            assertFalse(t.isAlive(), "still running " + t);
        }
    }

    @Test
    void releaseAndRetainEdgeCasesFollowNetty() {
        try (BufferPool p = pool()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(100);
            assertEquals(1, b.refCnt());
            assertThrows(IllegalArgumentException.class, () -> b.release(0));
            assertThrows(IllegalArgumentException.class, () -> b.release(-1));
            assertThrows(IllegalArgumentException.class, () -> b.retain(0));
            assertThrows(IllegalArgumentException.class, () -> b.retain(-3));
            assertEquals(1, b.refCnt());
            b.retain(4);
            assertEquals(5, b.refCnt());
            assertThrows(IllegalReferenceCountException.class, () -> b.release(6));
            assertEquals(5, b.refCnt());
            assertThrows(IllegalReferenceCountException.class, () -> b.retain(Integer.MAX_VALUE));
            assertEquals(5, b.refCnt());
            assertFalse(b.release(4));
            assertEquals(1, b.refCnt());
            assertEquals(1, p.stats().buffersInUse());
            assertTrue(b.release(1));
            assertEquals(0, b.refCnt());
            assertEquals(0, p.stats().buffersInUse());
            assertThrows(IllegalReferenceCountException.class, b::release);
            assertThrows(IllegalReferenceCountException.class, () -> b.release(1));
            assertThrows(IllegalReferenceCountException.class, b::retain);
            assertThrows(IllegalReferenceCountException.class, () -> b.getByte(0));
            assertThrows(IllegalReferenceCountException.class, () -> b.setByte(0, 1));
            assertEquals(0, b.refCnt());
            assertThrows(IllegalReferenceCountException.class, b::duplicate);
            assertThrows(IllegalReferenceCountException.class, b::slice);
            assertThrows(IllegalReferenceCountException.class, b::retainedSlice);
            assertThrows(IllegalReferenceCountException.class, b::retainedDuplicate);
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void derivedBuffersShareTheCountAndReleaseOnce() {
        try (BufferPool p = pool()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(256);
            b.writeLong(7);
            ByteBuf rs = b.retainedSlice(0, 8);
            ByteBuf rd = b.retainedDuplicate();
            assertEquals(3, b.refCnt());
            assertFalse(b.release());
            assertEquals(7, rs.getLong(0));
            assertFalse(rs.release());
            assertEquals(7, rd.getLong(0));
            assertTrue(rd.release());
            assertEquals(0, b.refCnt());
            assertEquals(0, p.stats().buffersInUse());
            assertThrows(IllegalReferenceCountException.class, rs::release);
            assertThrows(IllegalReferenceCountException.class, () -> rd.getLong(0));
            p.checkInvariants();
        }
    }

    @Test
    void retainReleaseRacesFromManyThreadsReturnMemoryOnce() throws Exception {
        int threads = 4;
        try (BufferPool p = pool()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            for (int round = 0; round < 200; round++) {
                ByteBuf b = a.directBuffer(64 + round * 13);
                b.retain(threads);
                CyclicBarrier bar = new CyclicBarrier(threads);
                AtomicInteger finals = new AtomicInteger();
                AtomicReference<Throwable> err = new AtomicReference<>();
                Thread[] ts = new Thread[threads];
                for (int i = 0; i < threads; i++) {
                    ts[i] = new Thread(() -> {
                        try {
                            bar.await();
                            for (int k = 0; k < 50; k++) {
                                b.retain();
                                b.getByte(0);
                                b.release();
                            }
                            if (b.release()) {
                                finals.incrementAndGet();
                            }
                        } catch (Throwable e) {
                            err.set(e);
                        }
                    });
                    ts[i].start();
                }
                join(ts);
                if (err.get() != null) {
                    throw new AssertionError(err.get());
                }
                assertEquals(0, finals.get());
                assertEquals(1, b.refCnt());
                assertTrue(b.release());
                assertEquals(0, p.stats().buffersInUse(), "round " + round);
            }
            p.checkInvariants();
        }
    }

    @Test
    void buffersHandedToAnotherThreadAreIntactAndReleaseThere() throws Exception {
        try (BufferPool p = pool()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            SynchronousQueue<ByteBuf> q = new SynchronousQueue<>();
            AtomicReference<Throwable> err = new AtomicReference<>();
            int n = 2000;
            Thread consumer = new Thread(() -> {
                try {
                    for (int i = 0; i < n; i++) {
                        ByteBuf b = q.take();
                        if (b.refCnt() != 1 || b.readInt() != i) {
                            throw new AssertionError("buffer " + i + " refCnt " + b.refCnt());
                        }
                        b.writeBytes(new byte[3000]); // grow on the other thread
                        if (!b.release()) {
                            throw new AssertionError("not released " + i);
                        }
                    }
                } catch (Throwable e) {
                    err.set(e);
                }
            });
            consumer.start();
            for (int i = 0; i < n; i++) {
                ByteBuf b = a.directBuffer(16);
                b.writeInt(i);
                q.put(b);
            }
            join(consumer);
            if (err.get() != null) {
                throw new AssertionError(err.get());
            }
            assertEquals(0, p.stats().buffersInUse(), p.stats().toString());
            p.checkInvariants();
        }
    }

    @Test
    void releaseAfterPoolCloseNeitherThrowsNorTouches() {
        BufferPool p = pool();
        SlabByteBufAllocator a = new SlabByteBufAllocator(p);
        List<ByteBuf> bufs = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            bufs.add(a.directBuffer(100 + i * 20000));
        }
        p.close();
        for (ByteBuf b : bufs) {
            assertThrows(IllegalReferenceCountException.class, () -> b.getByte(0));
            assertEquals(0, b.refCnt());
        }
        p.checkInvariants();
    }

    @Test
    void internalAndExportedNioBuffersFollowTheMemoryAcrossMoves() {
        try (BufferPool p = pool()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(64, 1 << 22);
            java.nio.ByteBuffer before = b.internalNioBuffer(0, 8);
            assertEquals(8, before.remaining());
            long addr0 = b.memoryAddress();
            for (int cap : new int[] {5000, 300000, 70000, 100, 1 << 21, 16, 0, 64}) {
                b.capacity(cap);
                assertEquals(cap, b.capacity());
                if (cap >= 8) {
                    b.setLong(cap - 8, 0x0102030405060708L + cap);
                    java.nio.ByteBuffer in = b.internalNioBuffer(cap - 8, 8);
                    assertEquals(0x0102030405060708L + cap, in.getLong(in.position()), "cap " + cap);
                    java.nio.ByteBuffer out = b.nioBuffer(cap - 8, 8);
                    assertEquals(0x0102030405060708L + cap, out.getLong(0), "cap " + cap);
                    assertEquals(0x0102030405060708L + cap, b.getLong(cap - 8));
                    // memoryAddress() is the start of the memory held: the pool's own view at
                    // that address (checked by rawView) holds the bytes. Not Netty's Unsafe, off
                    // by default on JDK 24+, and not JNA, which only allocator-native may use.
                    java.nio.ByteBuffer raw = p.rawView((SlabByteBuf) b, heldToken(b), b.memoryAddress());
                    assertTrue(raw.capacity() >= cap, "cap " + cap + ": " + raw);
                    assertEquals(0x0102030405060708L + cap, raw.getLong(cap - 8), "cap " + cap);
                }
                assertEquals(1, p.stats().buffersInUse(), "cap " + cap + ": " + p.stats());
            }
            assertTrue(addr0 != 0);
            assertTrue(b.release());
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void aZeroCapacityBufferGrowsAndReleasesItsMemory() {
        try (BufferPool p = pool()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(0);
            assertEquals(0, b.capacity());
            assertEquals(1, p.stats().buffersInUse());
            b.writeBytes(new byte[100000]);
            assertEquals(100000, b.readableBytes());
            assertEquals(1, p.stats().buffersInUse());
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, a.metric().usedDirectMemory(), a.metric().toString());
            p.checkInvariants();
        }
    }

    /** The pool's token {@code b} holds now (its private field: the test reads it as the pool's raw API hands it out). */
    private static Object heldToken(ByteBuf b) {
        try {
            java.lang.reflect.Field f = SlabByteBuf.class.getDeclaredField("token");
            f.setAccessible(true);
            return f.get(b);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }
}

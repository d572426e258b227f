package io.slab4j.netty;

import io.slab4j.testing.Background;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.slab4j.buffer.BufferPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

/** Review 13b of the adapter: growth across classes and into spans, bad inputs, closed pools. */
class Review13bNettyTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static BufferPool pool(long reserve) {
        return BufferPool.builder().name("r13bn-" + SEQ.incrementAndGet()).reserve(reserve).build();
    }

    /** Takes 1 MiB buffers, through an allocator that does not wait, until the pool refuses one; at least one. */
    private static List<ByteBuf> fillWithMiBs(BufferPool p) {
        SlabByteBufAllocator now = new SlabByteBufAllocator(p);
        List<ByteBuf> hold = new ArrayList<>();
        while (hold.size() < 10) {
            try { hold.add(now.directBuffer(1 << 20)); } catch (BufferPoolExhaustedException e) { break; }
        }
        assertFalse(hold.isEmpty(), "the pool refused the first MiB");
        return hold;
    }

    @Test
    @Timeout(30)
    void growAcrossClassesIntoSpansKeepsBytes() {
        try (BufferPool p = pool(64L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(10);
            for (int i = 0; i < 10; i++) b.writeByte(i);
            int[] caps = {100, 5000, 70000, 3 << 20, 200, 16};
            for (int c : caps) {
                b.capacity(c);
                assertEquals(c, b.capacity());
                for (int i = 0; i < 10; i++) assertEquals(i, b.getByte(i));
            }
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void badInputs() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            assertThrows(IllegalArgumentException.class, () -> a.directBuffer(-1));
            assertThrows(IllegalArgumentException.class, () -> a.directBuffer(10, 5));
            ByteBuf b = a.directBuffer(8, 16);
            assertThrows(IllegalArgumentException.class, () -> b.capacity(17));
            assertThrows(IllegalArgumentException.class, () -> b.capacity(-1));
            assertThrows(IndexOutOfBoundsException.class, () -> b.ensureWritable(17));
            assertEquals(8, b.capacity());
            b.release();
            assertThrows(io.netty.util.IllegalReferenceCountException.class, b::release);
            assertThrows(IllegalArgumentException.class, () -> SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(-1)));
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void growAtCapLeavesBufferIntact() throws Exception {
        try (BufferPool p = pool(4L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(100);
            b.writeLong(42);
            Exception e = assertThrows(Exception.class, () -> b.capacity(64 << 20));
            assertEquals(100, b.capacity());
            assertEquals(42, b.getLong(0));
            b.capacity(1000);
            assertEquals(42, b.getLong(0));
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void nioBuffersAndCompositeCoverEveryByte() { // the retained-slice counts are AdapterRound5ReviewTest's
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf c = a.directBuffer(70000);
            c.writeZero(70000);
            ByteBuffer[] n = c.nioBuffers();
            assertEquals(70000, n[0].remaining() + (n.length > 1 ? n[1].remaining() : 0));
            c.release();
            CompositeByteBuf comp = a.compositeDirectBuffer();
            comp.addComponent(true, a.directBuffer(10).writeZero(10));
            comp.addComponent(true, a.directBuffer(5000).writeZero(5000));
            assertEquals(5010, comp.readableBytes());
            assertEquals(5010, comp.nioBuffer().remaining());
            comp.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void releaseAfterClose() {
        BufferPool p = pool(16L << 20);
        SlabByteBufAllocator a = new SlabByteBufAllocator(p);
        ByteBuf b = a.directBuffer(64);
        ByteBuf big = a.directBuffer(2 << 20);
        ByteBuf s = b.retainedSlice();
        p.close();
        assertFalse(b.release());
        assertTrue(s.release());
        assertTrue(big.release());
        assertThrows(RuntimeException.class, () -> a.directBuffer(8));
    }

    @Test
    @Timeout(30)
    void capacityAfterClose() {
        BufferPool p = pool(16L << 20);
        SlabByteBufAllocator a = new SlabByteBufAllocator(p);
        ByteBuf b = a.directBuffer(64);
        p.close();
        assertThrows(RuntimeException.class, () -> b.capacity(5000));
        assertEquals(64, b.capacity());
        assertTrue(b.release());
    }

    @Test
    @Timeout(30)
    void heapAndIo() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf h = a.heapBuffer(10, 20);
            assertFalse(h.isDirect());
            assertEquals(20, h.maxCapacity());
            ByteBuf io = a.ioBuffer(10, 20);
            assertTrue(io.isDirect());
            assertEquals(20, io.maxCapacity());
            h.release(); io.release();
            ByteBuf z = a.directBuffer(0);
            assertEquals(0, z.capacity());
            z.writeInt(1);
            z.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void growthWaitsForRelease() throws Exception {
        try (BufferPool p = pool(4L << 20)) {
            SlabByteBufAllocator a = SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(10))
                    .eventLoopThreads(t -> false).build();
            ByteBuf small = a.directBuffer(16);
            List<ByteBuf> hold = fillWithMiBs(p);
            small.writeLong(7);
            CompletableFuture<Object> f = CompletableFuture.supplyAsync(() -> {
                try { small.capacity(1 << 20); return small.capacity(); } catch (Throwable t) { return t; }
            }, Background.THREADS);
            Thread.sleep(200);
            assertFalse(f.isDone(), String.valueOf(f.getNow(null)));
            hold.remove(0).release();
            assertEquals(1 << 20, f.get(5, TimeUnit.SECONDS));
            assertEquals(7, small.getLong(0));
            small.release();
            hold.forEach(ByteBuf::release);
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void interruptedAllocationWait() throws Exception {
        try (BufferPool p = pool(4L << 20)) {
            SlabByteBufAllocator a = SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(20))
                    .eventLoopThreads(t -> false).build();
            List<ByteBuf> hold = fillWithMiBs(p);
            AtomicReference<Object> out = new AtomicReference<>();
            AtomicBoolean flag = new AtomicBoolean();
            Thread t = new Thread(() -> {
                try { out.set(a.directBuffer(1 << 20)); } catch (Throwable e) { out.set(e); }
                flag.set(Thread.currentThread().isInterrupted());
            });
            t.start();
            Thread.sleep(200);
            t.interrupt();
            t.join(5000);
            assertFalse(t.isAlive());
            assertTrue(out.get() instanceof BufferPoolExhaustedException, String.valueOf(out.get()));
            assertTrue(flag.get());
            hold.forEach(ByteBuf::release);
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void fallbackThenGrowAndClosedPoolAccess() {
        BufferPool p = pool(4L << 20);
        SlabByteBufAllocator a = SlabByteBufAllocator.builder(p).eventLoopPolicy(EventLoopPolicy.FALLBACK_UNPOOLED)
                .eventLoopThreads(t -> true).build();
        ByteBuf big = a.directBuffer(64 << 20);
        big.writeLong(3);
        big.capacity(65 << 20);
        assertEquals(3, big.getLong(0));
        assertTrue(big.release());
        ByteBuf b = a.directBuffer(100);
        b.writeLong(5);
        p.close();
        assertEquals(0, b.refCnt());
        assertThrows(io.netty.util.IllegalReferenceCountException.class, () -> b.getLong(0));
        assertThrows(io.netty.util.IllegalReferenceCountException.class, () -> b.writeLong(1));
        assertThrows(RuntimeException.class, b::retain);
    }

    @Test
    @Timeout(30)
    void shrinkClampsIndicesAndEnsureWritableCodes() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(5000, 6000);
            b.writeZero(4000).readerIndex(3000);
            b.capacity(100);
            assertEquals(100, b.capacity());
            assertEquals(100, b.writerIndex());
            assertEquals(100, b.readerIndex());
            assertEquals(1, b.ensureWritable(7000, false));
            assertEquals(3, b.ensureWritable(7000, true));
            assertEquals(6000, b.capacity());
            b.release();
            ByteBuf z = a.directBuffer(0, 0);
            assertThrows(IndexOutOfBoundsException.class, () -> z.writeByte(1));
            z.release();
            CompositeByteBuf c = a.compositeDirectBuffer(2);
            for (int i = 0; i < 5; i++) c.addComponent(true, a.directBuffer(100).writeZero(100));
            assertEquals(500, c.readableBytes());
            c.capacity(80000);
            c.writeZero(10);
            c.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }
}

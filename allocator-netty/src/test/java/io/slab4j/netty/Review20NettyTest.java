package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.IllegalReferenceCountException;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.LeakDetection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Review 20 (b): SlabByteBufAllocator probed as any Netty ByteBufAllocator, from its javadoc,
 * README's Netty section and what Netty's own buffers do. Each probe says the promise it checks.
 */
class Review20NettyTest {
    private static final AtomicInteger NAMES = new AtomicInteger();

    private static BufferPool pool(long reserve) {
        return BufferPool.builder().name("r20bn-" + NAMES.incrementAndGet()).reserve(reserve)
                .leakDetection(LeakDetection.OFF).build();
    }

    private static void assertEmpty(BufferPool p) {
        assertEquals(0, p.stats().buffersInUse(), p.stats().toString());
        assertEquals(0, p.stats().usedBytes(), p.stats().toString());
        p.checkInvariants();
    }

    /**
     * Netty's ByteBufAllocator defaults: directBuffer()/heapBuffer()/buffer() have capacity 256 and
     * maxCapacity Integer.MAX_VALUE; javadoc: "buffer(), ioBuffer() and compositeBuffer(): direct
     * unless the builder said preferDirect(false) (ioBuffer() is always direct)"; direct ones are pool memory.
     */
    @Test
    @Timeout(20)
    void defaultCapacitiesAndPreferDirectFollowTheJavadoc() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator direct = new SlabByteBufAllocator(p);
            SlabByteBufAllocator heap = SlabByteBufAllocator.builder(p).preferDirect(false).build();
            List<ByteBuf> all = new ArrayList<>();
            for (ByteBuf b : new ByteBuf[] {direct.directBuffer(), direct.heapBuffer(), direct.buffer(), direct.ioBuffer()}) {
                assertEquals(256, b.capacity(), b.toString());
                assertEquals(Integer.MAX_VALUE, b.maxCapacity(), b.toString());
                all.add(b);
            }
            assertTrue(all.get(0).isDirect() && all.get(2).isDirect() && all.get(3).isDirect());
            assertFalse(all.get(1).isDirect());
            assertEquals(3, p.stats().buffersInUse(), "directBuffer, buffer and ioBuffer come from the pool");
            ByteBuf hb = heap.buffer(10);
            ByteBuf io = heap.ioBuffer(10);
            CompositeByteBuf hc = heap.compositeBuffer();
            CompositeByteBuf dc = direct.compositeBuffer();
            assertFalse(hb.isDirect(), "preferDirect(false): buffer() is heap");
            assertTrue(io.isDirect(), "ioBuffer() is always direct");
            assertEquals(4, p.stats().buffersInUse(), "the ioBuffer of a preferDirect(false) allocator is pool memory");
            hc.writeBytes(new byte[100]);
            dc.writeBytes(new byte[100]);
            assertFalse(hc.isDirect(), "preferDirect(false): compositeBuffer() is heap");
            assertTrue(dc.isDirect(), "compositeBuffer() is direct by default");
            for (ByteBuf b : all) {
                assertTrue(b.release());
            }
            assertTrue(hb.release() && io.release() && hc.release() && dc.release());
            assertEmpty(p);
            assertEquals(0, direct.metric().usedHeapMemory());
            assertEquals(0, heap.metric().usedHeapMemory());
        }
    }

    /**
     * Javadoc: a capacity beyond what the pool can ever hand out is "BufferPoolExhaustedException
     * at once on any thread", counted in metric().exhausted(); Netty's own argument checks come first
     * (negative, initial > max: IllegalArgumentException), and nothing is held afterwards.
     */
    @Test
    @Timeout(20)
    void integerMaxValueAndBadPairsOfCapacities() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            for (int[] bad : new int[][] {{-1, 10}, {Integer.MIN_VALUE, Integer.MAX_VALUE}, {11, 10}, {Integer.MAX_VALUE, 0}}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.directBuffer(bad[0], bad[1]));
                assertTrue(e.getMessage().contains(String.valueOf(bad[0])) || e.getMessage().contains(String.valueOf(bad[1])),
                        "names the bad value: " + e.getMessage());
            }
            long before = a.metric().exhausted();
            BufferPoolExhaustedException e = assertThrows(BufferPoolExhaustedException.class,
                    () -> a.directBuffer(Integer.MAX_VALUE, Integer.MAX_VALUE));
            assertEquals(Integer.MAX_VALUE, e.requestedBytes());
            assertEquals(p.name(), e.pool());
            assertTrue(e.getMessage().contains(String.valueOf(Integer.MAX_VALUE)), e.getMessage());
            assertEquals(before + 1, a.metric().exhausted(), "one failure, counted once");
            assertThrows(BufferPoolExhaustedException.class, () -> a.ioBuffer(Integer.MAX_VALUE));
            assertThrows(BufferPoolExhaustedException.class, () -> a.buffer(Integer.MAX_VALUE));
            assertEquals(before + 3, a.metric().exhausted());
            assertEmpty(p);
        }
    }

    /**
     * Netty's nioBuffer(index, length): a new ByteBuffer of exactly length bytes from position 0,
     * big-endian, sharing the content both ways; nioBuffers() is one such buffer here
     * (nioBufferCount() 1); an index past the capacity is IndexOutOfBoundsException.
     */
    @Test
    @Timeout(20)
    void nioBufferIsAnExactBigEndianWindowOnTheBytes() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(100, 1000); // room is a larger size class than 100
            for (int i = 0; i < 100; i++) {
                b.writeByte(i);
            }
            ByteBuffer nio = b.nioBuffer(10, 20);
            assertTrue(nio.isDirect());
            assertEquals(0, nio.position());
            assertEquals(20, nio.remaining());
            assertEquals(20, nio.capacity(), "a window of exactly the length asked for");
            assertEquals(ByteOrder.BIG_ENDIAN, nio.order());
            assertEquals(b.getInt(10), nio.getInt(0));
            nio.put(0, (byte) 77);
            assertEquals(77, b.getByte(10), "writes through the NIO buffer reach the ByteBuf");
            b.setByte(29, 55);
            assertEquals(55, nio.get(19));
            ByteBuffer[] all = b.nioBuffers();
            assertEquals(1, b.nioBufferCount());
            assertEquals(1, all.length);
            assertEquals(100, all[0].remaining(), "nioBuffers() covers the readable bytes");
            assertThrows(IndexOutOfBoundsException.class, () -> b.nioBuffer(90, 11));
            assertThrows(IndexOutOfBoundsException.class, () -> b.nioBuffer(-1, 1));
            ByteBuf z = a.directBuffer(0, 64); // capacity 0, pool memory ((0, 0) is Netty's shared empty buffer)
            assertEquals(0, z.nioBuffer().remaining());
            assertEquals(0, z.nioBuffer(0, 0).capacity());
            assertThrows(IndexOutOfBoundsException.class, () -> z.nioBuffer(0, 1));
            assertTrue(b.release() && z.release());
            assertEmpty(p);
        }
    }

    /**
     * memoryAddress(): hasMemoryAddress() is true; the address moves with a growth past the size
     * class (bytes kept there); after release memoryAddress() throws IllegalReferenceCountException,
     * as Netty's pooled direct buffers do (ensureAccessible).
     */
    @Test
    @Timeout(20)
    void memoryAddressFollowsGrowthAndIsRefusedAfterRelease() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(64);
            assertTrue(b.hasMemoryAddress());
            b.writeLong(0x0102030405060708L);
            long before = b.memoryAddress();
            b.capacity(200_000); // past the largest class: a page span
            long after = b.memoryAddress();
            assertTrue(after != before, "growth past the class moves the memory");
            assertEquals(0x0102030405060708L, b.getLong(0));
            ByteBuf other = a.directBuffer(64);
            long o = other.memoryAddress();
            assertTrue(o + 64 <= after || after + 200_000 <= o, "no two live buffers overlap");
            assertTrue(b.release());
            assertThrows(IllegalReferenceCountException.class, b::memoryAddress);
            assertTrue(other.release());
            assertEmpty(p);
        }
    }

    /**
     * Netty's overlapping self-copy (setBytes(dst, this, src) with overlap, as discardReadBytes
     * and user code do) behaves as Unpooled.directBuffer does: like memmove, both directions.
     */
    @Test
    @Timeout(20)
    void overlappingCopiesWithinOneBufferMatchNettysOwn() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            for (int shift : new int[] {1, 7, -1, -13}) {
                ByteBuf mine = a.directBuffer(4096);
                ByteBuf ref = Unpooled.directBuffer(4096);
                for (int i = 0; i < 4096; i++) {
                    mine.writeByte(i * 31);
                    ref.writeByte(i * 31);
                }
                int from = 100;
                int to = 100 + shift;
                mine.setBytes(to, mine, from, 3000);
                ref.setBytes(to, ref, from, 3000);
                assertTrue(ByteBufUtil.equals(ref, mine), "setBytes shift " + shift);
                mine.getBytes(from, mine, to, 3000);
                ref.getBytes(from, ref, to, 3000);
                assertTrue(ByteBufUtil.equals(ref, mine), "getBytes shift " + shift);
                assertTrue(mine.release() && ref.release());
            }
            assertEmpty(p);
        }
    }

    /**
     * Reference counting of Netty's derived buffers (package-info: "Derived buffers ... share their
     * parent's count"): readRetainedSlice advances the reader index and adds one; a retainedDuplicate
     * of that slice adds another; released in any order the memory goes back on the last release
     * only, and one more release throws IllegalReferenceCountException with the pool unchanged.
     */
    @Test
    @Timeout(20)
    void nestedRetainedDerivedBuffersReleaseTheMemoryOnceInAnyOrder() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(100);
            b.writeBytes("abcdefghij".getBytes(StandardCharsets.US_ASCII));
            ByteBuf s = b.readRetainedSlice(4);
            assertEquals(4, b.readerIndex());
            assertEquals(2, b.refCnt());
            ByteBuf d = s.retainedDuplicate();
            ByteBuf s2 = d.retainedSlice(1, 2);
            assertEquals(4, b.refCnt());
            assertFalse(b.release());
            assertEquals("bc", s2.toString(StandardCharsets.US_ASCII), "derived buffers read on after the parent's release");
            assertFalse(s.release(2));
            assertEquals(1, p.stats().buffersInUse());
            assertEquals("abcd", d.toString(StandardCharsets.US_ASCII));
            assertTrue(s2.release(), "the last reference returns the memory");
            assertEquals(0, b.refCnt());
            assertEquals(0, d.refCnt());
            assertEmpty(p);
            assertThrows(IllegalReferenceCountException.class, d::release);
            assertThrows(IllegalReferenceCountException.class, () -> b.release(1));
            assertThrows(IllegalReferenceCountException.class, s::retain);
            assertThrows(IllegalReferenceCountException.class, () -> d.getByte(0));
            assertEmpty(p);
        }
    }

    /**
     * Use after release never touches the next holder's bytes (README: "use after release crashes the
     * JVM (netty#13241)" is answered): a stale buffer and its stale slice and duplicate refuse every
     * bulk and primitive write and read with IllegalReferenceCountException, while the memory is
     * another buffer's, whose bytes stay its own.
     */
    @Test
    @Timeout(20)
    void staleBuffersAndTheirDerivedOnesNeverReachTheNextHoldersBytes() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf old = a.directBuffer(512);
            ByteBuf slice = old.slice(0, 256);
            ByteBuf dup = old.duplicate();
            long address = old.memoryAddress();
            assertTrue(old.release());
            ByteBuf next = null;
            List<ByteBuf> others = new ArrayList<>();
            for (int i = 0; i < 64 && next == null; i++) { // the same class: the freed item comes back soon
                ByteBuf n = a.directBuffer(512);
                if (n.memoryAddress() == address) {
                    next = n;
                } else {
                    others.add(n);
                }
            }
            assertNotNull(next, "the freed item was handed out again within 64 allocations of its class");
            byte[] mine = new byte[512];
            java.util.Arrays.fill(mine, (byte) 0x5a);
            next.setBytes(0, mine);
            for (ByteBuf stale : new ByteBuf[] {old, slice, dup}) {
                assertThrows(IllegalReferenceCountException.class, () -> stale.setByte(0, 1));
                assertThrows(IllegalReferenceCountException.class, () -> stale.setLong(8, -1L));
                assertThrows(IllegalReferenceCountException.class, () -> stale.setBytes(0, new byte[16]));
                assertThrows(IllegalReferenceCountException.class, () -> stale.setBytes(0, ByteBuffer.allocateDirect(16)));
                assertThrows(IllegalReferenceCountException.class, () -> stale.setBytes(0, Unpooled.wrappedBuffer(new byte[16]), 0, 16));
                assertThrows(IllegalReferenceCountException.class, () -> stale.setZero(0, 16));
                assertThrows(IllegalReferenceCountException.class, () -> stale.getByte(0));
                assertThrows(IllegalReferenceCountException.class, () -> stale.getBytes(0, new byte[16]));
                assertThrows(IllegalReferenceCountException.class, () -> stale.nioBuffer(0, 16));
                assertThrows(IllegalReferenceCountException.class, () -> stale.copy(0, 16));
            }
            byte[] seen = new byte[512];
            next.getBytes(0, seen);
            assertArrayEquals(mine, seen, "the next holder's bytes are its own");
            assertTrue(next.release());
            for (ByteBuf o : others) {
                assertTrue(o.release());
            }
            assertEmpty(p);
        }
    }

    /**
     * Netty's AbstractByteBuf.toString() of a released buffer says "(freed)" instead of throwing, so
     * a log line about a released buffer never fails; hexDump and equals of a live one match
     * Netty's own buffer with the same bytes.
     */
    @Test
    @Timeout(20)
    void toStringOfAReleasedBufferAndByteBufUtilMatchNetty() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(32);
            ByteBuf ref = Unpooled.buffer(32);
            for (int i = 0; i < 20; i++) {
                b.writeByte(i * 13);
                ref.writeByte(i * 13);
            }
            assertEquals(ByteBufUtil.hexDump(ref), ByteBufUtil.hexDump(b));
            assertEquals(ref, b);
            assertEquals(ref.hashCode(), b.hashCode());
            assertEquals(0, ref.compareTo(b));
            assertEquals(ByteBufUtil.indexOf(ref, 0, 20, (byte) (7 * 13)), ByteBufUtil.indexOf(b, 0, 20, (byte) (7 * 13)));
            assertTrue(b.release());
            String s = assertDoesNotThrowString(b);
            assertTrue(s.contains("freed"), s);
            ref.release();
            assertEmpty(p);
        }
    }

    private static String assertDoesNotThrowString(ByteBuf b) {
        return org.junit.jupiter.api.Assertions.assertDoesNotThrow(() -> b.toString(), "toString of a released buffer");
    }

    /**
     * Growth through Netty's encoders: ByteBufUtil.writeUtf8 and writeAscii grow the buffer past
     * several size classes and past the largest one (README: "a growing buffer moves to a larger
     * slab4j buffer"), and the text reads back exactly, also across surrogate pairs.
     */
    @Test
    @Timeout(20)
    void utf8AndAsciiWritesGrowAcrossClassesAndReadBack() {
        try (BufferPool p = pool(32L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            StringBuilder text = new StringBuilder();
            while (text.length() < 120_000) {
                text.append("ascii ").append("\u00e9t\u00e9 ").append("\u4e2d\u6587 ").append("\ud83d\ude00 ");
            }
            ByteBuf b = a.directBuffer(16);
            int written = ByteBufUtil.writeUtf8(b, text);
            assertEquals(ByteBufUtil.utf8Bytes(text), written);
            assertEquals(text.toString(), b.toString(StandardCharsets.UTF_8));
            ByteBuf ascii = a.directBuffer(1);
            String plain = "x".repeat(70_000);
            ByteBufUtil.writeAscii(ascii, plain);
            assertEquals(plain, ascii.toString(StandardCharsets.US_ASCII));
            assertEquals(2, p.stats().buffersInUse(), "each buffer holds one piece of memory after its moves");
            assertTrue(b.release() && ascii.release());
            assertEmpty(p);
        }
    }

    /**
     * A maxCapacity between two size classes, and above the largest: writeBytes grows to exactly what
     * Netty's calculateNewCapacity allows, never past maxCapacity (maxWritableBytes reaches 0 and one
     * more byte is IndexOutOfBoundsException); maxFastWritableBytes never promises more than maxCapacity.
     */
    @Test
    @Timeout(20)
    void growthStopsExactlyAtAnOddMaxCapacity() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            for (int max : new int[] {20, 100, 65_537, 70_001}) {
                ByteBuf b = a.directBuffer(Math.min(17, max), max);
                assertTrue(b.maxFastWritableBytes() <= max - b.writerIndex(), "maxFastWritableBytes " + b.maxFastWritableBytes()
                        + " within maxCapacity " + max);
                byte[] data = new byte[max];
                for (int i = 0; i < max; i++) {
                    data[i] = (byte) (i * 7);
                }
                b.writeBytes(data);
                assertEquals(max, b.capacity());
                assertEquals(0, b.maxWritableBytes());
                assertEquals(0, b.maxFastWritableBytes());
                assertThrows(IndexOutOfBoundsException.class, () -> b.writeByte(1));
                byte[] back = new byte[max];
                b.getBytes(0, back);
                assertArrayEquals(data, back);
                assertTrue(b.release());
            }
            assertEmpty(p);
        }
    }

    /**
     * Composite buffers made by the allocator (AbstractByteBufAllocator's compositeDirectBuffer):
     * components from the pool, growth by the composite (it asks alloc() for more), consolidate(),
     * and one release of the composite returns every component's memory.
     */
    @Test
    @Timeout(20)
    void compositeBuffersGrowConsolidateAndReleaseEveryComponent() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            CompositeByteBuf c = a.compositeDirectBuffer(64);
            for (int i = 0; i < 10; i++) {
                ByteBuf part = a.directBuffer(100);
                part.writeBytes(new byte[] {(byte) i, (byte) (i + 1), (byte) (i + 2)});
                c.addComponent(true, part);
            }
            assertEquals(10, p.stats().buffersInUse());
            c.writeBytes(new byte[5000]); // beyond the components: the composite allocates more
            assertTrue(p.stats().buffersInUse() > 10, "the composite's growth is pool memory: " + p.stats());
            assertEquals(30 + 5000, c.readableBytes());
            c.consolidate();
            assertEquals(1, c.numComponents());
            assertEquals(1, p.stats().buffersInUse(), "consolidate releases the old components");
            for (int i = 0; i < 10; i++) {
                assertEquals(i + 2, c.getByte(i * 3 + 2));
            }
            ByteBuf slice = c.retainedSlice(0, 30);
            assertFalse(c.release());
            assertEquals(9 + 2, slice.getByte(29));
            assertTrue(slice.release());
            assertEmpty(p);
            assertThrows(IllegalReferenceCountException.class, c::release);
        }
    }

    /**
     * metric() over heap buffers: usedHeapMemory follows growth and release exactly, a double
     * release of a heap buffer (IllegalReferenceCountException) does not count its bytes twice,
     * and concurrent heap allocation from several threads ends at 0. The allocator is Netty's
     * ByteBufAllocatorMetricProvider.
     */
    @Test
    @Timeout(20)
    void heapMetricSurvivesDoubleReleaseAndConcurrentUse() throws Exception {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            assertTrue(a instanceof ByteBufAllocatorMetricProvider);
            ByteBuf h = a.heapBuffer(100);
            assertEquals(100, a.metric().usedHeapMemory());
            h.writeBytes(new byte[1000]);
            assertEquals(h.capacity(), a.metric().usedHeapMemory());
            assertTrue(h.release());
            assertThrows(IllegalReferenceCountException.class, h::release);
            assertEquals(0, a.metric().usedHeapMemory(), "a refused second release is not counted");
            ByteBuf z = a.heapBuffer(0, 64);
            assertEquals(0, a.metric().usedHeapMemory());
            assertTrue(z.release());
            assertEquals(0, a.metric().usedHeapMemory());
            int threads = 4;
            CyclicBarrier barrier = new CyclicBarrier(threads);
            AtomicReference<Throwable> failed = new AtomicReference<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Thread th = new Thread(() -> {
                    try {
                        barrier.await(10, TimeUnit.SECONDS);
                        for (int i = 0; i < 2000; i++) {
                            ByteBuf b = a.heapBuffer(1 + i % 300);
                            b.writeBytes(new byte[i % 700]);
                            b.release();
                        }
                    } catch (Throwable e) {
                        failed.compareAndSet(null, e);
                    }
                }, "r20bn-heap-" + t);
                th.setDaemon(true);
                ts.add(th);
                th.start();
            }
            for (Thread th : ts) {
                th.join(15_000);
                assertFalse(th.isAlive());
            }
            assertNull(failed.get());
            assertEquals(0, a.metric().usedHeapMemory());
            assertTrue(a.metric().toString().contains(p.name()), a.metric().toString());
        }
    }

    /**
     * Concurrent release of one buffer retained N times from two threads, each releasing half:
     * exactly one release() returns true (Netty's rule), the memory goes back once, and any
     * further release throws on either thread.
     */
    @Test
    @Timeout(20)
    void halfTheReferencesFromEachOfTwoThreadsExactlyOneSeesZero() throws Exception {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            for (int round = 0; round < 200; round++) {
                ByteBuf b = a.directBuffer(round % 2 == 0 ? 100 : 100_000);
                b.retain(99); // refCnt 100
                ByteBuf slice = b.retainedSlice(0, 10); // 101
                CyclicBarrier barrier = new CyclicBarrier(2);
                AtomicInteger zeros = new AtomicInteger();
                AtomicReference<Throwable> failed = new AtomicReference<>();
                Thread[] ts = new Thread[2];
                for (int t = 0; t < 2; t++) {
                    ByteBuf mine = t == 0 ? b : slice;
                    int n = t == 0 ? 50 : 51;
                    ts[t] = new Thread(() -> {
                        try {
                            barrier.await(10, TimeUnit.SECONDS);
                            for (int i = 0; i < n; i++) {
                                if (mine.release()) {
                                    zeros.incrementAndGet();
                                }
                            }
                        } catch (Throwable e) {
                            failed.compareAndSet(null, e);
                        }
                    });
                    ts[t].setDaemon(true);
                    ts[t].start();
                }
                for (Thread t : ts) {
                    t.join(10_000);
                    assertFalse(t.isAlive());
                }
                assertNull(failed.get());
                assertEquals(1, zeros.get(), "round " + round);
                assertThrows(IllegalReferenceCountException.class, b::release);
                assertThrows(IllegalReferenceCountException.class, slice::release);
                assertEmpty(p);
            }
        }
    }

    /**
     * Back-pressure on the default allocator (javadoc: "default zero: fail at once") for a
     * growth past the pool's remaining space: BufferPoolExhaustedException names the pool and the
     * size, waited() is zero, the buffer keeps its capacity, bytes and address, and metric().exhausted()
     * counts it; a release then lets the same growth succeed.
     */
    @Test
    @Timeout(20)
    void growthAtTheCapFailsAtOnceThenSucceedsAfterARelease() {
        try (BufferPool p = pool(8L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf hog = a.directBuffer(5 << 20);
            ByteBuf b = a.directBuffer(1 << 20, 8 << 20);
            b.writeLong(99);
            long at = b.memoryAddress();
            long before = a.metric().exhausted();
            BufferPoolExhaustedException e = assertThrows(BufferPoolExhaustedException.class, () -> b.capacity(3 << 20));
            assertEquals(3 << 20, e.requestedBytes());
            assertEquals(p.name(), e.pool());
            assertTrue(e.waited().isZero());
            assertFalse(e.onEventLoop());
            assertTrue(e.getMessage().contains(p.name()) && e.getMessage().contains(String.valueOf(3 << 20)), e.getMessage());
            assertEquals(before + 1, a.metric().exhausted());
            assertEquals(1 << 20, b.capacity());
            assertEquals(at, b.memoryAddress());
            assertEquals(99, b.getLong(0));
            assertTrue(hog.release());
            b.capacity(3 << 20);
            assertEquals(99, b.getLong(0));
            assertTrue(b.release());
            assertEmpty(p);
        }
    }

    /**
     * copy(), readBytes(int) and copy of an empty range: new buffers from the same allocator (pool
     * memory), with the bytes, the source's maxCapacity for copy (as Netty's pooled buffers do),
     * independent of the source.
     */
    @Test
    @Timeout(20)
    void copiesAndReadBytesArePoolBuffersOfTheirOwn() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(64, 5000);
            b.writeBytes("0123456789".getBytes(StandardCharsets.US_ASCII));
            b.skipBytes(2);
            ByteBuf c = b.copy();
            assertEquals("23456789", c.toString(StandardCharsets.US_ASCII));
            assertEquals(5000, c.maxCapacity());
            assertTrue(c.isDirect());
            ByteBuf r = b.readBytes(3);
            assertEquals("234", r.toString(StandardCharsets.US_ASCII));
            assertEquals(5, b.readerIndex());
            ByteBuf empty = b.copy(3, 0);
            assertEquals(0, empty.capacity());
            assertEquals(4, p.stats().buffersInUse());
            c.setByte(0, 'x');
            assertEquals('2', b.getByte(2), "a copy is independent");
            assertEquals(a, c.alloc());
            assertTrue(b.release() && c.release() && r.release() && empty.release());
            assertEmpty(p);
        }
    }
}

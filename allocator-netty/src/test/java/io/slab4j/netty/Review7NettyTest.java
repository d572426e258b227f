package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.DefaultEventLoop;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.internal.PlatformDependent;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.BufferPoolStats;
import io.slab4j.buffer.LeakDetection;
import io.slab4j.buffer.PooledBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Review round 7 of the Netty adapter, through Netty's public API and slab4j's only: reference
 * counting and derived buffers, capacity changes, back-pressure on and off the event loop, a
 * pool closed under live buffers (in a child JVM where a crash is possible), metrics, large
 * buffers and concurrent conservation. The tests under "defects" showed a defect
 * (expected vs observed in their comment), fixed since; the rest are regression probes that pass.
 */
@Timeout(60)
class Review7NettyTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static BufferPool pool(long reserve) {
        return BufferPool.builder().name("r7n-" + SEQ.incrementAndGet()).reserve(reserve).build();
    }

    /** The bytes of pool memory a direct slab buffer owns now, read through Netty's public API. */
    private static int room(ByteBuf b) {
        return b.maxFastWritableBytes() + b.writerIndex();
    }

    private static <T> T onThread(Kind kind, Supplier<T> body) throws InterruptedException {
        AtomicReference<Object> out = new AtomicReference<>();
        Runnable r = () -> {
            try {
                out.set(body.get());
            } catch (Throwable t) {
                out.set(new Caught(t));
            }
        };
        Thread t = kind == Kind.EVENT_LOOP ? new FastThreadLocalThread(r, "r7-loop") : new Thread(r, "r7-worker");
        t.start();
        t.join(TimeUnit.SECONDS.toMillis(10));
        assertFalse(t.isAlive(), "still running: " + t);
        Object o = out.get();
        if (o instanceof Caught c) {
            if (c.t instanceof RuntimeException re) {
                throw re;
            }
            if (c.t instanceof Error e) {
                throw e;
            }
            throw new IllegalStateException(c.t);
        }
        @SuppressWarnings("unchecked")
        T value = (T) o;
        return value;
    }

    private record Caught(Throwable t) {
    }

    /** Which kind of thread {@link #onThread} runs on. */
    enum Kind { EVENT_LOOP, WORKER }

    /** Holds pool memory until the arena has nothing left for {@code size} bytes; returns what it took. */
    private static List<PooledBuffer> exhaust(BufferPool p, int... sizes) {
        List<PooledBuffer> held = new ArrayList<>();
        for (int size : sizes) {
            PooledBuffer b;
            while ((b = p.tryAcquire(size)) != null) {
                held.add(b);
            }
        }
        return held;
    }

    // ------------------------------------------------------------------ defects

    /*
     * A slice keeps working after its parent shrank. Found: the shrink moved the parent into a
     * smaller slab4j buffer, and the slice (Netty's, which checks only its own bounds) reached
     * the parent's new address plus its old offset, inside another live holder's item. Now a
     * buffer that has handed out a slice or duplicate shrinks in place, so the stale slice
     * writes only the parent's own memory; a buffer never sliced still moves (the control).
     */
    @Test
    void aSliceOfAShrunkBufferNeverWritesIntoAnotherHoldersBuffer() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf control = a.directBuffer(4096);
            long controlAt = control.memoryAddress();
            control.capacity(16);
            assertNotEquals(controlAt, control.memoryAddress(), "a buffer never sliced still moves into smaller memory");
            control.release();

            ByteBuf parent = a.directBuffer(4096);
            long parentAt = parent.memoryAddress();
            ByteBuf slice = parent.slice(16, 64);
            parent.capacity(16); // a shrink to 1/256 of its room, with a slice outstanding
            assertEquals(16, parent.capacity());
            assertEquals(parentAt, parent.memoryAddress(), "a sliced buffer shrinks in place");
            List<ByteBuf> others = new ArrayList<>();
            for (int i = 0; i < 4096; i++) {
                ByteBuf v = a.directBuffer(16);
                v.setZero(0, 16);
                others.add(v);
            }
            for (int k = 0; k < 64; k++) {
                slice.setByte(k, 0x5A); // into the parent's own (larger) memory
            }
            assertEquals(0x5A, slice.getByte(63));
            for (ByteBuf o : others) {
                for (int b = 0; b < 16; b++) {
                    assertEquals(0, o.getByte(b), "the stale slice wrote into another holder's buffer");
                }
                o.release();
            }
            parent.release();
            assertEquals(0, p.stats().buffersInUse());
        }
    }

    /*
     * Growth past what the pool can ever hold. Expected (SlabByteBufAllocator javadoc: "Growth of
     * an existing buffer acquires the same way", i.e. BufferPoolExhaustedException at the cap):
     * writeBytes of a valid length (<= maxCapacity) fails with BufferPoolExhaustedException and
     * the buffer is unchanged. Observed: the pool's own IllegalArgumentException
     * ("tryAcquire(25165824): size is not in [1, 16777216] ..."; Netty rounded the
     * 20 MiB + 8 growth up to 24 MiB) leaks out of writeBytes, an
     * argument error about a size the caller never passed.
     */
    @Test
    void growthBeyondThePoolFailsWithBufferPoolExhaustedException() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(16, Integer.MAX_VALUE);
            b.writeLong(0x1122334455667788L);
            byte[] big = new byte[20 << 20];
            RuntimeException e = assertThrows(RuntimeException.class, () -> b.writeBytes(big));
            assertEquals(16, b.capacity());
            assertEquals(8, b.writerIndex());
            assertEquals(0x1122334455667788L, b.getLong(0));
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            assertInstanceOf(BufferPoolExhaustedException.class, e, "growth beyond the pool threw " + e);
        }
    }

    /*
     * A ByteBuffer from nioBuffer() of a buffer still held when its pool closes. README: "A
     * buffer still held when its pool closes refuses every access instead of touching the
     * unmapped region"; the pool detaches its own byteBuffer() views for that reason.
     * Expected: the child JVM survives (the stale NIO view throws or reads nothing) and exits 0.
     * Observed: the child JVM dies on the access (SIGSEGV in Unsafe_GetLong, exit code 1).
     */
    @Test
    void anNioBufferOfABufferWhosePoolClosedDoesNotCrashTheJvm() throws Exception {
        Child c = child("nio");
        assertTrue(c.code == 0 && c.out.contains("NIO-SURVIVED"), "child exit " + c.code + ": " + c.tail());
    }

    /*
     * A CompositeByteBuf holding slab buffers whose pool closed. README: "A buffer still held
     * when its pool closes refuses every access instead of touching the unmapped region".
     * Expected: comp.forEachByte throws IllegalReferenceCountException (as comp.getByte does) and
     * the child JVM exits 0. Observed: Netty's CompositeByteBuf.forEachByteAsc0 calls the
     * component's forEachByteAsc0 (package-private, no access check), which reads through
     * SlabByteBuf._getByte straight into the unmapped region: the child JVM dies (SIGSEGV in
     * Unsafe_GetByte, exit code 1).
     */
    @Test
    void aCompositesForEachByteOverABufferWhosePoolClosedDoesNotCrashTheJvm() throws Exception {
        Child c = child("composite");
        assertTrue(c.code == 0 && c.out.contains("COMPOSITE-SURVIVED"), "child exit " + c.code + ": " + c.tail());
    }

    /*
     * A buffer whose pool closed reports refCnt() 0, and every accessor refuses it, yet retain()
     * and retainedSlice() still succeed. Expected (Netty's ReferenceCounted contract, and the
     * adapter's "refCnt() reads 0" for a closed pool): retain() throws
     * IllegalReferenceCountException, as for any buffer whose count is 0, and changes nothing.
     * Observed: retain() returns normally (the private count goes to 2 while refCnt() still
     * reads 0), so release() then answers false and refCnt() stays 0 throughout: a derived
     * buffer born dead.
     */
    @Test
    void retainOfABufferWhosePoolClosedThrowsLikeAnyBufferWhoseCountIsZero() {
        BufferPool p = pool(16L << 20);
        SlabByteBufAllocator a = new SlabByteBufAllocator(p);
        ByteBuf b = a.directBuffer(64);
        p.close();
        assertEquals(0, b.refCnt());
        Throwable retain = null;
        try {
            b.retain();
        } catch (IllegalReferenceCountException e) {
            retain = e;
        }
        boolean first = b.release();
        assertEquals(0, b.refCnt());
        assertNotNull(retain, "retain() of a buffer with refCnt() 0 succeeded; the next release() answered " + first);
    }

    @Test
    void aDroppedDerivedBufferAtParanoidIsReportedAndItsMemoryComesBack() {
        ResourceLeakDetector.Level before = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        try (BufferPool p = BufferPool.builder().name("r7n-leak-" + SEQ.incrementAndGet()).reserve(16L << 20)
                .leakDetection(LeakDetection.ALL).build(); LeakLog log = LeakLog.capture()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            String hint = "r7-dropped-slice-" + SEQ.incrementAndGet();
            leakASlice(a, hint);
            assertEquals(1, p.stats().buffersInUse());
            String report = log.awaitReport(a, hint);
            assertTrue(report.contains(hint), report);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (p.stats().buffersInUse() != 0) {
                assertTrue(System.nanoTime() < deadline, "the leaked memory never came back: " + p.stats());
                System.gc();
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
            }
            assertTrue(p.stats().leaksDetected() >= 1);
            p.checkInvariants();
        } finally {
            ResourceLeakDetector.setLevel(before);
        }
    }

    private static void leakASlice(SlabByteBufAllocator a, String hint) {
        ByteBuf parent = a.directBuffer(128).writeLong(1);
        ByteBuf slice = parent.retainedSlice(0, 8);
        slice.touch(hint);
        assertFalse(parent.release()); // the slice's reference is dropped, never released
    }

    // ----------------------------------------------------------- regression probes

    @Test
    void closedPoolAccessorsThrowInAChildJvm() throws Exception {
        Child c = child("accessors");
        assertEquals(0, c.code, c.tail());
        assertTrue(c.out.contains("ACCESSORS-OK"), c.tail());
    }

    @Test
    void derivedBuffersShareTheCountAndMemoryGoesBackOnceAtZero() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(256).writeBytes(new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
            ByteBuf slice = b.slice(2, 4);
            ByteBuf dup = b.duplicate();
            ByteBuf rs = b.retainedSlice(0, 8);
            ByteBuf rd = b.retainedDuplicate();
            ByteBuf read = b.readSlice(3);
            assertEquals(3, b.refCnt());
            assertEquals(3, slice.refCnt());
            assertEquals(b.memoryAddress() + 2, slice.memoryAddress());
            assertTrue(slice.hasMemoryAddress() && dup.hasMemoryAddress() && read.hasMemoryAddress());
            assertFalse(b.release());
            assertFalse(rs.release());
            assertEquals(1, p.stats().buffersInUse());
            assertEquals(3, rd.getByte(2));
            assertEquals(6, slice.getByte(3));
            assertEquals(2, read.getByte(1));
            assertTrue(rd.release());
            assertEquals(0, p.stats().buffersInUse());
            for (ByteBuf d : new ByteBuf[] {b, slice, dup, rs, rd, read}) {
                assertEquals(0, d.refCnt());
                assertThrows(IllegalReferenceCountException.class, () -> d.getByte(0));
                assertThrows(IllegalReferenceCountException.class, d::memoryAddress);
                assertThrows(IllegalReferenceCountException.class, () -> d.nioBuffer(0, 1));
                assertThrows(IllegalReferenceCountException.class, d::release);
                assertThrows(IllegalReferenceCountException.class, d::retain);
            }
            assertThrows(IllegalReferenceCountException.class, () -> b.internalNioBuffer(0, 1));
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void bulkCopiesWithOtherBuffersChannelsAndCompositesKeepTheBytes() throws IOException {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            byte[] data = new byte[10_000];
            ThreadLocalRandom.current().nextBytes(data);
            ByteBuf src = a.directBuffer(data.length).writeBytes(data);
            ByteBuf[] targets = {a.directBuffer(data.length), Unpooled.buffer(data.length), Unpooled.directBuffer(data.length),
                    a.heapBuffer(data.length)};
            for (ByteBuf t : targets) {
                src.getBytes(0, t, 0, data.length);
                t.writerIndex(data.length);
                assertArrayEquals(data, ByteBufUtil.getBytes(t), t.getClass().getSimpleName());
                ByteBuf back = a.directBuffer(data.length);
                back.setBytes(0, t, 0, data.length).writerIndex(data.length);
                assertArrayEquals(data, ByteBufUtil.getBytes(back));
                back.release();
                t.release();
            }
            // a composite of slab buffers, as a source and as a target
            CompositeByteBuf comp = a.compositeDirectBuffer();
            comp.addComponents(true, a.directBuffer(3000).writeBytes(data, 0, 3000), a.directBuffer(7000).writeBytes(data, 3000, 7000));
            assertEquals(2, comp.nioBufferCount());
            assertEquals(3, p.stats().buffersInUse());
            ByteBuf flat = a.directBuffer(data.length);
            flat.writeBytes(comp, 0, data.length);
            assertArrayEquals(data, ByteBufUtil.getBytes(flat));
            ByteBuf into = a.compositeDirectBuffer().addComponents(true, a.directBuffer(5000).writerIndex(5000),
                    a.directBuffer(5000).writerIndex(5000));
            src.getBytes(0, into, 0, data.length);
            assertArrayEquals(data, ByteBufUtil.getBytes(into));
            comp.consolidate();
            assertArrayEquals(data, ByteBufUtil.getBytes(comp));
            comp.release();
            into.release();
            flat.release();
            // channels: a pipe and a file
            Pipe pipe = Pipe.open();
            try {
                pipe.sink().configureBlocking(true);
                assertEquals(1000, src.getBytes(100, pipe.sink(), 1000));
                ByteBuf in = a.directBuffer(1000);
                int got = 0;
                while (got < 1000) {
                    got += in.setBytes(got, pipe.source(), 1000 - got);
                }
                in.writerIndex(1000);
                assertArrayEquals(java.util.Arrays.copyOfRange(data, 100, 1100), ByteBufUtil.getBytes(in));
                in.release();
            } finally {
                pipe.sink().close();
                pipe.source().close();
            }
            Path f = Files.createTempFile("r7n", ".bin");
            try (FileChannel fc = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                assertEquals(data.length, src.getBytes(0, fc, 0, data.length));
                ByteBuf in = a.directBuffer(data.length);
                assertEquals(data.length, in.writeBytes(fc, 0, data.length));
                assertArrayEquals(data, ByteBufUtil.getBytes(in));
                in.release();
            } finally {
                Files.deleteIfExists(f);
            }
            src.release();
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, p.stats().usedBytes());
            p.checkInvariants();
        }
    }

    @Test
    void capacityGrowsAndShrinksAcrossTheLargestClassAndDiscardKeepsTheBytes() {
        try (BufferPool p = pool(64L << 20)) {
            int[] classes = p.sizeClasses();
            int largest = classes[classes.length - 1];
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(largest - 8, 4 << 20);
            for (int i = 0; i < largest - 8; i += 8) {
                b.writeLong(i);
            }
            assertEquals(largest, room(b));
            b.writeLong(-1); // exactly the largest class
            assertEquals(largest, b.capacity());
            b.writeLong(-2); // one over: a large span
            assertTrue(room(b) > largest, "room " + room(b));
            assertEquals(0, b.getLong(8 * 100) - 800);
            assertEquals(1, p.stats().buffersInUse());
            assertEquals(1, p.stats().largeBuffersInUse());
            b.readerIndex(largest - 16);
            b.discardReadBytes();
            assertEquals(largest - 16, b.getLong(0));
            assertEquals(-1, b.getLong(8));
            assertEquals(-2, b.getLong(16));
            b.capacity(24); // shrink back into a size class
            assertEquals(0, p.stats().largeBuffersInUse());
            assertEquals(-2, b.getLong(16));
            b.ensureWritable((3 << 20) - 24);
            assertTrue(b.capacity() >= 3 << 20);
            assertEquals(-2, b.getLong(16));
            assertThrows(IndexOutOfBoundsException.class, () -> b.ensureWritable(5 << 20));
            assertThrows(IllegalArgumentException.class, () -> b.capacity((4 << 20) + 1));
            assertThrows(IllegalArgumentException.class, () -> b.capacity(-1));
            assertThrows(IllegalArgumentException.class, () -> b.ensureWritable(-1));
            assertEquals(1, b.ensureWritable(5 << 20, false));
            assertEquals(-2, b.getLong(16));
            assertEquals(1, p.stats().buffersInUse());
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, p.stats().usedBytes());
            p.checkInvariants();
        }
    }

    @Test
    void badCapacitiesAreRejectedWithNettysExceptionsAndLeakNothing() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            assertThrows(IllegalArgumentException.class, () -> a.directBuffer(-1));
            assertThrows(IllegalArgumentException.class, () -> a.directBuffer(-1, 10));
            assertThrows(IllegalArgumentException.class, () -> a.directBuffer(10, 5));
            assertThrows(IllegalArgumentException.class, () -> a.directBuffer(0, -1));
            assertThrows(IllegalArgumentException.class, () -> a.heapBuffer(10, 5));
            assertThrows(IllegalArgumentException.class, () -> a.buffer(-5));
            assertThrows(IllegalArgumentException.class, () -> a.ioBuffer(3, 2));
            ByteBuf b = a.directBuffer(10, 20);
            assertThrows(IndexOutOfBoundsException.class, () -> b.writeBytes(new byte[21]));
            assertThrows(IndexOutOfBoundsException.class, () -> b.getByte(10));
            assertThrows(IndexOutOfBoundsException.class, () -> b.slice(5, 6));
            assertThrows(IndexOutOfBoundsException.class, () -> b.retainedSlice(-1, 2));
            assertEquals(1, b.refCnt());
            assertEquals(10, b.capacity());
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, a.metric().usedHeapMemory());
            p.checkInvariants();
        }
    }

    @Test
    void metricIsExactWhenQuiescentAndNettysCounterNeverMoves() {
        long nettyBefore = PlatformDependent.usedDirectMemory();
        try (BufferPool p = pool(64L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            List<ByteBuf> direct = new ArrayList<>();
            for (int size : new int[] {0, 1, 100, 5000, 65536, 65537, 1 << 20, 2 << 20, 3_000_000}) {
                direct.add(a.directBuffer(size, Integer.MAX_VALUE));
            }
            direct.get(1).writeBytes(new byte[200_000]); // growth
            direct.get(5).capacity(10); // shrink
            ByteBuf h1 = a.heapBuffer(1000);
            ByteBuf h2 = a.heapBuffer(10).writeBytes(new byte[5000]);
            long rooms = 0;
            for (ByteBuf d : direct) {
                rooms += room(d);
            }
            BufferPoolStats s = p.stats();
            assertEquals(direct.size(), s.buffersInUse());
            assertEquals(rooms, s.usedBytes());
            assertEquals(rooms, a.metric().usedDirectMemory());
            assertEquals(h1.capacity() + h2.capacity(), a.metric().usedHeapMemory());
            assertEquals(nettyBefore, PlatformDependent.usedDirectMemory(), "Netty's own direct counter moved");
            for (ByteBuf d : direct) {
                d.release();
            }
            h1.release();
            h2.release();
            assertEquals(0, a.metric().usedDirectMemory());
            assertEquals(0, a.metric().usedHeapMemory());
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, a.metric().exhausted());
            assertEquals(nettyBefore, PlatformDependent.usedDirectMemory());
            p.checkInvariants();
        }
    }

    @Test
    void growthAtTheCapOnAnEventLoopFailsFastAcrossTheLargeBoundaryAndLeavesTheBufferIntact() throws Exception {
        try (BufferPool p = pool(4L << 20)) {
            SlabByteBufAllocator a = SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(5))
                    .eventLoopPolicy(EventLoopPolicy.FALLBACK_UNPOOLED).build();
            int largest = p.sizeClasses()[p.sizeClasses().length - 1];
            ByteBuf b = a.directBuffer(largest, 1 << 20);
            for (int i = 0; i < largest; i += 8) {
                b.writeLong(i * 31L);
            }
            long at = b.memoryAddress();
            List<PooledBuffer> held = exhaust(p, 1 << 20, 256 << 10, 2 * largest);
            assertNull(p.tryAcquire(2 * largest));
            BufferPoolExhaustedException e = assertThrows(BufferPoolExhaustedException.class,
                    () -> onThread(Kind.EVENT_LOOP, () -> b.writeByte(1)));
            assertTrue(e.onEventLoop());
            assertEquals(Duration.ZERO, e.waited());
            assertEquals(p.name(), e.pool());
            assertEquals(largest, b.capacity());
            assertEquals(largest, b.writerIndex());
            assertEquals(at, b.memoryAddress());
            for (int i = 0; i < largest; i += 8) {
                assertEquals(i * 31L, b.getLong(i));
            }
            // a new buffer on the loop falls back; off the loop growth waits and is served by a close
            long nettyBefore = PlatformDependent.usedDirectMemory();
            ByteBuf fallback = onThread(Kind.EVENT_LOOP, () -> a.directBuffer(2 * largest));
            // The fallback is Netty's own memory (Netty 4.2 counts it); it must leave the counter as it found it.
            assertFalse(fallback instanceof SlabByteBuf);
            assertTrue(fallback.isDirect());
            assertEquals(1, a.metric().fallbacks());
            fallback.release();
            assertEquals(nettyBefore, PlatformDependent.usedDirectMemory(), "a released fallback left Netty's counter moved");
            Thread closer = new Thread(() -> {
                try {
                    TimeUnit.MILLISECONDS.sleep(200);
                } catch (InterruptedException ignored) {
                    return;
                }
                for (PooledBuffer h : held) {
                    h.close();
                }
            });
            closer.start();
            onThread(Kind.WORKER, () -> b.writeByte(1));
            closer.join();
            assertEquals(largest + 1, b.writerIndex());
            assertEquals((largest - 8) * 31L, b.getLong(largest - 8));
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void insideAnEventExecutorTheCapFailsAtOnceAndAnInterruptedWaiterKeepsItsFlag() throws Exception {
        try (BufferPool p = pool(4L << 20)) {
            SlabByteBufAllocator a = SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(30)).build();
            List<PooledBuffer> held = exhaust(p, 1 << 20, 64 << 10, 4096);
            DefaultEventLoop loop = new DefaultEventLoop();
            try {
                ExecutionException ee = assertThrows(ExecutionException.class, () -> loop.submit(() -> a.directBuffer(4096)).get(10,
                        TimeUnit.SECONDS));
                BufferPoolExhaustedException e = assertInstanceOf(BufferPoolExhaustedException.class, ee.getCause());
                assertTrue(e.onEventLoop());
                assertEquals(4096, e.requestedBytes());
            } finally {
                loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
            AtomicReference<Object> result = new AtomicReference<>();
            Thread w = new Thread(() -> {
                try {
                    result.set(a.directBuffer(4096));
                } catch (BufferPoolExhaustedException e) {
                    result.set(Thread.currentThread().isInterrupted() ? e : "flag lost");
                }
            });
            w.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (p.stats().waiters() == 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            w.interrupt();
            w.join(5000);
            BufferPoolExhaustedException e = assertInstanceOf(BufferPoolExhaustedException.class, result.get());
            assertInstanceOf(InterruptedException.class, e.getCause());
            assertFalse(e.onEventLoop());
            for (PooledBuffer h : held) {
                h.close();
            }
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, p.stats().waiters());
            assertEquals(2, a.metric().exhausted());
            p.checkInvariants();
        }
    }

    @Test
    void largeBuffersAreReusedAndConservedAcrossThreads() throws Exception {
        try (BufferPool p = pool(128L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf one = a.directBuffer(1 << 20);
            long committed = p.stats().committedBytes();
            one.release();
            for (int i = 0; i < 50; i++) {
                ByteBuf again = a.directBuffer(1 << 20);
                assertEquals(1, p.stats().largeBuffersInUse());
                again.release();
            }
            assertEquals(committed, p.stats().committedBytes(), "1 MiB round trips should reuse the span");
            assertEquals(0, p.stats().largeBuffersInUse());
            assertTrue(p.stats().cachedLargeBytes() >= 1 << 20, p.stats().toString());
            conservation(a, p, new int[] {1 << 20, 2 << 20, (1 << 20) + 1, 65537, 300_000}, 4, 150);
            p.trim();
            assertEquals(0, p.stats().cachedLargeBytes());
        }
    }

    @Test
    void aParkedLargeSpanMovesBetweenThreadsWithExactStats() throws Exception {
        try (BufferPool p = pool(128L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            for (int size : new int[] {1 << 20, 2 << 20}) {
                p.trim();
                long base = p.stats().committedBytes();
                AtomicReference<ByteBuf> handed = new AtomicReference<>();
                onThread(Kind.WORKER, () -> {
                    ByteBuf b = a.directBuffer(size);
                    b.setLong(size - 8, 77);
                    return b.release();
                });
                BufferPoolStats parked = p.stats();
                assertEquals(0, parked.largeBuffersInUse(), parked.toString());
                assertEquals(0, parked.usedBytes(), parked.toString());
                assertEquals(size, parked.cachedLargeBytes(), parked.toString());
                assertEquals(base + size, parked.committedBytes(), parked.toString());
                onThread(Kind.WORKER, () -> { // another thread, another home stripe: takes the parked span
                    ByteBuf b = a.directBuffer(size);
                    handed.set(b);
                    return b;
                });
                BufferPoolStats held = p.stats();
                assertEquals(1, held.largeBuffersInUse(), held.toString());
                assertEquals(1, held.buffersInUse(), held.toString());
                assertEquals(size, held.usedBytes(), held.toString());
                assertEquals(0, held.cachedLargeBytes(), held.toString());
                assertEquals(base + size, held.committedBytes(), "the span was reused, not committed again: " + held);
                assertTrue(handed.get().release()); // released on a third thread
                BufferPoolStats back = p.stats();
                assertEquals(0, back.largeBuffersInUse(), back.toString());
                assertEquals(0, back.usedBytes(), back.toString());
                assertEquals(size, back.cachedLargeBytes(), back.toString());
                p.checkInvariants();
            }
            p.trim();
            assertEquals(0, p.stats().cachedLargeBytes());
            p.checkInvariants();
        }
    }

    @Test
    void growthAtTheCapOffTheLoopWithoutAWaitFailsAndAnInterruptedGrowthKeepsTheFlag() throws Exception {
        try (BufferPool p = pool(4L << 20)) {
            SlabByteBufAllocator noWait = new SlabByteBufAllocator(p);
            SlabByteBufAllocator waits = SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(30)).build();
            ByteBuf b = noWait.directBuffer(100, 1 << 20).writeLong(42);
            List<PooledBuffer> held = exhaust(p, 1 << 20, 64 << 10, 4096, 256);
            BufferPoolExhaustedException e = assertThrows(BufferPoolExhaustedException.class,
                    () -> onThread(Kind.WORKER, () -> b.ensureWritable(5000)));
            assertFalse(e.onEventLoop());
            assertEquals(Duration.ZERO, e.waited());
            assertEquals(100, b.capacity());
            assertEquals(42, b.getLong(0));
            ByteBuf w = waits.directBuffer(100, 1 << 20).writeLong(43);
            held.addAll(exhaust(p, 128));
            Thread.currentThread().interrupt();
            BufferPoolExhaustedException ie = assertThrows(BufferPoolExhaustedException.class, () -> w.ensureWritable(5000));
            assertTrue(Thread.interrupted(), "the interrupt flag was lost");
            assertInstanceOf(InterruptedException.class, ie.getCause());
            assertEquals(100, w.capacity());
            assertEquals(43, w.getLong(0));
            for (PooledBuffer h : held) {
                h.close();
            }
            b.ensureWritable(5000);
            assertEquals(42, b.getLong(0));
            b.release();
            w.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void waitersAreServedByLargeReleasesThatWouldOtherwisePark() throws Exception {
        try (BufferPool p = pool(8L << 20)) {
            SlabByteBufAllocator a = SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(20)).build();
            for (int want : new int[] {2 << 20, 4096}) {
                List<ByteBuf> held = new ArrayList<>();
                ByteBuf b;
                while ((b = tryDirect(a, 1 << 20)) != null) {
                    held.add(b);
                }
                assertFalse(held.isEmpty());
                held.addAll(exhaustDirect(a, 64 << 10));
                AtomicReference<Object> got = new AtomicReference<>();
                Thread w = new Thread(() -> {
                    try {
                        got.set(a.directBuffer(want));
                    } catch (RuntimeException e) {
                        got.set(e);
                    }
                }, "r7-waiter");
                w.start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (p.stats().waiters() == 0) {
                    assertTrue(System.nanoTime() < deadline, "the waiter never waited");
                    Thread.onSpinWait();
                }
                for (ByteBuf h : held) {
                    if (h.capacity() == 1 << 20) {
                        h.release(); // the same thread's close would park the span in its stripe's hot slot
                    }
                }
                w.join(TimeUnit.SECONDS.toMillis(20));
                assertFalse(w.isAlive());
                ByteBuf served = assertInstanceOf(ByteBuf.class, got.get(), "the waiter for " + want + " got " + got.get());
                assertEquals(want, served.capacity());
                served.release();
                for (ByteBuf h : held) {
                    if (h.refCnt() > 0) {
                        h.release();
                    }
                }
                BufferPoolStats s = p.stats();
                assertEquals(0, s.buffersInUse(), s.toString());
                assertEquals(0, s.waiters(), s.toString());
                p.checkInvariants();
            }
        }
    }

    /** A direct buffer if the pool has one now, else null (an allocator with a wait never waits here: the pool has room or not). */
    private static ByteBuf tryDirect(SlabByteBufAllocator a, int size) {
        PooledBuffer probe = a.pool().tryAcquire(size);
        if (probe == null) {
            return null;
        }
        probe.close();
        return a.directBuffer(size);
    }

    private static List<ByteBuf> exhaustDirect(SlabByteBufAllocator a, int size) {
        List<ByteBuf> out = new ArrayList<>();
        ByteBuf b;
        while ((b = tryDirect(a, size)) != null) {
            out.add(b);
        }
        return out;
    }

    @Test
    void concurrentSmallAndLargeBuffersAreNeverOwnedTwiceAndNeverSeeOthersBytes() throws Exception {
        try (BufferPool p = pool(64L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            conservation(a, p, new int[] {1, 16, 100, 1000, 4096, 20_000, 65536, 70_000, 1 << 20}, 4, 3000);
        }
    }

    @Test
    void conservationHoldsWhileTrimAndDecayRunBesideTheHotSlots() throws Exception {
        try (BufferPool p = BufferPool.builder().name("r7n-trim-" + SEQ.incrementAndGet()).reserve(128L << 20)
                .idleDecay(Duration.ofMillis(1)).build()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            AtomicReference<Boolean> stop = new AtomicReference<>(false);
            LongAdder trims = new LongAdder();
            Thread trimmer = new Thread(() -> {
                while (!stop.get()) {
                    p.trim();
                    trims.increment();
                    Thread.yield();
                }
            }, "r7-trimmer");
            trimmer.start();
            try {
                conservation(a, p, new int[] {1 << 20, 2 << 20, 100, 4096, 65536, 70_000}, 3, 1500);
            } finally {
                stop.set(true);
                trimmer.join(10_000);
            }
            assertFalse(trimmer.isAlive());
            assertTrue(trims.sum() > 0);
            p.trim();
            assertEquals(0, p.stats().cachedLargeBytes());
            p.checkInvariants();
        }
    }

    /**
     * {@code threads} threads allocate buffers of the given sizes, register each address range
     * (an overlap with a live range is a double owner), tag every 8-byte word (sampled for large
     * buffers), grow some, slice some, and hand half to another thread to check and release.
     */
    private static void conservation(SlabByteBufAllocator a, BufferPool p, int[] sizes, int threads, int perThread)
            throws Exception {
        ConcurrentSkipListMap<Long, Long> live = new ConcurrentSkipListMap<>();
        BlockingQueue<ByteBuf> handoff = new ArrayBlockingQueue<>(4);
        LongAdder allocated = new LongAdder();
        LongAdder released = new LongAdder();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final long tag = 0x5EED_0000_0000_0000L | t;
            ts.add(new Thread(() -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                try {
                    for (int i = 0; i < perThread && failure.get() == null; i++) {
                        int size = sizes[rnd.nextInt(sizes.length)];
                        ByteBuf b = a.directBuffer(size, Integer.MAX_VALUE);
                        allocated.increment();
                        if (rnd.nextInt(8) == 0) {
                            b.capacity(size * 2 + 8);
                        }
                        own(live, b);
                        long stamp = tag ^ ((long) i << 20);
                        fill(b, stamp);
                        b.setIndex(0, b.capacity());
                        if (rnd.nextBoolean() && handoff.offer(b)) {
                            // another thread checks and releases it
                        } else {
                            check(b, stamp);
                            ByteBuf s = b.retainedSlice(0, Math.min(8, b.capacity()));
                            disown(live, b);
                            b.release();
                            s.release();
                            released.increment();
                        }
                        ByteBuf other = handoff.poll();
                        if (other != null) {
                            long first = other.capacity() >= 8 ? other.getLong(0) : 0;
                            if (other.capacity() >= 8) {
                                check(other, first);
                            }
                            disown(live, other);
                            other.release();
                            released.increment();
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "r7-cons-" + t));
        }
        ts.forEach(Thread::start);
        for (Thread t : ts) {
            t.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(t.isAlive(), "still running: " + t);
        }
        ByteBuf left;
        while ((left = handoff.poll()) != null) {
            disown(live, left);
            left.release();
            released.increment();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertEquals(allocated.sum(), released.sum());
        assertTrue(live.isEmpty(), "ranges still owned: " + live.size());
        BufferPoolStats s = p.stats();
        assertEquals(0, s.buffersInUse(), s.toString());
        assertEquals(0, s.usedBytes(), s.toString());
        p.checkInvariants();
    }

    private static void own(ConcurrentSkipListMap<Long, Long> live, ByteBuf b) {
        long start = b.memoryAddress();
        long end = start + Math.max(1, room(b));
        if (live.putIfAbsent(start, end) != null) {
            throw new AssertionError("address " + Long.toHexString(start) + " owned twice");
        }
        Map.Entry<Long, Long> below = live.lowerEntry(start);
        Map.Entry<Long, Long> above = live.higherEntry(start);
        if (below != null && below.getValue() > start || above != null && above.getKey() < end) {
            live.remove(start);
            throw new AssertionError("range " + Long.toHexString(start) + "+" + (end - start) + " overlaps a live one");
        }
    }

    private static void disown(ConcurrentSkipListMap<Long, Long> live, ByteBuf b) {
        if (live.remove(b.memoryAddress()) == null) {
            throw new AssertionError("address " + Long.toHexString(b.memoryAddress()) + " was not owned");
        }
    }

    /** Words at 8-byte steps (every 512th for buffers over 64 KiB) hold stamp ^ offset. */
    private static void fill(ByteBuf b, long stamp) {
        if (b.capacity() < 8) {
            b.setByte(0, (int) stamp);
            return;
        }
        b.setLong(0, stamp);
        int step = b.capacity() > 65536 ? 4096 : 8;
        for (int i = 8; i + 8 <= b.capacity(); i += step) {
            b.setLong(i, stamp ^ i);
        }
    }

    private static void check(ByteBuf b, long stamp) {
        if (b.capacity() < 8) {
            return;
        }
        if (b.getLong(0) != stamp) {
            throw new AssertionError("word 0 of " + b + " is " + Long.toHexString(b.getLong(0)));
        }
        int step = b.capacity() > 65536 ? 4096 : 8;
        for (int i = 8; i + 8 <= b.capacity(); i += step) {
            if (b.getLong(i) != (stamp ^ i)) {
                throw new AssertionError("word " + i + " of " + b + " holds someone else's bytes");
            }
        }
    }

    // ------------------------------------------------------------------ child JVM

    private record Child(int code, String out) {
        String tail() {
            return out.length() > 3000 ? out.substring(out.length() - 3000) : out;
        }
    }

    private static Child child(String mode) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(List.of(java.toString(), "-Xmx64m", "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=/dev/null", "-cp", System.getProperty("java.class.path"), ClosedPoolChild.class.getName(), mode));
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(30, TimeUnit.SECONDS));
        return new Child(proc.exitValue(), out);
    }

    /** Run in a child JVM: a pool closed under live adapter buffers, then accesses that might crash. */
    public static final class ClosedPoolChild {
        private ClosedPoolChild() {
        }

        public static void main(String[] args) throws Exception {
            BufferPool pool = BufferPool.builder().name("r7n-child").reserve(16L << 20).build();
            SlabByteBufAllocator a = new SlabByteBufAllocator(pool);
            if (args[0].equals("nio")) {
                ByteBuf b = a.directBuffer(4096).writeLong(7);
                ByteBuffer nio = b.nioBuffer(0, 4096);
                pool.close();
                try {
                    System.out.println("read " + nio.getLong(0) + " " + nio.get(4095));
                } catch (RuntimeException e) {
                    System.out.println("threw " + e);
                }
                System.out.println("NIO-SURVIVED");
                return;
            }
            if (args[0].equals("composite")) {
                CompositeByteBuf comp = a.compositeDirectBuffer().addComponents(true, a.directBuffer(4096).writerIndex(4096),
                        a.directBuffer(4096).writerIndex(4096));
                pool.close();
                try {
                    System.out.println("found " + comp.forEachByte(x -> x == 0x7F));
                } catch (RuntimeException e) {
                    System.out.println("threw " + e);
                }
                System.out.println("COMPOSITE-SURVIVED");
                return;
            }
            ByteBuf small = a.directBuffer(100).writeLong(1);
            ByteBuf large = a.directBuffer(3 << 20).writeLong(2);
            ByteBuf slice = small.slice(0, 8);
            ByteBuf dup = large.duplicate();
            ByteBuf rs = large.retainedSlice(0, 16);
            CompositeByteBuf comp = a.compositeDirectBuffer().addComponents(true, a.directBuffer(64).writeLong(3),
                    a.directBuffer(64).writeLong(4));
            ByteBuf open = Unpooled.directBuffer(64).writeLong(5);
            pool.close();
            int refused = 0;
            List<Runnable> probes = new ArrayList<>();
            for (ByteBuf b : new ByteBuf[] {small, large, slice, dup, rs, comp}) {
                probes.add(() -> b.getLong(0));
                probes.add(() -> b.setLong(0, 9));
                probes.add(b::readByte);
                probes.add(() -> b.writeByte(1));
                probes.add(() -> b.nioBuffer(0, 8));
                probes.add(b::nioBuffers);
                probes.add(() -> b.getBytes(0, new byte[8]));
                probes.add(() -> b.getBytes(0, open, 0, 8));
                probes.add(() -> b.setBytes(0, open, 0, 8));
                probes.add(() -> open.setBytes(8, b, 0, 8));
                probes.add(() -> open.getBytes(0, b, 0, 8));
                probes.add(() -> b.copy(0, 8));
                probes.add(() -> ByteBufUtil.hexDump(b, 0, 8));
                probes.add(() -> b.toString(0, 8, StandardCharsets.UTF_8));
                if (b != comp) { // a composite's forEachByte: see aCompositesForEachByteOverABufferWhosePoolClosedDoesNotCrashTheJvm
                    probes.add(() -> b.forEachByte(x -> true));
                    if (b != slice && b != rs) {
                        probes.add(() -> b.capacity(1));
                    }
                    probes.add(b::discardReadBytes);
                }
                probes.add(() -> b.indexOf(0, 8, (byte) 3));
                if (b != slice && b != rs) { // a slice's capacity is fixed (UnsupportedOperationException)
                    probes.add(() -> b.capacity(5 << 20));
                }
                probes.add(() -> ByteBufUtil.writeUtf8(b, "x"));
                probes.add(b::hashCode);
                if (b != comp) {
                    probes.add(b::memoryAddress);
                    probes.add(() -> b.internalNioBuffer(0, 8));
                }
            }
            Path f = Files.createTempFile("r7n-child", ".bin");
            try (FileChannel fc = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                fc.write(ByteBuffer.allocate(64));
                for (ByteBuf b : new ByteBuf[] {small, large, slice}) {
                    probes.add(() -> {
                        try {
                            b.getBytes(0, fc, 0, 8);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
                    probes.add(() -> {
                        try {
                            b.setBytes(0, fc, 0, 8);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    });
                }
                for (Runnable r : probes) {
                    try {
                        r.run();
                        System.out.println("NOT REFUSED: probe " + probes.indexOf(r));
                    } catch (IllegalStateException | IndexOutOfBoundsException e) { // IllegalReferenceCountException is an IllegalStateException
                        refused++;
                    } catch (UnsupportedOperationException e) {
                        // Netty without Unsafe (its default on JDK 24 and later) copies into a destination through the
                        // destination's internalNioBuffer, which a composite of several parts refuses before any memory is
                        // touched: a refusal too, but only there
                        if (io.netty.util.internal.PlatformDependent.hasUnsafe()) {
                            throw e;
                        }
                        refused++;
                    }
                }
            } finally {
                Files.deleteIfExists(f);
            }
            rs.release();
            comp.release();
            small.release();
            large.release();
            open.release();
            System.out.println(refused == probes.size() ? "ACCESSORS-OK" : "refused " + refused + " of " + probes.size());
        }
    }
}

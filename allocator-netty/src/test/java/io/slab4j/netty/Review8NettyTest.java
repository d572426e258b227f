package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.ResourceLeakDetector;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.BufferPoolStats;
import io.slab4j.buffer.LeakDetection;
import io.slab4j.buffer.PooledBuffer;
import io.slab4j.buffer.RawHolder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Review 8 of the adapter on the raw API: SlabByteBuf as a RawHolder, leaks, growth/shrink at the cap, waits, close. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Review8NettyTest {
    private static final AtomicInteger SEQ = new AtomicInteger();
    private ResourceLeakDetector.Level level;

    @BeforeEach
    void noNettyWrapper() {
        level = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED); // the SlabByteBuf itself
    }

    @AfterEach
    void restore() {
        ResourceLeakDetector.setLevel(level);
    }

    private static BufferPool.Builder pool(long reserve) {
        return BufferPool.builder().name("r8n-" + SEQ.incrementAndGet()).reserve(reserve).leakDetection(LeakDetection.OFF);
    }

    private static int room(ByteBuf b) {
        return b.maxFastWritableBytes() + b.writerIndex();
    }

    private static void awaitLeaks(BufferPool p, long n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while ((p.stats().leaksDetected() < n || p.stats().buffersInUse() > 0) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(10);
        }
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(10);
        }
    }

    /** Leaked SlabByteBufs under the pool's ALL: fresh, grown, shrunk (moved), shrunk back into its old memory: each back once, counted once. */
    @Test
    void leakedBuffersComeBackExactlyOnceAfterGrowthAndShrink() throws InterruptedException {
        try (BufferPool p = pool(64L << 20).leakDetection(LeakDetection.ALL).build()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            leak(a, 100, b -> { });
            leak(a, 100, b -> b.capacity(100_000)); // growth: class -> large span
            leak(a, 8192, b -> b.capacity(10)); // shrink that moves
            leak(a, 1 << 20, b -> b.capacity(3 << 20)); // large -> larger
            awaitLeaks(p, 4);
            assertEquals(4, p.stats().leaksDetected());
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
        try (BufferPool p = pool(64L << 20).sizeClasses(4096).leakDetection(LeakDetection.ALL).build()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            leak(a, 4096, b -> {
                long at = b.memoryAddress();
                b.capacity(10); // one roomy class: the shrink goes back into the old memory
                assertEquals(at, b.memoryAddress());
            });
            awaitLeaks(p, 1);
            assertEquals(1, p.stats().leaksDetected(), "the shrink's discarded memory is not a leak; the buffer is one");
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    private static void leak(SlabByteBufAllocator a, int size, java.util.function.Consumer<ByteBuf> op) {
        ByteBuf b = a.directBuffer(size);
        b.writeByte(1);
        op.accept(b);
    }

    /** Released (not leaked) buffers under ALL, after growth and shrinks, with derived buffers: no leak reported, nothing out. */
    @Test
    void releasedBuffersWithDerivedOnesAreNoLeak() throws InterruptedException {
        try (BufferPool p = pool(64L << 20).leakDetection(LeakDetection.ALL).build()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            for (int i = 0; i < 50; i++) {
                ByteBuf b = a.directBuffer(64);
                b.writeLong(i);
                ByteBuf s = b.retainedSlice(0, 8);
                b.capacity(5000);
                assertEquals(i, s.getLong(0), "the slice reads the grown memory");
                b.writeBytes(new byte[4000]);
                ByteBuf d = b.retainedDuplicate();
                b.capacity(16); // derived: stays in place
                assertEquals(i, d.getLong(0));
                b.release();
                s.release();
                assertEquals(1, d.refCnt());
                assertTrue(d.release());
                assertThrows(IllegalReferenceCountException.class, () -> s.getLong(0));
            }
            awaitLeaks(p, 0);
            assertEquals(0, p.stats().leaksDetected());
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /**
     * The Netty form of the core review's rawView finding. Expected (allocator javadoc, Pool
     * lifetime: NIO buffers "follow Netty's rule: valid until the buffer's release or its next
     * capacity change"; SlabByteBuf invariant 1: "While refCnt > 0 this buffer owns memory
     * alone; no other SlabByteBuf and no pool layer holds its address"): a buffer leaked
     * without release keeps its memory while its NIO buffer lives. Observed: under the pool's
     * leak detection the SlabByteBuf (the watched holder) dies while its nioBuffer() lives
     * (the view's attachment is the pool, not the buffer), its memory goes back and a new
     * buffer's bytes are overwritten through the old NIO buffer. Fault: SlabByteBuf.view() /
     * BufferPool.rawView (BufferPool.java line 391; SlabByteBuf.java line 712): the view does not keep the holder reachable.
     */
    @Test
    void aLeakedBuffersNioBufferNeverReachesAnotherBuffersMemory() throws InterruptedException {
        try (BufferPool p = pool(16L << 20).magazines(false).leakDetection(LeakDetection.ALL).build()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuffer nio = leakKeepingNio(a);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (p.stats().leaksDetected() == 0 && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(10);
            }
            List<ByteBuf> next = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                ByteBuf b = a.directBuffer(256);
                b.writeBytes(new byte[256]);
                next.add(b);
            }
            for (int j = 0; j < 256; j++) {
                nio.put(j, (byte) 0x77);
            }
            int clobbered = 0;
            for (ByteBuf b : next) {
                clobbered += b.getByte(0) == 0x77 ? 1 : 0;
            }
            assertEquals(0, clobbered, "a live buffer's bytes were written through a leaked buffer's NIO buffer (leaks: "
                    + p.stats().leaksDetected() + ")");
            next.forEach(ByteBuf::release);
        }
    }

    private static ByteBuffer leakKeepingNio(SlabByteBufAllocator a) {
        ByteBuf b = a.directBuffer(256);
        b.writeBytes(new byte[256]);
        return b.nioBuffer(0, 256);
    }

    /** Growth failing at the cap (event loop, worker without wait, worker after a wait) leaves the buffer and the pool as they were. */
    @Test
    void growthFailingAtTheCapLeavesTheBufferUnchanged() throws Exception {
        try (BufferPool p = pool(4L << 20).leakDetection(LeakDetection.ALL).build()) {
            SlabByteBufAllocator worker = SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofMillis(30)).build();
            SlabByteBufAllocator loopy = SlabByteBufAllocator.builder(p).eventLoopThreads(t -> true)
                    .eventLoopPolicy(EventLoopPolicy.FALLBACK_UNPOOLED).build();
            ByteBuf b = worker.directBuffer(64);
            b.writeLong(0x1122334455667788L);
            ByteBuf s = b.slice(0, 8);
            List<ByteBuf> hog = new ArrayList<>();
            while (true) {
                ByteBuf h = loopy.directBuffer(1 << 20);
                if (!(h instanceof SlabByteBuf)) {
                    h.release(); // the fallback: the pool is full
                    break;
                }
                hog.add(h);
            }
            BufferPoolStats before = p.stats();
            long at = b.memoryAddress();
            int room = room(b);
            for (SlabByteBufAllocator who : new SlabByteBufAllocator[] {worker, loopy}) {
                ByteBuf g = who.directBuffer(16);
                // g may be a fallback on the loop allocator, a slab buffer otherwise (a 16-byte class has room)
                g.release();
            }
            assertThrows(BufferPoolExhaustedException.class, () -> b.capacity(2 << 20));
            assertThrows(BufferPoolExhaustedException.class, () -> b.ensureWritable(3 << 20));
            assertEquals(64, b.capacity());
            assertEquals(at, b.memoryAddress());
            assertEquals(room, room(b));
            assertEquals(8, b.writerIndex());
            assertEquals(0x1122334455667788L, b.getLong(0));
            assertEquals(0x1122334455667788L, s.getLong(0));
            assertEquals(0x1122334455667788L, b.internalNioBuffer(0, 8).getLong(0));
            assertEquals(before.buffersInUse(), p.stats().buffersInUse());
            assertEquals(before.usedBytes(), p.stats().usedBytes());
            p.checkInvariants();
            // growth after a release: it works, and the NIO buffers follow the new memory
            ByteBuffer internalBefore = b.internalNioBuffer(0, 8);
            hog.remove(0).release();
            hog.remove(0).release();
            b.capacity(1 << 20);
            assertNotEquals(at, b.memoryAddress());
            assertEquals(0x1122334455667788L, s.getLong(0));
            ByteBuffer internal = b.internalNioBuffer(0, 1 << 20);
            assertEquals(1 << 20, internal.remaining());
            assertFalse(internal == internalBefore, "a new internal NIO buffer over the new memory");
            internal.putLong(0, 42);
            assertEquals(42, b.getLong(0));
            assertEquals(42, b.nioBuffer(0, 8).getLong(0));
            b.release();
            hog.forEach(ByteBuf::release);
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /** A worker's wait for memory is served by a release on another thread; an interrupted wait fails with the flag set and holds nothing. */
    @Test
    void waitsAreServedByReleasesAndInterruptsLeaveNothingBehind() throws Exception {
        try (BufferPool p = pool(4L << 20).build()) {
            SlabByteBufAllocator a = SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(20)).build();
            List<ByteBuf> hog = new ArrayList<>();
            SlabByteBufAllocator noWait = new SlabByteBufAllocator(p);
            while (true) {
                try {
                    hog.add(noWait.directBuffer(1 << 20));
                } catch (BufferPoolExhaustedException e) {
                    break;
                }
            }
            int spans = hog.size();
            AtomicReference<Object> got = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    ByteBuf b = a.directBuffer(1 << 20);
                    b.writeInt(7);
                    got.set(b);
                } catch (Throwable e) {
                    got.set(e);
                }
            });
            t.start();
            while (p.stats().waiters() == 0) {
                Thread.onSpinWait();
            }
            hog.remove(0).release();
            t.join();
            assertTrue(got.get() instanceof ByteBuf, String.valueOf(got.get()));
            hog.add((ByteBuf) got.get());
            assertEquals(spans, p.stats().buffersInUse());

            // interrupted waiters, racing releases
            for (int round = 0; round < 20; round++) {
                AtomicReference<Object> r = new AtomicReference<>();
                AtomicReference<Boolean> flag = new AtomicReference<>();
                Thread w = new Thread(() -> {
                    try {
                        r.set(a.directBuffer(1 << 20));
                    } catch (Throwable e) {
                        r.set(e);
                    }
                    flag.set(Thread.currentThread().isInterrupted());
                });
                w.start();
                while (p.stats().waiters() == 0 && w.isAlive()) {
                    Thread.onSpinWait();
                }
                ByteBuf back = hog.remove(0);
                w.interrupt();
                back.release();
                w.join();
                Object res = r.get();
                if (res instanceof ByteBuf) {
                    hog.add((ByteBuf) res);
                } else {
                    assertTrue(res instanceof BufferPoolExhaustedException, "round " + round + ": " + res);
                    assertTrue(((Throwable) res).getCause() instanceof InterruptedException, "round " + round);
                    assertTrue(flag.get(), "round " + round + ": the interrupt flag is set again");
                    hog.add(noWait.directBuffer(1 << 20)); // the released span is free
                }
                assertEquals(spans, p.stats().buffersInUse(), "round " + round);
            }
            hog.forEach(ByteBuf::release);
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /** A buffer cast to RawHolder refuses hold() while live, after growth, after release and after the pool's close; slices unwrap to it. */
    @Test
    void holdThroughTheInterfaceNeverRepointsABuffer() {
        BufferPool p = pool(16L << 20).leakDetection(LeakDetection.ALL).build();
        SlabByteBufAllocator a = new SlabByteBufAllocator(p);
        ByteBuf b = a.directBuffer(64);
        b.writeInt(5);
        ByteBuf slice = b.slice();
        RawHolder h = (RawHolder) slice.unwrap();
        assertThrows(IllegalStateException.class, () -> h.hold(b.memoryAddress() + 64, 64, "x"));
        b.capacity(9000);
        long at = b.memoryAddress();
        assertThrows(IllegalStateException.class, () -> h.hold(at + 4096, 64, null));
        assertEquals(at, b.memoryAddress());
        assertEquals(5, b.getInt(0));
        ByteBuf c = a.directBuffer(64);
        p.close();
        assertThrows(IllegalStateException.class, () -> ((RawHolder) c).hold(0, 64, null));
        assertTrue(b.release()); // never throws after the pool's close
        assertTrue(c.release());
        assertThrows(IllegalStateException.class, () -> h.hold(at, 64, null));
        assertThrows(IllegalStateException.class, () -> a.directBuffer(64));
    }

    /** A zeroing pool: moved growth and shrink never show another holder's bytes, in the copied or the uncopied part. */
    @Test
    void zeroingPoolGrowthAndShrinkShowOnlyZerosOrOwnBytes() {
        try (BufferPool p = pool(16L << 20).zeroOnAcquire(true).build()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            for (int size : new int[] {64, 4096, 16384, 1 << 20}) { // dirty memory of every size
                ByteBuf d = a.directBuffer(size);
                d.writeBytes(fill(size, (byte) 0x5a));
                d.release();
            }
            ByteBuf b = a.directBuffer(10);
            b.writeBytes(fill(10, (byte) 1));
            for (int cap : new int[] {100, 5000, 20000, 1 << 20, 30, 3000}) {
                b.capacity(cap);
                int r = room(b);
                b.capacity(r); // in place: the whole room readable
                for (int i = 0; i < r; i++) {
                    byte x = b.getByte(i);
                    assertTrue(x == 0 || x == 1, "room of capacity " + cap + ", byte " + i + ": " + x);
                }
                b.capacity(cap);
            }
            b.release();
            assertEquals(0, p.stats().buffersInUse());
        }
    }

    private static byte[] fill(int n, byte v) {
        byte[] a = new byte[n];
        java.util.Arrays.fill(a, v);
        return a;
    }

    /** Netty buffers, raw holders and handles on one pool across threads, with cross-thread releases and growth: no address twice, nothing lost. */
    @Test
    void conservationWithNettyBuffersHandlesAndRawHolders() throws Exception {
        try (BufferPool p = pool(64L << 20).zeroOnAcquire(true).leakDetection(LeakDetection.SAMPLED).build()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ConcurrentHashMap<Long, Integer> owner = new ConcurrentHashMap<>();
            AtomicReference<String> failed = new AtomicReference<>();
            ConcurrentLinkedQueue<ByteBuf> handoff = new ConcurrentLinkedQueue<>();
            List<Thread> ts = new ArrayList<>();
            for (int k = 1; k <= 4; k++) {
                int me = k;
                Thread t = new Thread(() -> {
                    java.util.Random rnd = new java.util.Random(me);
                    try {
                        for (int i = 0; i < 10_000 && failed.get() == null; i++) {
                            int size = 1 + rnd.nextInt(rnd.nextInt(8) == 0 ? 20_000 : 300);
                            switch (rnd.nextInt(3)) {
                                case 0 -> {
                                    ByteBuf b = a.directBuffer(size);
                                    claim(owner, b.memoryAddress(), me, failed);
                                    checkZeroAndStamp(b, size, me, failed);
                                    owner.remove(b.memoryAddress());
                                    if (rnd.nextBoolean()) {
                                        b.capacity(size * 3 + 1);
                                        claim(owner, b.memoryAddress(), me, failed);
                                        if (b.getByte(0) != (byte) me) {
                                            failed.compareAndSet(null, "growth lost the bytes");
                                        }
                                        owner.remove(b.memoryAddress());
                                    }
                                    if (rnd.nextInt(3) == 0) {
                                        handoff.add(b);
                                    } else {
                                        b.release();
                                    }
                                }
                                case 1 -> {
                                    PooledBuffer h = p.tryAcquire(size);
                                    if (h != null) {
                                        claim(owner, h.address(), me, failed);
                                        owner.remove(h.address());
                                        h.close();
                                    }
                                }
                                default -> {
                                    long[] got = new long[1];
                                    Object[] tok = new Object[1];
                                    RawHolder r = (ad, c, to) -> {
                                        got[0] = ad;
                                        tok[0] = to;
                                    };
                                    if (p.tryAcquireRaw(size, r)) {
                                        claim(owner, got[0], me, failed);
                                        owner.remove(got[0]);
                                        p.releaseRaw(r, tok[0], got[0]);
                                    }
                                }
                            }
                            ByteBuf other = handoff.poll();
                            if (other != null) {
                                other.release();
                            }
                        }
                    } catch (Throwable e) {
                        failed.compareAndSet(null, e.toString());
                    }
                });
                t.start();
                ts.add(t);
            }
            for (Thread t : ts) {
                t.join();
            }
            for (ByteBuf b; (b = handoff.poll()) != null; ) {
                b.release();
            }
            assertNull(failed.get());
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, p.stats().leaksDetected());
            p.trim();
            p.checkInvariants();
        }
    }

    private static void claim(ConcurrentHashMap<Long, Integer> owner, long address, int me, AtomicReference<String> failed) {
        Integer was = owner.putIfAbsent(address, me);
        if (was != null) {
            failed.compareAndSet(null, "address owned twice (" + was + " and " + me + ")");
        }
    }

    private static void checkZeroAndStamp(ByteBuf b, int size, int me, AtomicReference<String> failed) {
        int n = Math.min(size, 32);
        for (int j = 0; j < n; j++) {
            if (b.getByte(j) != 0) {
                failed.compareAndSet(null, "a previous holder's byte");
            }
        }
        for (int j = 0; j < n; j++) {
            b.setByte(j, me);
        }
    }

    /** The pool closes under open buffers of every kind (class, large, watched, grown, with slices): access refused, release works once, on any thread. */
    @Test
    void poolCloseUnderOpenBuffersOfEveryKind() throws Exception {
        BufferPool p = pool(32L << 20).leakDetection(LeakDetection.ALL).build();
        SlabByteBufAllocator a = new SlabByteBufAllocator(p);
        List<ByteBuf> open = new ArrayList<>();
        open.add(a.directBuffer(64));
        open.add(a.directBuffer(1 << 20));
        ByteBuf grown = a.directBuffer(64);
        grown.capacity(70_000);
        open.add(grown);
        ByteBuf parent = a.directBuffer(4096);
        ByteBuf slice = parent.retainedSlice(0, 100);
        open.add(parent);
        for (ByteBuf b : open) {
            b.writeInt(3);
        }
        p.close();
        for (ByteBuf b : open) {
            assertEquals(0, b.refCnt());
            assertThrows(IllegalReferenceCountException.class, () -> b.getInt(0));
            assertThrows(IllegalReferenceCountException.class, () -> b.nioBuffer());
            assertThrows(IllegalReferenceCountException.class, () -> b.capacity(1 << 21));
        }
        assertThrows(IllegalReferenceCountException.class, () -> slice.getByte(0));
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                assertTrue(open.get(0).release());
                assertTrue(open.get(1).release());
            } catch (Throwable e) {
                failed.set(e);
            }
        });
        t.start();
        t.join();
        assertNull(failed.get());
        assertTrue(open.get(2).release());
        assertFalse(open.get(3).release());
        assertTrue(slice.release());
        assertThrows(IllegalStateException.class, () -> a.directBuffer(64));
        assertThrows(IllegalStateException.class, () -> a.directBuffer(1 << 20));
    }

    /** Buffers of a thread that exited are released on another thread, around trim(): nothing lost. */
    @Test
    void buffersOfAnExitedThreadAreReleasedElsewhere() throws Exception {
        try (BufferPool p = pool(32L << 20).build()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            List<ByteBuf> made = new ArrayList<>();
            Thread t = new Thread(() -> {
                for (int size : new int[] {16, 100, 5000, 1 << 20}) {
                    ByteBuf b = a.directBuffer(size);
                    b.writeInt(size);
                    made.add(b);
                }
                made.get(0).capacity(3000); // grown on the exiting thread
            });
            t.start();
            t.join();
            p.trim();
            assertEquals(4, p.stats().buffersInUse());
            for (ByteBuf b : made) {
                b.capacity(b.capacity() * 2); // grown on this thread, the old memory released here
                assertTrue(b.release());
                p.trim();
            }
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /** The pool's SAMPLED detection over many leaked SlabByteBufs: the sampled ones come back, each counted once, the others stay out. */
    @Test
    void sampledLeaksOfNettyBuffersComeBackOnceEach() throws InterruptedException {
        try (BufferPool p = pool(64L << 20).leakDetection(LeakDetection.SAMPLED).build()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            int n = 10 * BufferPool.LEAK_SAMPLE_INTERVAL;
            for (int i = 0; i < n; i++) {
                a.directBuffer(16).writeByte(i);
            }
            long last = -1;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            int stable = 0;
            while (stable < 5 && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(20);
                long now = p.stats().leaksDetected();
                stable = now == last && now > 0 ? stable + 1 : 0;
                last = now;
            }
            long leaks = p.stats().leaksDetected();
            assertTrue(leaks > 0, "some of " + n + " were sampled");
            assertEquals(n - leaks, p.stats().buffersInUse(), "every reported leak came back once, nothing else did");
            p.checkInvariants();
        }
    }

    /**
     * Expected (SlabByteBufAllocator javadoc, Pool lifetime: "A SlabByteBuf still open when its
     * pool closes refuses access ... and since such a pool keeps its region reserved (emptied,
     * never unmapped ...), what Netty reaches without those checks (... NIO buffers taken
     * before) reads zeros instead of faulting"): a buffer never released is still open, so
     * its NIO buffer reads zeros after the close. Observed (child JVM): the pool's leak
     * detector returned the memory of the unreachable SlabByteBuf while its NIO buffer was
     * reachable (the view is attached to the pool, not to the buffer), so the close found
     * nothing open, unmapped the region, and the read killed the JVM (SIGSEGV). Before this
     * change the NIO buffers were views of the buffer's PooledBuffer, which they kept
     * reachable: the same child run against b8292af (the parent of the raw API's commit)
     * printed "R8N-LEAKS 0 IN-USE 1", "R8N-READ 0" and exited 0, so this is a regression. Fault: SlabByteBuf.view() over BufferPool.rawView (BufferPool.java line 391; SlabByteBuf.java line 712).
     */
    @Test
    void aLeakedBuffersNioBufferSurvivesThePoolsClose() throws Exception {
        java.nio.file.Path javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java");
        ProcessBuilder pb = new ProcessBuilder(List.of(javaBin.toString(), "-Xmx128m", "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=/dev/null", "-cp", System.getProperty("java.class.path"), Review8LeakedNioMain.class.getName()));
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        String out = new String(proc.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(30, TimeUnit.SECONDS));
        String tail = out.length() > 3000 ? out.substring(out.length() - 3000) : out;
        assertEquals(0, proc.exitValue(), "the child JVM failed (crashed?):\n" + tail);
        assertTrue(out.contains("R8N-READ 0"), tail);
    }

    /** At the cap: a shrink stays in place (never fails), an event loop's growth throws (never falls back), its new buffers fall back. */
    @Test
    void atTheCapShrinkStaysGrowthThrowsAndNewBuffersFallBackOnTheLoop() {
        try (BufferPool p = pool(4L << 20).build()) {
            SlabByteBufAllocator loop = SlabByteBufAllocator.builder(p).eventLoopThreads(t -> true)
                    .eventLoopPolicy(EventLoopPolicy.FALLBACK_UNPOOLED).build();
            ByteBuf b = loop.directBuffer(8192);
            assertTrue(b instanceof SlabByteBuf);
            b.writeLong(99).writeLong(100);
            List<ByteBuf> hog = new ArrayList<>();
            while (true) {
                ByteBuf h = loop.directBuffer(16);
                if (!(h instanceof SlabByteBuf)) {
                    h.writeLong(5); // a fallback works as a buffer
                    assertEquals(5, h.readLong());
                    h.release();
                    break;
                }
                hog.add(h);
            }
            long fallbacks = loop.fallbackCount();
            assertTrue(fallbacks >= 1);
            BufferPoolStats before = p.stats();
            long at = b.memoryAddress();
            b.capacity(10); // nothing smaller free: stays
            assertEquals(10, b.capacity());
            assertEquals(at, b.memoryAddress());
            assertEquals(10, b.writerIndex(), "indices trimmed to the capacity");
            assertEquals(99, b.getLong(0));
            assertEquals(before.buffersInUse(), p.stats().buffersInUse());
            long exhausted = loop.exhaustedCount();
            assertThrows(BufferPoolExhaustedException.class, () -> b.capacity(1 << 20));
            assertEquals(exhausted + 1, loop.exhaustedCount());
            assertEquals(fallbacks, loop.fallbackCount(), "growth never falls back");
            assertEquals(10, b.capacity());
            assertEquals(at, b.memoryAddress());
            assertEquals(99, b.getLong(0));
            hog.forEach(ByteBuf::release);
            b.capacity(10_000); // beyond the room: moves, now that memory is free
            assertEquals(99, b.getLong(0));
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /** Netty's own detector at PARANOID (its wrapper around the buffer) beside the pool's ALL: a leaked buffer, grown and sliced, comes back once. */
    @Test
    void nettyParanoidWrapperAndThePoolsDetectorTogether() throws InterruptedException {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        try (BufferPool p = pool(32L << 20).leakDetection(LeakDetection.ALL).build()) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            for (int i = 0; i < 3; i++) {
                ByteBuf b = a.directBuffer(64);
                assertFalse(b instanceof SlabByteBuf, "wrapped for Netty's detector");
                b.writeLong(i);
                b.capacity(100_000);
                b.retainedSlice(0, 8).release();
            }
            ByteBuf kept = a.directBuffer(64);
            kept.capacity(5000);
            assertTrue(kept.release());
            awaitLeaks(p, 3);
            assertEquals(3, p.stats().leaksDetected());
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }
}

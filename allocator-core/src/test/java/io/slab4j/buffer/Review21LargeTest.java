package io.slab4j.buffer;

import io.slab4j.arena.FailingCommits;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import io.slab4j.testing.ProcMaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Review 21: {@link BufferPool}'s large buffers (above the largest size class): their figures in
 * {@link BufferPoolStats}, zeroing of spans that come back with old bytes (refused decommits), a
 * committed cap below or at one large span, eviction of cached spans at the cap, and the pool's
 * close racing large acquires.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class Review21LargeTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final int MIB = 1 << 20;

    private static BufferPool.Builder builder(String name) {
        return BufferPool.builder().name("review21-" + name).leakDetection(LeakDetection.OFF).idleDecay(Duration.ofDays(1));
    }

    private static String figures(BufferPoolStats s) {
        return "committed " + s.committedBytes() + ", accessible " + s.accessibleBytes() + ", used " + s.usedBytes()
                + ", in use " + s.buffersInUse() + ", large in use " + s.largeBuffersInUse() + ", cached large "
                + s.cachedLargeBytes() + ", waiters " + s.waiters() + ", commit failures " + s.commitFailures();
    }

    private static void fill(PooledBuffer b, byte value) {
        ByteBuffer bb = b.byteBuffer();
        for (int i = 0; i < bb.capacity(); i += 8) {
            bb.putLong(i, value * 0x0101010101010101L);
        }
    }

    /** The offset of the first non-zero long in {@code b}, or -1. */
    private static int firstNonZero(PooledBuffer b) {
        ByteBuffer bb = b.byteBuffer();
        for (int i = 0; i + 8 <= bb.capacity(); i += 8) {
            if (bb.getLong(i) != 0) {
                return i;
            }
        }
        return -1;
    }

    // BufferPoolStats: largeBuffersInUse "open buffers above the largest size class", usedBytes "capacity of the
    // buffers open now", cachedLargeBytes "bytes of closed large spans kept committed for reuse", committedBytes
    // "slabs, open and cached large spans"; capacity is "the page-rounded span". trim() returns the cached spans.
    @Test
    void largeFiguresFollowAcquireCloseAndTrim() throws Exception {
        try (BufferPool p = builder("figures").reserve(64L << 20).build()) {
            int largest = p.sizeClasses()[p.sizeClasses().length - 1];
            PooledBuffer a = p.acquire(largest + 1);
            PooledBuffer b = p.acquire(MIB);
            PooledBuffer c = p.acquire(3 * MIB + 1);
            long ca = (largest + 1 + PAGE - 1) / PAGE * PAGE;
            assertEquals(ca, a.capacity());
            assertEquals(MIB, b.capacity());
            assertEquals(3 * MIB + PAGE, c.capacity());
            assertEquals(a.capacity(), a.byteBuffer().capacity());
            BufferPoolStats s = p.stats();
            assertEquals(3, s.largeBuffersInUse(), figures(s));
            assertEquals(3, s.buffersInUse(), figures(s));
            assertEquals(ca + MIB + 3 * MIB + PAGE, s.usedBytes(), figures(s));
            assertEquals(0, s.cachedLargeBytes(), figures(s));
            assertEquals(s.usedBytes(), s.committedBytes(), "only large spans are committed: " + figures(s));

            b.close();
            s = p.stats();
            assertEquals(2, s.largeBuffersInUse(), figures(s));
            assertEquals(ca + 3 * MIB + PAGE, s.usedBytes(), figures(s));
            assertEquals(MIB, s.cachedLargeBytes(), "the closed span is kept for reuse: " + figures(s));
            assertEquals(s.usedBytes() + s.cachedLargeBytes(), s.committedBytes(), figures(s));
            assertTrue(s.accessibleBytes() >= s.committedBytes(), figures(s));
            p.checkInvariants();

            a.close();
            c.close();
            p.trim();
            s = p.stats();
            assertEquals(0, s.largeBuffersInUse(), figures(s));
            assertEquals(0, s.usedBytes(), figures(s));
            assertEquals(0, s.cachedLargeBytes(), "trim returns every cached large span: " + figures(s));
            assertEquals(0, s.committedBytes(), figures(s));
            p.checkInvariants();
        }
    }

    // zeroOnAcquire: "Zero every buffer before handing it out". Arena.free: when a release is refused "its pages
    // stay committed (a span reused from them then reads old bytes rather than zeros)". So a zeroing pool must
    // zero a large span even when it comes fresh from the arena over memory whose decommit the OS refused —
    // of the same size, and of a different size carved from the same pages.
    @Test
    void aZeroingPoolZeroesLargeSpansCarvedFromPagesWhoseDecommitWasRefused() throws Exception {
        FailingCommits seam = new FailingCommits();
        BufferPool.Builder b = builder("zero-refused").reserve(16L << 20).zeroOnAcquire(true).commitChunk(PAGE);
        try (BufferPool p = PoolSeams.failingCommits(b, seam).build()) {
            PooledBuffer first = p.acquire(MIB);
            long at = first.address();
            fill(first, (byte) 0x5a);
            seam.failDecommits(true);
            first.close();
            p.trim(); // the cached span goes back to the arena, whose decommit is refused: old bytes stay
            assertTrue(p.arenaStats().releaseFailures() >= 1, p.arenaStats().toString());
            PooledBuffer same = p.acquire(MIB);
            assertEquals(-1, firstNonZero(same), "a 1 MiB span at " + Long.toHexString(same.address())
                    + " (first was at " + Long.toHexString(at) + ") handed out with old bytes by a zeroing pool");
            fill(same, (byte) 0x6b);
            same.close();
            p.trim();
            PooledBuffer other = p.acquire(MIB / 2 + (int) PAGE);
            assertEquals(-1, firstNonZero(other), "a smaller span carved from refused pages holds old bytes");
            other.close();
            seam.failDecommits(false);
            p.trim();
            p.checkInvariants();
            assertEquals(0, p.stats().committedBytes());
        }
    }

    // trim(): "free commit chunks whose protection change the OS refused before are offered to it again". While
    // decommits are refused, large spans reused over the stranded memory keep the books right (committed and
    // accessible against /proc/self/maps, invariants), and once the OS takes them, trim brings accessible to 0.
    @Test
    void largeSpansReusedOverRefusedChunksKeepTheBooksAndTrimClearsThemLater() throws Exception {
        FailingCommits seam = new FailingCommits();
        long reserve = 32L << 20;
        BufferPool.Builder b = builder("refused-reuse").reserve(reserve).commitChunk(PAGE);
        try (BufferPool p = PoolSeams.failingCommits(b, seam).build()) {
            List<PooledBuffer> open = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                open.add(p.acquire((int) (20 * PAGE)));
            }
            seam.failDecommits(true);
            for (int i = 0; i < 8; i += 2) {
                open.get(i).close();
            }
            p.trim();
            BufferPoolStats s = p.stats();
            assertEquals(4 * 20 * PAGE, s.committedBytes(), figures(s));
            assertEquals(8 * 20 * PAGE, s.accessibleBytes(), figures(s));
            assertEquals(s.accessibleBytes(), ProcMaps.readWriteBytesWithin(p.regionAddress(), p.regionAddress() + reserve));
            // reuse part of the stranded memory with another size while decommits are still refused
            PooledBuffer mid = p.acquire((int) (19 * PAGE));
            s = p.stats();
            assertEquals(4 * 20 * PAGE + 19 * PAGE, s.committedBytes(), figures(s));
            assertTrue(s.accessibleBytes() >= s.committedBytes(), figures(s));
            assertEquals(s.accessibleBytes(), ProcMaps.readWriteBytesWithin(p.regionAddress(), p.regionAddress() + reserve));
            p.checkInvariants();
            mid.close();
            for (int i = 1; i < 8; i += 2) {
                open.get(i).close();
            }
            p.trim();
            assertEquals(0, p.stats().committedBytes());
            seam.failDecommits(false);
            p.trim();
            s = p.stats();
            assertEquals(0, s.accessibleBytes(), "trim offered the refused chunks again: " + figures(s));
            assertEquals(0, ProcMaps.readWriteBytesWithin(p.regionAddress(), p.regionAddress() + reserve));
            p.checkInvariants();
        }
    }

    // DESIGN: "Size ≤ 0 or beyond the reservation → IllegalArgumentException"; maxCommitted: "An acquire that would
    // commit beyond it waits (or finds nothing) as at a full reservation" — a large request above the committed cap
    // can never be met, so every acquire of it (untimed included) is rejected at once instead of waiting forever.
    @Test
    void aLargeRequestAboveTheCommittedCapIsRejectedAtOnceByEveryAcquire() throws Exception {
        try (BufferPool p = builder("cap-below").reserve(16L << 20).maxCommitted(MIB).build()) {
            CompletableFuture<Throwable> untimed = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    p.acquire(2 * MIB).close();
                    untimed.complete(null);
                } catch (Throwable e) {
                    untimed.complete(e);
                }
            }, "r21-untimed-above-cap");
            t.setDaemon(true);
            t.start();
            Throwable e;
            try {
                e = untimed.get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException hung) {
                t.interrupt();
                throw new AssertionError("acquire(2 MiB) with maxCommitted 1 MiB waits forever instead of being rejected");
            }
            assertTrue(e instanceof IllegalArgumentException, "untimed acquire above the cap: " + e);
            assertTrue(e.getMessage().contains(Integer.toString(2 * MIB)), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> p.tryAcquire(2 * MIB));
            assertThrows(IllegalArgumentException.class, () -> p.acquire(MIB + 1, Duration.ofSeconds(5)));
            assertEquals(0, p.stats().waiters());
            BufferPoolStats s = p.stats();
            assertEquals(0, s.committedBytes(), figures(s));
            p.checkInvariants();
        }
    }

    // maxCommitted at exactly one large span: on an empty pool that span is served; while a small buffer holds a
    // slab, a timed acquire of it returns null (the cap, not a hang); and DESIGN's "parked memory never starves a
    // waiter of another class": once the small buffer closes, the blocked large acquire is served.
    @Test
    void aLargeWaiterAtTheCapIsServedWhenASmallBufferCloses() throws Exception {
        try (BufferPool p = builder("cap-exact").reserve(16L << 20).maxCommitted(MIB).build()) {
            PooledBuffer whole = p.tryAcquire(MIB);
            assertNotNull(whole, "the one span the cap allows, on an empty pool");
            assertEquals(MIB, p.stats().committedBytes());
            whole.close();

            PooledBuffer small = p.acquire(100);
            assertNull(p.acquire(MIB, Duration.ofMillis(50)), "the cap is taken by the small buffer's slab");
            CompletableFuture<PooledBuffer> big = Background.start("r21-large-at-cap", () -> p.acquire(MIB, Duration.ofSeconds(15)));
            Await.until("the large acquire waits", () -> p.stats().waiters() == 1);
            small.close();
            PooledBuffer got = big.get(15, TimeUnit.SECONDS);
            assertNotNull(got, "the large waiter at the cap was never served after the small buffer closed");
            assertTrue(p.stats().committedBytes() <= MIB, figures(p.stats()));
            got.close();
            p.checkInvariants();
        }
    }

    // Cached large spans count against maxCommitted ("open and cached large spans"), and an acquire that finds no
    // room makes room first ("evict cached large spans"): a tryAcquire of another size at the cap succeeds by
    // evicting, and committed bytes never exceed the cap.
    @Test
    void cachedLargeSpansAreEvictedForAnotherSizeAtTheCap() throws Exception {
        // 64 MiB reserved: a stripe may cache 4 MiB, so the 1.5 MiB span is kept
        try (BufferPool p = builder("cap-evict").reserve(64L << 20).maxCommitted(2 * MIB).build()) {
            p.acquire(MIB + MIB / 2).close(); // cached (or parked): 1.5 MiB committed
            assertEquals(MIB + MIB / 2, p.stats().cachedLargeBytes(), figures(p.stats()));
            PooledBuffer other = p.tryAcquire(MIB);
            assertNotNull(other, "a 1 MiB tryAcquire at a 2 MiB cap filled by a cached span: " + figures(p.stats()));
            BufferPoolStats s = p.stats();
            assertTrue(s.committedBytes() <= 2 * MIB, figures(s));
            assertEquals(0, s.cachedLargeBytes(), "the cached span was evicted to make room: " + figures(s));
            other.close();
            p.checkInvariants();
        }
    }

    // acquire: "0 < size <= reservation (and at most the largest int page multiple)": the largest int page multiple
    // is served as one span whose capacity and ByteBuffer are exactly that long; one byte more is rejected.
    @Test
    void theLargestIntPageMultipleIsOneBufferAndOneByteMoreIsRejected() throws Exception {
        int max = (int) (Integer.MAX_VALUE / PAGE * PAGE);
        try (BufferPool p = builder("int-max").reserve(4L << 30).build()) {
            PooledBuffer b = p.tryAcquire(max);
            assertNotNull(b, "tryAcquire(" + max + ") on an empty 4 GiB pool");
            assertEquals(max, b.capacity());
            ByteBuffer bb = b.byteBuffer();
            assertEquals(max, bb.capacity());
            bb.put(max - 1, (byte) 9);
            assertEquals(9, bb.get(max - 1));
            assertEquals(max, p.stats().usedBytes());
            b.close();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.tryAcquire(max + 1));
            assertTrue(e.getMessage().contains(Integer.toString(max + 1)), e.getMessage());
            p.trim();
            assertEquals(0, p.stats().committedBytes());
        }
    }

    // Concurrency with a cap: threads acquiring and closing random large sizes (timed) never see another's bytes
    // (each stamps its buffer and checks the stamp before close), committed bytes stay within maxCommitted at
    // every snapshot, and afterwards nothing is in use and the invariants hold.
    @Test
    void concurrentLargeChurnUnderACapNeverSharesBytesOrPassesTheCap() throws Exception {
        long cap = 6L * MIB;
        try (BufferPool p = builder("churn-cap").reserve(32L << 20).maxCommitted(cap).build()) {
            int threads = 3;
            CyclicBarrier start = new CyclicBarrier(threads + 1);
            AtomicReference<Throwable> bad = new AtomicReference<>();
            AtomicLong served = new AtomicLong();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long stamp = 0x2121_0000L + t;
                long seed = 421 + t;
                Thread th = new Thread(() -> {
                    Random rnd = new Random(seed);
                    try {
                        start.await();
                        for (int i = 0; i < 300 && bad.get() == null; i++) {
                            int size = 70_000 + rnd.nextInt(2 * MIB);
                            PooledBuffer b = p.acquire(size, Duration.ofMillis(200));
                            if (b == null) {
                                continue;
                            }
                            served.incrementAndGet();
                            ByteBuffer bb = b.byteBuffer();
                            bb.putLong(0, stamp);
                            bb.putLong(bb.capacity() - 8, stamp);
                            Thread.yield();
                            if (bb.getLong(0) != stamp || bb.getLong(bb.capacity() - 8) != stamp) {
                                throw new AssertionError("buffer " + b + " was written by another holder");
                            }
                            b.close();
                        }
                    } catch (Throwable e) {
                        bad.compareAndSet(null, e);
                    }
                }, "r21-large-churn-" + t);
                th.setDaemon(true);
                th.start();
                ts.add(th);
            }
            start.await();
            while (ts.stream().anyMatch(Thread::isAlive)) {
                BufferPoolStats s = p.stats();
                if (s.committedBytes() > cap) {
                    bad.compareAndSet(null, new AssertionError("committed beyond maxCommitted: " + s));
                }
                for (Thread th : ts) {
                    th.join(1);
                }
            }
            if (bad.get() != null) {
                throw new AssertionError(bad.get());
            }
            assertTrue(served.get() > 0);
            BufferPoolStats s = p.stats();
            assertEquals(0, s.buffersInUse(), figures(s));
            assertEquals(0, s.largeBuffersInUse(), figures(s));
            assertEquals(0, s.usedBytes(), figures(s));
            assertEquals(0, s.waiters(), figures(s));
            assertEquals(s.cachedLargeBytes(), s.committedBytes(), figures(s));
            p.checkInvariants();
        }
    }

    // close(): "wakes blocked acquires (they throw IllegalStateException)", later acquires throw it too
    // (DESIGN: "after close() → IllegalStateException"). The pool's close racing threads that acquire, write and
    // close large buffers: each call returns a buffer, null, or IllegalStateException, nobody hangs, and buffers
    // still open at the close are detached (their views refuse access).
    @Test
    void thePoolsCloseRacingLargeAcquiresOnlyEverThrowsIllegalState() throws Exception {
        for (int round = 0; round < 6; round++) {
            // 3 threads hold at most one buffer of at most 1.1 MiB each and acquire one more: the cap never binds for good
            BufferPool p = builder("close-race-" + round).reserve(16L << 20).maxCommitted(8L * MIB).build();
            int threads = 3;
            AtomicLong acquired = new AtomicLong();
            AtomicReference<Throwable> bad = new AtomicReference<>();
            List<PooledBuffer> leftOpen = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int k = t;
                Thread th = new Thread(() -> {
                    Random rnd = new Random(k * 31L + 5);
                    PooledBuffer held = null;
                    try {
                        while (true) {
                            int size = 100_000 + rnd.nextInt(MIB);
                            PooledBuffer b = switch (rnd.nextInt(3)) {
                                case 0 -> p.tryAcquire(size);
                                case 1 -> p.acquire(size, Duration.ofMillis(100));
                                default -> p.acquire(size);
                            };
                            if (b == null) {
                                continue;
                            }
                            acquired.incrementAndGet();
                            try {
                                b.byteBuffer().putLong(0, 1);
                            } catch (IllegalStateException closedUnderUs) {
                                // the pool closed between acquire and use: the handle refuses, as documented
                            }
                            if (rnd.nextBoolean()) {
                                b.close();
                            } else {
                                if (held != null) {
                                    held.close();
                                }
                                held = b;
                            }
                        }
                    } catch (IllegalStateException closed) {
                        if (held != null) {
                            leftOpen.add(held);
                        }
                    } catch (Throwable e) {
                        bad.compareAndSet(null, e);
                    }
                }, "r21-close-race-" + round + "-" + t);
                th.setDaemon(true);
                th.start();
                ts.add(th);
            }
            long target = 30L * (round + 1);
            Await.until("the threads acquired " + target + " buffers", () -> acquired.get() >= target || bad.get() != null);
            p.close();
            for (Thread th : ts) {
                th.join(10_000);
                assertFalse(th.isAlive(), "round " + round + ": " + th.getName() + " never returned after the close");
            }
            if (bad.get() != null) {
                throw new AssertionError("round " + round, bad.get());
            }
            assertTrue(p.isClosed());
            for (PooledBuffer b : leftOpen) {
                assertThrows(IllegalStateException.class, b::byteBuffer, "round " + round + ": " + b);
                assertTrue(b.isClosed(), "round " + round + ": a buffer open at the pool's close looks closed");
                b.close(); // does nothing
            }
            assertThrows(IllegalStateException.class, () -> p.tryAcquire(MIB));
            assertEquals(0, p.stats().committedBytes());
        }
    }

    // close(): "wakes blocked acquires (they throw IllegalStateException)". Threads that hold large buffers and
    // block, untimed, at the committed cap (they starve each other: nothing else will close) are all released by
    // the pool's close, which itself returns.
    @Test
    void thePoolsCloseReleasesLargeAcquiresBlockedAtTheCap() throws Exception {
        BufferPool p = builder("close-at-cap").reserve(16L << 20).maxCommitted(4L * MIB).build();
        int threads = 3;
        AtomicReference<Throwable> bad = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int k = t;
            Thread th = new Thread(() -> {
                Random rnd = new Random(k * 31L + 5);
                List<PooledBuffer> mine = new ArrayList<>();
                try {
                    while (true) {
                        PooledBuffer b = p.acquire(100_000 + rnd.nextInt(MIB));
                        b.byteBuffer().putLong(0, 1);
                        mine.add(b);
                        if (mine.size() > 2) {
                            mine.remove(0).close();
                        }
                    }
                } catch (IllegalStateException closed) {
                    // released by the close, as documented
                } catch (Throwable e) {
                    bad.compareAndSet(null, e);
                }
            }, "r21-close-at-cap-" + t);
            th.setDaemon(true);
            th.start();
            ts.add(th);
        }
        Await.until("every thread blocked at the cap", () -> p.stats().waiters() == threads || bad.get() != null);
        Thread closer = new Thread(p::close, "r21-closer");
        closer.setDaemon(true);
        closer.start();
        closer.join(8_000);
        String stuck = "";
        for (Thread th : ts) {
            th.join(3_000);
            if (th.isAlive()) {
                stuck += th.getName() + " " + java.util.Arrays.toString(th.getStackTrace()) + "\n";
            }
        }
        if (closer.isAlive()) {
            stuck += "close() " + java.util.Arrays.toString(closer.getStackTrace());
        }
        assertEquals("", stuck, "threads still running after the pool's close");
        if (bad.get() != null) {
            throw new AssertionError(bad.get());
        }
    }

    // Builder.hugePages: large buffers of a huge page or more go on huge-page boundaries, and when none is free "it
    // is then placed anywhere there is space" — for an acquire that has to wait, too: a waiting 3 MiB acquire is
    // served by the close that leaves 3 MiB free only off the boundaries.
    @Test
    void aHugePagePoolPlacesALargeBufferOffTheBoundariesWhenOnlyThatFits() throws Exception {
        long huge = VirtualRegion.hugePageSize();
        org.junit.jupiter.api.Assumptions.assumeTrue(huge == 2 * MIB, "needs 2 MiB transparent huge pages");
        try (BufferPool p = builder("huge-fallback").reserve(6L * MIB).hugePages(true).build()) {
            long base = p.regionAddress();
            assertEquals(0, base % huge);
            PooledBuffer small = p.acquire(100);            // a slab at the bottom
            PooledBuffer c = p.acquire((int) (2 * MIB - 64 * PAGE)); // below a huge page: anywhere
            PooledBuffer d = p.acquire(2 * MIB);           // on a boundary
            PooledBuffer e = p.acquire(MIB);
            String layout = "small " + Long.toHexString(small.address() - base) + ", c " + Long.toHexString(c.address() - base)
                    + ", d " + Long.toHexString(d.address() - base) + ", e " + Long.toHexString(e.address() - base);
            assertEquals(0, (d.address() - base) % huge, layout);
            PooledBuffer direct = p.tryAcquire(3 * MIB);
            assertNull(direct, "no 3 MiB hole yet: " + layout);
            CompletableFuture<PooledBuffer> w = Background.start("r21-huge-waiter", () -> p.acquire(3 * MIB, Duration.ofSeconds(10)));
            Await.until("the 3 MiB acquire waits", () -> p.stats().waiters() == 1);
            c.close();
            d.close();
            long free = 6L * MIB - p.stats().committedBytes();
            PooledBuffer got = w.get(15, TimeUnit.SECONDS);
            assertNotNull(got, "a 3 MiB acquire was not served although " + free + " bytes are free (" + layout + ")");
            got.close();
            small.close();
            e.close();
            p.checkInvariants();
        }
    }

    // trim() "offers again the chunks whose protection change the OS refused", while other threads acquire and
    // close large buffers and decommits flap between refused and taken: nothing is lost or shared, the invariants
    // hold, and once the OS takes decommits again a trim brings committed and accessible bytes back to 0, as
    // /proc/self/maps agrees.
    @Test
    void trimsRacingLargeTrafficWhileDecommitsFlapLoseNothing() throws Exception {
        FailingCommits seam = new FailingCommits();
        long reserve = 64L << 20;
        BufferPool.Builder b = builder("trim-flap").reserve(reserve).commitChunk(PAGE);
        try (BufferPool p = PoolSeams.failingCommits(b, seam).build()) {
            int threads = 3;
            CyclicBarrier start = new CyclicBarrier(threads + 1);
            AtomicReference<Throwable> bad = new AtomicReference<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long stamp = 0x5a5a_0000L + t;
                long seed = 77 + t;
                Thread th = new Thread(() -> {
                    Random rnd = new Random(seed);
                    List<PooledBuffer> mine = new ArrayList<>();
                    try {
                        start.await();
                        for (int i = 0; i < 400 && bad.get() == null; i++) {
                            if (mine.size() < 4 && rnd.nextBoolean()) {
                                PooledBuffer x = p.acquire(70_000 + rnd.nextInt(MIB), Duration.ofSeconds(5));
                                if (x == null) {
                                    throw new AssertionError("a large acquire found no room in 64 MiB");
                                }
                                x.byteBuffer().putLong(0, stamp);
                                mine.add(x);
                            } else if (!mine.isEmpty()) {
                                PooledBuffer x = mine.remove(rnd.nextInt(mine.size()));
                                if (x.byteBuffer().getLong(0) != stamp) {
                                    throw new AssertionError(x + " was written by another holder");
                                }
                                x.close();
                            }
                        }
                        for (PooledBuffer x : mine) {
                            x.close();
                        }
                    } catch (Throwable e) {
                        bad.compareAndSet(null, e);
                    }
                }, "r21-trim-flap-" + t);
                th.setDaemon(true);
                th.start();
                ts.add(th);
            }
            start.await();
            Random rnd = new Random(5);
            while (ts.stream().anyMatch(Thread::isAlive)) {
                seam.failDecommits(rnd.nextBoolean());
                p.trim();
                for (Thread th : ts) {
                    th.join(1);
                }
            }
            if (bad.get() != null) {
                throw new AssertionError(bad.get());
            }
            seam.failDecommits(false);
            p.trim();
            BufferPoolStats s = p.stats();
            assertEquals(0, s.buffersInUse(), figures(s));
            assertEquals(0, s.committedBytes(), figures(s));
            assertEquals(0, s.accessibleBytes(), figures(s));
            assertEquals(0, ProcMaps.readWriteBytesWithin(p.regionAddress(), p.regionAddress() + reserve));
            p.checkInvariants();
        }
    }

    // BufferPoolStats at rest: committedBytes is "slabs, open and cached large spans" — the classes' slabs times
    // their slab bytes plus the open and cached large bytes; usedBytes the capacities of the open buffers; and
    // accessibleBytes what the kernel maps read-write in the region (/proc/self/maps), at least committedBytes.
    @Test
    void theFiguresAddUpAtRestWithClassAndLargeBuffersMixed() throws Exception {
        long reserve = 256L << 20;
        try (BufferPool p = builder("books").reserve(reserve).build()) {
            Random rnd = new Random(2121);
            List<PooledBuffer> open = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int size = rnd.nextInt(4) == 0 ? 65_537 + rnd.nextInt(3 * MIB) : 1 + rnd.nextInt(65_536);
                PooledBuffer b = p.acquire(size, Duration.ofSeconds(2));
                assertNotNull(b, "acquire(" + size + ") in a pool of " + reserve + " bytes: " + figures(p.stats()) + " arena " + p.arenaStats());
                open.add(b);
                if (rnd.nextInt(3) == 0) {
                    open.remove(rnd.nextInt(open.size())).close();
                }
            }
            for (int round = 0; round < 2; round++) {
                BufferPoolStats s = p.stats();
                long slabs = 0;
                long classUsed = 0;
                for (SizeClassStats c : s.sizeClasses()) {
                    slabs += (long) c.slabs() * c.slabBytes();
                    classUsed += c.buffersInUse() * c.size();
                }
                long largeUsed = 0;
                long largeOpen = 0;
                long used = 0;
                for (PooledBuffer b : open) {
                    used += b.capacity();
                    if (b.capacity() > 65_536) {
                        largeUsed += b.capacity();
                        largeOpen++;
                    }
                }
                assertEquals(open.size(), s.buffersInUse(), figures(s));
                assertEquals(used, s.usedBytes(), figures(s));
                assertEquals(used - largeUsed, classUsed, figures(s));
                assertEquals(largeOpen, s.largeBuffersInUse(), figures(s));
                assertEquals(slabs + largeUsed + s.cachedLargeBytes(), s.committedBytes(),
                        "committed = slabs " + slabs + " + open large " + largeUsed + " + cached large: " + figures(s));
                assertTrue(s.accessibleBytes() >= s.committedBytes(), figures(s));
                assertEquals(s.accessibleBytes(), ProcMaps.readWriteBytesWithin(p.regionAddress(), p.regionAddress() + reserve),
                        figures(s));
                p.checkInvariants();
                // second round: after a trim, with the same buffers open
                p.trim();
            }
            for (PooledBuffer b : open) {
                b.close();
            }
            p.trim();
            BufferPoolStats s = p.stats();
            assertEquals(0, s.committedBytes(), figures(s));
            assertEquals(0, s.usedBytes(), figures(s));
        }
    }
}

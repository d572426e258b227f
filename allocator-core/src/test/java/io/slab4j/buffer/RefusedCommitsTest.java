package io.slab4j.buffer;

import io.slab4j.arena.FailingCommits;
import io.slab4j.buffer.RawHolderTest.Box;
import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Commits the OS refuses (ENOMEM injected under the pool's arena through {@link FailingCommits})
 * on every acquire path of a {@link BufferPool}: who is served, woken or refused, in which
 * order, and what the pool's figures say afterwards. {@link AcquireCommitFailureTest} holds the
 * basic contract (a waiting acquire waits the failure out, the calls that do not wait throw);
 * the arena's retry itself is tested in {@code CommitRetryTest}.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RefusedCommitsTest {
    private static final int PAGE = VirtualRegion.pageSize();
    private static final boolean[] BOTH = {true, false};
    /** A served or woken waiter gets this long: generous, the test ends as soon as it is served. */
    private static final long GENEROUS_SECONDS = 20;

    private static BufferPool pool(String name, FailingCommits seam, boolean magazines, boolean zeroing) {
        BufferPool.Builder b = BufferPool.builder().name("refused-" + name).reserve(16L << 20)
                .magazines(magazines).zeroOnAcquire(zeroing).leakDetection(LeakDetection.OFF);
        return PoolSeams.failingCommits(b, seam).build();
    }

    private static void awaitWaiters(BufferPool p, int n) {
        Await.until(n + " waiters of " + p, () -> p.stats().waiters() == n);
    }

    /** Until the seam has refused more than {@code before} commits. */
    private static void awaitRefusal(FailingCommits seam, int before, String what) {
        Await.until(what, () -> seam.failed() > before);
    }

    /**
     * Starts {@code call} on a new thread and returns once it waits in the pool: counted among the
     * waiters and parked. The count alone is not arrival: an acquire counts itself before its last
     * try and its sync (where a refused grow is tried and logged), and queues only after them.
     */
    private static CompletableFuture<PooledBuffer> arrive(BufferPool p, int waitersThen, String name,
                                                          Callable<PooledBuffer> call) {
        AtomicReference<Thread> thread = new AtomicReference<>();
        CompletableFuture<PooledBuffer> f = Background.start(name, () -> {
            thread.set(Thread.currentThread());
            return call.call();
        });
        awaitWaiters(p, waitersThen);
        Await.parkedInSync(thread.get()); // not merely parked: a thread parks on the pool's lock on its way too
        return f;
    }

    private static <T> T served(CompletableFuture<T> f) throws Exception {
        return f.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
    }

    private static SizeClassStats classOf(BufferPool p, int size) {
        for (SizeClassStats s : p.stats().sizeClasses()) {
            if (s.size() == size) {
                return s;
            }
        }
        throw new AssertionError("no class " + size + " in " + p.stats());
    }

    /** tryAcquire until the next one needs a commit (which the seam refuses): what the committed memory holds. */
    private static List<PooledBuffer> untilRefused(BufferPool p, int size) {
        List<PooledBuffer> held = new ArrayList<>();
        while (true) {
            try {
                PooledBuffer b = p.tryAcquire(size);
                assertNotNull(b, "the pool filled up before a commit was refused");
                held.add(b);
            } catch (NativeMemoryException e) {
                return held;
            }
            if (held.size() > 100_000) {
                fail("no commit was refused");
            }
        }
    }

    // ------------------------------------------------------------ waiters served

    /** A class waiter whose grow is refused is served by the close of a buffer of its class, zeroed, magazines on and off. */
    @Test
    void aClassWaiterWhoseGrowIsRefusedIsServedByAClose() throws Exception {
        for (boolean magazines : BOTH) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("class-close-" + magazines, seam, magazines, true)) {
                PooledBuffer first = p.acquire(4096);
                seam.failAll(true);
                List<PooledBuffer> rest = untilRefused(p, 4096);
                first.byteBuffer().putLong(0, 0x1234_5678_9abcL);
                int refused = seam.failed();
                CompletableFuture<PooledBuffer> w = Background.start("class-waiter", () -> p.acquire(4096));
                awaitWaiters(p, 1);
                awaitRefusal(seam, refused, "the waiter's grow to be refused");
                long firstAddress = first.address();
                first.close();
                PooledBuffer got = served(w);
                assertEquals(firstAddress, got.address(), "magazines " + magazines + ": the closed item");
                assertEquals(0, got.byteBuffer().getLong(0), "magazines " + magazines + ": zeroed");
                assertEquals(0, p.stats().waiters());
                assertEquals(1 + rest.size(), p.stats().buffersInUse());
                got.close();
                rest.forEach(PooledBuffer::close);
                assertEquals(0, p.stats().buffersInUse());
                p.checkInvariants();
                seam.failAll(false);
            }
        }
    }

    /** While a large acquire waits out a refused commit, a class slab that fits in memory already committed is served: the OS is not asked. */
    @Test
    void aWaiterOfARefusedCommitDoesNotStopAnAcquireThatNeedsNoCommit() throws Exception {
        FailingCommits seam = new FailingCommits();
        try (BufferPool p = pool("no-commit-needed", seam, true, false)) {
            PooledBuffer small = p.acquire(64);
            seam.failAll(true);
            PooledBuffer probe;
            try {
                probe = p.tryAcquire(4096);
            } catch (NativeMemoryException e) {
                throw new AssertionError("precondition: a 4096 B slab fits in the chunk committed for the 64 B one", e);
            }
            assertNotNull(probe);
            probe.close();
            p.trim(); // the 4096 B slab goes back; its space stays in the live chunk
            CompletableFuture<PooledBuffer> w = arrive(p, 1, "large-waiter", () -> p.acquire(1 << 20));
            // Not the first try alone: while a commit for the waiter is in flight (its own first try, or a
            // retry), its carved span may cover the committed free space, and the slab then needs a commit
            // too: tryAcquire reads "full" or throws. Between the waiter's commits it is served.
            AtomicReference<PooledBuffer> b = new AtomicReference<>();
            Await.until("a slab inside the committed chunk, which needs no commit", () -> {
                try {
                    b.set(p.tryAcquire(4096));
                } catch (NativeMemoryException e) {
                    b.set(null); // met a commit in flight
                }
                return b.get() != null;
            });
            assertTrue(seam.failed() > 0 && !w.isDone(), "the large waiter still waits out its refused commit");
            b.get().close();
            seam.failAll(false);
            served(w).close();
            small.close();
            p.checkInvariants();
        }
    }

    /**
     * Refused for long enough that the retries have backed off, then the OS recovers: every
     * waiter of the size is served, not only the first.
     */
    @Test
    void waitersOfALongRefusalAreAllServedAfterRecovery() throws Exception {
        for (int size : new int[] {64, 1 << 20}) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("long-refusal-" + size, seam, true, true)) {
                seam.failAll(true);
                List<CompletableFuture<PooledBuffer>> ws = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    Duration timeout = i == 0 ? null : Duration.ofSeconds(30);
                    ws.add(Background.start("waiter-" + i, () -> timeout == null ? p.acquire(size) : p.acquire(size, timeout)));
                }
                awaitWaiters(p, 3);
                // The backoff is time itself: 1 s spans the retries at 50, 100, 200 and 400 ms, so the next is 800 ms away.
                Thread.sleep(1000);
                seam.failAll(false);
                for (CompletableFuture<PooledBuffer> w : ws) {
                    assertNotNull(served(w), size + ": served once the OS recovered");
                }
                assertEquals(3, p.stats().buffersInUse());
                for (CompletableFuture<PooledBuffer> w : ws) {
                    w.get().close();
                }
                assertEquals(0, p.stats().waiters());
                p.checkInvariants();
            }
        }
    }

    /** A raw waiter of a refused grow, served by the close of a dirty buffer of its class on a zeroing pool, holds zeros; a large raw waiter is served once the OS recovers. */
    @Test
    void aRawWaiterOfARefusedCommitIsServedZeroedByACloseAndByTheRetry() throws Exception {
        for (boolean magazines : BOTH) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("raw-close-" + magazines, seam, magazines, true)) {
                PooledBuffer first = p.acquire(4096);
                seam.failAll(true);
                List<PooledBuffer> rest = untilRefused(p, 4096);
                first.byteBuffer().putLong(0, -1L);
                first.byteBuffer().putLong(4088, -1L);
                Box h = new Box();
                CompletableFuture<Boolean> w = Background.start("raw-waiter", () -> p.acquireRaw(4096, Duration.ofSeconds(30), h));
                awaitWaiters(p, 1);
                first.close();
                assertTrue(served(w), "magazines " + magazines + ": served by the close");
                ByteBuffer v = p.rawView(h, h.token, h.address);
                assertEquals(0, v.getLong(0), "zeroed");
                assertEquals(0, v.getLong(4088), "zeroed");
                p.releaseRaw(h, h.token, h.address);

                CompletableFuture<Boolean> big = Background.start("raw-large-waiter", () -> p.acquireRaw(1 << 20, Duration.ofSeconds(30), h));
                awaitWaiters(p, 1);
                seam.failAll(false);
                assertTrue(served(big), "magazines " + magazines + ": served by the retry");
                p.releaseRaw(h, h.token, h.address);
                rest.forEach(PooledBuffer::close);
                assertEquals(0, p.stats().buffersInUse());
                p.checkInvariants();
            }
        }
    }

    /** Cached large spans need no commit: while the OS refuses, tryAcquire of their size on another thread is served from the cache, zeroed, and once they are out the next one throws. */
    @Test
    void cachedLargeSpansServeWithoutTheOsOnAnotherThread() throws Exception {
        for (boolean magazines : BOTH) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("cached-spans-" + magazines, seam, magazines, true)) {
                List<PooledBuffer> first = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    first.add(p.acquire(1 << 20));
                }
                first.forEach(b -> b.byteBuffer().putLong(8, 99));
                first.forEach(PooledBuffer::close);
                long cached = p.stats().cachedLargeBytes();
                assertTrue(cached >= 1 << 20, "at least one span is kept: " + p.stats());
                seam.failAll(true);
                int refused = seam.failed();
                List<PooledBuffer> got = served(Background.start("other-thread", () -> {
                    List<PooledBuffer> out = new ArrayList<>();
                    for (long n = cached >> 20; n > 0; n--) {
                        PooledBuffer b = p.tryAcquire(1 << 20);
                        assertNotNull(b);
                        assertEquals(0, b.byteBuffer().getLong(8), "zeroed");
                        out.add(b);
                    }
                    return out;
                }));
                assertEquals(refused, seam.failed(), "magazines " + magazines + ": no commit was tried for a cached span");
                assertEquals(cached, (long) got.size() << 20);
                assertThrows(NativeMemoryException.class, () -> p.tryAcquire(1 << 20));
                assertEquals(got.size(), p.stats().largeBuffersInUse());
                got.forEach(PooledBuffer::close);
                seam.failAll(false);
                assertEquals(0, p.stats().buffersInUse());
                p.trim();
                assertEquals(0, p.stats().committedBytes());
                p.checkInvariants();
            }
        }
    }

    /** Grow advice (prefault, huge pages) with refused commits: non-waiting calls throw, waiting ones are served once the OS recovers, nothing is lost. */
    @Test
    void growAdviceWithRefusedCommits() throws Exception {
        for (boolean huge : BOTH) {
            FailingCommits seam = new FailingCommits();
            BufferPool.Builder bld = BufferPool.builder().name("refused-advice-" + huge).reserve(32L << 20)
                    .prefault(true).hugePages(huge).zeroOnAcquire(true).leakDetection(LeakDetection.OFF);
            try (BufferPool p = PoolSeams.failingCommits(bld, seam).build()) {
                seam.failAll(true);
                int[] sizes = {64, 2 << 20, 4 << 20};
                for (int size : sizes) {
                    assertThrows(NativeMemoryException.class, () -> p.tryAcquire(size), "size " + size);
                }
                List<CompletableFuture<PooledBuffer>> ws = new ArrayList<>();
                for (int size : sizes) {
                    ws.add(Background.start("advice-waiter-" + size, () -> p.acquire(size, Duration.ofSeconds(30))));
                }
                awaitWaiters(p, 3);
                seam.failAll(false);
                for (CompletableFuture<PooledBuffer> w : ws) {
                    PooledBuffer b = served(w);
                    assertNotNull(b, "huge " + huge);
                    b.byteBuffer().put(b.capacity() - 1, (byte) 7); // committed to its end
                    b.close();
                }
                assertEquals(0, p.stats().buffersInUse());
                p.trim();
                assertEquals(0, p.stats().committedBytes());
                p.checkInvariants();
            }
        }
    }

    /** Closes while waiters wait out refused commits (the space goes to waiters whose commits then fail): a close never throws, and every waiter is served in the end. */
    @Test
    void closesThatServeWaitersOfRefusedCommitsNeverThrow() throws Exception {
        for (boolean magazines : BOTH) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("close-serves-" + magazines, seam, magazines, true)) {
                List<PooledBuffer> large = new ArrayList<>();
                for (int k = 0; k < 3; k++) {
                    large.add(p.acquire(1 << 20));
                }
                Box h = new Box();
                assertTrue(p.tryAcquireRaw(1 << 20, h));
                seam.failAll(true);
                CompletableFuture<PooledBuffer> w1 = Background.start("w1", () -> p.acquire(3 << 20));
                CompletableFuture<PooledBuffer> w2 = Background.start("w2", () -> p.acquire(2 << 20, Duration.ofSeconds(30)));
                awaitWaiters(p, 2);
                large.forEach(PooledBuffer::close); // must not throw
                p.releaseRaw(h, h.token, h.address); // must not throw
                int refused = seam.failed();
                awaitRefusal(seam, refused, "a commit for the waiters to be refused after the closes");
                assertEquals(0, p.stats().buffersInUse(), "a refused commit took nothing: " + p.stats());
                assertEquals(2, p.stats().waiters());
                seam.failAll(false);
                served(w1).close();
                served(w2).close();
                assertEquals(0, p.stats().buffersInUse());
                assertEquals(0, p.stats().waiters());
                p.checkInvariants();
            }
        }
    }

    /**
     * Only one of two large waiters fits; the first has waited out refused commits long enough
     * for its retries to back off when the second arrives; then the OS recovers. The first is
     * served, the second waits (BufferPool: "large waiters FIFO in the arena"). Before the fix, a
     * waiter whose claim a failed commit abandoned registered again at the back, and the second
     * was served first in some rounds: five rounds, each a fresh pool.
     */
    @Test
    void largeWaitersOfRefusedCommitsAreServedInArrivalOrder() throws Exception {
        for (int round = 0; round < 5; round++) {
            FailingCommits seam = new FailingCommits();
            BufferPool.Builder b = BufferPool.builder().name("refused-fifo-" + round).reserve(1 << 20).sizeClasses(64)
                    .leakDetection(LeakDetection.OFF);
            try (BufferPool p = PoolSeams.failingCommits(b, seam).build()) {
                seam.failAll(true);
                CompletableFuture<PooledBuffer> w1 = arrive(p, 1, "w1", () -> p.acquire(768 << 10, Duration.ofSeconds(30)));
                Thread.sleep(1200); // the arrivals 1.2 s apart: w1's retries have backed off to 800 ms
                CompletableFuture<PooledBuffer> w2 = arrive(p, 2, "w2", () -> p.acquire(768 << 10, Duration.ofSeconds(30)));
                seam.failAll(false);
                Await.until("round " + round + ": one of the waiters to be served", () -> w1.isDone() || w2.isDone());
                boolean w2First = w2.isDone(); // only one fits: the other waits for its close
                PooledBuffer firstServed = served(w2First ? w2 : w1);
                assertFalse(w2First, "round " + round + ": the second waiter was served while the first kept waiting");
                assertFalse(w2.isDone(), "round " + round + ": the second waiter waits for the first's close");
                firstServed.close();
                served(w2).close();
                assertEquals(0, p.stats().waiters());
                p.checkInvariants();
            }
        }
    }

    /**
     * The reservation is one slab of the one class (eight 4 KiB items), no magazines; nine
     * acquires block while the grow is refused, the first 1.2 s before the others; then the OS
     * recovers and the slab serves the eight oldest (BufferPool: "Waiters of one class queue
     * FIFO in their pool"). Before the fix an older waiter was skipped in most rounds: five rounds.
     */
    @Test
    void classWaitersOfARefusedGrowAreServedInArrivalOrder() throws Exception {
        for (int round = 0; round < 5; round++) {
            FailingCommits seam = new FailingCommits();
            BufferPool.Builder b = BufferPool.builder().name("refused-cfifo-" + round).reserve(32 << 10).sizeClasses(4096)
                    .magazines(false).leakDetection(LeakDetection.OFF);
            try (BufferPool p = PoolSeams.failingCommits(b, seam).build()) {
                seam.failAll(true);
                List<CompletableFuture<PooledBuffer>> ws = new ArrayList<>();
                for (int k = 0; k < 9; k++) {
                    ws.add(arrive(p, k + 1, "waiter-" + k, () -> p.acquire(4096, Duration.ofSeconds(30))));
                    if (k == 0) {
                        Thread.sleep(1200); // the first's retries back off before the others arrive
                    }
                }
                seam.failAll(false);
                Await.until("round " + round + ": eight waiters to be served",
                        () -> ws.stream().filter(CompletableFuture::isDone).count() == 8);
                StringBuilder order = new StringBuilder();
                for (CompletableFuture<PooledBuffer> w : ws) {
                    order.append(w.isDone() ? 'S' : '-');
                }
                for (CompletableFuture<PooledBuffer> w : ws) {
                    if (w.isDone()) {
                        w.get().close();
                    }
                }
                for (CompletableFuture<PooledBuffer> w : ws) {
                    served(w).close();
                }
                assertEquals(0, p.stats().buffersInUse());
                p.checkInvariants();
                assertEquals("SSSSSSSS-", order.toString(), "round " + round + ": who was served (S) once the OS recovered");
            }
        }
    }

    // --------------------------------------------------------- waiters woken

    /** The pool closes while an acquire waits out refused commits, in the retries' backoff: the waiter gets the pool's IllegalStateException, on every path. */
    @Test
    void closingThePoolWakesAWaiterOfARefusedCommit() throws Exception {
        for (int size : new int[] {64, 4096, 1 << 20}) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("close-" + size, seam, true, false)) {
                seam.failAll(true);
                CompletableFuture<PooledBuffer> w = Background.start("waiter-" + size, () -> p.acquire(size));
                awaitWaiters(p, 1);
                awaitRefusal(seam, 1, size + ": a retry of the waiter's commit to be refused");
                p.close();
                ExecutionException e = assertThrows(ExecutionException.class, () -> served(w));
                assertInstanceOf(IllegalStateException.class, e.getCause(), size + ": " + e.getCause());
            }
        }
    }

    /** An interrupt of a wait for a refused commit withdraws it: nothing taken, and once the OS recovers and no retry is due, nothing stays committed after trim. */
    @Test
    void anInterruptedWaitOfARefusedCommitLeavesNothingBehind() throws Exception {
        for (int size : new int[] {64, 1 << 20}) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("interrupt-" + size, seam, true, false)) {
                seam.failAll(true);
                AtomicReference<Thread> waiter = new AtomicReference<>();
                CompletableFuture<PooledBuffer> w = Background.start("waiter-" + size, () -> {
                    waiter.set(Thread.currentThread());
                    return p.acquire(size);
                });
                awaitWaiters(p, 1);
                awaitRefusal(seam, 0, size + ": the waiter's commit to be refused");
                waiter.get().interrupt();
                ExecutionException e = assertThrows(ExecutionException.class, () -> served(w));
                assertInstanceOf(InterruptedException.class, e.getCause(), size + ": " + e.getCause());
                assertEquals(0, p.stats().waiters());
                seam.failAll(false);
                // a retry still due would commit for the withdrawn waiter; once the thread retired, none is
                Await.until("the retry thread to retire", () -> FailingCommits.retryThreads().isEmpty());
                BufferPoolStats s = p.stats();
                assertEquals(0, s.buffersInUse(), size + ": " + s);
                assertEquals(0, s.usedBytes(), size + ": " + s);
                p.trim();
                assertEquals(0, p.stats().committedBytes(), size + ": " + p.stats());
                p.checkInvariants();
                try (PooledBuffer b = p.tryAcquire(size)) {
                    assertNotNull(b, "the OS recovered");
                }
            }
        }
    }

    /** A pending interrupt and a refused commit: an acquire that would wait throws InterruptedException (flag cleared); a zero timeout throws NativeMemoryException and keeps the flag. */
    @Test
    void aPendingInterruptMeetsARefusedCommit() throws Exception {
        for (int size : new int[] {64, 1 << 20}) {
            for (boolean raw : BOTH) {
                FailingCommits seam = new FailingCommits();
                try (BufferPool p = pool("pending-int-" + size + "-" + raw, seam, true, false)) {
                    seam.failAll(true);
                    Thread.currentThread().interrupt();
                    try {
                        if (raw) {
                            p.acquireRaw(size, Duration.ofSeconds(5), (a, c, t) -> { });
                        } else {
                            p.acquire(size);
                        }
                        fail(size + " raw " + raw + ": served while every commit is refused");
                    } catch (InterruptedException expected) {
                        assertFalse(Thread.currentThread().isInterrupted(), "the exception consumed the interrupt");
                    } finally {
                        Thread.interrupted();
                    }
                    Thread.currentThread().interrupt();
                    try {
                        assertThrows(NativeMemoryException.class, () -> p.acquire(size, Duration.ZERO));
                        assertTrue(Thread.currentThread().isInterrupted(), "a zero timeout keeps the flag");
                    } finally {
                        Thread.interrupted();
                    }
                    BufferPoolStats s = p.stats();
                    assertEquals(0, s.buffersInUse());
                    assertEquals(0, s.waiters());
                    p.checkInvariants();
                    seam.failAll(false);
                }
            }
        }
    }

    /** The pool closes around the moment the retry's commit serves a waiter, on a zeroing pool with another buffer open: the waiter gets a buffer (closed with the pool) or the pool's error, nothing else. */
    @Test
    void thePoolsCloseRacingTheRetryThatServesAWaiter() throws Exception {
        Random r = new Random(15);
        for (int round = 0; round < 24; round++) {
            int size = round % 2 == 0 ? 65536 : 1 << 20;
            FailingCommits seam = new FailingCommits();
            BufferPool p = pool("close-retry-" + round, seam, round % 4 < 2, true);
            PooledBuffer open = p.acquire(64);
            seam.failAll(true);
            Duration timeout = round % 3 == 0 ? null : Duration.ofSeconds(30);
            CompletableFuture<PooledBuffer> w = Background.start("waiter-" + round,
                    () -> timeout == null ? p.acquire(size) : p.acquire(size, timeout));
            awaitWaiters(p, 1);
            seam.failAll(false); // the first retry, 50 ms after the refusal, serves the waiter
            Thread.sleep(r.nextInt(120)); // the close lands before, during or after it
            p.close();
            try {
                PooledBuffer b = served(w);
                assertNotNull(b, "round " + round);
                assertTrue(b.isClosed(), "round " + round + ": a buffer of a closed pool reads closed");
                b.close();
            } catch (ExecutionException e) {
                assertInstanceOf(IllegalStateException.class, e.getCause(), "round " + round + ": " + e.getCause());
            }
            open.close();
            assertEquals(0, p.stats().waiters());
        }
    }

    // -------------------------------------------------- calls that do not wait

    /** acquire with a negative timeout, and acquireRaw with a zero or negative one, never wait: they throw while the OS refuses (AcquireCommitFailureTest has the others). */
    @Test
    void everyCallThatDoesNotWaitThrowsWhileCommitsAreRefused() throws Exception {
        for (int size : new int[] {64, 3 * PAGE}) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("no-wait-" + size, seam, true, false)) {
                seam.failAll(true);
                assertThrows(NativeMemoryException.class, () -> p.acquire(size, Duration.ofSeconds(-1)), "acquire(-1 s) of " + size);
                assertThrows(NativeMemoryException.class, () -> p.acquireRaw(size, Duration.ZERO, (a, c, t) -> { }),
                        "acquireRaw(0) of " + size);
                assertThrows(NativeMemoryException.class, () -> p.acquireRaw(size, Duration.ofSeconds(-1), (a, c, t) -> { }),
                        "acquireRaw(-1 s) of " + size);
                assertEquals(0, p.stats().buffersInUse());
                assertEquals(0, p.stats().waiters());
                p.checkInvariants();
                seam.failAll(false);
            }
        }
    }

    /** A refused tryAcquire leaves the pool unchanged: its figures are as before, for classes and page spans, magazines on and off. */
    @Test
    void aRefusedTryAcquireLeavesTheFiguresAsTheyWere() throws Exception {
        for (boolean magazines : BOTH) {
            for (int size : new int[] {64, 4096, 3 * PAGE}) {
                FailingCommits seam = new FailingCommits();
                try (BufferPool p = pool("try-fig-" + magazines + "-" + size, seam, magazines, false)) {
                    PooledBuffer other = p.acquire(128);
                    seam.failAll(true);
                    List<PooledBuffer> held = untilRefused(p, size);
                    BufferPoolStats s0 = p.stats();
                    assertThrows(NativeMemoryException.class, () -> p.tryAcquire(size));
                    BufferPoolStats s1 = p.stats();
                    String what = size + " magazines " + magazines + ": " + s0 + " -> " + s1;
                    assertEquals(s0.buffersInUse(), s1.buffersInUse(), what);
                    assertEquals(s0.usedBytes(), s1.usedBytes(), what);
                    assertEquals(s0.committedBytes(), s1.committedBytes(), what);
                    assertEquals(s0.largeBuffersInUse(), s1.largeBuffersInUse(), what);
                    assertEquals(0, s1.waiters(), what);
                    assertEquals(s0.commitFailures() + 1, s1.commitFailures(), "one refusal counted, " + what);
                    assertEquals(s1.commitFailures(), java.lang.management.ManagementFactory.getPlatformMBeanServer()
                            .getAttribute(new javax.management.ObjectName("io.slab4j:type=BufferPool,name=" + p.name()),
                                    "CommitFailures"), "the MXBean's figure");
                    p.checkInvariants();
                    other.close();
                    held.forEach(PooledBuffer::close);
                    seam.failAll(false);
                }
            }
        }
    }

    /** One refused commit at every point of a mixed sequence of acquires and closes: the invariants hold after each step, the figures match what is held, and all memory goes back. */
    @Test
    void aRefusedCommitAnywhereInAMixedSequenceKeepsTheInvariants() throws Exception {
        int[] sizes = {64, 4096, 65536, 1 << 20, 100 << 10, 3 << 20, 64, 20000, 1 << 20, 65536, 2 << 20, 128};
        for (int k = 0; k < 24; k++) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("seq-" + k, seam, k % 2 == 0, k % 3 == 0)) {
                seam.failAfter(k);
                List<PooledBuffer> held = new ArrayList<>();
                int refused = 0;
                for (int round = 0; round < 2; round++) {
                    for (int size : sizes) {
                        try {
                            PooledBuffer b = p.tryAcquire(size);
                            assertNotNull(b, "k " + k + " size " + size);
                            b.byteBuffer().put(b.capacity() - 1, (byte) 1);
                            held.add(b);
                        } catch (NativeMemoryException e) {
                            refused++;
                        }
                        p.checkInvariants();
                    }
                    for (int j = held.size() - 1; j >= 0; j -= 2) {
                        held.remove(j).close();
                        p.checkInvariants();
                    }
                }
                long used = 0;
                for (PooledBuffer b : held) {
                    used += b.capacity();
                }
                BufferPoolStats s = p.stats();
                assertEquals(held.size(), s.buffersInUse(), "k " + k);
                assertEquals(used, s.usedBytes(), "k " + k);
                assertTrue(refused <= 1, "k " + k + ": one refusal at most, " + refused);
                held.forEach(PooledBuffer::close);
                p.trim();
                assertEquals(0, p.stats().committedBytes(), "k " + k + ": " + p.stats());
                p.checkInvariants();
            }
        }
    }

    // ----------------------------------------------------------------- figures

    /** A timed acquire that waits out refused commits until its timeout is one failure of its class. */
    @Test
    void aTimedOutAcquireOfARefusedCommitIsOneFailureOfItsClass() throws Exception {
        for (boolean magazines : BOTH) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("timeout-fail-" + magazines, seam, magazines, false)) {
                seam.failAll(true);
                long before = classOf(p, 64).failures();
                assertNull(p.acquire(64, Duration.ofMillis(300)));
                assertTrue(seam.failed() >= 2, "it waited out refused retries: " + seam.failed());
                assertEquals(1, classOf(p, 64).failures() - before, "magazines " + magazines + ": " + classOf(p, 64));
                assertEquals(0, p.stats().waiters());
                assertEquals(0, p.stats().buffersInUse());
                p.checkInvariants();
                seam.failAll(false);
            }
        }
    }

    /** One acquire blocked while its class's grow is refused again and again counts one wait of its class, as a wait for a full pool does (before the fix: one per retry). */
    @Test
    void oneAcquireBlockedByRefusedCommitsCountsOneWaitOfItsClass() throws Exception {
        for (int size : new int[] {64, 4096}) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("waits-" + size, seam, true, false)) {
                seam.failAll(true);
                CompletableFuture<PooledBuffer> w = Background.start("waiter-" + size, () -> p.acquire(size));
                awaitWaiters(p, 1);
                awaitRefusal(seam, 3, size + ": the grow and three of its retries to be refused");
                seam.failAll(false);
                served(w).close();
                assertEquals(1, classOf(p, size).waits(), size + ": " + classOf(p, size));
            }
        }
    }

    // ------------------------------------------------------------------ stress

    /** Mixed traffic on four threads while commits are refused on and off every few milliseconds: no two holders share bytes, nothing is lost, the figures end at zero. */
    @Test
    @Tag("stress")
    void flappingCommitsUnderMixedTrafficLoseNothing() throws Exception {
        for (boolean magazines : BOTH) {
            FailingCommits seam = new FailingCommits();
            try (BufferPool p = pool("flap-" + magazines, seam, magazines, true)) {
                int[] sizes = {64, 4096, 65536, 1 << 20, 3 << 20, 200};
                AtomicBoolean stop = new AtomicBoolean();
                AtomicReference<Throwable> err = new AtomicReference<>();
                List<Thread> ts = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    long id = t + 1;
                    ts.add(new Thread(() -> traffic(p, sizes, id, stop, err), "flap-" + id));
                }
                ts.forEach(Thread::start);
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
                Random r = new Random(7);
                while (System.nanoTime() < end && err.get() == null) {
                    seam.failAll(r.nextBoolean());
                    Thread.sleep(r.nextInt(20));
                }
                seam.failAll(false);
                stop.set(true);
                for (Thread t : ts) {
                    t.join(TimeUnit.SECONDS.toMillis(GENEROUS_SECONDS));
                    assertFalse(t.isAlive(), t.getName() + " still running");
                }
                if (err.get() != null) {
                    throw new AssertionError("magazines " + magazines, err.get());
                }
                BufferPoolStats s = p.stats();
                assertEquals(0, s.buffersInUse(), s.toString());
                assertEquals(0, s.usedBytes(), s.toString());
                assertEquals(0, s.waiters(), s.toString());
                p.checkInvariants();
                p.trim();
                assertEquals(0, p.stats().committedBytes(), p.stats().toString());
                assertTrue(seam.failed() > 0, "some commits were refused");
            }
        }
    }

    /** One worker of the flapping test: stamps each buffer it holds at both ends with its id, and checks the stamps at close. */
    private static void traffic(BufferPool p, int[] sizes, long id, AtomicBoolean stop, AtomicReference<Throwable> err) {
        Random r = new Random(id);
        List<PooledBuffer> mine = new ArrayList<>();
        long stamp = id << 48;
        try {
            while (!stop.get()) {
                int size = sizes[r.nextInt(sizes.length)];
                PooledBuffer b = null;
                try {
                    b = r.nextBoolean() ? p.tryAcquire(size) : p.acquire(size, Duration.ofMillis(300));
                } catch (NativeMemoryException e) {
                    // refused, a call that does not wait
                }
                if (b != null) {
                    stamp++;
                    b.byteBuffer().putLong(0, stamp);
                    b.byteBuffer().putLong(b.capacity() - 8, stamp);
                    mine.add(b);
                }
                if (mine.size() > 6 || (!mine.isEmpty() && r.nextInt(3) == 0)) {
                    PooledBuffer c = mine.remove(r.nextInt(mine.size()));
                    long v = c.byteBuffer().getLong(0);
                    if (v != c.byteBuffer().getLong(c.capacity() - 8) || (v >>> 48) != id) {
                        throw new AssertionError("bytes of " + c + " changed under their holder: " + Long.toHexString(v));
                    }
                    c.close();
                }
            }
        } catch (Throwable e) {
            err.compareAndSet(null, e);
        } finally {
            mine.forEach(PooledBuffer::close);
        }
    }
}

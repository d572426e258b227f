package io.slab4j.arena;

import io.slab4j.event.Events;
import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.pool.Pool;
import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import io.slab4j.testing.LogCapture;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The commit retry ({@value Handover#RETRY_THREAD}, see "Failed commits" in {@link Arena})
 * under closes, many arenas, timeouts, interrupts, intermittent failures and pools above it.
 * No assertion bounds elapsed time from above (the machines are shared): a waiter "served"
 * means served within a generous deadline; a backoff is checked by its lower bounds only,
 * which noise cannot break. The retry thread is shared by the JVM, so the tests that watch
 * it wait for it to retire first. Page calls fail through {@link FaultyPages}, which forwards
 * the region's close to the arena as the production pages do.
 */
class CommitRetryTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final String RETRY = Handover.RETRY_THREAD;
    private static final int ENOMEM = 12;
    /** How long a future may take before the test calls it lost: generous, never a measurement. */
    private static final long GENEROUS_SECONDS = 20;

    /** Uncaught throwables of any thread during a test (the retry thread's included). */
    private final List<String> uncaught = new CopyOnWriteArrayList<>();
    private Thread.UncaughtExceptionHandler previous;

    @BeforeEach
    void captureUncaught() {
        previous = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(t.getName() + ": " + e));
    }

    @AfterEach
    void restoreUncaught() {
        Thread.setDefaultUncaughtExceptionHandler(previous);
        assertEquals(List.of(), uncaught, "no thread died of an uncaught throwable");
    }

    // ------------------------------------------------------------------ helpers

    /** Nobody waits, nothing is allocated, and the arena is sound: what a failure, timeout or interrupt must leave. */
    private static void assertNothingTaken(Arena arena) {
        assertEquals(0, arena.waiters());
        assertEquals(0, arena.stats().allocated());
        arena.checkInvariants();
    }

    private static List<Thread> retryThreads() {
        return FailingCommits.retryThreads();
    }

    /** Until the shared retry thread has retired (it goes after a second with no retry due). */
    private static void awaitRetryThreadRetired(String why) {
        Await.until("the retry thread to retire: " + why, () -> retryThreads().isEmpty());
    }

    /** One chunk a page, so every span's commit is a page call the test can fail. */
    private static Arena arena(Pages pages, VirtualRegion region) {
        return Arena.builder(pages, region.address(), region.size(), VirtualRegion.pageSize()).commitChunk(PAGE).build();
    }

    private static Arena arena(FaultyPages pages) {
        return pages.arena().commitChunk(PAGE).build();
    }

    private static <T> T served(CompletableFuture<T> f) throws Exception {
        return f.get(GENEROUS_SECONDS, TimeUnit.SECONDS);
    }

    private static Throwable failure(CompletableFuture<?> f) {
        return assertThrows(ExecutionException.class, () -> served(f)).getCause();
    }

    /**
     * A waiter for 2 of 4 pages, queued while all 4 were taken, served by a free of all 4
     * whose commit for it fails: returns once that commit has failed (a retry is then due).
     */
    private static CompletableFuture<Long> waiterLeftQueuedByAFailedCommit(FaultyPages pages, Arena arena,
                                                                           Duration timeout, AtomicReference<Thread> thread) {
        long all = arena.tryAlloc(4 * PAGE);
        CompletableFuture<Long> waiting = Background.start("waiter", () -> {
            thread.set(Thread.currentThread());
            return timeout == null ? arena.alloc(2 * PAGE) : arena.alloc(2 * PAGE, timeout);
        });
        Await.until("the alloc to wait", () -> arena.waiters() == 1);
        pages.failCommits = true;
        arena.free(all, 4 * PAGE);
        Await.until("the served waiter's commit to fail", () -> pages.failedCommits.get() >= 1);
        return waiting;
    }

    private static CompletableFuture<Long> waiterLeftQueuedByAFailedCommit(FaultyPages pages, Arena arena) {
        return waiterLeftQueuedByAFailedCommit(pages, arena, null, new AtomicReference<>());
    }

    /** Commits fail every other call while {@link #on}. */
    static final class AlternatingPages extends ForwardingPages {
        volatile boolean on = true;
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();

        AlternatingPages(VirtualRegion region) {
            super(Pages.of(region));
        }

        @Override
        public void commit(long offset, long length) {
            if (on && calls.getAndIncrement() % 2 == 0) {
                failed.incrementAndGet();
                throw new NativeMemoryException("mprotect", "offset=" + Hex.of(offset) + " (injected, alternating)", ENOMEM);
            }
            super.commit(offset, length);
        }
    }

    /** Commits fail while {@link #fail}; each failure recorded with its time and thread. */
    static final class RecordingPages extends ForwardingPages {
        volatile boolean fail;
        final List<Long> failedAtNanos = new CopyOnWriteArrayList<>();
        final List<String> failedOn = new CopyOnWriteArrayList<>();

        RecordingPages(VirtualRegion region) {
            super(Pages.of(region));
        }

        @Override
        public void commit(long offset, long length) {
            if (fail) {
                failedAtNanos.add(System.nanoTime());
                failedOn.add(Thread.currentThread().getName());
                throw new NativeMemoryException("mprotect", "offset=" + Hex.of(offset) + " (injected)", ENOMEM);
            }
            super.commit(offset, length);
        }
    }

    /** Which pages of a region a holder owns: a page handed to two holders at once fails the test. */
    static final class Owners {
        private final long base;
        private final boolean[] owned;

        Owners(long base, int pages) {
            this.base = base;
            this.owned = new boolean[pages];
        }

        synchronized void take(long address, long bytes) {
            int from = (int) ((address - base) / PAGE);
            for (int p = from; p < from + bytes / PAGE; p++) {
                if (owned[p]) {
                    throw new AssertionError("page " + p + " handed to two holders");
                }
                owned[p] = true;
            }
        }

        synchronized void give(long address, long bytes) {
            int from = (int) ((address - base) / PAGE);
            for (int p = from; p < from + bytes / PAGE; p++) {
                owned[p] = false;
            }
        }
    }

    // -------------------------------------------------------------------- close

    /**
     * A close with a retry pending fails the waiter (timed or not) with IllegalStateException,
     * on a daemon retry thread named {@value Handover#RETRY_THREAD}; the pending retry then
     * makes no page call, and counts no failure.
     */
    @Test
    @Timeout(60)
    void aCloseWithARetryPendingFailsTheWaiterAndTheRetryMakesNoPageCall() throws Exception {
        for (Duration timeout : new Duration[] {null, Duration.ofSeconds(GENEROUS_SECONDS)}) {
            VirtualRegion region = VirtualRegion.reserve(4 * PAGE);
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            CompletableFuture<Long> waiting = waiterLeftQueuedByAFailedCommit(pages, arena, timeout, new AtomicReference<>());
            Await.until("the waiter to queue again", () -> arena.waiters() == 1);
            List<Thread> threads = retryThreads();
            assertFalse(threads.isEmpty(), "a retry is due: its thread exists");
            for (Thread t : threads) {
                assertTrue(t.isDaemon(), t + " is a daemon");
                assertEquals(RETRY, t.getName());
            }

            region.close();

            assertInstanceOf(IllegalStateException.class, failure(waiting), "timeout " + timeout);
            int commits = pages.commits.get();
            long failures = arena.stats().commitFailures();
            awaitRetryThreadRetired("the pending retry ran and found nobody");
            assertEquals(commits, pages.commits.get(), "no page call after the close");
            assertEquals(failures, arena.stats().commitFailures());
            assertNothingTaken(arena);
        }
    }

    /** The region closes inside the retry's own commit: the waiter gets IllegalStateException, the refusal is not counted. */
    @Test
    @Timeout(30)
    void aRegionClosedInsideTheRetrysCommitFailsTheWaiterUncounted() throws Exception {
        VirtualRegion region = VirtualRegion.reserve(4 * PAGE);
        FaultyPages pages = new FaultyPages(region);
        Arena arena = arena(pages);
        long all = arena.tryAlloc(4 * PAGE);
        CompletableFuture<Long> waiting = Background.start("waiter", () -> arena.alloc(2 * PAGE));
        Await.until("the alloc to wait", () -> arena.waiters() == 1);
        AtomicReference<String> closer = new AtomicReference<>();
        // the free's commit for the waiter fails once; the next commit, the retry's, meets the close
        pages.commitsUntilFailure.set(0);
        pages.beforeNextCall("commit", () -> pages.beforeNextCall("commit", () -> {
            closer.set(Thread.currentThread().getName());
            region.close();
        }));

        arena.free(all, 4 * PAGE);

        assertInstanceOf(IllegalStateException.class, failure(waiting), "a waiter whose region closed is told so");
        assertEquals(RETRY, closer.get(), "the retry made the commit");
        assertEquals(1, arena.stats().commitFailures(), "the commit refused by the close is not counted");
        assertNothingTaken(arena);
    }

    /** A pool get whose grow waits in the arena after a failed commit fails with IllegalStateException at the close. */
    @Test
    @Timeout(30)
    void aPoolGetWaitingOnAFailedGrowFailsWhenTheRegionCloses() throws Exception {
        VirtualRegion region = VirtualRegion.reserve(4 * PAGE);
        FaultyPages pages = new FaultyPages(region);
        Arena arena = arena(pages);
        Pool pool = Pool.builder("retry-close", PAGE).slabPages(2).build(arena);
        long all = arena.tryAlloc(4 * PAGE);
        CompletableFuture<Long> get = Background.start("getter", pool::get);
        Await.until("the grow to wait in the arena", () -> arena.waiters() == 1);
        pages.failCommits = true;
        arena.free(all, 4 * PAGE);
        Await.until("the grow's commit to fail", () -> pages.failedCommits.get() >= 1);

        region.close();

        assertInstanceOf(IllegalStateException.class, failure(get));
        assertNothingTaken(arena);
    }

    /** Waiters registering as the region closes, with a retry pending or not: each fails with IllegalStateException, none waits for good. */
    @Test
    @Timeout(60)
    void waitersRegisteringAsTheRegionClosesAllFail() throws Exception {
        Random rnd = new Random(3);
        for (int round = 0; round < 100; round++) {
            boolean paused = round % 2 == 0;
            VirtualRegion region = VirtualRegion.reserve(4 * PAGE);
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            arena.tryAlloc(2 * PAGE); // kept: a 4-page alloc never fits
            long all = arena.tryAlloc(2 * PAGE);
            if (paused) { // a commit failed and its retry is pending when the waiters come
                CompletableFuture<Long> w = Background.start("timed", () -> arena.alloc(2 * PAGE, Duration.ofMillis(30)));
                Await.until("the timed alloc to wait", () -> arena.waiters() == 1);
                pages.failCommits = true;
                arena.free(all, 2 * PAGE);
                Await.until("its commit to fail", () -> pages.failedCommits.get() > 0);
                assertEquals(0L, served(w));
            }
            CountDownLatch go = new CountDownLatch(1);
            List<CompletableFuture<Long>> ws = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                ws.add(Background.start("r" + k, () -> {
                    go.await();
                    return arena.alloc(4 * PAGE);
                }));
            }
            int spin = rnd.nextInt(20_000);
            go.countDown();
            for (int s = 0; s < spin; s++) {
                Thread.onSpinWait();
            }
            region.close();
            for (int k = 0; k < ws.size(); k++) {
                try {
                    served(ws.get(k));
                    fail("round " + round + ": a 4-page alloc was served with 2 pages out");
                } catch (ExecutionException e) {
                    assertInstanceOf(IllegalStateException.class, e.getCause(), "round " + round + " (paused " + paused + ")");
                } catch (TimeoutException e) {
                    fail("round " + round + " (paused " + paused + ", spin " + spin + "): a waiter was left waiting on a"
                            + " closed region; " + arena.stats());
                }
            }
            assertEquals(0, arena.waiters(), "round " + round);
        }
    }

    // -------------------------------------------------------------- many arenas

    /**
     * Many arenas whose first commits fail at once, from many threads, share one retry thread;
     * those whose commits recover are all served while the others keep being retried, and
     * closing those fails their waiters.
     */
    @Test
    @Timeout(60)
    void manyArenasShareOneRetryThreadAndRecoverIndependently() throws Exception {
        int n = 24;
        List<VirtualRegion> regions = new ArrayList<>();
        List<FaultyPages> pages = new ArrayList<>();
        List<Arena> arenas = new ArrayList<>();
        List<CompletableFuture<Long>> waiting = new ArrayList<>();
        try {
            long[] all = new long[n];
            for (int i = 0; i < n; i++) {
                VirtualRegion r = VirtualRegion.reserve(4 * PAGE);
                regions.add(r);
                FaultyPages p = new FaultyPages(r);
                pages.add(p);
                Arena a = arena(p);
                arenas.add(a);
                all[i] = a.tryAlloc(4 * PAGE);
                waiting.add(Background.start("waiter-" + i, () -> a.alloc(2 * PAGE)));
                Await.until("waiter " + i + " to wait", () -> a.waiters() == 1);
                p.failCommits = true;
            }
            awaitRetryThreadRetired("so that the frees below make the first failures");
            CyclicBarrier barrier = new CyclicBarrier(n);
            List<CompletableFuture<Boolean>> freers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                freers.add(Background.start("freer-" + i, () -> {
                    barrier.await();
                    arenas.get(k).free(all[k], 4 * PAGE);
                    return true;
                }));
            }
            int maxSeen = 0;
            Set<Thread> seen = new HashSet<>();
            while (!pages.stream().allMatch(p -> p.failedCommits.get() >= 2)) { // each arena's retry ran at least once
                List<Thread> ts = retryThreads();
                maxSeen = Math.max(maxSeen, ts.size());
                seen.addAll(ts);
                Thread.onSpinWait();
            }
            for (CompletableFuture<Boolean> f : freers) {
                served(f);
            }
            assertEquals(1, maxSeen, "one shared retry thread at a time; seen " + seen);

            for (int i = 0; i < n; i += 2) {
                pages.get(i).failCommits = false;
            }
            for (int i = 0; i < n; i += 2) {
                long span = served(waiting.get(i));
                new UnsafeBuffer(span, (int) (2 * PAGE)).putLong((int) PAGE, i); // faults unless committed
                assertEquals(0, arenas.get(i).waiters());
                assertEquals(2 * PAGE, arenas.get(i).stats().allocated());
                arenas.get(i).checkInvariants();
            }
            for (int i = 1; i < n; i += 2) {
                FaultyPages p = pages.get(i);
                int before = p.failedCommits.get();
                Await.until("arena " + i + " still retried", () -> p.failedCommits.get() > before);
                assertFalse(waiting.get(i).isDone(), "arena " + i + ": its commits still fail");
            }
            for (int i = 1; i < n; i += 2) {
                regions.get(i).close();
            }
            for (int i = 1; i < n; i += 2) {
                assertInstanceOf(IllegalStateException.class, failure(waiting.get(i)), "arena " + i);
                assertEquals(0, arenas.get(i).waiters());
                assertEquals(0, arenas.get(i).stats().allocated());
                arenas.get(i).checkInvariants();
            }
        } finally {
            for (VirtualRegion r : regions) {
                r.close();
            }
        }
    }

    // ----------------------------------------------------------------- timeouts

    /** Timed waiters and tryAllocs while every commit fails: each waiter times out with 0, each tryAlloc gets 0 or the failure, nothing leaks. */
    @Test
    @Timeout(30)
    void timedWaitersAndTryAllocsUnderFailingCommitsTakeNothing() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(8 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            long keep = arena.tryAlloc(PAGE);
            long all = arena.tryAlloc(7 * PAGE);
            pages.failCommits = true;
            List<CompletableFuture<Long>> timed = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Duration timeout = Duration.ofMillis(100 + 50 * i);
                timed.add(Background.start("timed-" + i, () -> arena.alloc(2 * PAGE, timeout)));
            }
            Await.until("the waiters to wait", () -> arena.waiters() == 4);
            arena.free(all, 7 * PAGE);
            while (!timed.stream().allMatch(CompletableFuture::isDone)) {
                try {
                    assertEquals(0, arena.tryAlloc(PAGE), "a commit that fails hands out no span");
                } catch (NativeMemoryException expected) {
                    assertEquals(ENOMEM, expected.errno(), "the non-waiting caller sees the failure");
                }
                Thread.yield();
            }
            for (CompletableFuture<Long> f : timed) {
                assertEquals(0L, served(f));
            }
            assertEquals(0, arena.waiters());
            assertEquals(PAGE, arena.stats().allocated(), "no span leaked");
            arena.checkInvariants();
            pages.failCommits = false;
            arena.free(keep, PAGE);
            assertEquals(0, arena.stats().allocated());
            arena.checkInvariants();
        }
    }

    /** A timed waiter whose timeout passes while the retry's commit for it runs, and fails: 0, nothing taken. */
    @Test
    @Timeout(30)
    void aTimeoutPassingDuringTheRetrysFailingCommitTakesNothing() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            AtomicReference<Thread> thread = new AtomicReference<>();
            // the timeout leaves room for several retries (50, 100, 200 ms): the hook below meets one of them
            CompletableFuture<Long> waiting = waiterLeftQueuedByAFailedCommit(pages, arena, Duration.ofMillis(500), thread);
            AtomicInteger timedOutWhileClaimed = new AtomicInteger();
            // inside the retry's commit, the waiter is claimed: once its timeout passes it parks untimed, waiting for the commit
            pages.beforeNextCall("commit", () -> {
                Await.until("the timeout to pass while claimed", () -> thread.get().getState() == Thread.State.WAITING);
                timedOutWhileClaimed.incrementAndGet();
            });
            assertEquals(0L, served(waiting));
            assertEquals(1, timedOutWhileClaimed.get(), "a retry's commit ran while the waiter was claimed");
            assertNothingTaken(arena);
        }
    }

    /** A timed waiter whose timeout lands around the retry that serves it: either 0 and nothing taken, or its span. */
    @Test
    @Timeout(60)
    void aTimeoutRacingASuccessfulRetryEitherTakesNothingOrGetsTheSpan() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            for (int round = 0; round < 40; round++) {
                long all = arena.tryAlloc(4 * PAGE);
                assertNotEquals(0, all, "round " + round + ": " + arena.stats());
                Duration timeout = Duration.ofMillis(Handover.RETRY_FIRST_MILLIS - 10 + round % 25);
                CompletableFuture<Long> w = Background.start("w", () -> arena.alloc(2 * PAGE, timeout));
                Await.until("the waiter", () -> arena.waiters() == 1);
                pages.commitsUntilFailure.set(0); // the free's commit for it fails; the retry's succeeds
                arena.free(all, 4 * PAGE);
                long got = served(w);
                Await.until("no waiter", () -> arena.waiters() == 0);
                if (got == 0) {
                    assertEquals(0, arena.stats().allocated(), "round " + round + ": timed out, yet a span is taken");
                } else {
                    assertEquals(2 * PAGE, arena.stats().allocated(), "round " + round);
                    arena.free(got, 2 * PAGE);
                }
                arena.checkInvariants();
            }
        }
    }

    /** A pool get(timeout) whose grow's commits keep failing returns 0 and leaves no pending grow; the pool then recovers. */
    @Test
    @Timeout(30)
    void aTimedPoolGetOverFailingGrowsLeavesNoPendingGrow() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            Pool pool = Pool.builder("retry-timed", PAGE).slabPages(2).build(arena);
            long all = arena.tryAlloc(4 * PAGE);
            CompletableFuture<Long> get = Background.start("getter", () -> pool.get(Duration.ofMillis(300)));
            Await.until("the grow to wait in the arena", () -> arena.waiters() == 1);
            pages.failCommits = true;
            arena.free(all, 4 * PAGE);
            assertEquals(0L, served(get));
            assertNothingTaken(arena);
            assertEquals(0, pool.stats().pendingItems(), "the nack released the pending grow");
            pool.checkInvariants();
            arena.checkInvariants();
            pages.failCommits = false;
            long item = served(Background.start("getter-2", pool::get));
            pool.put(item);
            pool.checkInvariants();
            pool.close();
            assertEquals(0, arena.stats().allocated());
            arena.checkInvariants();
        }
    }

    // --------------------------------------------------------------- interrupts

    /** An interrupt of a waiter queued again after its failed commit: InterruptedException, nothing taken. */
    @Test
    @Timeout(30)
    void anInterruptedWaiterWhoseCommitFailedTakesNothing() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            AtomicReference<Thread> thread = new AtomicReference<>();
            CompletableFuture<Long> waiting = waiterLeftQueuedByAFailedCommit(pages, arena, null, thread);
            Await.until("the waiter to queue again", () -> arena.waiters() == 1);
            thread.get().interrupt();
            assertInstanceOf(InterruptedException.class, failure(waiting));
            assertNothingTaken(arena);
        }
    }

    /** A waiter interrupted while the retry's commit for it runs: if that commit fails, InterruptedException and nothing taken. */
    @Test
    @Timeout(30)
    void aWaiterInterruptedDuringTheRetrysFailingCommitTakesNothing() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            AtomicReference<Thread> thread = new AtomicReference<>();
            CompletableFuture<Long> waiting = waiterLeftQueuedByAFailedCommit(pages, arena, null, thread);
            pages.beforeNextCall("commit", () -> {
                thread.get().interrupt();
                Await.parked(thread.get()); // it saw the interrupt, could not cancel (claimed), and waits for the commit
            });
            assertInstanceOf(InterruptedException.class, failure(waiting));
            assertNothingTaken(arena);
        }
    }

    /** The same when the retry's commit succeeds: the claimed span is handed over and the interrupt re-asserted. */
    @Test
    @Timeout(30)
    void aWaiterInterruptedDuringTheRetrysSucceedingCommitGetsTheSpan() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            long all = arena.tryAlloc(4 * PAGE);
            AtomicReference<Thread> thread = new AtomicReference<>();
            CompletableFuture<Long> waiting = Background.start("waiter", () -> {
                thread.set(Thread.currentThread());
                long a = arena.alloc(2 * PAGE);
                if (!Thread.currentThread().isInterrupted()) {
                    throw new AssertionError("the interrupt was not re-asserted");
                }
                return a;
            });
            Await.until("the alloc to wait", () -> arena.waiters() == 1);
            pages.failCommits = true;
            arena.free(all, 4 * PAGE);
            Await.until("the commit to fail", () -> pages.failedCommits.get() >= 1);
            pages.beforeNextCall("commit", () -> {
                pages.failCommits = false;
                thread.get().interrupt();
                Await.parked(thread.get());
            });
            long span = served(waiting);
            assertNotEquals(0, span);
            new UnsafeBuffer(span, (int) (2 * PAGE)).putLong(0, 1); // faults unless committed
            assertEquals(2 * PAGE, arena.stats().allocated());
            arena.free(span, 2 * PAGE);
            arena.checkInvariants();
        }
    }

    /** Interrupts of the retry thread, while it waits and inside its commit, lose no retry. */
    @Test
    @Timeout(30)
    void interruptsOfTheRetryThreadLoseNoRetry() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            CompletableFuture<Long> w = waiterLeftQueuedByAFailedCommit(pages, arena);
            Await.until("three failures", () -> pages.failedCommits.get() >= 3);
            for (int k = 0; k < 5; k++) {
                retryThreads().forEach(Thread::interrupt); // while it waits for the next retry
                Thread.yield();
            }
            pages.beforeNextCall("commit", () -> Thread.currentThread().interrupt()); // inside the retry's (failing) commit
            int before = pages.failedCommits.get();
            Await.until("the interrupted retry's failure", () -> pages.failedCommits.get() > before);
            pages.failCommits = false;
            long got = served(w);
            assertNotEquals(0, got);
            arena.free(got, 2 * PAGE);

            long other = arena.tryAlloc(PAGE); // and the next failure is retried too
            CompletableFuture<Long> w2 = Background.start("w2", () -> arena.alloc(4 * PAGE));
            Await.until("w2 to wait", () -> arena.waiters() == 1);
            pages.commitsUntilFailure.set(0);
            arena.free(other, PAGE);
            long span = served(w2);
            assertNotEquals(0L, span);
            arena.free(span, 4 * PAGE);
            arena.checkInvariants();
        }
    }

    // ---------------------------------------------------------- retry lifecycle

    /** Each failure of a waiter's commit after the first runs on the retry thread, never earlier than its backoff: 50 ms, doubling. */
    @Test
    @Timeout(30)
    void retriesRunOnTheRetryThreadNoEarlierThanTheDoublingBackoff() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            RecordingPages pages = new RecordingPages(region);
            Arena arena = arena(pages, region);
            long all = arena.tryAlloc(4 * PAGE);
            CompletableFuture<Long> w = Background.start("waiter", () -> arena.alloc(2 * PAGE));
            Await.until("the alloc to wait", () -> arena.waiters() == 1);
            pages.fail = true;
            arena.free(all, 4 * PAGE);
            Await.until("five failed commits", () -> pages.failedAtNanos.size() >= 5);
            pages.fail = false;
            arena.free(served(w), 2 * PAGE);

            List<String> on = List.copyOf(pages.failedOn);
            assertEquals(Thread.currentThread().getName(), on.get(0), "the free made the first commit");
            for (int k = 1; k < on.size(); k++) {
                assertEquals(RETRY, on.get(k), "failure " + k + " of " + on);
            }
            List<Long> at = List.copyOf(pages.failedAtNanos);
            long delay = Handover.RETRY_FIRST_MILLIS;
            for (int k = 1; k < 5; k++, delay = Math.min(2 * delay, Handover.RETRY_MAX_MILLIS)) {
                long gapMillis = TimeUnit.NANOSECONDS.toMillis(at.get(k) - at.get(k - 1));
                assertTrue(gapMillis >= delay, "retry " + k + " came " + gapMillis + " ms after the failure before it,"
                        + " before its " + delay + " ms backoff");
            }
            arena.checkInvariants();
        }
    }

    /** Under a persistent failure, once the last waiter timed out no retry is due: the retry thread retires, no commit is tried for nobody. */
    @Test
    @Timeout(30)
    void noRetryIsDueOnceTheLastWaiterTimedOut() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            CompletableFuture<Long> waiting = waiterLeftQueuedByAFailedCommit(pages, arena, Duration.ofMillis(200),
                    new AtomicReference<>());
            assertEquals(0L, served(waiting));
            int failed = pages.failedCommits.get();
            awaitRetryThreadRetired("no waiter is left to retry");
            assertEquals(failed, pages.failedCommits.get(), "a retry tried a commit for nobody");
            assertEquals(0, arena.stats().allocated());
            arena.checkInvariants();
        }
    }

    /** A waiter that waits for space (not for a failed commit) keeps no retry due: the thread retires, and a free still serves it. */
    @Test
    @Timeout(30)
    void aWaiterThatDoesNotFitKeepsNoRetryDue() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            long all = arena.tryAlloc(4 * PAGE);
            CompletableFuture<Long> w1 = Background.start("w1", () -> arena.alloc(2 * PAGE, Duration.ofMillis(300)));
            Await.until("w1 to wait", () -> arena.waiters() == 1);
            CompletableFuture<Long> w2 = Background.start("w2", () -> arena.alloc(4 * PAGE));
            Await.until("w2 to queue behind it", () -> arena.waiters() == 2);
            pages.failCommits = true;
            arena.free(all, 4 * PAGE);
            assertEquals(0L, served(w1), "w1 waited out its timeout over failing commits");
            pages.failCommits = false;
            long s2 = served(w2); // fits now: retried, and served once commits work
            assertNotEquals(0, s2);

            CompletableFuture<Long> w3 = Background.start("w3", () -> arena.alloc(PAGE));
            Await.until("w3 to wait, nothing fits", () -> arena.waiters() == 1);
            awaitRetryThreadRetired("w3 waits for space, not for a retry");
            assertFalse(w3.isDone());
            arena.free(s2, 4 * PAGE);
            arena.free(served(w3), PAGE);
            assertEquals(0, arena.stats().allocated());
            arena.checkInvariants();
        }
    }

    /** An arena whose retries are over, closed or merely dropped, is not kept reachable by the retry thread. */
    @Test
    @Timeout(30)
    void anArenaWhoseRetriesAreOverIsCollectable() throws Exception {
        WeakReference<Arena> closed = arenaAfterRetries(true);
        WeakReference<Arena> dropped = arenaAfterRetries(false);
        awaitRetryThreadRetired("its work is done");
        for (int k = 0; k < 50 && (closed.get() != null || dropped.get() != null); k++) {
            System.gc();
            Thread.sleep(20);
        }
        assertNull(closed.get(), "an arena whose region closed with a retry pending is still reachable");
        assertNull(dropped.get(), "an arena dropped after its waiter timed out is still reachable");
    }

    private static WeakReference<Arena> arenaAfterRetries(boolean closeWithARetryPending) throws Exception {
        VirtualRegion region = VirtualRegion.reserve(4 * PAGE);
        FaultyPages pages = new FaultyPages(region);
        Arena arena = arena(pages);
        if (closeWithARetryPending) {
            CompletableFuture<Long> waiting = waiterLeftQueuedByAFailedCommit(pages, arena);
            region.close();
            assertInstanceOf(IllegalStateException.class, failure(waiting));
        } else {
            CompletableFuture<Long> waiting = waiterLeftQueuedByAFailedCommit(pages, arena, Duration.ofMillis(100),
                    new AtomicReference<>());
            assertEquals(0L, served(waiting));
            region.close();
        }
        return new WeakReference<>(arena);
    }

    // ------------------------------------------------- choices, caps, the undo path

    /** A choice over two arenas whose commits both fail: once they recover, exactly one span is taken. */
    @Test
    @Timeout(60)
    void aChoiceOverTwoRetryingArenasTakesExactlyOneSpan() throws Exception {
        try (VirtualRegion r1 = VirtualRegion.reserve(4 * PAGE); VirtualRegion r2 = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages p1 = new FaultyPages(r1);
            FaultyPages p2 = new FaultyPages(r2);
            Arena a1 = arena(p1);
            Arena a2 = arena(p2);
            for (int round = 0; round < 20; round++) {
                long all1 = a1.tryAlloc(4 * PAGE);
                long all2 = a2.tryAlloc(4 * PAGE);
                CompletableFuture<Long> w = Background.start("chooser", () -> Events.choose(
                        a1.allocEvent(2 * PAGE), a2.allocEvent(2 * PAGE)).sync());
                Await.until("registered on both", () -> a1.waiters() == 1 && a2.waiters() == 1);
                p1.failCommits = true;
                p2.failCommits = true;
                int f1 = p1.failedCommits.get();
                int f2 = p2.failedCommits.get();
                a1.free(all1, 4 * PAGE);
                a2.free(all2, 4 * PAGE);
                Await.until("both commits to fail", () -> p1.failedCommits.get() > f1 && p2.failedCommits.get() > f2);
                Thread.sleep(round * 7 % 120); // jitter: recover at varying points of the retries
                p1.failCommits = false;
                p2.failCommits = false;
                long got = served(w);
                Await.until("no registration left", () -> a1.waiters() == 0 && a2.waiters() == 0);
                long in1 = a1.stats().allocated();
                long in2 = a2.stats().allocated();
                assertEquals(2 * PAGE, in1 + in2, "round " + round + ": exactly one span taken: " + in1 + " + " + in2);
                (in1 != 0 ? a1 : a2).free(got, 2 * PAGE);
                a1.checkInvariants();
                a2.checkInvariants();
            }
        }
    }

    /** Under a cap, a failed commit gives its room back: the retry serves the waiter within the cap, and the cap still binds. */
    @Test
    @Timeout(30)
    void aFailedCommitUnderTheCapGivesTheRoomBack() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(8 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().commitChunk(PAGE).maxCommitted(4 * PAGE).build();
            long held = arena.tryAlloc(4 * PAGE);
            CompletableFuture<Long> w = Background.start("w", () -> arena.alloc(3 * PAGE));
            CompletableFuture<Long> timed = Background.start("t", () -> arena.alloc(PAGE, Duration.ofMillis(300)));
            Await.until("both to wait on the cap", () -> arena.waiters() == 2);
            pages.failCommits = true;
            arena.free(held, 4 * PAGE);
            Await.until("failures", () -> pages.failedCommits.get() >= 2);
            assertEquals(0L, served(timed));
            assertEquals(0, arena.stats().allocated());
            pages.failCommits = false;
            long a = served(w);
            assertEquals(3 * PAGE, arena.stats().allocated());
            long b = arena.tryAlloc(PAGE);
            assertNotEquals(0, b, "the cap has room for one more page");
            assertEquals(0, arena.tryAlloc(PAGE), "and no more");
            arena.free(a, 3 * PAGE);
            arena.free(b, PAGE);
            arena.checkInvariants();
        }
    }

    /** The retry's commit of a multi-chunk span fails part-way and the undo's decommit fails too: invariants hold, the waiter is served later. */
    @Test
    @Timeout(30)
    void theRetrysPartialCommitWhoseUndoFailsLeavesTheArenaSound() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            long[] a = new long[4];
            for (int k = 0; k < 4; k++) {
                a[k] = arena.tryAlloc(PAGE);
            }
            CompletableFuture<Long> w = Background.start("w", () -> arena.alloc(3 * PAGE));
            Await.until("w to wait", () -> arena.waiters() == 1);
            pages.failDecommits = true;
            arena.free(a[1], PAGE); // chunk 1 stays accessible, idle
            pages.failDecommits = false;
            arena.free(a[0], PAGE);
            pages.failCommits = true;
            arena.free(a[2], PAGE); // serves w: its commit fails
            Await.until("w's commit to fail", () -> pages.failedCommits.get() >= 1);
            int before = pages.failedCommits.get();
            pages.failDecommits = true;
            pages.commitsUntilFailure.set(1); // the retry: chunk 0 commits, chunk 2 fails, the undo's decommit fails
            pages.failCommits = false;
            Await.until("the retry's partial commit to fail", () -> pages.failedCommits.get() > before);
            Await.until("the undo", () -> arena.waiters() == 1 || w.isDone());
            arena.checkInvariants();
            pages.failDecommits = false;
            long span = served(w);
            assertEquals(region.address(), span);
            new UnsafeBuffer(span, (int) (3 * PAGE)).putLong((int) (2 * PAGE), 9); // faults unless committed
            assertEquals(4 * PAGE, arena.stats().allocated());
            arena.checkInvariants();
            arena.free(span, 3 * PAGE);
            arena.free(a[3], PAGE);
            assertEquals(0, arena.stats().allocated());
            arena.checkInvariants();
        }
    }

    // ---------------------------------------------------- intermittent failures

    /** Eight waiters, every other commit failing, nothing but the retries to serve them: each gets its own committed page. */
    @Test
    @Timeout(30)
    void retriesAloneServeEveryWaiterUnderAlternatingFailures() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(8 * PAGE)) {
            AlternatingPages pages = new AlternatingPages(region);
            pages.on = false;
            Arena arena = arena(pages, region);
            long all = arena.tryAlloc(8 * PAGE);
            List<CompletableFuture<Long>> ws = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                int k = i;
                ws.add(Background.start("w" + i, () -> arena.alloc(PAGE)));
                Await.until("w" + k + " to wait", () -> arena.waiters() == k + 1);
            }
            pages.on = true;
            arena.free(all, 8 * PAGE);
            Owners owners = new Owners(region.address(), 8);
            for (CompletableFuture<Long> w : ws) {
                long a = served(w);
                owners.take(a, PAGE);
                new UnsafeBuffer(a, (int) PAGE).putLong(0, a); // faults unless committed
            }
            assertTrue(pages.failed.get() > 0, "failures were injected");
            assertEquals(8 * PAGE, arena.stats().allocated());
            assertEquals(0, arena.waiters());
            arena.checkInvariants();
        }
    }

    /** Workers mixing tryAlloc, timed and untimed allocs while every other commit fails: no page has two holders, nothing leaks. */
    @Test
    @Tag("stress")
    @Timeout(60)
    void alternatingFailuresConserveSpans() throws Exception {
        int pagesN = 16;
        try (VirtualRegion region = VirtualRegion.reserve(pagesN * PAGE)) {
            AlternatingPages pages = new AlternatingPages(region);
            Arena arena = arena(pages, region);
            Owners owners = new Owners(region.address(), pagesN);
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            List<CompletableFuture<Long>> workers = new ArrayList<>();
            for (int w = 0; w < 6; w++) {
                int id = w;
                workers.add(Background.start("worker-" + w, () -> {
                    Random rnd = new Random(id);
                    long n = 0;
                    while (System.nanoTime() < end || pages.on) {
                        long bytes = (1 + rnd.nextInt(4)) * PAGE;
                        long a;
                        try {
                            int kind = rnd.nextInt(3);
                            a = kind == 0 ? arena.tryAlloc(bytes)
                                    : kind == 1 ? arena.alloc(bytes, Duration.ofMillis(1 + rnd.nextInt(80)))
                                    : arena.alloc(bytes);
                        } catch (NativeMemoryException e) {
                            if (e.errno() != ENOMEM) {
                                throw e;
                            }
                            continue; // tryAlloc sees the failure
                        }
                        if (a != 0) {
                            owners.take(a, bytes);
                            new UnsafeBuffer(a, (int) bytes).putLong((int) (bytes - 8), a); // faults unless committed
                            Thread.sleep(rnd.nextInt(3));
                            owners.give(a, bytes);
                            arena.free(a, bytes);
                            n++;
                        }
                        if (System.nanoTime() >= end) {
                            pages.on = false;
                        }
                    }
                    return n;
                }));
            }
            for (CompletableFuture<Long> f : workers) {
                served(f);
            }
            assertTrue(pages.failed.get() > 10, "failures were injected: " + pages.failed.get());
            assertEquals(0, arena.waiters());
            assertEquals(0, arena.stats().allocated(), arena.stats().toString());
            arena.checkInvariants();
        }
    }

    /** checkInvariants() and stats() hold at every moment while retries and workers race over alternating failures. */
    @Test
    @Tag("stress")
    @Timeout(60)
    void invariantsHoldWhileRetriesRace() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(8 * PAGE)) {
            AlternatingPages pages = new AlternatingPages(region);
            Arena arena = arena(pages, region);
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            CompletableFuture<Long> checker = Background.start("checker", () -> {
                long checks = 0;
                while (System.nanoTime() < end) {
                    arena.checkInvariants();
                    ArenaStats st = arena.stats();
                    if (st.allocated() + st.free() != st.reserved() || st.allocated() < 0) {
                        throw new AssertionError(st.toString());
                    }
                    checks++;
                }
                return checks;
            });
            List<CompletableFuture<Long>> workers = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int id = w;
                workers.add(Background.start("worker-" + w, () -> {
                    Random rnd = new Random(id);
                    long n = 0;
                    while (System.nanoTime() < end) {
                        long bytes = (1 + rnd.nextInt(3)) * PAGE;
                        // both wait (a positive timeout), so neither may throw the failed commit
                        long a = rnd.nextBoolean() ? arena.alloc(bytes) : arena.alloc(bytes, Duration.ofMillis(1 + rnd.nextInt(60)));
                        if (a != 0) {
                            Thread.sleep(rnd.nextInt(5));
                            arena.free(a, bytes);
                            n++;
                        }
                    }
                    return n;
                }));
            }
            assertTrue(served(checker) > 0);
            pages.on = false;
            for (CompletableFuture<Long> f : workers) {
                served(f);
            }
            assertNothingTaken(arena);
        }
    }

    /** The region closes in the middle of a stress over alternating failures: every worker ends with IllegalStateException, nothing is left allocated. */
    @Test
    @Tag("stress")
    @Timeout(60)
    void aRegionClosedInTheMiddleOfAStressEndsEveryWorker() throws Exception {
        for (int round = 0; round < 4; round++) {
            VirtualRegion region = VirtualRegion.reserve(8 * PAGE);
            AlternatingPages pages = new AlternatingPages(region);
            Arena arena = arena(pages, region);
            AtomicLong done = new AtomicLong();
            List<CompletableFuture<Long>> workers = new ArrayList<>();
            for (int w = 0; w < 5; w++) {
                int id = w + 10 * round;
                workers.add(Background.start("worker-" + w, () -> {
                    Random rnd = new Random(id);
                    while (true) {
                        long bytes = (1 + rnd.nextInt(4)) * PAGE;
                        long a;
                        try {
                            a = rnd.nextBoolean() ? arena.alloc(bytes) : arena.alloc(bytes, Duration.ofMillis(1 + rnd.nextInt(60)));
                        } catch (IllegalStateException closed) {
                            return done.get();
                        }
                        if (a != 0) {
                            Thread.sleep(rnd.nextInt(3));
                            arena.free(a, bytes);
                            done.incrementAndGet();
                        }
                    }
                }));
            }
            long target = 20 + 30L * round;
            Await.until("the stress to serve " + target + " spans", () -> done.get() >= target);
            region.close();
            for (int k = 0; k < workers.size(); k++) {
                try {
                    served(workers.get(k));
                } catch (TimeoutException e) {
                    fail("round " + round + ": worker " + k + " still running after the close; " + arena.stats());
                }
            }
            assertEquals(0, arena.waiters());
            assertEquals(0, arena.stats().allocated(), "round " + round + ": " + arena.stats());
            arena.checkInvariants();
        }
    }

    /** Pool gets over an arena whose every other commit fails: get never throws, no item has two holders, the counts agree. */
    @Test
    @Tag("stress")
    @Timeout(60)
    void poolGetsOverAlternatingFailuresNeitherThrowNorDoubleHandOut() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(8 * PAGE)) {
            AlternatingPages pages = new AlternatingPages(region);
            Arena arena = arena(pages, region);
            Pool pool = Pool.builder("retry-alternating", PAGE / 4).slabPages(1).highWater(0).build(arena);
            Set<Long> held = ConcurrentHashMap.newKeySet();
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            List<CompletableFuture<Long>> workers = new ArrayList<>();
            for (int w = 0; w < 6; w++) {
                int id = w;
                workers.add(Background.start("getter-" + w, () -> {
                    Random rnd = new Random(id);
                    long n = 0;
                    List<Long> mine = new ArrayList<>();
                    while (System.nanoTime() < end) {
                        int want = 1 + rnd.nextInt(5); // 6 x 5 < 32 items: no hold-and-wait deadlock
                        while (mine.size() < want) {
                            long a = pool.get(); // waits: a failed grow commit is retried, never thrown
                            if (!held.add(a)) {
                                throw new AssertionError("item " + Hex.of(a) + " handed to two holders");
                            }
                            mine.add(a);
                        }
                        Thread.sleep(rnd.nextInt(2));
                        for (long a : mine) {
                            held.remove(a);
                            pool.put(a);
                            n++;
                        }
                        mine.clear();
                    }
                    return n;
                }));
            }
            for (CompletableFuture<Long> f : workers) {
                served(f);
            }
            pages.on = false;
            assertTrue(pages.failed.get() > 10, "failures were injected: " + pages.failed.get());
            assertEquals(0, pool.stats().itemsInUse(), pool.stats().toString());
            assertEquals(0, pool.waiters());
            pool.checkInvariants();
            assertEquals(0, arena.waiters());
            assertEquals(pool.stats().slabs() * PAGE, arena.stats().allocated(), pool.stats() + " " + arena.stats());
            arena.checkInvariants();
            pool.close();
            assertEquals(0, arena.stats().allocated());
        }
    }

    /** Pool gets waiting on grows, served only by retries, some interrupted at random moments: each item handed out once, the counts agree. */
    @Test
    @Timeout(60)
    void poolGetsServedByRetriesUnderInterruptsHandEachItemOutOnce() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(8 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            Pool pool = Pool.builder("retry-interrupts", PAGE / 2).slabPages(1).highWater(0).build(arena);
            Random rnd = new Random(7);
            for (int round = 0; round < 15; round++) {
                long all = arena.tryAlloc(8 * PAGE);
                List<Thread> threads = new ArrayList<>();
                List<CompletableFuture<Long>> gets = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    AtomicReference<Thread> t = new AtomicReference<>();
                    gets.add(Background.start("g" + i, () -> {
                        t.set(Thread.currentThread());
                        return pool.get();
                    }));
                    Await.until("g" + i + " to start", () -> t.get() != null);
                    threads.add(t.get());
                }
                int r = round;
                Await.until("4 gets to wait, round " + r, () -> pool.waiters() == 4);
                pages.failCommits = true;
                arena.free(all, 8 * PAGE);
                Await.until("a commit to fail", () -> pages.failedCommits.get() > 0);
                Thread.sleep(rnd.nextInt(60)); // jitter: recover and interrupt at varying points of the retries
                pages.failCommits = false;
                Thread.sleep(rnd.nextInt(80));
                threads.get(rnd.nextInt(4)).interrupt();
                threads.get(rnd.nextInt(4)).interrupt();
                Set<Long> got = new HashSet<>();
                for (CompletableFuture<Long> g : gets) {
                    try {
                        assertTrue(got.add(served(g)), "round " + round + ": an item handed out twice");
                    } catch (ExecutionException e) {
                        assertInstanceOf(InterruptedException.class, e.getCause(), "round " + round);
                    }
                }
                Await.until("no waiter", () -> pool.waiters() == 0 && arena.waiters() == 0);
                assertEquals(got.size(), pool.stats().itemsInUse(), "round " + round + ": " + pool.stats());
                for (long a : got) {
                    pool.put(a);
                }
                pool.checkInvariants();
                arena.checkInvariants();
                assertEquals(pool.stats().slabs() * PAGE, arena.stats().allocated(), "round " + round);
                pool.reclaim();
            }
            pool.close();
            assertEquals(0, arena.stats().allocated());
            arena.checkInvariants();
        }
    }

    /**
     * The retry thread cannot be made (a SecurityManager's refusal, a process out of threads):
     * the failed commit is still waited out, served by the next call, and once threads can be
     * made again a later failure's retry serves its waiter with no call at all (the refusal
     * left no retry marked pending for good).
     */
    @Test
    void aRefusedRetryThreadFallsBackToTheNextCallAndRetriesResumeAfterward() throws Exception {
        awaitRetryThreadRetired("so that the next retry has to make a thread");
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE); LogCapture log = new LogCapture(Arena.class)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().commitChunk(PAGE).build();
            Handover.refuseRetryThread = () -> new SecurityException("no threads here (injected)");
            try {
                pages.failCommits = true;
                CompletableFuture<Long> first = Background.start("first", () -> arena.alloc(PAGE, Duration.ofSeconds(20)));
                Await.until("the alloc to wait", () -> arena.waiters() == 1);
                assertTrue(log.count("could not schedule the retry") >= 1, "the refusal is logged");
                assertTrue(retryThreads().isEmpty());
                pages.failCommits = false; // the OS recovers; with no retry thread only a call serves the waiter
                Thread.sleep(3 * Handover.RETRY_FIRST_MILLIS); // a retry would have served it by now
                assertEquals(1, arena.waiters(), "still waiting: no retry ran");
                assertFalse(first.isDone());
                assertEquals(0, arena.tryAlloc(4 * PAGE), "a call lifts the pause, and the waiter, queued first, takes its page");
                long a = first.get(20, TimeUnit.SECONDS);
                assertNotEquals(0, a, "served by the next call");
                arena.free(a, PAGE);
            } finally {
                Handover.refuseRetryThread = null;
            }
            int failedBefore = pages.failedCommits.get();
            pages.failCommits = true;
            CompletableFuture<Long> second = Background.start("second", () -> arena.alloc(PAGE, Duration.ofSeconds(20)));
            Await.until("the second alloc to wait", () -> arena.waiters() == 1 && pages.failedCommits.get() > failedBefore);
            pages.failCommits = false; // nobody calls the arena now: only a retry can serve it
            long b = second.get(20, TimeUnit.SECONDS);
            assertNotEquals(0, b, "served by a retry: the refusal left none marked pending for good");
            arena.free(b, PAGE);
            arena.checkInvariants();
        }
    }

    /**
     * A getEvent() sync whose grow is retried over failing commits counts one wait of the
     * pool, however often the abandoned claims made it register again (review 15 saw one
     * blocked acquire count a wait per retry).
     */
    @Test
    @Timeout(30)
    void aGetEventSyncRetriedOverFailingCommitsCountsOneWait() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            Pool pool = Pool.builder("one-wait", PAGE / 4).slabPages(1).build(arena);
            pages.failCommits = true;
            CompletableFuture<Long> get = Background.start("getter", () -> pool.getEvent().sync());
            Await.until("three retries to fail", () -> pages.failedCommits.get() >= 4);
            pages.failCommits = false;
            long item = served(get);
            assertNotEquals(0, item);
            assertEquals(1, pool.stats().waits(), pool.stats().toString());
            assertTrue(pool.stats().waitNanos() > 0);
            pool.put(item);
            pool.checkInvariants();
            pool.close();
            assertNothingTaken(arena);
        }
    }

    /**
     * Two getEvent() syncs queued for a put and, through their grows, in the arena; the older
     * one's grow is served and its commit fails, so it registers again everywhere. It keeps its
     * place: the next put goes to the older one. Before, a registration after an abandoned
     * claim went to the back of the queue (review 15 saw class waiters served out of order).
     */
    @Test
    @Timeout(30)
    void aGetWhoseGrowCommitFailedKeepsItsPlaceInThePoolsPutQueue() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(2 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            Pool pool = Pool.builder("put-order", PAGE / 4).slabPages(1).build(arena);
            long[] items = new long[4];
            for (int i = 0; i < items.length; i++) {
                items[i] = pool.tryGet();
            }
            long page = arena.tryAlloc(PAGE); // no room for a second slab
            CompletableFuture<Long> older = Background.start("older", () -> pool.getEvent().sync());
            Await.until("the older to wait", () -> pool.stats().waiters() == 1 && arena.waiters() == 1);
            CompletableFuture<Long> younger = Background.start("younger", () -> pool.getEvent().sync());
            Await.until("both to wait", () -> pool.stats().waiters() == 2 && arena.waiters() == 2);
            pages.failCommits = true; // the retries fail too: only the put below serves anyone
            arena.free(page, PAGE); // serves the older's grow, whose commit fails
            Await.until("the older's first wait to end", () -> pool.stats().waits() == 1);
            Await.until("the older to register again", () -> pool.stats().waiters() == 2 && arena.waiters() == 2);
            pool.checkInvariants();
            pool.put(items[0]);
            long got = served(older);
            assertEquals(items[0], got, "the put went to the older get");
            assertFalse(younger.isDone());
            pages.failCommits = false;
            long grown = served(younger); // its grow, at the next retry
            pool.put(got);
            pool.put(grown);
            for (int i = 1; i < items.length; i++) {
                pool.put(items[i]);
            }
            assertEquals(2, pool.stats().waits(), "one wait per sync: " + pool.stats());
            pool.checkInvariants();
            pool.close();
            assertNothingTaken(arena);
        }
    }
}

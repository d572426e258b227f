package io.slab4j.arena;

import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.pool.Pool;
import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import io.slab4j.testing.LogCapture;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.LogRecord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Commit and release failures injected under a region-backed arena ({@link FaultyPages}):
 * issue 7's defects 5 (a served waiter whose commit fails spun) and 6 (a free that had
 * accepted its span threw).
 */
class ArenaCommitFailureTest {
    private static final long PAGE = VirtualRegion.pageSize();

    /**
     * How many scheduled retries can have run within {@code ms} of a failed commit, at most:
     * the delays are {@link Handover#RETRY_FIRST_MILLIS}, doubling, capped at
     * {@link Handover#RETRY_MAX_MILLIS}. A spin would exceed it by orders of magnitude.
     */
    private static int retriesWithin(long ms) {
        int k = 0;
        long at = 0;
        for (long d = Handover.RETRY_FIRST_MILLIS; (at += d) <= ms; d = Math.min(2 * d, Handover.RETRY_MAX_MILLIS)) {
            k++;
        }
        return k;
    }

    /** One chunk a page, so every span's commit is a page call the test can fail. */
    private static Arena arena(FaultyPages pages) {
        return pages.arena().commitChunk(PAGE).build();
    }

    /**
     * The scenario of the two tests below: a waiter for 2 of the 4 pages, queued while all 4
     * were taken, is served by a free of all 4 (the last call the arena sees from anyone but
     * the waiter), and the commit of its span fails. Returns once the commit has failed.
     */
    private static CompletableFuture<Long> waiterLeftQueuedByAFailedCommit(FaultyPages pages, Arena arena) {
        long all = arena.tryAlloc(4 * PAGE);
        CompletableFuture<Long> waiting = Background.start("waiter", () -> arena.alloc(2 * PAGE));
        Await.until("the alloc to wait", () -> arena.waiters() == 1);
        pages.failCommits = true;
        arena.free(all, 4 * PAGE);
        Await.until("the served waiter's commit to fail", () -> pages.failedCommits.get() >= 1);
        return waiting;
    }

    /**
     * Defect 5: a free serves a waiter whose commit fails. The waiter must not spin
     * (claim, commit, abandon, re-register...): it goes back to waiting, parked, after one
     * attempt, and is served by the next free once commits work again.
     */
    @Test
    void aServedWaiterWhoseCommitFailsWaitsInsteadOfSpinning() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            long three = arena.tryAlloc(3 * PAGE);
            long one = arena.tryAlloc(PAGE);
            AtomicReference<Thread> thread = new AtomicReference<>();
            CompletableFuture<Long> waiting = Background.start("waiter", () -> {
                thread.set(Thread.currentThread());
                return arena.alloc(2 * PAGE);
            });
            Await.until("the alloc to wait", () -> arena.waiters() == 1);
            pages.failCommits = true;
            long t0 = System.nanoTime();
            arena.free(three, 3 * PAGE);
            Await.until("the served waiter's commit to fail", () -> pages.failedCommits.get() >= 1);
            Await.until("the waiter to wait again", () -> arena.waiters() == 1);
            Await.parked(thread.get()); // a spinning waiter is never parked for long: this times out
            int attempts = pages.failedCommits.get();
            long waited = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(attempts <= 2 + retriesWithin(waited),
                    attempts + " failed commits for one free in " + waited + " ms: the waiter is retrying in a loop");
            assertEquals(1, arena.waiters());
            assertEquals(0, arena.stats().allocated() - PAGE, "the span the waiter could not take went back");
            arena.checkInvariants();

            pages.failCommits = false;
            arena.free(one, PAGE); // the next free is the next try
            long span = waiting.get(10, TimeUnit.SECONDS);
            new UnsafeBuffer(span, (int) (2 * PAGE)).putLong((int) PAGE, 7); // faults unless committed
            assertEquals(0, arena.waiters());
            assertTrue(arena.stats().commitFailures() >= 1);
            arena.free(span, 2 * PAGE);
            arena.checkInvariants();
        }
    }

    /**
     * A waiter left queued by a failed commit is not stranded when no span is ever freed
     * again: the next non-waiting call is one more try, and serves it first.
     */
    @Test
    void aNewcomerRetriesAWaiterAFailedCommitLeftQueued() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            CompletableFuture<Long> waiting = waiterLeftQueuedByAFailedCommit(pages, arena);
            Await.until("the waiter to wait again", () -> arena.waiters() == 1);
            pages.failCommits = false;
            long newcomer = arena.tryAlloc(PAGE);
            long span = waiting.get(10, TimeUnit.SECONDS);
            assertNotEquals(0, span);
            assertNotEquals(0, newcomer, "with the waiter served, the newcomer fits too");
            new UnsafeBuffer(span, (int) (2 * PAGE)).putLong(0, 1);
            arena.free(span, 2 * PAGE);
            arena.free(newcomer, PAGE);
            arena.checkInvariants();
        }
    }

    /**
     * Review 13: a waiter left queued by a failed commit, with no timeout, when nothing else
     * ever happens in the arena (no free, no other call) and the OS recovers. Before the
     * retry timer it waited for good: only a free, a non-waiting call or a successful commit
     * was one more try. Now the failed commit schedules a retry, backing off from
     * {@link Handover#RETRY_FIRST_MILLIS}, and the waiter is served without any other call.
     */
    @Test
    void aWaiterAFailedCommitLeftQueuedIsRetriedWithoutAnyOtherCall() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            CompletableFuture<Long> waiting = waiterLeftQueuedByAFailedCommit(pages, arena);
            pages.failCommits = false; // the OS recovers; nobody calls the arena
            long span = waiting.get(10, TimeUnit.SECONDS);
            assertNotEquals(0, span);
            new UnsafeBuffer(span, (int) (2 * PAGE)).putLong((int) PAGE, 5); // faults unless committed
            assertEquals(0, arena.waiters());
            arena.free(span, 2 * PAGE);
            arena.checkInvariants();
        }
    }

    /**
     * Defect 5 with a timeout: commits keep failing, and the waiter waits out its own timeout
     * (0), without spinning: the scheduled retries (review 13) run, but back off, so the failed
     * commits grow like the logarithm of the time waited (the delay doubles from
     * {@link Handover#RETRY_FIRST_MILLIS} up to {@link Handover#RETRY_MAX_MILLIS}).
     */
    @Test
    void aTimedWaiterWhoseCommitsKeepFailingTimesOut() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            long all = arena.tryAlloc(4 * PAGE);
            CompletableFuture<Long> waiting = Background.start("waiter", () -> arena.alloc(PAGE, Duration.ofMillis(1500)));
            Await.until("the alloc to wait", () -> arena.waiters() == 1);
            pages.failCommits = true;
            long t0 = System.nanoTime();
            arena.free(all, 4 * PAGE);
            assertEquals(0L, waiting.get(10, TimeUnit.SECONDS), "the waiter timed out with the 0 sentinel");
            long waited = (System.nanoTime() - t0) / 1_000_000;
            int failed = pages.failedCommits.get();
            assertTrue(failed >= 2, failed + " failed commits: no retry ran in " + waited + " ms");
            assertTrue(failed <= 2 + retriesWithin(waited), failed + " failed commits in " + waited + " ms: a spin");
            assertEquals(0, arena.waiters());
            assertEquals(0, arena.stats().allocated());
            arena.checkInvariants();
            NativeMemoryException e = assertThrows(NativeMemoryException.class, () -> arena.tryAlloc(PAGE),
                    "a non-waiting caller sees the failure");
            assertEquals(12, e.errno());
            assertEquals(0, arena.stats().allocated(), "and nothing was taken");
            pages.failCommits = false;
            long span = arena.tryAlloc(PAGE);
            assertNotEquals(0, span);
            arena.free(span, PAGE);
            arena.checkInvariants();
        }
    }

    /**
     * Defect 6: a free whose decommit or release fails returns normally, counts the failure,
     * keeps the pages committed (the span is reusable), and still serves its waiter.
     */
    @Test
    void aFreeWhoseReleaseFailsReturnsNormallyAndStillServes() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(8 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            long all = arena.tryAlloc(8 * PAGE);
            new UnsafeBuffer(all, (int) (8 * PAGE)).putLong(0, 42);
            CompletableFuture<Long> waiting = Background.start("waiter", () -> arena.alloc(2 * PAGE));
            Await.until("the alloc to wait", () -> arena.waiters() == 1);
            pages.failDecommits = true;
            pages.failReleases = true;
            arena.free(all, 8 * PAGE); // must not throw
            long served = waiting.get(10, TimeUnit.SECONDS);
            new UnsafeBuffer(served, (int) (2 * PAGE)).putLong(8, 1); // handed over committed
            ArenaStats stats = arena.stats();
            assertEquals(1, stats.releaseFailures());
            assertEquals(8 * PAGE, stats.accessible(), "the chunks whose decommit failed stay committed");
            assertThrows(IllegalArgumentException.class, () -> arena.free(all + 6 * PAGE, PAGE),
                    "the free was accepted: its span is free, not allocated");
            arena.checkInvariants();

            long reused = arena.tryAlloc(6 * PAGE); // reuse of chunks left committed needs no page call
            assertNotEquals(0, reused);
            new UnsafeBuffer(reused, (int) (6 * PAGE)).putLong((int) (5 * PAGE), 3);
            pages.failDecommits = false;
            pages.failReleases = false;
            arena.free(reused, 6 * PAGE);
            arena.free(served, 2 * PAGE);
            assertEquals(0, arena.stats().accessible(), "decommitted later, with their next span");
            assertEquals(1, arena.stats().releaseFailures());
            arena.checkInvariants();
        }
    }

    /**
     * A commit that fails part-way through a span of several chunks undoes the chunks it
     * made accessible (and decommits idle ones left over from a failed decommit).
     */
    @Test
    void aFailedCommitLeavesNoChunkBehind() {
        try (VirtualRegion region = VirtualRegion.reserve(8 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().commitChunk(2 * PAGE).build(); // 4 chunks
            long all = arena.tryAlloc(8 * PAGE);
            pages.failDecommits = true;
            arena.free(all, 8 * PAGE); // every chunk stays accessible, idle
            pages.failDecommits = false;
            assertEquals(8 * PAGE, arena.stats().accessible());
            long[] c = new long[4];
            for (int k = 0; k < 4; k++) {
                c[k] = arena.tryAlloc(2 * PAGE); // one free segment: carved in address order, one chunk each
                assertEquals(region.address() + 2 * k * PAGE, c[k]);
            }
            assertEquals(0, pages.commits.get() - 1, "reusing idle accessible chunks needs no page call");
            arena.free(c[1], 2 * PAGE);
            arena.free(c[3], 2 * PAGE); // decommits work again: chunks 1 and 3 go
            pages.failDecommits = true;
            arena.free(c[2], 2 * PAGE); // chunk 2 stays accessible, idle
            pages.failDecommits = false;
            assertEquals(4 * PAGE, arena.stats().accessible());
            pages.commitsUntilFailure.set(1); // of the span's runs, chunk 1 commits, chunk 3 fails
            assertThrows(NativeMemoryException.class, () -> arena.tryAlloc(6 * PAGE));
            ArenaStats stats = arena.stats();
            assertEquals(2 * PAGE, stats.allocated());
            assertEquals(2 * PAGE, stats.accessible(), "only the live chunk is accessible after the undo");
            assertEquals(1, stats.commitFailures());
            arena.checkInvariants();
            pages.commitsUntilFailure.set(-1);
            long rest = arena.tryAlloc(6 * PAGE);
            assertNotEquals(0, rest);
            assertEquals(8 * PAGE, arena.stats().accessible());
            arena.free(rest, 6 * PAGE);
            arena.free(c[0], 2 * PAGE);
            assertEquals(0, arena.stats().accessible());
            arena.checkInvariants();
        }
    }

    /**
     * Review 14a: a call that may wait, whose own first try's commit fails once, with nothing
     * else happening in the arena. Before the fix it threw the NativeMemoryException of that
     * first try, although the docs promise that a waiter whose commit failed keeps waiting and
     * that only non-waiting calls see the exception. Now it waits and the retry serves it.
     * One case per waiting entry: alloc with a timeout, alloc without one (an allocEvent sync).
     */
    @Test
    void aWaitingAllocWhoseFirstCommitFailsWaitsAndIsServedByTheRetry() throws Exception {
        for (boolean timed : new boolean[] {true, false}) {
            try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
                FaultyPages pages = new FaultyPages(region);
                Arena arena = arena(pages);
                pages.commitsUntilFailure.set(0); // the next commit fails, once
                CompletableFuture<Long> waiting = Background.start("alloc",
                        () -> timed ? arena.alloc(2 * PAGE, Duration.ofSeconds(20)) : arena.alloc(2 * PAGE));
                long span = waiting.get(10, TimeUnit.SECONDS); // before the fix: ExecutionException(NativeMemoryException)
                assertNotEquals(0, span, "timed " + timed + ": served by the retry, well within the timeout");
                assertEquals(1, pages.failedCommits.get());
                assertEquals(1, arena.stats().commitFailures());
                new UnsafeBuffer(span, (int) (2 * PAGE)).putLong((int) PAGE, 3); // faults unless committed
                assertEquals(0, arena.waiters());
                arena.free(span, 2 * PAGE);
                arena.checkInvariants();
            }
        }
    }

    /**
     * Every failed commit is logged where it failed, whoever's call it was, on the 1st, 2nd,
     * 4th... failure, with the OS's exception: before, a non-waiting call's failure was only
     * thrown, and each waiting layer logged its own with a count read from a stats snapshot.
     */
    @Test
    void failedCommitsAreLoggedWhereTheyFailOnThePowersOfTwo() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE); LogCapture log = new LogCapture(Arena.class)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            pages.failCommits = true;
            List<NativeMemoryException> thrown = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                thrown.add(assertThrows(NativeMemoryException.class, () -> arena.tryAlloc(PAGE)));
            }
            List<LogRecord> warnings = log.warnings();
            assertEquals(3, warnings.size(), () -> warnings.stream().map(LogRecord::getMessage).toList().toString());
            int[] logged = {1, 2, 4};
            for (int i = 0; i < logged.length; i++) {
                LogRecord w = warnings.get(i);
                assertTrue(w.getMessage().contains("(failure " + logged[i] + ";"), w.getMessage());
                assertTrue(w.getMessage().contains(PAGE + " bytes on " + arena), w.getMessage());
                assertSame(thrown.get(logged[i] - 1), w.getThrown(), "the record carries the exception the call threw");
            }
            assertEquals(5, arena.stats().commitFailures());
            pages.failCommits = false;
            arena.free(arena.tryAlloc(PAGE), PAGE);
            arena.checkInvariants();
        }
    }

    /** A waiting call's failed first commit is logged once, by the arena, not again by the layer above that waits it out. */
    @Test
    void aWaitingCallsFailedFirstCommitIsLoggedOnce() throws Exception {
        for (boolean viaPool : new boolean[] {false, true}) {
            try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE); LogCapture log = new LogCapture(Arena.class, Pool.class)) {
                FaultyPages pages = new FaultyPages(region);
                Arena arena = arena(pages);
                Pool pool = Pool.builder("logged-once", PAGE / 4).slabPages(1).build(arena);
                pages.commitsUntilFailure.set(0);
                long got = Background.start("waiter", () -> viaPool ? pool.get(Duration.ofSeconds(20)) : arena.alloc(PAGE, Duration.ofSeconds(20)))
                        .get(10, TimeUnit.SECONDS);
                assertNotEquals(0, got);
                List<LogRecord> warnings = log.warnings();
                assertEquals(1, warnings.size(), () -> "via pool " + viaPool + ": " + warnings.stream().map(LogRecord::getMessage).toList());
                assertTrue(warnings.get(0).getMessage().contains("(failure 1;"), warnings.get(0).getMessage());
                assertTrue(warnings.get(0).getThrown() instanceof NativeMemoryException);
                if (viaPool) {
                    pool.put(got);
                } else {
                    arena.free(got, PAGE);
                }
                pool.close();
                arena.checkInvariants();
            }
        }
    }

    /** The calls that do not wait still see the failure, and an event's poll reads it as not ready; nothing is taken. */
    @Test
    void theCallsThatDoNotWaitStillSeeTheFailedCommit() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = arena(pages);
            pages.failCommits = true;
            assertEquals(12, assertThrows(NativeMemoryException.class, () -> arena.tryAlloc(PAGE)).errno());
            assertThrows(NativeMemoryException.class, () -> arena.alloc(PAGE, Duration.ZERO));
            assertThrows(NativeMemoryException.class, () -> arena.alloc(PAGE, Duration.ofMillis(-1)));
            assertEquals(Optional.empty(), arena.allocEvent(PAGE).poll());
            assertEquals(0L, arena.alloc(PAGE, Duration.ofMillis(100)), "a timed alloc waits it out to its timeout");
            Pool pool = Pool.builder("no-wait", PAGE / 4).slabPages(1).build(arena);
            assertThrows(NativeMemoryException.class, pool::tryGet);
            assertThrows(NativeMemoryException.class, () -> pool.get(Duration.ZERO));
            assertEquals(Optional.empty(), pool.getEvent().poll());
            assertEquals(0L, pool.get(Duration.ofMillis(100)));
            assertEquals(0, arena.stats().allocated(), "no failure took anything");
            assertEquals(0, pool.stats().itemsInUse());
            pool.checkInvariants();
            arena.checkInvariants();
            pages.failCommits = false;
            long item = pool.tryGet();
            assertNotEquals(0, item);
            pool.put(item);
            pool.close();
            arena.checkInvariants();
        }
    }

    /**
     * Review 14a: Pool.get (with and without a timeout) over an arena whose next commit, the
     * get's first grow, fails once. Before the fix the get threw; now its grow waits in the
     * arena and the retry brings the slab.
     */
    @Test
    void aPoolGetWhoseFirstGrowCommitFailsWaitsAndIsServedByTheRetry() throws Exception {
        for (boolean timed : new boolean[] {true, false}) {
            try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
                FaultyPages pages = new FaultyPages(region);
                Arena arena = arena(pages);
                Pool pool = Pool.builder("grow-fails-" + timed, PAGE / 4).slabPages(1).build(arena);
                pages.commitsUntilFailure.set(0);
                CompletableFuture<Long> get = Background.start("getter",
                        () -> timed ? pool.get(Duration.ofSeconds(20)) : pool.get());
                long item = get.get(10, TimeUnit.SECONDS); // before the fix: ExecutionException(NativeMemoryException)
                assertNotEquals(0, item, "timed " + timed);
                assertEquals(1, pages.failedCommits.get());
                new UnsafeBuffer(item, 8).putLong(0, 9);
                assertEquals(1, pool.stats().itemsInUse());
                pool.put(item);
                pool.checkInvariants();
                pool.close();
                arena.checkInvariants();
            }
        }
    }
}

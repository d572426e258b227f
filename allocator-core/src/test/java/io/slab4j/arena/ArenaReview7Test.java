package io.slab4j.arena;

import io.slab4j.nativemem.VirtualRegion;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Round 7 review of an {@link Arena} whose {@link VirtualRegion} closes while frees, allocations
 * and waits race it: a free of an accepted span never throws (before, during or after the close),
 * an allocation throws only the closed region's {@code IllegalStateException}, a waiter is
 * released by the close, the close alone counts no commit or release failure (advice failures are not in ArenaStats), and
 * injected OS failures during the same race are still counted (at most once each).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ArenaReview7Test {
    private static final long PAGE = VirtualRegion.pageSize();

    /** Runs three racing threads over {@code arena} and closes {@code region} under them; returns the failures seen. */
    private static void race(VirtualRegion region, Arena arena, AtomicReference<Throwable> failure) throws InterruptedException {
        int threads = 3;
        CountDownLatch started = new CountDownLatch(threads);
        List<Thread> ts = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            int me = i;
            Thread t = new Thread(() -> {
                ThreadLocalRandom rnd = ThreadLocalRandom.current();
                ArrayDeque<long[]> held = new ArrayDeque<>();
                boolean open = true;
                started.countDown();
                try {
                    while (open) {
                        long size = PAGE * (1 + rnd.nextInt(me == 2 ? 64 : 8));
                        try {
                            long a = me == 1 ? arena.alloc(size, Duration.ofMillis(rnd.nextInt(3))) : arena.tryAlloc(size);
                            if (a != 0) {
                                held.add(new long[]{a, size});
                            }
                        } catch (IllegalStateException e) {
                            if (region.isOpen() || !String.valueOf(e.getMessage()).contains("closed")) {
                                throw new AssertionError("an allocation threw while the region was open, or not for the close", e);
                            }
                            open = false;
                        } catch (io.slab4j.nativemem.NativeMemoryException injected) {
                            // an injected commit failure of a non-waiting call: it sees the exception
                        }
                        while (held.size() > (open ? 6 : 0)) {
                            long[] s = rnd.nextBoolean() ? held.pollFirst() : held.pollLast();
                            arena.free(s[0], s[1]); // accepted spans: must never throw
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    for (long[] s : held) {
                        try {
                            arena.free(s[0], s[1]);
                        } catch (Throwable e) {
                            failure.compareAndSet(null, new AssertionError("the free of an accepted span threw after the close", e));
                        }
                    }
                }
            });
            ts.add(t);
            t.start();
        }
        started.await();
        Thread.sleep(5 + ThreadLocalRandom.current().nextInt(20));
        region.close();
        for (Thread t : ts) {
            t.join();
        }
    }

    @Test
    @Tag("stress")
    void theRegionsCloseRacingFreesAllocationsAndWaitsCountsNoFailure() throws Exception {
        for (int round = 0; round < 20; round++) {
            VirtualRegion region = VirtualRegion.reserve(16L << 20);
            Arena arena = Arena.builder(region).commitChunk(4 * PAGE).prefault(round % 2 == 0).maxCommitted(8L << 20).build();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            race(region, arena, failure);
            if (failure.get() != null) {
                throw new AssertionError("round " + round, failure.get());
            }
            ArenaStats s = arena.stats();
            assertEquals(0, s.commitFailures(), "round " + round + ": " + s);
            assertEquals(0, s.releaseFailures(), "round " + round + ": " + s);
            assertEquals(0, s.allocated(), "every span was freed: " + s);
            assertEquals(0, arena.waiters());
            arena.checkInvariants();
        }
    }

    @Test
    void theRegionsCloseReleasesUntimedAndTimedWaitersWithTheClosedErrorAndCountsNothing() throws Exception {
        VirtualRegion region = VirtualRegion.reserve(8 * PAGE);
        Arena arena = Arena.builder(region).commitChunk(2 * PAGE).build();
        long all = arena.tryAlloc(8 * PAGE);
        List<Thread> ws = new ArrayList<>();
        List<Object> outcomes = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 4; i++) {
            int n = i;
            Thread w = new Thread(() -> {
                try {
                    outcomes.add(n % 2 == 0 ? arena.alloc(PAGE * (1 + n)) : arena.alloc(PAGE * (1 + n), Duration.ofSeconds(30)));
                } catch (Throwable e) {
                    outcomes.add(e);
                }
            });
            ws.add(w);
            w.start();
        }
        io.slab4j.testing.Await.until("four waiters", () -> arena.waiters() == 4);
        region.close();
        for (Thread w : ws) {
            w.join(TimeUnit.SECONDS.toMillis(10));
            assertTrue(!w.isAlive(), "a waiter still waits after the region's close");
        }
        assertEquals(4, outcomes.size());
        for (Object o : outcomes) {
            assertTrue(o instanceof IllegalStateException && String.valueOf(((Throwable) o).getMessage()).contains("closed"), String.valueOf(o));
        }
        assertEquals(0, arena.waiters());
        arena.free(all, 8 * PAGE); // accepted after the close: moot, no throw
        ArenaStats s = arena.stats();
        assertEquals(0, s.commitFailures(), s.toString());
        assertEquals(0, s.releaseFailures(), s.toString());
        assertEquals(0, s.allocated(), s.toString());
        arena.checkInvariants();
    }

    @Test
    @Tag("stress")
    void injectedFailuresDuringTheCloseRaceAreStillCountedAtMostOnceEach() throws Exception {
        long injectedCommits = 0;
        long countedCommits = 0;
        long injectedReleases = 0;
        long countedReleases = 0;
        for (int round = 0; round < 20; round++) {
            VirtualRegion region = VirtualRegion.reserve(16L << 20);
            FaultyPages pages = new FaultyPages(region);
            pages.failPercent = 5;
            Arena arena = pages.arena().commitChunk(4 * PAGE).build();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            race(region, arena, failure);
            if (failure.get() != null) {
                throw new AssertionError("round " + round, failure.get());
            }
            ArenaStats s = arena.stats();
            assertTrue(s.commitFailures() <= pages.failedCommits.get(), "round " + round + ": " + s + " vs " + pages.failedCommits);
            assertTrue(s.releaseFailures() <= pages.failedReleases.get() + pages.failedDecommits.get(), "round " + round + ": " + s);
            injectedCommits += pages.failedCommits.get();
            countedCommits += s.commitFailures();
            injectedReleases += pages.failedReleases.get() + pages.failedDecommits.get();
            countedReleases += s.releaseFailures();
            assertEquals(0, s.allocated(), "every span was freed: " + s);
            arena.checkInvariants();
        }
        assertTrue(injectedCommits > 0 && injectedReleases > 0, "the runs injected failures");
        assertTrue(countedCommits > 0, "injected commit failures are counted: " + countedCommits + " of " + injectedCommits);
        assertTrue(countedReleases > 0, "injected release failures are counted: " + countedReleases + " of " + injectedReleases);
    }
}

package io.slab4j.arena;

import io.slab4j.event.Events;
import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import io.slab4j.testing.ProcMaps;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Review 21: adversarial probes of {@link Arena}'s public API: builder edges, sizes at and around
 * the quantum, the chunk and the whole arena, aligned spans, bad frees, commit failures through
 * the seam, the figures of {@link ArenaStats}, and concurrent churn with a conservation check.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class Review21ArenaTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final long Q = 4096;
    /** Plain ranges of this class start here (so its addresses are recognisable in messages). */
    private static final long BASE = 0x21_0000_0000L;

    private static Arena plain(long quanta, Fit fit) {
        return Arena.builder(BASE, quanta * Q).quantum(Q).fit(fit).build();
    }

    private static String withoutCounters(ArenaStats s) {
        return s.allocated() + "/" + s.spans() + "/" + s.freeSegments() + "/" + s.largestFree() + "/" + s.waiters()
                + "/" + s.allocations() + "/" + s.frees();
    }

    // free(): "size rounds up to the quantum as it did then": any size of the same quanta frees the span; a size
    // of other quanta is rejected and changes nothing.
    @Test
    void freeAcceptsEverySizeThatRoundsToTheSpansQuantaAndNoOther() {
        Arena a = plain(16, Fit.INSTANT);
        long s = a.tryAlloc(2 * Q - 100);
        assertNotEquals(0, s);
        ArenaStats before = a.stats();
        IllegalArgumentException shorter = assertThrows(IllegalArgumentException.class, () -> a.free(s, Q));
        assertTrue(shorter.getMessage().contains(Hex.of(s)), shorter.getMessage());
        assertThrows(IllegalArgumentException.class, () -> a.free(s, 2 * Q + 1));
        assertEquals(withoutCounters(before), withoutCounters(a.stats()));
        a.checkInvariants();
        a.free(s, Q + 1); // two quanta, as allocated
        assertEquals(0, a.stats().allocated());
        a.checkInvariants();
    }

    // Builder.maxCommitted: "rounded down to the quantum: at least one quantum, at most the size"; "a request
    // larger than the cap is rejected" — larger than the rounded cap.
    @Test
    void theCapRoundsDownToTheQuantumAndRequestsAreJudgedByTheRoundedCap() {
        Arena a = Arena.builder(BASE, 16 * Q).quantum(Q).maxCommitted(3 * Q + 1).build();
        assertEquals(3 * Q, a.maxCommitted());
        assertEquals(3 * Q, a.stats().maxCommitted());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.tryAlloc(3 * Q + 1));
        assertTrue(e.getMessage().contains(Long.toString(3 * Q + 1)), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> a.allocEvent(3 * Q + 1));
        long s = a.tryAlloc(3 * Q);
        assertNotEquals(0, s);
        assertEquals(0, a.tryAlloc(Q), "the cap is full");
        a.free(s, 3 * Q);
        a.checkInvariants();
    }

    // Builder.commitChunk: "a power of two, a multiple of the page size", nothing about the region: a chunk larger
    // than the whole region works (every span lies in the one short chunk), and the whole arena can be allocated,
    // written and freed, with accessible bytes agreeing with /proc/self/maps.
    @Test
    void aCommitChunkLargerThanTheRegionCommitsOnlyTheRegion() {
        try (VirtualRegion region = VirtualRegion.reserve(3 * PAGE)) {
            Arena a = Arena.builder(region).commitChunk(1L << 20).build();
            long s = a.tryAlloc(3 * PAGE);
            assertEquals(region.address(), s);
            new UnsafeBuffer(s, (int) (3 * PAGE)).putLong((int) (3 * PAGE - 8), 42);
            assertEquals(3 * PAGE, a.stats().committed());
            assertTrue(a.stats().accessible() >= a.stats().committed() && a.stats().accessible() <= region.size(),
                    a.stats().toString());
            assertEquals(a.stats().accessible(), ProcMaps.readWriteBytesWithin(region.address(), region.address() + region.size()));
            a.free(s, 3 * PAGE);
            assertEquals(0, a.stats().accessible());
            assertEquals(0, ProcMaps.readWriteBytesWithin(region.address(), region.address() + region.size()));
            a.checkInvariants();
        }
    }

    // quantum over a region: "a multiple of the page size"; sizes round up to it, and the committed figure counts
    // whole quanta: one byte takes a quantum of two pages, both writable (a region aligned to the quantum).
    @Test
    void aQuantumOfTwoPagesCommitsBothPagesForOneByte() {
        try (VirtualRegion region = VirtualRegion.reserve(16 * PAGE, 2 * PAGE)) {
            Arena a = Arena.builder(region).quantum(2 * PAGE).commitChunk(2 * PAGE).build();
            long s = a.tryAlloc(1);
            assertEquals(0, (s - region.address()) % (2 * PAGE));
            new UnsafeBuffer(s, (int) (2 * PAGE)).putLong((int) (2 * PAGE - 8), 7);
            assertEquals(2 * PAGE, a.stats().committed());
            assertEquals(2 * PAGE, a.stats().allocated());
            assertTrue(a.isAllocated(s, 1));
            assertTrue(a.isAllocated(s, 2 * PAGE));
            assertFalse(a.isAllocated(s, 2 * PAGE + 1));
            a.free(s, 2 * PAGE - 5);
            assertEquals(0, a.stats().committed());
            a.checkInvariants();
        }
    }

    // Review 21 found that a two-page quantum was refused over a region at an odd page (wherever mmap put it), a
    // rule no javadoc stated. Builder.quantum now states it: over a region the quantum must divide the region's
    // address and size, and VirtualRegion.reserve(bytes, quantum) aligns one. So: over an odd-page region the build
    // is refused with an IllegalArgumentException naming the base, the quantum and the remedy, the region stays
    // usable, and the remedy's region builds.
    @Test
    void aQuantumAboveThePageNeedsARegionAlignedToItAndSaysSo() {
        List<VirtualRegion> tried = new ArrayList<>();
        try {
            // mmap places reservations top-down next to each other: a one-page spacer between two tries flips the
            // parity of the next address, so an odd page turns up within a few tries
            VirtualRegion odd = null;
            for (int i = 0; i < 64 && odd == null; i++) {
                VirtualRegion r = VirtualRegion.reserve(16 * PAGE);
                tried.add(r);
                if (r.address() % (2 * PAGE) != 0) {
                    odd = r;
                } else {
                    tried.add(VirtualRegion.reserve(PAGE));
                }
            }
            assertTrue(odd != null, "found no region at an odd page in 64 tries: cannot probe");
            long q = 2 * PAGE;
            VirtualRegion region = odd;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Arena.builder(region).quantum(q).build());
            assertTrue(e.getMessage().contains(Hex.of(region.address())) && e.getMessage().contains(String.valueOf(q))
                    && e.getMessage().contains("VirtualRegion.reserve(bytes, " + q + ")"),
                    "the refusal names the base, the quantum and the remedy: " + e.getMessage());
            assertTrue(region.isOpen());
            Arena plain = Arena.builder(region).build(); // the page quantum still builds over it
            long p = plain.tryAlloc(1);
            assertNotEquals(0, p);
            plain.free(p, 1);
            plain.checkInvariants();
            VirtualRegion aligned = VirtualRegion.reserve(16 * PAGE, q);
            tried.add(aligned);
            Arena a = Arena.builder(aligned).quantum(q).build();
            long s = a.tryAlloc(1);
            assertNotEquals(0, s);
            assertEquals(0, s % q);
            a.free(s, 1);
            a.checkInvariants();
        } finally {
            for (VirtualRegion r : tried) {
                r.close();
            }
        }
    }

    // tryAlloc(size, align): the address is a multiple of align (not merely of the offset from base), within the
    // range, for a base that is not aligned to large alignments; an alignment that no address of the range can
    // meet for the size is rejected at once ("could never be met"), not answered with 0.
    @Test
    void alignedSpansAreAlignedAsAddressesOverAnUnalignedBase() {
        long base = BASE + 3 * Q; // aligned to 4 KiB only
        Arena a = Arena.builder(base, 256 * Q).quantum(Q).fit(Fit.BEST).build();
        List<long[]> live = new ArrayList<>();
        for (long align = Q; align <= 64 * Q; align <<= 1) {
            long s = a.tryAlloc(Q, align);
            assertNotEquals(0, s, "align " + align);
            assertEquals(0, s % align, "tryAlloc(" + Q + ", " + align + ") gave " + Hex.of(s));
            assertTrue(s >= base && s + Q <= base + 256 * Q);
            live.add(new long[] {s, Q});
        }
        assertThrows(IllegalArgumentException.class, () -> a.tryAlloc(250 * Q, 256 * Q),
                "no multiple of 1 MiB in the range has 250 pages after it");
        assertThrows(IllegalArgumentException.class, () -> a.allocEvent(Q, 3 * Q));
        assertThrows(IllegalArgumentException.class, () -> a.tryAlloc(Q, Q / 2));
        for (long[] s : live) {
            a.free(s[0], s[1]);
        }
        a.checkInvariants();
        assertEquals(1, a.stats().freeSegments());
    }

    // ArenaStats: failures are "allocation attempts that found no fit"; commitFailures "commits that failed (the
    // span went back; the caller saw the exception)". A refused commit is one commit failure, not a no-fit
    // failure, and takes nothing.
    @Test
    void aRefusedCommitIsACommitFailureNotANoFitFailureAndTakesNothing() {
        try (VirtualRegion region = VirtualRegion.reserve(32 * PAGE)) {
            FailingCommits seam = new FailingCommits();
            Arena a = seam.arenaOver(region).commitChunk(PAGE).build();
            long keep = a.tryAlloc(PAGE);
            ArenaStats before = a.stats();
            seam.failAll(true);
            NativeMemoryException e = assertThrows(NativeMemoryException.class, () -> a.tryAlloc(2 * PAGE));
            assertEquals("ENOMEM", e.errnoName());
            seam.failAll(false);
            ArenaStats after = a.stats();
            assertEquals(before.commitFailures() + 1, after.commitFailures(), after.toString());
            assertEquals(before.failures(), after.failures(), "a refused commit is not a no-fit failure: " + after);
            assertEquals(before.allocated(), after.allocated());
            assertEquals(before.committed(), after.committed());
            assertEquals(before.spans(), after.spans());
            assertEquals(before.allocations(), after.allocations(), "no allocation succeeded: " + after);
            a.checkInvariants();
            a.free(keep, PAGE);
        }
    }

    // DESIGN: "sync of a choose commits to exactly one branch ... A branch's registration on a source is removed
    // when it loses": a choice between an arena that has no room and an event that is ready takes nothing from the
    // arena, and a losing registration is withdrawn when another branch (a timeout) wins.
    @Test
    void aLosingAllocBranchTakesNothingAndLeavesNoRegistration() throws InterruptedException {
        Arena a = plain(4, Fit.INSTANT);
        long all = a.tryAlloc(4 * Q);
        long r = Events.choose(a.allocEvent(Q), Events.always(-1L)).sync();
        assertEquals(-1L, r);
        long t = Events.choose(a.allocEvent(Q), Events.timeout(Duration.ofMillis(20)).wrap(x -> -2L)).sync();
        assertEquals(-2L, t);
        assertEquals(0, a.waiters());
        assertEquals(4 * Q, a.stats().allocated());
        assertEquals(1, a.stats().spans());
        a.free(all, 4 * Q);
        assertEquals(0, a.stats().allocated(), "nothing was carved for a branch that lost");
        a.checkInvariants();
    }

    // Over a closed region "every call but free fails with IllegalStateException, waiters included": every entry
    // point that allocates — tryAlloc, aligned tryAlloc, alloc with zero, positive and no timeout, allocEvent's poll
    // and sync — throws it at once (a timed alloc does not sit out its timeout and return 0).
    @Test
    void everyAllocatingCallOverAClosedRegionThrowsIllegalStateAtOnce() throws InterruptedException {
        VirtualRegion region = VirtualRegion.reserve(16 * PAGE);
        Arena a = Arena.builder(region).build();
        region.close();
        List<String> outcomes = new ArrayList<>();
        Map<String, Callable> calls = new java.util.LinkedHashMap<>();
        calls.put("tryAlloc", () -> a.tryAlloc(PAGE));
        calls.put("tryAlloc aligned", () -> a.tryAlloc(PAGE, 4 * PAGE));
        calls.put("alloc(0)", () -> a.alloc(PAGE, Duration.ZERO));
        calls.put("alloc(5s)", () -> a.alloc(PAGE, Duration.ofSeconds(5)));
        calls.put("alloc()", () -> a.alloc(PAGE));
        calls.put("poll", () -> a.allocEvent(PAGE).poll().orElse(0L));
        calls.put("sync", () -> a.allocEvent(PAGE).sync());
        for (Map.Entry<String, Callable> c : calls.entrySet()) {
            long t0 = System.nanoTime();
            try {
                outcomes.add(c.getKey() + " returned " + c.getValue().call());
            } catch (IllegalStateException e) {
                outcomes.add(c.getKey() + (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(4) ? " closed" : " closed late"));
            }
        }
        assertEquals(List.of("tryAlloc closed", "tryAlloc aligned closed", "alloc(0) closed", "alloc(5s) closed",
                "alloc() closed", "poll closed", "sync closed"), outcomes);
        assertEquals(0, a.waiters());
        assertEquals(0, a.retryReleases(), "retryReleases over a closed region: 0");
    }

    /** A call that may throw InterruptedException, returning an address. */
    private interface Callable {
        long call() throws InterruptedException;
    }

    // Conservation under concurrency (DESIGN invariants 1 and 2): threads allocating (aligned and not; trying, or
    // waiting briefly on allocEvent against a timeout) and freeing random sizes never get overlapping spans; afterwards every byte is accounted for in the stats and the
    // invariants hold, for each fit.
    @Test
    void concurrentChurnNeverHandsOutOverlappingSpansAndAccountsEveryByte() throws Exception {
        for (Fit fit : Fit.values()) {
            int quanta = 512;
            Arena a = plain(quanta, fit);
            BitSet owned = new BitSet(quanta);
            int threads = 4;
            CyclicBarrier start = new CyclicBarrier(threads);
            AtomicReference<Throwable> bad = new AtomicReference<>();
            List<Map<Long, Long>> lives = new ArrayList<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Map<Long, Long> live = new HashMap<>();
                lives.add(live);
                long seed = 21L * 1000 + t + fit.ordinal() * 100;
                Thread th = new Thread(() -> {
                    Random rnd = new Random(seed);
                    try {
                        start.await();
                        for (int i = 0; i < 4000 && bad.get() == null; i++) {
                            if (live.size() < 12 && (live.isEmpty() || rnd.nextInt(3) > 0)) {
                                long size = 1 + rnd.nextInt(9 * (int) Q);
                                long align = Q << rnd.nextInt(4);
                                long s = rnd.nextBoolean() ? a.tryAlloc(size, align)
                                        : Events.choose(a.allocEvent(size, align),
                                                Events.timeout(Duration.ofMillis(2)).wrap(x -> 0L)).sync();
                                if (s == 0) {
                                    continue;
                                }
                                if (s % align != 0) {
                                    throw new AssertionError(fit + ": " + Hex.of(s) + " not aligned to " + align);
                                }
                                int from = (int) ((s - BASE) / Q);
                                int n = (int) ((size + Q - 1) / Q);
                                synchronized (owned) {
                                    int clash = owned.nextSetBit(from);
                                    if (clash >= 0 && clash < from + n) {
                                        throw new AssertionError(fit + ": span " + Hex.of(s) + " of " + n
                                                + " quanta overlaps a live span at quantum " + clash);
                                    }
                                    owned.set(from, from + n);
                                }
                                live.put(s, size);
                            } else {
                                Long s = live.keySet().iterator().next();
                                long size = live.remove(s);
                                int from = (int) ((s - BASE) / Q);
                                synchronized (owned) {
                                    owned.clear(from, from + (int) ((size + Q - 1) / Q));
                                }
                                a.free(s, size);
                            }
                        }
                    } catch (Throwable e) {
                        bad.compareAndSet(null, e);
                    }
                }, "r21-churn-" + t);
                th.setDaemon(true);
                th.start();
                ts.add(th);
            }
            for (Thread th : ts) {
                th.join(15_000);
            }
            if (bad.get() != null) {
                throw new AssertionError(fit.toString(), bad.get());
            }
            long bytes = 0;
            long spans = 0;
            for (Map<Long, Long> live : lives) {
                for (long size : live.values()) {
                    bytes += (size + Q - 1) / Q * Q;
                    spans++;
                }
            }
            ArenaStats s = a.stats();
            assertEquals(bytes, s.allocated(), fit + " " + s);
            assertEquals(spans, s.spans(), fit + " " + s);
            assertEquals(quanta * Q - bytes, s.free(), fit + " " + s);
            assertEquals(s.allocations() - s.frees(), s.spans(), fit + " " + s);
            assertEquals(0, s.waiters(), fit + ": no registration outlives its sync: " + s);
            a.checkInvariants();
            for (Map<Long, Long> live : lives) {
                live.forEach(a::free);
            }
            assertEquals(1, a.stats().freeSegments(), fit.toString());
            a.checkInvariants();
        }
    }

    // Over a region with commit failures injected now and then (the seam's failAfter): every tryAlloc either
    // returns a committed span, writable and zero on first use, or throws NativeMemoryException having taken
    // nothing; the spans' contents never overlap (each holds its owner's stamp until freed), and the figures
    // and invariants agree afterwards.
    @Test
    void churnOverARegionWithInjectedCommitFailuresKeepsContentsApartAndTheBooksRight() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(256 * PAGE)) {
            FailingCommits seam = new FailingCommits();
            Arena a = seam.arenaOver(region).commitChunk(4 * PAGE).build();
            int threads = 3;
            CyclicBarrier start = new CyclicBarrier(threads + 1);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> bad = new AtomicReference<>();
            AtomicLong refused = new AtomicLong();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long stamp = 0x2100_0000_0000L + t;
                long seed = 2121 + t;
                Thread th = new Thread(() -> {
                    Random rnd = new Random(seed);
                    Map<Long, Long> live = new HashMap<>();
                    try {
                        start.await();
                        for (int i = 0; i < 3000 && bad.get() == null; i++) {
                            if (live.size() < 8 && rnd.nextBoolean()) {
                                long size = (1 + rnd.nextInt(6)) * PAGE;
                                long s;
                                try {
                                    s = a.tryAlloc(size);
                                } catch (NativeMemoryException e) {
                                    refused.incrementAndGet();
                                    continue;
                                }
                                if (s == 0) {
                                    continue;
                                }
                                UnsafeBuffer b = new UnsafeBuffer(s, (int) size);
                                if (b.getLong(0) != 0 || b.getLong((int) size - 8) != 0) {
                                    throw new AssertionError("a fresh span " + Hex.of(s) + " holds old bytes");
                                }
                                b.putLong(0, stamp);
                                b.putLong((int) size - 8, stamp);
                                live.put(s, size);
                            } else if (!live.isEmpty()) {
                                Long s = live.keySet().iterator().next();
                                long size = live.remove(s);
                                UnsafeBuffer b = new UnsafeBuffer(s, (int) size);
                                if (b.getLong(0) != stamp || b.getLong((int) size - 8) != stamp) {
                                    throw new AssertionError("span " + Hex.of(s) + " was written by someone else: "
                                            + Long.toHexString(b.getLong(0)));
                                }
                                a.free(s, size);
                            }
                        }
                        live.forEach(a::free);
                    } catch (Throwable e) {
                        bad.compareAndSet(null, e);
                    }
                }, "r21-region-churn-" + t);
                th.setDaemon(true);
                th.start();
                ts.add(th);
            }
            start.await();
            Random rnd = new Random(21);
            while (ts.stream().anyMatch(Thread::isAlive)) {
                seam.failAfter(rnd.nextInt(20));
                Thread.onSpinWait();
                for (Thread th : ts) {
                    th.join(1);
                }
            }
            stop.set(true);
            seam.failAfter(-1);
            if (bad.get() != null) {
                throw new AssertionError(bad.get());
            }
            ArenaStats s = a.stats();
            assertEquals(0, s.allocated(), s.toString());
            assertEquals(0, s.committed(), s.toString());
            assertEquals(refused.get(), s.commitFailures(), "each refusal a caller saw is counted once: " + s);
            assertEquals(0, s.accessible(), s.toString());
            assertEquals(0, ProcMaps.readWriteBytesWithin(region.address(), region.address() + region.size()));
            a.checkInvariants();
        }
    }

    // Timed waits racing frees (DESIGN invariant 3, "a timeout returns its documented sentinel"): waiters with short
    // timeouts get a span or 0, never an exception; no waiter stays registered; every span they got is accounted.
    @Test
    void timedWaitersRacingFreesGetASpanOrZeroAndLeaveNothingBehind() throws Exception {
        Arena a = plain(8, Fit.INSTANT);
        int waiters = 5;
        CyclicBarrier start = new CyclicBarrier(waiters + 1);
        AtomicReference<Throwable> bad = new AtomicReference<>();
        AtomicLong served = new AtomicLong();
        AtomicLong timedOut = new AtomicLong();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < waiters; t++) {
            int k = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < 40; i++) {
                        long size = (1 + (i + k) % 3) * Q;
                        long s = a.alloc(size, Duration.ofMillis(1 + (i * 7 + k) % 5));
                        if (s == 0) {
                            timedOut.incrementAndGet();
                        } else {
                            served.incrementAndGet();
                            if (!a.isAllocated(s, size)) {
                                throw new AssertionError("a served span " + Hex.of(s) + " is not allocated");
                            }
                            Thread.onSpinWait();
                            a.free(s, size);
                        }
                    }
                } catch (Throwable e) {
                    bad.compareAndSet(null, e);
                }
            }, "r21-timed-" + t);
            th.setDaemon(true);
            th.start();
            ts.add(th);
        }
        // the main thread keeps the arena nearly full and frees in bursts
        start.await();
        Random rnd = new Random(2021);
        while (ts.stream().anyMatch(Thread::isAlive)) {
            long size = (1 + rnd.nextInt(6)) * Q;
            long s = a.tryAlloc(size);
            if (s != 0) {
                Thread.yield();
                a.free(s, size);
            }
            for (Thread th : ts) {
                th.join(1);
            }
        }
        if (bad.get() != null) {
            throw new AssertionError(bad.get());
        }
        assertEquals(waiters * 40, served.get() + timedOut.get());
        assertEquals(0, a.waiters());
        assertEquals(0, a.stats().allocated(), a.stats().toString());
        a.checkInvariants();
    }

    // DESIGN wait protocol, step 4: an interrupt cancels the wait unless a source claimed it first; then "wait for
    // DONE and return the value (re-assert the interrupt flag) — a claimed item is never dropped". A free racing an
    // interrupt: the waiter either gets the span with its interrupt flag set, or InterruptedException with nothing
    // taken; never a lost span, never a stale registration.
    @Test
    void anInterruptRacingAFreeEitherTakesNothingOrKeepsTheSpanAndTheFlag() throws Exception {
        Arena a = plain(4, Fit.INSTANT);
        int got = 0;
        int interrupted = 0;
        for (int round = 0; round < 150; round++) {
            long all = a.tryAlloc(4 * Q);
            AtomicLong result = new AtomicLong(-1);
            AtomicReference<Object> flagAfter = new AtomicReference<>();
            CountDownLatch interruptSent = new CountDownLatch(1);
            Thread w = new Thread(() -> {
                try {
                    result.set(a.alloc(2 * Q));
                } catch (InterruptedException e) {
                    result.set(0);
                } catch (Throwable e) {
                    flagAfter.set(e);
                    return;
                }
                try {
                    interruptSent.await();
                } catch (InterruptedException e) {
                    flagAfter.set(Boolean.TRUE);
                    return;
                }
                flagAfter.set(Thread.interrupted());
            }, "r21-interrupt-" + round);
            w.setDaemon(true);
            w.start();
            Await.until("the waiter registered", () -> a.waiters() == 1);
            CyclicBarrier both = new CyclicBarrier(2);
            Thread freer = new Thread(() -> {
                try {
                    both.await();
                } catch (Exception e) {
                    return;
                }
                a.free(all, 4 * Q);
            });
            freer.setDaemon(true);
            freer.start();
            both.await();
            if (round % 2 == 0) {
                Thread.onSpinWait();
            }
            w.interrupt();
            interruptSent.countDown();
            freer.join(10_000);
            w.join(10_000);
            assertFalse(w.isAlive(), "round " + round + ": the waiter never returned");
            if (flagAfter.get() instanceof Throwable t) {
                throw new AssertionError("round " + round, t);
            }
            long s = result.get();
            assertEquals(0, a.waiters(), "round " + round);
            if (s != 0) {
                got++;
                assertEquals(Boolean.TRUE, flagAfter.get(), "round " + round + ": served despite the interrupt, so the flag must stay set");
                assertEquals(2 * Q, a.stats().allocated(), "round " + round);
                a.free(s, 2 * Q);
            } else {
                interrupted++;
                assertEquals(0, a.stats().allocated(), "round " + round + ": the interrupted waiter took nothing");
            }
            a.checkInvariants();
        }
        assertEquals(150, got + interrupted);
    }

    // maxCommitted: "Allocations beyond it wait, or fail for tryAlloc": under concurrent churn and waits, the
    // allocated bytes never exceed the cap at any snapshot, and waits at the cap are served by frees.
    @Test
    void theCapHoldsAtEverySnapshotUnderConcurrentChurnAndWaits() throws Exception {
        Arena a = Arena.builder(BASE, 64 * Q).quantum(Q).fit(Fit.BEST).maxCommitted(10 * Q).build();
        int threads = 4;
        CyclicBarrier start = new CyclicBarrier(threads + 1);
        AtomicReference<Throwable> bad = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long seed = 2100 + t;
            Thread th = new Thread(() -> {
                Random rnd = new Random(seed);
                try {
                    start.await();
                    for (int i = 0; i < 600; i++) {
                        long size = (1 + rnd.nextInt(4)) * Q;
                        long s = rnd.nextBoolean() ? a.tryAlloc(size) : a.alloc(size, Duration.ofMillis(50));
                        if (s != 0) {
                            a.free(s, size);
                        }
                    }
                } catch (Throwable e) {
                    bad.compareAndSet(null, e);
                }
            }, "r21-cap-" + t);
            th.setDaemon(true);
            th.start();
            ts.add(th);
        }
        start.await();
        long worst = 0;
        while (ts.stream().anyMatch(Thread::isAlive)) {
            ArenaStats s = a.stats();
            worst = Math.max(worst, s.allocated());
            if (s.allocated() > 10 * Q) {
                bad.compareAndSet(null, new AssertionError("allocated " + s.allocated() + " beyond the cap: " + s));
            }
            for (Thread th : ts) {
                th.join(1);
            }
        }
        if (bad.get() != null) {
            throw new AssertionError(bad.get());
        }
        assertTrue(worst <= 10 * Q);
        assertEquals(0, a.waiters());
        assertEquals(0, a.stats().allocated());
        a.checkInvariants();
    }

    // retryReleases: "returns the bytes it made inaccessible now (accessible falls by as much)"; the refusals are
    // counted once each in releaseFailures, and a retry that succeeds counts nothing more. Here with refused
    // decommits of whole free chunks larger than a page.
    @Test
    void retryReleasesReturnsExactlyWhatAccessibleLoses() {
        try (VirtualRegion region = VirtualRegion.reserve(64 * PAGE)) {
            FailingCommits seam = new FailingCommits();
            Arena a = seam.arenaOver(region).commitChunk(4 * PAGE).build();
            long[] spans = new long[8];
            for (int i = 0; i < spans.length; i++) {
                spans[i] = a.tryAlloc(8 * PAGE); // two chunks each
            }
            seam.failDecommits(true);
            for (int i = 0; i < spans.length; i += 2) {
                a.free(spans[i], 8 * PAGE);
            }
            ArenaStats refused = a.stats();
            assertEquals(4, refused.releaseFailures(), refused.toString());
            assertEquals(64 * PAGE, refused.accessible(), refused.toString());
            seam.failDecommits(false);
            long before = a.stats().accessible();
            long back = a.retryReleases();
            ArenaStats after = a.stats();
            assertEquals(32 * PAGE, back, after.toString());
            assertEquals(before - back, after.accessible(), after.toString());
            assertEquals(4, after.releaseFailures(), "a retry that succeeds counts nothing: " + after);
            assertEquals(after.accessible(), ProcMaps.readWriteBytesWithin(region.address(), region.address() + region.size()));
            for (int i = 1; i < spans.length; i += 2) {
                a.free(spans[i], 8 * PAGE);
            }
            assertEquals(0, a.stats().accessible());
            a.checkInvariants();
        }
    }

    // allocEvent(size, align): "at an address that is a multiple of align"; a waiter is served by the free that
    // makes an aligned run of its size, not by one that frees enough unaligned space.
    @Test
    void anAlignedWaiterIsServedOnlyByAnAlignedRunAndGetsAnAlignedSpan() throws Exception {
        Arena a = plain(16, Fit.INSTANT);
        long[] singles = new long[16];
        for (int i = 0; i < 16; i++) {
            singles[i] = a.tryAlloc(Q);
        }
        long align = 4 * Q;
        java.util.concurrent.CompletableFuture<Long> got = Background.start("r21-aligned-waiter",
                () -> Events.choose(a.allocEvent(4 * Q, align), Events.timeout(Duration.ofSeconds(15)).wrap(x -> 0L)).sync());
        Await.until("the aligned waiter registered", () -> a.waiters() == 1);
        // quanta 2..5: four contiguous free quanta, but no run aligned to 4 quanta (BASE is aligned to it)
        for (int i = 2; i <= 5; i++) {
            a.free(singles[i], Q);
        }
        assertEquals(1, a.waiters(), "four unaligned free quanta do not serve it");
        assertFalse(got.isDone());
        a.free(singles[6], Q);
        a.free(singles[7], Q); // quanta 4..7 now free: an aligned run
        long s = got.get(10, TimeUnit.SECONDS);
        assertEquals(BASE + 4 * Q, s, "served at the one aligned run");
        assertEquals(0, s % align);
        assertEquals(0, a.waiters());
        a.free(s, 4 * Q);
        for (int i : new int[] {0, 1, 8, 9, 10, 11, 12, 13, 14, 15}) {
            a.free(singles[i], Q);
        }
        a.free(a.tryAlloc(2 * Q), 2 * Q);
        assertEquals(1, a.stats().freeSegments());
        a.checkInvariants();
    }

    // Waiting order: "FIFO, so a large request is not starved by a stream of small ones ... a stream of small
    // requests still cannot starve it": a waiter for the whole arena is served once everything else is freed,
    // although another thread keeps taking and freeing single quanta all the while.
    @Test
    void aWaiterForTheWholeArenaIsNotStarvedByAStreamOfSmallRequests() throws Exception {
        Arena a = plain(32, Fit.INSTANT);
        List<Long> singles = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            singles.add(a.tryAlloc(Q));
        }
        java.util.concurrent.CompletableFuture<Long> whole = Background.start("r21-whole-waiter",
                () -> a.alloc(32 * Q, Duration.ofSeconds(15)));
        Await.until("the whole-arena waiter registered", () -> a.waiters() == 1);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> bad = new AtomicReference<>();
        AtomicLong smallServed = new AtomicLong();
        Thread stream = new Thread(() -> {
            try {
                while (!stop.get()) {
                    long s = a.tryAlloc(Q);
                    if (s != 0) {
                        smallServed.incrementAndGet();
                        a.free(s, Q);
                    }
                }
            } catch (Throwable e) {
                bad.compareAndSet(null, e);
            }
        }, "r21-small-stream");
        stream.setDaemon(true);
        stream.start();
        java.util.Collections.shuffle(singles, new Random(21));
        for (long s : singles) {
            a.free(s, Q);
        }
        long got;
        try {
            got = whole.get(15, TimeUnit.SECONDS);
        } finally {
            stop.set(true);
            stream.join(5_000);
        }
        if (bad.get() != null) {
            throw new AssertionError(bad.get());
        }
        assertEquals(BASE, got, "the whole-arena waiter was starved (small tries served: " + smallServed.get() + ")");
        assertEquals(0, a.waiters());
        a.free(got, 32 * Q);
        a.checkInvariants();
    }

    // free(): "Over a closed region the span is freed all the same": spans freed after the region's close leave
    // books that still pass checkInvariants, with nothing allocated, committed or accessible, and a second free of
    // one of them is still a double free.
    @Test
    void spansFreedAfterTheRegionClosedLeaveConsistentBooks() {
        VirtualRegion region = VirtualRegion.reserve(64 * PAGE);
        Arena a = Arena.builder(region).commitChunk(4 * PAGE).build();
        long[] spans = new long[6];
        for (int i = 0; i < spans.length; i++) {
            spans[i] = a.tryAlloc((i + 1) * PAGE);
        }
        a.free(spans[0], PAGE);
        region.close();
        for (int i = 1; i < spans.length; i++) {
            a.free(spans[i], (i + 1) * PAGE);
        }
        assertThrows(IllegalArgumentException.class, () -> a.free(spans[3], 4 * PAGE));
        ArenaStats s = a.stats();
        assertEquals(0, s.allocated(), s.toString());
        assertEquals(0, s.spans(), s.toString());
        assertEquals(0, s.committed(), s.toString());
        assertEquals(1, s.freeSegments(), s.toString());
        assertEquals(0, s.releaseFailures(), "releases over a closed region are moot, not failed: " + s);
        a.checkInvariants();
    }

    // Event.sync: "an interrupted thread gets InterruptedException without the event being performed (checked on
    // entry)": alloc(size) (a sync) by an interrupted thread takes nothing even with room, clears the flag and leaves
    // no waiter; alloc(size, timeout) "tries once, then waits", so with room it returns the span and the flag stays,
    // and without room it throws having taken nothing.
    @Test
    void anInterruptedCallerTakesNothingFromASyncAndKeepsTheFlagWhenATryServesIt() throws Exception {
        Arena a = plain(4, Fit.INSTANT);
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> a.alloc(Q));
        assertFalse(Thread.currentThread().isInterrupted(), "the flag is cleared with the exception");
        assertEquals(0, a.stats().allocated());
        assertEquals(0, a.waiters());

        Thread.currentThread().interrupt();
        long s;
        try {
            s = a.alloc(Q, Duration.ofSeconds(5));
        } finally {
            assertTrue(Thread.interrupted(), "a try that finds room leaves the interrupt flag set");
        }
        assertNotEquals(0, s);
        long rest = a.tryAlloc(3 * Q);
        Thread.currentThread().interrupt();
        try {
            assertThrows(InterruptedException.class, () -> a.alloc(Q, Duration.ofSeconds(5)));
        } finally {
            Thread.interrupted();
        }
        assertEquals(0, a.waiters());
        assertEquals(4 * Q, a.stats().allocated());
        a.free(s, Q);
        a.free(rest, 3 * Q);
        a.checkInvariants();
    }
}

package io.slab4j.arena;

import io.slab4j.testing.Background;
import io.slab4j.nativemem.VirtualRegion;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round-4 adversarial review of Arena's public contract (builder, alloc/free, waits, region close, advice). */
class ArenaRound4ReviewTest {
    private static final long PAGE = VirtualRegion.pageSize();

    // ------------------------------------------------ defects (these tests fail until fixed)

    @Test
    void aWaiterBlockedWhenTheRegionClosesIsReleasedWithoutAFree() {
        // Arena class comment: "Over a closed region every call but free fails with IllegalStateException, waiters
        // included"; the contract: nothing hangs. A waiter already blocked in alloc() when its region closes, with
        // no free ever coming (the region is gone, so none can serve it), should leave with that ISE.
        // Observed: it stays registered (waiters() == 1) until its own timeout — forever for alloc(size).
        VirtualRegion r = VirtualRegion.reserve(4 * PAGE);
        Arena a = Arena.builder(r).build();
        assertNotEquals(0, a.tryAlloc(4 * PAGE));
        CompletableFuture<Long> w = CompletableFuture.supplyAsync(() -> {
            try {
                return a.alloc(PAGE, Duration.ofSeconds(20));
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        }, Background.THREADS);
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            while (a.waiters() == 0 && !w.isDone()) {
                Thread.sleep(1);
            }
        });
        r.close();
        ExecutionException e = assertThrows(ExecutionException.class, () -> w.get(5, TimeUnit.SECONDS),
                "the waiter was not released by the region's close (waiters=" + a.waiters() + ")");
        assertInstanceOf(IllegalStateException.class, e.getCause());
    }

    // ------------------------------------------- passes worth keeping (attacks that held)

    @Test
    void aPlainRangeAtAddressZeroNeverHandsOutTheFailureSentinel() {
        // tryAlloc: "returns the address, or 0 when nothing may be carved now". A range starting at 0 must either be
        // rejected at build or never hand out address 0 (a caller could not tell the span from a failure, and would
        // leak it).
        Arena a;
        try {
            a = Arena.builder(0, 1 << 20).build();
        } catch (IllegalArgumentException rejected) {
            return;
        }
        long s = a.tryAlloc(4096);
        assertTrue(s != 0 || a.stats().allocated() == 0, "tryAlloc returned 0 yet carved " + a.stats().allocated() + " bytes");
    }

    @Test
    void aPlainRangeThatWrapsAroundTheAddressSpaceIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> Arena.builder(Long.MAX_VALUE - 4095, 1 << 20).build());
        assertThrows(IllegalArgumentException.class, () -> Arena.builder(-(1L << 20), 2L << 20).build());
        assertThrows(IllegalArgumentException.class, () -> Arena.builder(0x100000L, 0).build());
        assertThrows(IllegalArgumentException.class, () -> Arena.builder(0x100000L, -4096).build());
        assertThrows(IllegalArgumentException.class, () -> Arena.builder(0x100001L, 1 << 20).build());
    }

    @Test
    void plainRangeQueriesAreAsDocumented() {
        // pageSize(): "over a plain range ... 4096 or the quantum if larger"; commitChunk(): 0 over a plain range;
        // maxCommitted(): the arena's size when none was set.
        Arena small = Arena.builder(0x100000L, 1 << 20).quantum(16).build();
        assertEquals(4096, small.pageSize());
        assertEquals(0, small.commitChunk());
        assertEquals(1 << 20, small.maxCommitted());
        long s = small.tryAlloc(1);
        assertNotEquals(0, s);
        assertEquals(16, small.stats().allocated());
        small.free(s, 1);
        Arena big = Arena.builder(0x100000L, 1 << 20).quantum(65536).build();
        assertEquals(65536, big.pageSize());
        small.checkInvariants();
    }

    @Test
    void anAlignmentBeyondTheRangeIsAcceptedWhenTheBaseIsAligned() {
        // tryAlloc(size, align): IAE only when "align not a power of two, below the quantum, or such that no aligned
        // address of the range has room for the size". A base that is itself a multiple of align has room.
        Arena plain = Arena.builder(1L << 40, 1 << 20).build();
        long s = plain.tryAlloc(4096, 1L << 40);
        assertEquals(1L << 40, s);
        plain.free(s, 4096);
        plain.checkInvariants();
        try (VirtualRegion r = VirtualRegion.reserve(8L << 20, 1L << 30)) {
            Arena a = Arena.builder(r).build();
            long t = a.tryAlloc(PAGE, 1L << 30);
            assertEquals(r.address(), t);
            a.free(t, PAGE);
            a.checkInvariants();
        }
    }

    @Test
    void regionCloseRacingAllocAndFreeWithAdviceOnlyFailsAllocations() {
        // Class comment: over a closed region every call but free fails with IllegalStateException; free never throws
        // once it accepted the span; hugePages/prefault advice never fails an allocation or a free.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            long frame = VirtualRegion.hugePageSize() == 0 ? 2L << 20 : VirtualRegion.hugePageSize();
            for (int round = 0; round < 10; round++) {
                VirtualRegion r = VirtualRegion.reserve(16 * frame, frame);
                Arena a = Arena.builder(r).hugePages(true).prefault(true).build();
                java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
                java.util.concurrent.atomic.AtomicReference<Throwable> bad = new java.util.concurrent.atomic.AtomicReference<>();
                java.util.List<Thread> ts = new java.util.ArrayList<>();
                for (int k = 0; k < 3; k++) {
                    int kk = k;
                    Thread t = new Thread(() -> {
                        java.util.ArrayDeque<long[]> mine = new java.util.ArrayDeque<>();
                        try {
                            go.await();
                            for (int i = 0; i < 400; i++) {
                                long size = (i + kk) % 3 == 0 ? frame : PAGE * (1 + i % 5);
                                long at;
                                try {
                                    at = size == frame ? a.tryAlloc(size, frame) : a.alloc(size, Duration.ofMillis(1));
                                } catch (IllegalStateException closed) {
                                    break;
                                }
                                if (at != 0) {
                                    mine.add(new long[] {at, size});
                                }
                                if (mine.size() > 3 || (at == 0 && !mine.isEmpty())) {
                                    long[] f = mine.poll();
                                    a.free(f[0], f[1]);
                                }
                            }
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                        } finally {
                            try {
                                for (long[] f : mine) {
                                    a.free(f[0], f[1]);
                                }
                            } catch (Throwable e) {
                                bad.compareAndSet(null, e);
                            }
                        }
                    });
                    t.start();
                    ts.add(t);
                }
                go.countDown();
                Thread.sleep(round % 4);
                r.close();
                for (Thread t : ts) {
                    t.join();
                }
                if (bad.get() != null) {
                    throw new AssertionError("round " + round, bad.get());
                }
                assertEquals(0, a.stats().allocated());
                assertEquals(0, a.waiters());
                a.checkInvariants();
            }
        });
    }

    @Test
    void hugeTimeoutWaitsForAFreeInsteadOfOverflowing() {
        // Arena.alloc(size, timeout): "waits up to timeout for a span"; a timeout too long for a long of nanos
        // is simply "forever". Expected: served by the free. Checked: no ArithmeticException.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            Arena a = Arena.builder(0x100000L, 4 * 4096).build();
            long s = a.tryAlloc(4 * 4096);
            assertNotEquals(0, s);
            CompletableFuture<Long> w = CompletableFuture.supplyAsync(() -> {
                try {
                    return a.alloc(4096, Duration.ofSeconds(Long.MAX_VALUE));
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }, Background.THREADS);
            while (a.waiters() == 0 && !w.isDone()) {
                Thread.sleep(1);
            }
            a.free(s, 4 * 4096);
            assertNotEquals(0L, w.get(5, TimeUnit.SECONDS));
            a.checkInvariants();
        });
    }

    @Test
    void oneNanosecondTimeoutReturnsZeroAndLeavesNoWaiter() throws InterruptedException {
        Arena a = Arena.builder(0x100000L, 4096).build();
        long s = a.tryAlloc(4096);
        assertEquals(0, a.alloc(4096, Duration.ofNanos(1)));
        assertEquals(0, a.alloc(4096, Duration.ofNanos(-1)));
        assertEquals(0, a.alloc(4096, Duration.ofSeconds(Long.MIN_VALUE)));
        assertEquals(0, a.waiters());
        a.free(s, 4096);
        a.checkInvariants();
    }

    @Test
    void freeOfALiveSpanAfterItsRegionClosedDoesNotThrow() {
        // Arena class comment: "Over a closed region every call but free fails with IllegalStateException";
        // free javadoc: "Once the span is accepted this returns normally".
        VirtualRegion r = VirtualRegion.reserve(16 * PAGE);
        Arena a = Arena.builder(r).build();
        long s = a.tryAlloc(2 * PAGE);
        r.close();
        a.free(s, 2 * PAGE);
        assertThrows(IllegalStateException.class, () -> a.tryAlloc(PAGE));
        a.checkInvariants();
    }

    @Test
    void freeOfAHugePageSpanAfterItsRegionClosedDoesNotThrow() {
        // hugePages javadoc: "advice that fails never fails an allocation or a free"; a free over a closed
        // region must still return normally (class comment: every call *but free* fails).
        long huge = VirtualRegion.hugePageSize();
        long frame = huge == 0 ? 2L << 20 : huge;
        VirtualRegion r = VirtualRegion.reserve(4 * frame, frame);
        Arena a = Arena.builder(r).hugePages(true).prefault(true).build();
        long s = a.tryAlloc(frame, frame);
        assertNotEquals(0, s);
        r.close();
        a.free(s, frame);
        a.checkInvariants();
    }

    @Test
    void aWaiterIsReleasedWithIllegalStateWhenTheRegionClosesAndSpaceIsFreed() {
        // Class comment: "Over a closed region every call but free fails with IllegalStateException, waiters
        // included." A waiter served after close must get the ISE, not wait on; the free itself returns normally.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            VirtualRegion r = VirtualRegion.reserve(4 * PAGE);
            Arena a = Arena.builder(r).build();
            long s = a.tryAlloc(4 * PAGE);
            CompletableFuture<Long> w = CompletableFuture.supplyAsync(() -> {
                try {
                    return a.alloc(PAGE, Duration.ofSeconds(30));
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }, Background.THREADS);
            while (a.waiters() == 0 && !w.isDone()) {
                Thread.sleep(1);
            }
            r.close();
            a.free(s, 4 * PAGE);
            ExecutionException e = assertThrows(ExecutionException.class, () -> w.get(5, TimeUnit.SECONDS));
            assertInstanceOf(IllegalStateException.class, e.getCause());
            assertEquals(0, a.waiters());
        });
    }

    @Test
    void builderRejectsBadQuantaAndCapsNamingThem() {
        // quantum: "a power of two; over a region, a multiple of the page size"; maxCommitted: "at least one
        // quantum, at most the size"; build: "bad values name themselves".
        try (VirtualRegion r = VirtualRegion.reserve(16 * PAGE)) {
            assertNames(() -> Arena.builder(r).quantum(0).build(), "0");
            assertNames(() -> Arena.builder(r).quantum(-PAGE).build(), Long.toString(-PAGE));
            assertNames(() -> Arena.builder(r).quantum(3 * PAGE).build(), Long.toString(3 * PAGE));
            assertNames(() -> Arena.builder(r).quantum(PAGE / 2).build(), Long.toString(PAGE / 2));
            assertNames(() -> Arena.builder(r).quantum(Long.MIN_VALUE).build(), Long.toString(Long.MIN_VALUE));
            assertNames(() -> Arena.builder(r).maxCommitted(16 * PAGE + 1).build(), Long.toString(16 * PAGE + 1));
            assertNames(() -> Arena.builder(r).maxCommitted(PAGE - 1).build(), Long.toString(PAGE - 1));
            assertNames(() -> Arena.builder(r).commitChunk(PAGE / 2).build(), Long.toString(PAGE / 2));
            assertNames(() -> Arena.builder(r).commitChunk(Long.MIN_VALUE).build(), Long.toString(Long.MIN_VALUE));
        }
    }

    private static void assertNames(org.junit.jupiter.api.function.Executable call, String value) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage() != null && e.getMessage().contains(value), "message should name " + value + ": " + e.getMessage());
    }

    @Test
    void extremeSizesAndAlignmentsAreRejectedAndChangeNothing() {
        Arena a = Arena.builder(0x100000L, 1 << 20).build();
        long s = a.tryAlloc(4096);
        for (long bad : new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, (1 << 20) + 1}) {
            assertThrows(IllegalArgumentException.class, () -> a.tryAlloc(bad), "size " + bad);
            assertThrows(IllegalArgumentException.class, () -> a.allocEvent(bad), "event size " + bad);
            assertThrows(IllegalArgumentException.class, () -> a.free(s, bad), "free size " + bad);
        }
        for (long badAlign : new long[] {0, -4096, Long.MIN_VALUE, 3 * 4096, 2048, 1L << 62}) {
            assertThrows(IllegalArgumentException.class, () -> a.tryAlloc(4096, badAlign), "align " + badAlign);
        }
        for (long badAddr : new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, s + 1, s + 4096}) {
            assertThrows(IllegalArgumentException.class, () -> a.free(badAddr, 4096), "address " + badAddr);
        }
        a.checkInvariants();
        a.free(s, 4096);
        assertThrows(IllegalArgumentException.class, () -> a.free(s, 4096));
        a.checkInvariants();
        assertEquals(0, a.stats().allocated());
    }

    @Test
    void failingCommitUnderAWaiterKeepsItWaitingUntilItsTimeoutThenZero() {
        // Class comment "Failed commits": the waiter keeps waiting (until its own timeout); nothing taken.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try (VirtualRegion r = VirtualRegion.reserve(16 * PAGE)) {
                FaultyPages pages = new FaultyPages(r);
                Arena a = pages.arena().commitChunk(PAGE).build();
                long s = a.tryAlloc(16 * PAGE);
                CompletableFuture<Long> w = CompletableFuture.supplyAsync(() -> {
                    try {
                        return a.alloc(PAGE, Duration.ofMillis(300));
                    } catch (InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                }, Background.THREADS);
                while (a.waiters() == 0 && !w.isDone()) {
                    Thread.sleep(1);
                }
                pages.failCommits = true;
                a.free(s, 16 * PAGE);
                assertEquals(0L, w.get(5, TimeUnit.SECONDS));
                assertEquals(0, a.waiters());
                assertEquals(0, a.stats().allocated());
                a.checkInvariants();
                pages.failCommits = false;
                long t = a.tryAlloc(PAGE);
                assertNotEquals(0, t);
                a.free(t, PAGE);
                a.checkInvariants();
            }
        });
    }
}

package io.slab4j.nativemem;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Review 21: adversarial probes of {@link VirtualRegion}'s public contract that earlier reviews
 * did not make: the reserve bound's edge, aligned reserves the kernel cannot place, a real
 * {@code mprotect} refusal at {@code vm.max_map_count}, close actions that call back into the
 * region, and concurrent aligned reserves checked against {@code /proc/self/maps}.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class Review21RegionTest {
    private static final long PAGE = VirtualRegion.pageSize();

    /** The bound named by reserve's message ("bytes must be at most N"), read from a rejection. */
    private static long reserveBound() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VirtualRegion.reserve(Long.MAX_VALUE));
        String m = e.getMessage();
        int at = m.indexOf("at most ");
        assertTrue(at > 0, m);
        String digits = m.substring(at + "at most ".length()).replaceAll("^(-?\\d+).*$", "$1");
        return Long.parseLong(digits);
    }

    // reserve(bytes): IAE only "if bytes <= 0 or cannot be rounded up to a page"; the bound its message names
    // is accepted as an argument (the OS then refuses it with NativeMemoryException ENOMEM), one more is not.
    @Test
    void theReserveBoundItsMessageNamesIsTheExactEdgeOfTheArgumentCheck() {
        long bound = reserveBound();
        assertEquals(0, bound % PAGE, "the bound " + bound + " is a whole number of pages");
        NativeMemoryException e = assertThrows(NativeMemoryException.class, () -> VirtualRegion.reserve(bound).close(),
                "reserve(" + bound + ") is within the documented bound: the OS, not the argument check, refuses it");
        assertEquals("mmap", e.call());
        assertEquals("ENOMEM", e.errnoName(), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VirtualRegion.reserve(bound + 1));
    }

    // reserve(bytes, alignment): "NativeMemoryException if mmap or munmap fails (nothing stays reserved)".
    // 2^46 bytes at 2^46 alignment needs 2^47 of address space, which no x86-64/aarch64 user space has.
    @Test
    void anAlignedReserveTheAddressSpaceCannotHoldFailsWithEnomemAndMapsNothing() {
        long before = ProcSelf.mappedBytes();
        NativeMemoryException e = assertThrows(NativeMemoryException.class,
                () -> VirtualRegion.reserve(1L << 46, 1L << 46).close());
        assertEquals("mmap", e.call(), e.getMessage());
        assertEquals(12, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("ENOMEM"), e.getMessage());
        long after = ProcSelf.mappedBytes();
        assertTrue(after - before < (1L << 30), "an aligned reserve that failed left " + (after - before)
                + " bytes more mapped");
    }

    // (Review 21's probe of a real mprotect refusal at vm.max_map_count, run in the test JVM, was removed: at the limit
    // the JVM itself could not map memory and died, failing a CI run. Review18Test's MapCountMain reaches the limit
    // in a child JVM instead.)

    // onClose: actions run "on the thread that calls close()"; close is "Idempotent: later calls do nothing".
    // An action that closes the region again (a layer that closes what it owns) must not deadlock or re-run.
    @Test
    void aCloseActionThatClosesTheRegionAgainReturnsAndRunsOnce() throws Exception {
        VirtualRegion r = VirtualRegion.reserve(4 * PAGE);
        AtomicInteger runs = new AtomicInteger();
        r.onClose(() -> {
            runs.incrementAndGet();
            r.close();
        });
        Thread t = new Thread(r::close, "r21-close");
        t.setDaemon(true);
        t.start();
        t.join(10_000);
        assertFalse(t.isAlive(), "close() whose action closes the region again never returned");
        assertEquals(1, runs.get());
        assertFalse(r.isOpen());
        assertTrue(ProcSelf.mappingsWithin(r.address(), r.address() + r.size()).isEmpty(), "still mapped");
    }

    // onClose: "at once, on the calling thread, when the region is closed already" — also when the registration
    // comes from inside another close action (the region is closed by then); each action runs exactly once.
    @Test
    void anActionRegisteredFromACloseActionRunsOnceAndAtOnce() {
        VirtualRegion r = VirtualRegion.reserve(PAGE);
        List<String> ran = Collections.synchronizedList(new ArrayList<>());
        r.onClose(() -> {
            ran.add("outer");
            r.onClose(() -> ran.add("inner"));
            ran.add("outer done");
        });
        r.close();
        r.close();
        assertEquals(List.of("outer", "inner", "outer done"), ran);
    }

    // onClose: actions run "after commits and decommits have been shut out": a range call from an action throws
    // IllegalStateException (naming the closed region), it does not block on the close's lock or reach the OS.
    @Test
    void rangeCallsFromACloseActionAreRefusedAsClosed() {
        VirtualRegion r = VirtualRegion.reserve(4 * PAGE);
        r.commit(0, PAGE);
        AtomicReference<List<String>> seen = new AtomicReference<>(new ArrayList<>());
        r.onClose(() -> {
            for (String name : List.of("commit", "decommit", "release", "prefault", "adviseHugePages")) {
                try {
                    switch (name) {
                        case "commit" -> r.commit(0, PAGE);
                        case "decommit" -> r.decommit(0, PAGE);
                        case "release" -> r.release(0, PAGE);
                        case "prefault" -> r.prefault(0, PAGE);
                        default -> r.adviseHugePages(0, PAGE);
                    }
                    seen.get().add(name + ": returned");
                } catch (IllegalStateException e) {
                    seen.get().add(name + ": " + (e.getMessage().endsWith("is closed") ? "closed" : e.getMessage()));
                } catch (RuntimeException e) {
                    seen.get().add(name + ": " + e);
                }
            }
        });
        r.close();
        assertEquals(List.of("commit: closed", "decommit: closed", "release: closed", "prefault: closed",
                "adviseHugePages: closed"), seen.get());
    }

    // Thread safety + close unmaps: aligned reserves (mmap of the alignment more, munmap of the excess) racing from
    // several threads give aligned, pairwise disjoint regions, and after every close none of them is mapped.
    @Test
    void alignedReservesRacingFromSeveralThreadsAreDisjointAndLeaveNothingMapped() throws Exception {
        int threads = 4;
        int each = 40;
        long align = 1L << 21;
        List<VirtualRegion> all = Collections.synchronizedList(new ArrayList<>());
        CyclicBarrier start = new CyclicBarrier(threads);
        AtomicReference<Throwable> bad = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int k = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < each; i++) {
                        VirtualRegion r = VirtualRegion.reserve((1 + (i + k) % 5) * PAGE, align);
                        all.add(r);
                        if (i % 3 == 0) {
                            r.commit(0, PAGE);
                            RawMemory.putLong(r, 0, r.address());
                        }
                    }
                } catch (Throwable e) {
                    bad.compareAndSet(null, e);
                }
            }, "r21-reserve-" + t);
            th.setDaemon(true);
            th.start();
            ts.add(th);
        }
        for (Thread th : ts) {
            th.join(15_000);
        }
        if (bad.get() != null) {
            throw new AssertionError("a racing aligned reserve failed", bad.get());
        }
        List<VirtualRegion> sorted = new ArrayList<>(all);
        sorted.sort((a, b) -> Long.compareUnsigned(a.address(), b.address()));
        assertEquals(threads * each, sorted.size());
        for (int i = 0; i < sorted.size(); i++) {
            VirtualRegion r = sorted.get(i);
            assertEquals(0, r.address() % align, r.toString());
            if (i > 0) {
                VirtualRegion prev = sorted.get(i - 1);
                assertTrue(prev.address() + prev.size() <= r.address(), prev + " overlaps " + r);
            }
        }
        for (VirtualRegion r : sorted) {
            r.close();
            // checked at once: later, another part of the JVM may map something into the freed hole
            assertTrue(ProcSelf.mappingsWithin(r.address(), r.address() + r.size()).isEmpty(), r + " still mapped: "
                    + ProcSelf.mappingsWithin(r.address(), r.address() + r.size()));
        }
    }

    // close(): "it waits for those already in progress on other threads before unmapping", and from the moment it
    // is called new calls throw IllegalStateException. Several closers racing committers and decommitters: every
    // close and every worker returns, and no call fails with anything but the closed region's IllegalStateException.
    @Test
    void severalClosersRacingCommittersAllReturnAndNothingButClosedIsThrown() throws Exception {
        for (int round = 0; round < 30; round++) {
            VirtualRegion r = VirtualRegion.reserve(32 * PAGE);
            int workers = 3;
            CountDownLatch go = new CountDownLatch(1);
            AtomicReference<Throwable> bad = new AtomicReference<>();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < workers + 2; t++) {
                boolean closer = t >= workers;
                int k = t;
                Thread th = new Thread(() -> {
                    try {
                        go.await();
                        if (closer) {
                            r.close();
                            return;
                        }
                        for (int i = 0; ; i++) {
                            long off = ((i + k) % 32) * PAGE;
                            if (i % 2 == 0) {
                                r.commit(off, PAGE);
                            } else {
                                r.decommit(off, PAGE);
                            }
                        }
                    } catch (IllegalStateException closed) {
                        if (!closed.getMessage().endsWith("is closed")) {
                            bad.compareAndSet(null, closed);
                        }
                    } catch (Throwable e) {
                        bad.compareAndSet(null, e);
                    }
                }, "r21-race-" + t);
                th.setDaemon(true);
                th.start();
                ts.add(th);
            }
            go.countDown();
            for (Thread th : ts) {
                th.join(10_000);
                assertFalse(th.isAlive(), "round " + round + ": " + th.getName() + " never returned");
            }
            if (bad.get() != null) {
                throw new AssertionError("round " + round, bad.get());
            }
            assertFalse(r.isOpen());
            // (the unmap itself is checked in alignedReservesRacing...: by now the JVM may have mapped the hole)
            assertThrows(IllegalStateException.class, () -> r.commit(0, PAGE));
        }
    }
}

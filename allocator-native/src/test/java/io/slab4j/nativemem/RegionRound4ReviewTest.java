package io.slab4j.nativemem;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round-4 adversarial review of VirtualRegion's public contract (reserve, range calls, close). */
class RegionRound4ReviewTest {
    private static final long PAGE = VirtualRegion.pageSize();

    // ------------------------------------------- passes worth keeping (attacks that held)

    @Test
    void alignedReserveRejectsLongMinValueAlignment() {
        // reserve(bytes, alignment) javadoc: "alignment a power of two, at least pageSize()" → IAE otherwise.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VirtualRegion.reserve(PAGE, Long.MIN_VALUE));
        assertTrue(e.getMessage().contains(Long.toString(Long.MIN_VALUE)) || e.getMessage().toLowerCase().contains("0x8000000000000000")
                || e.getMessage().contains("-0x8000000000000000"), e.getMessage());
    }

    @Test
    void alignedReserveRejectsOverflowingSizesWithIllegalArgument() {
        // javadoc: "IllegalArgumentException if ... the sizes overflow" (not a NativeMemoryException from mmap).
        assertThrows(IllegalArgumentException.class, () -> VirtualRegion.reserve(Long.MAX_VALUE - PAGE, PAGE * 4));
        assertThrows(IllegalArgumentException.class, () -> VirtualRegion.reserve(Long.MAX_VALUE, PAGE));
        assertThrows(IllegalArgumentException.class, () -> VirtualRegion.reserve(PAGE, PAGE / 2));
        assertThrows(IllegalArgumentException.class, () -> VirtualRegion.reserve(PAGE, 3 * PAGE));
        assertThrows(IllegalArgumentException.class, () -> VirtualRegion.reserve(0, PAGE));
    }

    @Test
    void rangeCallsRejectOverflowingRanges() {
        // Every range call: "IllegalArgumentException if the range is unaligned, empty or out of the region".
        try (VirtualRegion r = VirtualRegion.reserve(4 * PAGE)) {
            long hugeLen = Long.MAX_VALUE / PAGE * PAGE; // page aligned; offset + length overflows
            assertThrows(IllegalArgumentException.class, () -> r.commit(PAGE, hugeLen));
            assertThrows(IllegalArgumentException.class, () -> r.decommit(PAGE, hugeLen));
            assertThrows(IllegalArgumentException.class, () -> r.release(PAGE, hugeLen));
            assertThrows(IllegalArgumentException.class, () -> r.prefault(PAGE, hugeLen));
            assertThrows(IllegalArgumentException.class, () -> r.adviseHugePages(PAGE, hugeLen));
            assertThrows(IllegalArgumentException.class, () -> r.adviseNoHugePages(PAGE, hugeLen));
            assertThrows(IllegalArgumentException.class, () -> r.prefault(-PAGE, PAGE));
            assertThrows(IllegalArgumentException.class, () -> r.prefault(Long.MIN_VALUE, PAGE));
            assertThrows(IllegalArgumentException.class, () -> r.adviseHugePages(0, 0));
            assertThrows(IllegalArgumentException.class, () -> r.adviseHugePages(0, -PAGE));
            assertThrows(IllegalArgumentException.class, () -> r.adviseNoHugePages(1, PAGE));
            assertThrows(IllegalArgumentException.class, () -> r.prefault(4 * PAGE, PAGE));
            // nothing changed: the region still works
            r.commit(0, PAGE);
            r.prefault(0, PAGE);
        }
    }

    @Test
    void prefaultOfUncommittedRangeThrowsNativeMemoryAndRegionStaysUsable() {
        // prefault javadoc: "The range must be committed" → NativeMemoryException (EINVAL/EFAULT/ENOMEM), or false
        // when the kernel lacks it. Must not crash or silently commit.
        try (VirtualRegion r = VirtualRegion.reserve(4 * PAGE)) {
            try {
                boolean ok = r.prefault(0, 2 * PAGE);
                assertFalse(ok, "prefault of PROT_NONE pages returned true");
            } catch (NativeMemoryException expected) {
                assertEquals("madvise", expected.call());
            }
            r.commit(0, PAGE);
            r.prefault(0, PAGE);
        }
    }

    @Test
    void closeRacingAdviceAndPrefaultFromManyThreadsNeverCrashes() {
        // Class header: "none ever operates on an unmapped range"; a call after close begins throws ISE.
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (int round = 0; round < 40; round++) {
                VirtualRegion r = VirtualRegion.reserve(64 * PAGE);
                r.commit(0, 64 * PAGE);
                CountDownLatch go = new CountDownLatch(1);
                AtomicReference<Throwable> bad = new AtomicReference<>();
                List<Thread> ts = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int k = t;
                    Thread th = new Thread(() -> {
                        try {
                            go.await();
                            for (int i = 0; i < 200; i++) {
                                long off = ((i + k) % 64) * PAGE;
                                switch ((i + k) % 4) {
                                    case 0 -> r.prefault(off, PAGE);
                                    case 1 -> r.adviseHugePages(off, PAGE);
                                    case 2 -> r.adviseNoHugePages(off, PAGE);
                                    default -> r.release(off, PAGE);
                                }
                            }
                        } catch (IllegalStateException closed) {
                            // expected once close began
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                        }
                    });
                    th.start();
                    ts.add(th);
                }
                go.countDown();
                Thread.yield();
                r.close();
                for (Thread th : ts) {
                    th.join();
                }
                if (bad.get() != null) {
                    throw new AssertionError("round " + round, bad.get());
                }
            }
        });
    }

    @Test
    void prefaultKeepsPresentBytesAndAdviceWorksOnUncommittedPages() {
        // prefault: "Pages already present are left as they are"; adviseHugePages: "Committed or not, the advice
        // stays with the range ... Touches no page and changes no protection".
        try (VirtualRegion r = VirtualRegion.reserve(8 * PAGE)) {
            r.commit(0, 4 * PAGE);
            RawMemory.putLong(r, PAGE, 0x0123456789abcdefL);
            r.prefault(0, 4 * PAGE);
            assertEquals(0x0123456789abcdefL, RawMemory.getLong(r, PAGE));
            r.adviseHugePages(4 * PAGE, 4 * PAGE); // uncommitted: no exception
            r.adviseNoHugePages(0, 8 * PAGE);
            assertEquals(0x0123456789abcdefL, RawMemory.getLong(r, PAGE));
            r.release(PAGE, PAGE);
            assertEquals(0, RawMemory.getLong(r, PAGE));
            r.commit(4 * PAGE, PAGE);
            RawMemory.putLong(r, 4 * PAGE, 5);
            r.decommit(4 * PAGE, PAGE);
            r.commit(4 * PAGE, PAGE);
            assertEquals(0, RawMemory.getLong(r, 4 * PAGE));
        }
    }

    @Test
    void alignedReserveGivesAnAlignedAddressAtHugeAlignment() {
        long align = 1L << 30; // 1 GiB
        try (VirtualRegion r = VirtualRegion.reserve(PAGE, align)) {
            assertEquals(0, r.address() % align);
            assertEquals(PAGE, r.size());
            r.commit(0, PAGE);
        }
    }
}

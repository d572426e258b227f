package io.slab4j.arena;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.management.ManagementFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Behaviour and bad input of an arena over a plain range; one suite for every fit policy. */
class ArenaTest {
    private static final long BASE = 0x10_0000_0000L;
    private static final long Q = 4096;

    private static Arena arena(Fit fit, int quanta) {
        return Arena.builder(BASE, quanta * Q).quantum(Q).fit(fit).build();
    }

    @ParameterizedTest
    @EnumSource(Fit.class)
    void allocatesWholeRangeThenFailsThenCoalesces(Fit fit) {
        Arena arena = arena(fit, 16);
        long[] spans = new long[16];
        for (int i = 0; i < 16; i++) {
            spans[i] = arena.tryAlloc(Q);
            assertNotEquals(0, spans[i]);
        }
        assertEquals(0, arena.tryAlloc(1), "a full arena has no fit");
        assertEquals(1, arena.stats().failures());
        for (int i = 0; i < 16; i += 2) {
            arena.free(spans[i], Q);
        }
        assertEquals(8, arena.stats().freeSegments());
        assertEquals(0, arena.tryAlloc(2 * Q), "eight one-quantum holes hold no two-quantum span");
        for (int i = 1; i < 16; i += 2) {
            arena.free(spans[i], Q);
        }
        ArenaStats stats = arena.stats();
        assertEquals(1, stats.freeSegments(), "frees coalesce back to one segment");
        assertEquals(16 * Q, stats.largestFree());
        assertEquals(16, stats.allocations());
        assertEquals(16, stats.frees());
        arena.checkInvariants();
        assertEquals(BASE, arena.tryAlloc(16 * Q), "the whole range fits again");
    }

    @ParameterizedTest
    @EnumSource(Fit.class)
    void alignedAllocationIsAlignedAbsolutely(Fit fit) {
        Arena arena = Arena.builder(BASE + Q, 64 * Q).quantum(Q).fit(fit).build();
        long a = arena.tryAlloc(Q, 16 * Q);
        assertEquals(0, a % (16 * Q), Long.toHexString(a));
        long b = arena.tryAlloc(3 * Q, 8 * Q);
        assertEquals(0, b % (8 * Q), Long.toHexString(b));
        arena.checkInvariants();
        arena.free(a, Q);
        arena.free(b, 3 * Q);
        assertEquals(1, arena.stats().freeSegments());
    }

    @Test
    void bestFitTakesTheSmallestHole() {
        Arena arena = arena(Fit.BEST, 32);
        long a = arena.tryAlloc(8 * Q);
        long sep1 = arena.tryAlloc(Q);
        long b = arena.tryAlloc(3 * Q);
        long sep2 = arena.tryAlloc(Q);
        arena.free(a, 8 * Q);
        arena.free(b, 3 * Q);
        assertNotEquals(0, sep1 + sep2);
        assertEquals(b, arena.tryAlloc(3 * Q), "best fit reuses the exact 3-quantum hole, not the 8-quantum one");
    }

    @Test
    void nextFitMovesOn() {
        Arena arena = arena(Fit.NEXT, 8);
        long a = arena.tryAlloc(Q);
        arena.free(a, Q);
        long b = arena.tryAlloc(Q);
        assertEquals(a + Q, b, "next fit resumes after the previous allocation instead of reusing the same address");
        long c = arena.tryAlloc(6 * Q);
        assertEquals(b + Q, c);
        assertEquals(a, arena.tryAlloc(Q), "and wraps around to the start");
        arena.checkInvariants();
    }

    @Test
    void sizesRoundUpToTheQuantum() {
        Arena arena = arena(Fit.INSTANT, 4);
        long a = arena.tryAlloc(1);
        assertEquals(Q, arena.stats().allocated());
        arena.free(a, Q - 100); // the same rounded size
        assertEquals(0, arena.stats().allocated());
    }

    @Test
    void badSizesAndAlignmentsNameTheValue() {
        Arena arena = arena(Fit.INSTANT, 16);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(0)), "size 0");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(-5)), "size -5");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(17 * Q)), "size " + 17 * Q);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(Q, 3 * Q)), "alignment " + 3 * Q);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(Q, Q / 2)), "alignment " + Q / 2);
        assertEquals(new ArenaStats(16 * Q, 0, 0, 16 * Q, 16 * Q, 0, 1, 0, 0, 0, 0), arena.stats());
        arena.checkInvariants();
    }

    @Test
    void badFreesAreRejectedAndChangeNothing() {
        Arena arena = arena(Fit.INSTANT, 16);
        long a = arena.tryAlloc(2 * Q);
        long b = arena.tryAlloc(Q);
        ArenaStats before = arena.stats();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.free(a, Q)), "2 quanta");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.free(a + Q, Q)), "not at its start");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.free(BASE - Q, Q)), "0x" + Long.toHexString(BASE - Q));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.free(a + 1, Q)), "quantum-aligned");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.free(BASE + 8 * Q, Q)), "double free");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.free(a, 0)), "size 0");
        assertEquals(before, arena.stats());
        arena.checkInvariants();
        arena.free(b, Q);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> arena.free(b, Q)), "double free");
        arena.checkInvariants();
        arena.free(a, 2 * Q);
        assertEquals(0, arena.stats().allocated());
    }

    @Test
    void badConfigurationIsRejected() {
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Arena.builder(BASE, 10 * Q).quantum(3000).build()), "quantum 3000");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Arena.builder(BASE + 1, 10 * Q).quantum(Q).build()), "base");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Arena.builder(0, 10 * Q).quantum(Q).build()), "base");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Arena.builder(BASE, 10 * Q + 1).quantum(Q).build()), "size");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Arena.builder(BASE, 1L << 45).quantum(8).build()), "quanta");
    }

    /** A million live spans: boundary tags are primitive arrays, so this fits a small heap. */
    @Test
    void aMillionLiveSpansFitComfortably() {
        int spans = 1 << 20;
        System.gc();
        long heapBefore = usedHeap();
        Arena arena = Arena.builder(BASE, 2L * spans * 64).quantum(64).fit(Fit.INSTANT).build();
        long[] addresses = new long[spans];
        long[] holes = new long[spans];
        for (int i = 0; i < spans; i++) {
            addresses[i] = arena.tryAlloc(64);
            holes[i] = arena.tryAlloc(64);
        }
        for (int i = 0; i < spans; i += 2) {
            arena.free(holes[i], 64); // half a million free segments between the spans
        }
        System.gc();
        long metadata = usedHeap() - heapBefore - 2L * spans * Long.BYTES;
        System.out.printf("ArenaTest: %d live spans, %d free segments, ~%d bytes of heap a span%n",
                arena.stats().spans(), arena.stats().freeSegments(), metadata / arena.stats().spans());
        assertTrue(metadata < 256L << 20, "arena metadata for ~1.5M spans took " + (metadata >> 20) + " MiB");
        arena.checkInvariants();
        for (int i = 0; i < spans; i++) {
            arena.free(addresses[i], 64);
            if (i % 2 == 1) {
                arena.free(holes[i], 64);
            }
        }
        assertEquals(0, arena.stats().spans());
        assertEquals(1, arena.stats().freeSegments());
    }

    private static long usedHeap() {
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static void assertMessage(Exception e, String expected) {
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' should mention '" + expected + "'");
    }
}

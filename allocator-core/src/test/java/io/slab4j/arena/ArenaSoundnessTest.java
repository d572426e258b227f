package io.slab4j.arena;

import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Regression tests for issue 7's arena defects over a plain range: zero timeouts, impossible requests, head-of-line stalls. */
class ArenaSoundnessTest {
    private static final long Q = 4096;
    private static final int REPEATS = 2_000;

    private static Arena arena(long base, int quanta) {
        return Arena.builder(base, quanta * Q).quantum(Q).fit(Fit.INSTANT).build();
    }

    /** Defect 7: a timed alloc tries first, so zero, negative and tiny timeouts never miss space that is there. */
    @Test
    void zeroNegativeAndTinyTimeoutsFindSpaceThatIsThere() throws Exception {
        Arena arena = arena(0x80_0000_0000L, 4);
        for (Duration d : new Duration[] {Duration.ZERO, Duration.ofNanos(-1), Duration.ofSeconds(-5), Duration.ofNanos(1)}) {
            for (int i = 0; i < REPEATS; i++) {
                long a = arena.alloc(Q, d);
                assertNotEquals(0, a, "alloc(" + Q + ", " + d + ") with the arena empty, call " + i);
                arena.free(a, Q);
            }
        }
        assertEquals(0, arena.stats().allocated());
        assertEquals(0, arena.waiters());
        arena.checkInvariants();
    }

    /** The other half of defect 7: with no space, a non-positive timeout returns 0 at once and leaves no registration. */
    @Test
    void aZeroTimeoutWithoutSpaceReturnsZeroAndLeavesNoTrace() throws Exception {
        Arena arena = arena(0x81_0000_0000L, 1);
        long all = arena.tryAlloc(Q);
        for (int i = 0; i < REPEATS; i++) {
            assertEquals(0, arena.alloc(Q, Duration.ZERO));
            assertEquals(0, arena.alloc(Q, Duration.ofNanos(-1)));
        }
        assertEquals(0, arena.waiters());
        arena.free(all, Q);
        arena.checkInvariants();
    }

    /** Defect 11: an alignment no address in the range can meet is rejected at once, naming it. */
    @Test
    void aRequestThatCanNeverBeMetIsRejectedAtOnce() {
        Arena arena = arena(0x82_0000_1000L, 64); // base aligned to 4 KiB only
        ArenaStats before = arena.stats();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> arena.allocEvent(Q, 1L << 40));
        assertTrue(e.getMessage().contains("alignment " + (1L << 40)), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(Q, 1L << 40));
        assertTrue(e.getMessage().contains("alignment " + (1L << 40)), e.getMessage());
        // 32 quanta aligned to 32 quanta: the base is one quantum past an aligned address, so only one aligned start
        // (base + 31 quanta) lies in the range, and 32 quanta from there run past its end.
        e = assertThrows(IllegalArgumentException.class, () -> arena.allocEvent(40 * Q, 32 * Q));
        assertTrue(e.getMessage().contains("alignment " + 32 * Q), e.getMessage());
        assertEquals(before, arena.stats());
        assertEquals(0, arena.waiters());
        assertNotEquals(0, arena.tryAlloc(16 * Q, 32 * Q), "a request that fits at some aligned address is fine");
        arena.checkInvariants();
    }

    /**
     * Defect 11, head-of-line stall: 64 quanta split 31/32 by one pinned quantum; a
     * 40-quantum waiter at the head cannot fit while the pin lives, yet one-quantum
     * requests, waiting or not, are served from space the head cannot use now.
     */
    @Test
    void aBlockedHeadDoesNotStallRequestsItCannotUse() throws Exception {
        Arena arena = arena(0x83_0000_0000L, 64);
        long left = arena.tryAlloc(31 * Q);
        long pin = arena.tryAlloc(Q);
        arena.free(left, 31 * Q);
        CompletableFuture<Long> big = Background.start("big", () -> arena.alloc(40 * Q));
        Await.until("the big request to queue", () -> arena.waiters() == 1);
        long small = arena.tryAlloc(Q);
        assertNotEquals(0, small, "tryAlloc of one quantum with 63 free and a head of 40 that cannot fit");
        long timed = arena.alloc(Q, Duration.ofSeconds(10));
        assertNotEquals(0, timed, "a timed alloc of one quantum");
        assertTrue(arena.allocEvent(Q).poll().isPresent(), "a poll of one quantum");
        assertEquals(1, arena.waiters(), "only the big request waits");
        arena.checkInvariants();
        arena.free(pin, Q);
        long bigSpan = big.get(10, TimeUnit.SECONDS);
        assertNotEquals(0, bigSpan, "with the pin gone the head fits and is served");
        assertEquals(0, arena.waiters());
        arena.checkInvariants();
    }

    /** A small waiter queued behind a blocked head is served as soon as space the head cannot use is there. */
    @Test
    void aSmallWaiterBehindABlockedHeadIsServedFromSpaceTheHeadCannotUse() throws Exception {
        Arena arena = arena(0x84_0000_0000L, 64);
        long all = arena.tryAlloc(64 * Q);
        CompletableFuture<Long> big = Background.start("big", () -> arena.alloc(40 * Q));
        Await.until("the big request to queue", () -> arena.waiters() == 1);
        CompletableFuture<Long> small = Background.start("small", () -> arena.alloc(Q));
        Await.until("the small request to queue", () -> arena.waiters() == 2);
        arena.free(all, 64 * Q);
        long bigSpan = big.get(10, TimeUnit.SECONDS);
        long smallSpan = small.get(10, TimeUnit.SECONDS);
        assertTrue(smallSpan >= bigSpan + 40 * Q || smallSpan + Q <= bigSpan);
        arena.checkInvariants();
    }
}

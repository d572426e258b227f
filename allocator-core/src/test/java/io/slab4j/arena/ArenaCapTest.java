package io.slab4j.arena;

import io.slab4j.nativemem.VirtualRegion;
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

/** {@code Arena.builder(...).maxCommitted(bytes)}: beyond the cap, allocations wait or fail exactly as when no space fits. */
class ArenaCapTest {
    private static final long Q = 4096;
    private static final long BASE = 0x90_0000_0000L;

    private static Arena capped(int quanta, int capQuanta) {
        return Arena.builder(BASE, quanta * Q).quantum(Q).maxCommitted(capQuanta * Q).build();
    }

    @Test
    void tryAllocFailsBeyondTheCapAndStatsShowIt() {
        Arena arena = capped(16, 4);
        assertEquals(4 * Q, arena.maxCommitted());
        long a = arena.tryAlloc(3 * Q);
        assertNotEquals(0, a);
        assertEquals(0, arena.tryAlloc(2 * Q), "3 + 2 quanta would pass the cap of 4, with 13 free");
        assertEquals(1, arena.stats().failures());
        long b = arena.tryAlloc(Q);
        assertNotEquals(0, b, "3 + 1 is within the cap");
        ArenaStats stats = arena.stats();
        assertEquals(4 * Q, stats.maxCommitted());
        assertEquals(4 * Q, stats.allocated());
        arena.checkInvariants();
        arena.free(a, 3 * Q);
        arena.free(b, Q);
        assertEquals(new ArenaStats(16 * Q, 0, 0, 16 * Q, 16 * Q, 0, 1, 0, 2, 2, 1, 0, 4 * Q, 0, 0), arena.stats());
    }

    @Test
    void aWaiterHeldBackByTheCapIsServedByAFreeAndHoldsNewcomersBack() throws Exception {
        Arena arena = capped(16, 8);
        long six = arena.tryAlloc(6 * Q);
        long two = arena.tryAlloc(2 * Q);
        CompletableFuture<Long> four = Background.start("four", () -> arena.alloc(4 * Q));
        Await.until("the request beyond the cap to wait", () -> arena.waiters() == 1);
        arena.free(two, 2 * Q);
        assertEquals(1, arena.waiters(), "6 + 4 is still beyond the cap");
        assertEquals(0, arena.tryAlloc(Q), "a newcomer within the cap does not overtake a head the cap holds back");
        assertEquals(0, arena.alloc(Q, Duration.ZERO));
        arena.free(six, 6 * Q);
        long span = four.get(10, TimeUnit.SECONDS);
        assertNotEquals(0, span);
        assertTrue(arena.stats().allocated() <= arena.maxCommitted());
        arena.free(span, 4 * Q);
        arena.checkInvariants();
    }

    @Test
    void badCapsAndRequestsBeyondTheCapAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Arena.builder(BASE, 16 * Q).quantum(Q).maxCommitted(0));
        assertThrows(IllegalArgumentException.class, () -> Arena.builder(BASE, 16 * Q).quantum(Q).maxCommitted(-Q));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Arena.builder(BASE, 16 * Q).quantum(Q).maxCommitted(17 * Q).build());
        assertTrue(e.getMessage().contains("maxCommitted " + 17 * Q), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Arena.builder(BASE, 16 * Q).quantum(Q).maxCommitted(Q - 1).build());
        assertTrue(e.getMessage().contains("maxCommitted " + (Q - 1)), e.getMessage());
        Arena arena = capped(16, 4);
        e = assertThrows(IllegalArgumentException.class, () -> arena.allocEvent(5 * Q));
        assertTrue(e.getMessage().contains("size " + 5 * Q) && e.getMessage().contains("maxCommitted"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(5 * Q));
        assertEquals(0, arena.stats().allocated());
        arena.checkInvariants();
    }

    @Test
    void overARegionCommittedBytesStayWithinTheCap() {
        long page = VirtualRegion.pageSize();
        try (VirtualRegion region = VirtualRegion.reserve(64 * page)) {
            Arena arena = Arena.builder(region).maxCommitted(8 * page).build();
            assertEquals(page, arena.pageSize());
            long[] spans = new long[8];
            for (int i = 0; i < 8; i++) {
                spans[i] = arena.tryAlloc(page);
                assertNotEquals(0, spans[i]);
            }
            assertEquals(0, arena.tryAlloc(page));
            assertEquals(8 * page, arena.stats().committed());
            for (long s : spans) {
                arena.free(s, page);
            }
            assertEquals(0, arena.stats().committed());
            arena.checkInvariants();
        }
    }

    @Test
    void aPlainRangeHasAPageSizeWithoutTheOs() {
        assertEquals(4096, Arena.builder(BASE, 16 * Q).quantum(64).build().pageSize());
        assertEquals(4096, Arena.builder(BASE, 16 * Q).quantum(Q).build().pageSize());
        assertEquals(4 * Q, Arena.builder(BASE, 16 * Q).quantum(4 * Q).build().pageSize());
        assertEquals(0, Arena.builder(BASE, 16 * Q).build().commitChunk());
        assertThrows(IllegalArgumentException.class, () -> Arena.builder(BASE, 16 * Q).commitChunk(Q).build());
    }
}

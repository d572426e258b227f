package io.slab4j.arena;

import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import io.slab4j.nativemem.VirtualRegion;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** An arena over a real reservation: spans are committed when handed out and decommitted when freed. */
class ArenaRegionTest {
    private static final long PAGE = VirtualRegion.pageSize();

    @Test
    void spansAreCommittedOnAllocationAndDecommittedOnFree() {
        try (VirtualRegion region = VirtualRegion.reserve(1L << 30)) {
            Arena arena = Arena.builder(region).build();
            assertEquals(PAGE, arena.quantum(), "over a region the quantum defaults to the page size");
            long span = arena.tryAlloc(16 * PAGE);
            assertEquals(16 * PAGE, arena.stats().committed());
            UnsafeBuffer memory = new UnsafeBuffer(span, (int) (16 * PAGE));
            for (int page = 0; page < 16; page++) {
                memory.putLong((int) (page * PAGE), 0x5EED + page);
            }
            assertEquals(0x5EED + 15, memory.getLong((int) (15 * PAGE)));
            arena.free(span, 16 * PAGE);
            assertEquals(0, arena.stats().committed());
            long again = arena.tryAlloc(16 * PAGE);
            assertEquals(span, again, "instant fit hands the same span back");
            assertEquals(0, new UnsafeBuffer(again, (int) (16 * PAGE)).getLong((int) (15 * PAGE)),
                    "a decommitted page comes back zeroed: the free really released it");
            arena.free(again, 16 * PAGE);
            arena.checkInvariants();
        }
    }

    @Test
    void aWaiterGetsCommittedMemory() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(4 * PAGE)) {
            Arena arena = Arena.builder(region).build();
            long all = arena.tryAlloc(4 * PAGE);
            var waiting = Background.start("waiter", () -> {
                long span = arena.alloc(2 * PAGE, Duration.ofSeconds(10));
                new UnsafeBuffer(span, (int) (2 * PAGE)).putLong((int) PAGE, 7); // faults unless committed
                return span;
            });
            Await.until("the alloc to wait", () -> arena.waiters() == 1);
            arena.free(all, 4 * PAGE);
            long span = waiting.get(10, java.util.concurrent.TimeUnit.SECONDS);
            assertEquals(7, new UnsafeBuffer(span, (int) (2 * PAGE)).getLong((int) PAGE));
            assertEquals(2 * PAGE, arena.stats().committed());
            arena.free(span, 2 * PAGE);
            arena.checkInvariants();
        }
    }

    @Test
    void regionRulesAreEnforced() {
        try (VirtualRegion region = VirtualRegion.reserve(16 * PAGE)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Arena.builder(region).quantum(PAGE / 2).build());
            assertTrue(e.getMessage().contains("multiple of the page size"), e.getMessage());
            region.close();
            assertThrows(IllegalStateException.class, () -> Arena.builder(region));
        }
    }

    /**
     * The region is closed under a waiting arena: the free's decommit is refused, yet the free
     * returns normally and the waiter it served is handed over (here: told, since nothing
     * can be committed) rather than left claimed forever, and nothing spins.
     */
    @Test
    void aClosedRegionFailsWaitersInsteadOfStrandingThem() throws Exception {
        VirtualRegion region = VirtualRegion.reserve(4 * PAGE);
        Arena arena = Arena.builder(region).build();
        long all = arena.tryAlloc(4 * PAGE);
        var waiting = Background.start("waiter", () -> arena.alloc(PAGE));
        Await.until("the alloc to wait", () -> arena.waiters() == 1);
        region.close();
        arena.free(all, 4 * PAGE); // accepted: returns normally; the decommit the closed region refused is moot
        assertEquals(0, arena.stats().releaseFailures(), "the memory went with the region: no release failed");
        var failure = assertThrows(java.util.concurrent.ExecutionException.class, () -> waiting.get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(failure.getCause() instanceof IllegalStateException, failure.toString());
        assertTrue(failure.getCause().getMessage().contains("region is closed"), failure.getCause().getMessage());
        assertEquals(0, arena.waiters());
        assertEquals(0, arena.stats().allocated(), "the span the waiter could not take went back");
        assertThrows(IllegalStateException.class, () -> arena.tryAlloc(PAGE));
        arena.checkInvariants();
    }
}

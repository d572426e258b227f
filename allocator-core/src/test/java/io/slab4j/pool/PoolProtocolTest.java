package io.slab4j.pool;

import io.slab4j.arena.Arena;
import io.slab4j.event.Event;
import io.slab4j.event.Events;
import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import io.slab4j.testing.ManualSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool's get composed with other sources: abandoned claims and failing clean-up must not leak a grow or an item. */
class PoolProtocolTest {
    private static final long PAGE = 4096;

    /**
     * Another source claims the get's offer and abandons the claim; the sync withdraws and
     * registers again with the same grow ticket. The ticket must not be reserved twice:
     * with a hard limit of one slab, a double reservation left the get waiting for
     * capacity it held itself, forever (found in review).
     */
    @Test
    void anAbandonedClaimDoesNotReserveTheGrowTwice() throws Exception {
        for (int limit = 1; limit <= 2; limit++) {
            Arena arena = Arena.builder(0x7c_0000_0000L, 2 * PAGE).quantum(PAGE).build();
            Pool pool = Pool.builder("abandon", PAGE).slabPages(1).hardLimit(limit).build(arena);
            long blocker = arena.tryAlloc(2 * PAGE);
            ManualSource other = new ManualSource();
            CompletableFuture<Long> got = Background.start("getter", () -> Events.choose(pool.getEvent(), other).sync());
            Await.until("the grow to wait in the arena", () -> arena.waiters() == 1 && other.waiters() == 1);
            assertTrue(other.claimAndAbandon());
            Await.until("the sync to register again", () -> other.waiters() == 1 && arena.waiters() == 1);
            assertEquals(1, pool.stats().pendingItems(), "one grow, one reservation");
            arena.free(blocker, 2 * PAGE);
            long item = got.get(5, TimeUnit.SECONDS);
            assertTrue(item != 0);
            pool.put(item);
            assertEquals(0, pool.stats().pendingItems());
            pool.checkInvariants();
            pool.close();
            arena.checkInvariants();
        }
    }

    /** A losing branch's nack action throws: the item the pool already handed over is delivered, not dropped (found in review). */
    @Test
    void aThrowingNackElsewhereDoesNotDropTheItem() throws Exception {
        Arena arena = Arena.builder(0x7d_0000_0000L, 16 * PAGE).quantum(PAGE).build();
        Pool pool = Pool.builder("drop", PAGE).slabPages(1).build(arena);
        Event<Long> failing = Events.withNack(n -> {
            n.onNack(() -> {
                throw new IllegalStateException("user clean-up failed");
            });
            return Events.never();
        });
        List<Throwable> reported = new ArrayList<>();
        Thread self = Thread.currentThread();
        Thread.UncaughtExceptionHandler previous = self.getUncaughtExceptionHandler();
        self.setUncaughtExceptionHandler((t, e) -> reported.add(e));
        long item;
        try {
            item = Events.choose(pool.getEvent(), failing).sync();
        } finally {
            self.setUncaughtExceptionHandler(previous);
        }
        assertTrue(item != 0, "the get's item is delivered");
        assertEquals(1, reported.size(), "the clean-up failure is reported");
        assertEquals(0, pool.stats().pendingItems());
        assertEquals(1, pool.stats().itemsInUse());
        pool.put(item);
        pool.checkInvariants();
    }
}

package io.slab4j.pool;

import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scenario of DESIGN.md, deterministically: a pool of 256 KiB items (one 64-page slab
 * each) with a hard limit of 16 has 15 out; small allocations have fragmented the rest of
 * the arena so no 64-page hole exists although 32 pages are free. A get blocks.
 */
class PoolScenarioTest {
    private static final long PAGE = 4096;
    private static final int SLAB_PAGES = 64;

    /** The arena, the pool, the fifteen items out, and the small spans that fragment the rest. */
    private record Scene(Arena arena, Pool pool, List<Long> items, List<Long> smalls) {
    }

    private static Scene scene(WaitStrategy strategy) {
        Arena arena = Arena.builder(0x30_0000_0000L, 16L * SLAB_PAGES * PAGE).quantum(PAGE).fit(Fit.INSTANT).build();
        Pool pool = Pool.builder("exec", 256 * 1024).slabPages(SLAB_PAGES).hardLimit(16).waitStrategy(strategy).build(arena);
        List<Long> items = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            items.add(pool.tryGet());
        }
        List<Long> smalls = new ArrayList<>();
        List<Long> holes = new ArrayList<>();
        for (int i = 0; i < SLAB_PAGES; i++) {
            (i % 2 == 0 ? holes : smalls).add(arena.tryAlloc(PAGE));
        }
        for (long hole : holes) {
            arena.free(hole, PAGE);
        }
        assertEquals(32 * PAGE, arena.stats().free());
        assertEquals(PAGE, arena.stats().largestFree(), "fragmented: no two free pages are adjacent");
        return new Scene(arena, pool, items, smalls);
    }

    private static CompletableFuture<Long> blockedGet(Scene scene) throws InterruptedException {
        CompletableFuture<Long> result = Background.start("blocked-get", scene.pool::get);
        // the grow is registered in the arena once the get is blocked
        Await.until("the get to block in a grow", () -> scene.arena.waiters() == 1 && scene.pool.stats().pendingItems() == 1);
        return result;
    }

    @Test
    void aPutReleasesTheBlockedGetAndWithdrawsItsArenaRequest() throws Exception {
        Scene scene = scene(WaitStrategy.NACK);
        long allocatedBefore = scene.arena.stats().allocated();
        CompletableFuture<Long> get = blockedGet(scene);
        assertTrue(scene.pool.hasWaiters(), "a get waits for a put");
        long returned = scene.items.remove(0);
        scene.pool.put(returned);
        assertEquals(returned, get.get(1, TimeUnit.SECONDS), "the put hands its item to the waiter");
        assertEquals(0, scene.arena.waiters(), "the arena keeps no stale request");
        assertEquals(allocatedBefore, scene.arena.stats().allocated(), "nothing was taken from the arena for it");
        assertEquals(0, scene.pool.stats().pendingItems(), "the nack released the pending grow");
        assertEquals(0, scene.pool.waiters());
        assertFalse(scene.pool.hasWaiters());
        // a later free that would have fit the request leaves the space free
        for (long small : scene.smalls) {
            scene.arena.free(small, PAGE);
        }
        assertEquals(SLAB_PAGES * PAGE, scene.arena.stats().largestFree());
        scene.pool.checkInvariants();
        scene.arena.checkInvariants();
    }

    @Test
    void spaceInTheArenaGrowsThePoolAndWithdrawsThePutRegistration() throws Exception {
        Scene scene = scene(WaitStrategy.NACK);
        CompletableFuture<Long> get = blockedGet(scene);
        for (long small : scene.smalls) {
            scene.arena.free(small, PAGE);
        }
        long item = get.get(1, TimeUnit.SECONDS);
        assertTrue(item != 0);
        PoolStats stats = scene.pool.stats();
        assertEquals(16, stats.slabs(), "the grow made the sixteenth slab");
        assertEquals(16, stats.itemsInUse());
        assertEquals(0, stats.waiters(), "the put registration is gone");
        assertEquals(0, stats.pendingItems());
        assertEquals(0, scene.arena.waiters());
        // a put now has nobody to hand to: the item goes back to the pool
        scene.pool.put(item);
        assertEquals(15, scene.pool.stats().itemsInUse());
        scene.pool.checkInvariants();
        scene.arena.checkInvariants();
    }

    @Test
    void aTimedGetServedByAGrowAddsItsSlabOnceAndATimedOutOneLeavesNoGrowBehind() throws Exception {
        Scene scene = scene(WaitStrategy.NACK);
        assertEquals(0, scene.pool.get(Duration.ofMillis(20)), "no put and no 64-page hole: the get times out");
        PoolStats after = scene.pool.stats();
        assertEquals(0, after.pendingItems(), "the timed-out get released its grow's reservation");
        assertEquals(0, scene.arena.waiters(), "and withdrew its arena request");
        assertEquals(1, after.waits());
        assertEquals(1, after.failures());
        CompletableFuture<Long> get = Background.start("timed-get", () -> scene.pool.get(Duration.ofSeconds(30)));
        Await.until("the timed get to block in a grow", () -> scene.arena.waiters() == 1 && scene.pool.stats().pendingItems() == 1);
        for (long small : scene.smalls) {
            scene.arena.free(small, PAGE);
        }
        long item = get.get(10, TimeUnit.SECONDS);
        assertTrue(item != 0);
        PoolStats stats = scene.pool.stats();
        assertEquals(16, stats.slabs(), "the grow made the sixteenth slab");
        assertEquals(16, stats.itemsInUse());
        assertEquals(0, stats.pendingItems(), "the reservation was consumed by the slab");
        assertEquals(0, stats.waiters());
        assertEquals(2, stats.waits());
        assertEquals(0, scene.arena.waiters());
        scene.pool.put(item);
        scene.pool.checkInvariants();
        scene.arena.checkInvariants();
    }

    @Test
    void naiveWaitStaysBlockedAfterAPut() throws Exception {
        Scene scene = scene(WaitStrategy.NAIVE);
        CompletableFuture<Long> get = blockedGet(scene);
        scene.pool.put(scene.items.remove(0));
        assertThrows(TimeoutException.class, () -> get.get(1, TimeUnit.SECONDS),
                "NAIVE waits for arena space only: the put does not wake it (the seed's hang)");
        assertEquals(1, scene.arena.waiters());
        // release it the only way NAIVE allows: space in the arena
        for (long small : scene.smalls) {
            scene.arena.free(small, PAGE);
        }
        assertTrue(get.get(5, TimeUnit.SECONDS) != 0);
        scene.pool.checkInvariants();
        scene.arena.checkInvariants();
    }

    @Test
    void interruptingTheBlockedGetLeavesNothingRegistered() throws Exception {
        Scene scene = scene(WaitStrategy.NACK);
        List<Thread> getter = new CopyOnWriteArrayList<>();
        CompletableFuture<Long> result = Background.start("interrupted-get", () -> {
            getter.add(Thread.currentThread());
            return scene.pool.get();
        });
        Await.until("the get to block", () -> scene.arena.waiters() == 1);
        getter.get(0).interrupt();
        ExecutionException e = assertThrows(ExecutionException.class, () -> result.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof InterruptedException, e.toString());
        assertEquals(0, scene.arena.waiters());
        assertEquals(0, scene.pool.waiters());
        assertEquals(0, scene.pool.stats().pendingItems());
        scene.pool.checkInvariants();
        scene.arena.checkInvariants();
    }

    @Test
    void aReleasedPendingGrowWakesAGetThatWaitedOnPutsAlone() throws Exception {
        // limit 2 slabs: one made and out, one pending for thread A; B can only wait on puts.
        Arena arena = Arena.builder(0x40_0000_0000L, 4 * PAGE).quantum(PAGE).build();
        Pool pool = Pool.builder("two", PAGE).slabPages(1).hardLimit(2).build(arena);
        long first = pool.tryGet();
        long[] fill = {arena.tryAlloc(PAGE), arena.tryAlloc(PAGE), arena.tryAlloc(PAGE)};
        CompletableFuture<Long> a = Background.start("A", pool::get);
        Await.until("A's grow to wait in the arena", () -> arena.waiters() == 1);
        CompletableFuture<Long> b = Background.start("B", pool::get);
        Await.until("B to wait on puts, and for capacity to grow", () -> pool.waiters() == 2);
        pool.put(first); // A is the oldest put waiter: A wins, A's grow is nacked
        assertEquals(first, a.get(1, TimeUnit.SECONDS));
        // the nack gave the capacity to B, whose grow is now in the arena: space lets it finish
        Await.until("B's grow to be forwarded to the arena", () -> arena.waiters() == 1);
        arena.free(fill[0], PAGE);
        long got = b.get(1, TimeUnit.SECONDS);
        assertTrue(got != 0 && got != first);
        assertEquals(0, arena.waiters());
        assertEquals(0, pool.waiters());
        pool.checkInvariants();
        arena.checkInvariants();
    }
}

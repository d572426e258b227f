package io.slab4j.cache;

import io.slab4j.arena.Hex;
import static io.slab4j.testing.Messages.assertMessage;
import io.slab4j.testing.Plain;
import io.slab4j.pool.Pool;
import io.slab4j.pool.PoolStats;

import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Magazines, depot, waiters, exited threads, bad input and close of a {@link PoolCache}
 * over a plain-range arena (no OS calls). Threads are synchronised on latches and
 * observable state, never on sleeps.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PoolCacheTest {
    static final long PAGE = 4096;
    static final long BASE = 0x60_0000_0000L;

    /** 256-byte items, 16 a one-page slab. */
    static Pool smallPool(Arena arena) {
        return Pool.builder("small", 256).slabPages(1).highWater(8).build(arena);
    }

    @Test
    void hitsStayInTheThreadsMagazines() throws InterruptedException {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        PoolCache cache = PoolCache.builder(pool).magazineSize(8).build();
        long[] warm = new long[8];
        for (int i = 0; i < warm.length; i++) {
            warm[i] = cache.get();
        }
        for (long a : warm) {
            cache.put(a);
        }
        PoolStats before = pool.stats();
        for (int i = 0; i < 1000; i++) {
            long a = cache.get();
            long b = cache.tryGet();
            cache.put(b);
            cache.put(a);
        }
        assertEquals(before, pool.stats(), "after warm-up the pool sees no traffic at all");
        PoolCacheStats stats = cache.stats();
        assertEquals(2000, stats.hits());
        assertEquals(8, stats.misses(), "only the warm-up went to the pool");
        assertEquals(2008, stats.puts());
        assertEquals(0, stats.depotGets() + stats.depotPuts() + stats.bypasses() + stats.waiterPuts());
        assertEquals(1, stats.threads());
        assertEquals(8, pool.stats().itemsInUse(), "parked items count as in use for the pool");
        cache.checkInvariants();
        cache.drain();
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
    }

    @Test
    void theDepotPassesFullMagazinesBetweenThreads() throws Exception {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        PoolCache cache = PoolCache.builder(pool).magazineSize(4).build();
        List<Long> items = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            items.add(cache.get());
        }
        for (long a : items) {
            cache.put(a); // 4 fill loaded, 4 more after a swap, the 9th sends a full magazine to the depot
        }
        PoolCacheStats stats = cache.stats();
        assertEquals(1, stats.depotPuts());
        assertEquals(1, stats.fullMagazines());
        assertEquals(1, stats.magazinesMade(), "the depot had no empty magazine to give, so it made one");
        PoolStats poolBefore = pool.stats();

        List<Long> got = new ArrayList<>();
        Thread other = new Thread(() -> {
            for (int i = 0; i < 4; i++) {
                got.add(cache.tryGet());
            }
            for (long a : got) {
                cache.put(a);
            }
        }, "other");
        other.start();
        other.join(); // it must have exited: drain below reclaims an exited thread's magazines
        assertEquals(4, got.size());
        assertTrue(items.containsAll(got), "the other thread got the first thread's parked items");
        assertEquals(poolBefore, pool.stats(), "through the depot, not the pool");
        stats = cache.stats();
        assertEquals(1, stats.depotGets());
        assertEquals(0, stats.fullMagazines());
        assertEquals(1, stats.emptyMagazines(), "the other thread left its empty previous magazine in exchange");
        cache.checkInvariants();
        cache.drain();
        assertEquals(0, pool.stats().itemsInUse());
        assertEquals(1, cache.stats().exitedThreads());
        pool.checkInvariants();
    }

    @Test
    void magazineSizeAndDepotLimitAreBounded() {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        assertMessage(assertThrows(IllegalArgumentException.class, () -> PoolCache.builder(pool).magazineSize(0).build()),
                "magazine size 0");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> PoolCache.builder(pool).magazineSize(-1).build()),
                "magazine size -1");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> PoolCache.builder(pool).magazineSize(PoolCache.MAX_MAGAZINE_SIZE + 1).build()), "magazine size 1025");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> PoolCache.builder(pool).depotLimit(-1).build()),
                "depot limit -1");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> PoolCache.builder(pool).depotLimit(PoolCache.MAX_DEPOT_LIMIT + 1).build()), "depot limit 65537");
        assertEquals(PoolCache.MAX_MAGAZINE_SIZE, PoolCache.builder(pool).magazineSize(1024).build().magazineSize());
        assertEquals(PoolCache.DEFAULT_MAGAZINE_SIZE, PoolCache.builder(pool).build().magazineSize());
        assertMessage(assertThrows(NullPointerException.class, () -> PoolCache.builder(null)), "pool");
    }

    @Test
    void theDepotLimitBoundsWhatIsParked() {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        PoolCache cache = PoolCache.builder(pool).magazineSize(2).depotLimit(1).build();
        long[] items = new long[8];
        for (int i = 0; i < items.length; i++) {
            items[i] = cache.tryGet();
        }
        for (long a : items) {
            cache.put(a);
            cache.checkInvariants();
        }
        // thread: hot 1 (the first put), loaded 1 + previous 2; depot: 1 full of 2; the 8th put
        // found the depot full and returned the older full magazine (2 items) to the pool
        PoolCacheStats stats = cache.stats();
        assertEquals(1, stats.fullMagazines());
        assertEquals(1, stats.overflows());
        assertEquals(6, pool.stats().itemsInUse());
        assertEquals(8, stats.puts());

        PoolCache noDepot = PoolCache.builder(pool).magazineSize(1).depotLimit(0).build();
        long a = noDepot.tryGet();
        long b = noDepot.tryGet();
        long c = noDepot.tryGet();
        long d = noDepot.tryGet();
        noDepot.put(a); // the hot slot
        noDepot.put(b);
        noDepot.put(c);
        noDepot.put(d);
        assertEquals(1, noDepot.stats().overflows(), "a hot slot, magazines of one and no depot: the fourth put overflows");
        assertEquals(0, noDepot.stats().fullMagazines());
        assertEquals(9, pool.stats().itemsInUse(), "6 parked in the first cache, 3 in the second");
        noDepot.checkInvariants();
        cache.drain();
        noDepot.drain();
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
    }

    @Test
    void drainReturnsEveryMagazineNoThreadIsUsingIncludingAnIdleLiveThreads() throws Exception {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        PoolCache cache = PoolCache.builder(pool).magazineSize(4).depotLimit(4).build();
        CountDownLatch parked = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        CompletableFuture<Void> live = Background.start("live", () -> {
            churn(cache, 3);
            parked.countDown();
            finish.await();
            churn(cache, 2); // its magazines were taken while it idled: it starts again from empty ones
            return null;
        });
        assertTrue(parked.await(5, TimeUnit.SECONDS)); // 3 in its loaded magazine, from the pool
        List<Thread> exited = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            Thread worker = new Thread(() -> churn(cache, 10), "exits-" + t);
            worker.start();
            exited.add(worker);
        }
        for (Thread worker : exited) {
            worker.join();
        }
        churn(cache, 5);
        assertTrue(pool.stats().itemsInUse() > 3);

        cache.drain();
        assertEquals(0, pool.stats().itemsInUse(), "the idle live thread's magazines came back too");
        PoolCacheStats stats = cache.stats();
        assertEquals(3, stats.exitedThreads());
        assertEquals(2, stats.threads(), "the caller and the live thread");
        assertEquals(0, stats.fullMagazines());
        cache.checkInvariants();

        finish.countDown();
        live.get(5, TimeUnit.SECONDS);
        cache.close();
        assertEquals(0, pool.stats().itemsInUse());
        assertEquals(pool.stats().requests(), pool.stats().releases(), "every item the pool handed out came back");
        pool.checkInvariants();
        pool.close();
    }

    /** Gets {@code n} items through the cache and puts them all back, so they end parked. */
    private static void churn(PoolCache cache, int n) {
        long[] got = new long[n];
        for (int i = 0; i < n; i++) {
            got[i] = cache.tryGet();
            assertNotEquals(0, got[i]);
        }
        for (long a : got) {
            cache.put(a);
        }
    }

    @Test
    void aPutGoesStraightToAGetWaitingInThePool() throws Exception {
        Arena arena = Plain.arena(BASE, 64);
        Pool pool = Pool.builder("limited", 1024).slabPages(1).hardLimit(4).build(arena);
        PoolCache cache = PoolCache.builder(pool).magazineSize(1).build();
        long[] all = new long[4];
        for (int i = 0; i < all.length; i++) {
            all[i] = cache.tryGet();
        }
        assertEquals(4, pool.stats().itemsInUse(), "the pool is at its hard limit");

        CompletableFuture<Long> first = Background.start("waiter-1", pool::get);
        Await.until("the first get to wait in the pool", () -> pool.waiters() == 1 && pool.hasWaiters());
        CompletableFuture<Long> second = Background.start("waiter-2", pool::get);
        Await.until("the second get to wait in the pool", () -> pool.waiters() == 2);

        cache.put(all[0]);
        assertEquals(all[0], first.get(5, TimeUnit.SECONDS), "the put went to the oldest waiter, not into a magazine");
        cache.put(all[1]);
        assertEquals(all[1], second.get(5, TimeUnit.SECONDS));
        assertFalse(pool.hasWaiters());
        PoolCacheStats stats = cache.stats();
        assertEquals(2, stats.waiterPuts());
        assertEquals(0, stats.puts());
        assertEquals(0, pool.waiters());
        pool.put(first.get());
        pool.put(second.get());
        cache.put(all[2]);
        cache.put(all[3]);
        cache.drain();
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
        assertEquals(0, arena.waiters());
    }

    @Test
    void itemsParkedInTheDepotAndByTheCallerServeAGetBeforeItBlocks() throws Exception {
        Arena arena = Plain.arena(BASE, 64);
        Pool pool = Pool.builder("limited", 1024).slabPages(1).hardLimit(4).build(arena);
        PoolCache cache = PoolCache.builder(pool).magazineSize(1).build();
        long[] all = new long[4];
        for (int i = 0; i < all.length; i++) {
            all[i] = cache.tryGet();
        }
        cache.put(all[0]); // the hot slot
        cache.put(all[1]);
        cache.put(all[2]);
        cache.put(all[3]); // hot slot and both magazines full: one goes to the depot
        assertEquals(1, cache.stats().fullMagazines());
        long got = Background.start("getter", () -> pool.get(Duration.ofSeconds(20))).get(10, TimeUnit.SECONDS);
        assertNotEquals(0, got, "the get reclaimed the parked items instead of blocking");
        assertEquals(0, pool.stats().waits(), "it never waited");
        assertEquals(0, cache.stats().fullMagazines());
        assertTrue(cache.stats().reclaimedItems() >= 4, "the hot item came back too");
        pool.put(got);
        cache.close();
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
    }

    @Test
    void anExitedThreadsMagazinesComeBackOnDrain() throws Exception {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        PoolCache cache = PoolCache.builder(pool).magazineSize(8).build();
        Thread t = new Thread(() -> churn(cache, 10), "exits");
        t.start();
        t.join();
        assertEquals(10, pool.stats().itemsInUse(), "2 in its loaded magazine, 8 in its previous one");
        assertEquals(1, cache.stats().threads());
        cache.checkInvariants(); // reads the exited thread's magazines

        cache.drain();
        assertEquals(0, pool.stats().itemsInUse());
        PoolCacheStats stats = cache.stats();
        assertEquals(1, stats.exitedThreads());
        assertEquals(10, stats.reclaimedItems());
        assertEquals(0, stats.threads(), "drain registers no holder for a caller that has none");
        assertEquals(10, stats.hits() + stats.misses(), "the exited thread's counters survive it");
        cache.checkInvariants();
        pool.checkInvariants();
    }

    @Test
    void aNewThreadsFirstCallReclaimsExitedThreads() throws Exception {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        PoolCache cache = PoolCache.builder(pool).magazineSize(8).build();
        Thread t = new Thread(() -> churn(cache, 5), "exits");
        t.start();
        t.join();
        assertEquals(5, pool.stats().itemsInUse());
        long a = cache.tryGet(); // registers the caller, which sweeps
        assertEquals(1, pool.stats().itemsInUse());
        cache.put(a);
        cache.close();
        pool.checkInvariants();
    }

    @Test
    void badPutsAreRejectedAndChangeNothing() throws InterruptedException {
        Pool pool = Pool.builder("exec", 1000).slabPages(1).build(Plain.arena(BASE, 64)); // stride 1008, 4 a slab
        PoolCache cache = PoolCache.builder(pool).magazineSize(4).build();
        assertTrue(cache.checksEnabled(), "checks are on by default");
        long a = cache.get();
        long b = cache.get();
        cache.put(b);
        PoolStats poolBefore = pool.stats();
        PoolCacheStats cacheBefore = cache.stats();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> cache.put(0)), "0x0");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> cache.put(BASE + 40 * PAGE)), "not an item of pool 'exec'");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> cache.put(a + 8)), "not the start of an item");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> cache.put(a + 2 * 1008)), "already free");
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> cache.put(b));
        assertMessage(twice, Hex.of(b));
        assertMessage(twice, "double put");
        assertEquals(poolBefore, pool.stats());
        assertEquals(cacheBefore, cache.stats());
        cache.checkInvariants();
        pool.checkInvariants();

        CompletableFuture<Throwable> fromAnother = CompletableFuture.supplyAsync(() -> {
            try {
                cache.put(b);
                return null;
            } catch (Throwable e) {
                return e;
            }
        }, Background.THREADS);
        assertMessage((Exception) fromAnother.join(), "double put");

        assertEquals(b, cache.get(), "the cache still works and hands the parked item out once");
        cache.put(b);
        cache.put(a);
        cache.drain();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> cache.put(a)), "already free");

        long direct = pool.tryGet();
        cache.put(direct); // got from the pool directly: the shared record says it is out, so the cache may park it
        assertMessage(assertThrows(IllegalArgumentException.class, () -> pool.put(direct)), "parked in a cache");
        cache.drain();
        assertEquals(0, pool.stats().itemsInUse());
        cache.checkInvariants();
        pool.checkInvariants();
    }

    @Test
    void withChecksOffADoublePutIsCaughtOnlyOnTheWayToThePool() {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        PoolCache cache = PoolCache.builder(pool).magazineSize(4).checks(false).build();
        assertFalse(cache.checksEnabled());
        long a = cache.tryGet();
        cache.put(a);
        cache.put(a); // parked twice: the price of checks off
        assertMessage(assertThrows(IllegalArgumentException.class, () -> cache.put(0)), "0x0");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, cache::drain);
        assertMessage(e, "already free");
        assertEquals(0, pool.stats().itemsInUse(), "drain returned everything it could before reporting");
        pool.checkInvariants();
        assertTrue(PoolCache.configuration().contains(PoolCache.CHECKS_PROPERTY + "="));
    }

    @Test
    void cachesOnOnePoolKeepTheirOwnMagazines() {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        PoolCache one = PoolCache.builder(pool).magazineSize(4).build();
        PoolCache two = PoolCache.builder(pool).magazineSize(4).build();
        long a = one.tryGet();
        one.put(a);
        long b = two.tryGet();
        assertNotEquals(a, b, "the second cache cannot see the first one's magazines");
        two.put(b);
        long c = one.tryGet();
        assertEquals(a, c);
        two.put(c); // one ownership record for every layer: c is out, so the second cache may park it
        assertMessage(assertThrows(IllegalArgumentException.class, () -> one.put(c)), "parked in a cache");
        assertEquals(2, pool.stats().itemsInUse(), "b and c, parked in the second cache");
        one.checkInvariants();
        two.checkInvariants();
        two.close();
        one.close();
        assertEquals(0, pool.stats().itemsInUse());
    }

    @Test
    void missesFallToThePoolWithItsTimeoutsAndInterrupts() throws Exception {
        Arena arena = Plain.arena(BASE, 64);
        Pool pool = Pool.builder("one", PAGE).slabPages(1).hardLimit(1).build(arena);
        PoolCache cache = PoolCache.builder(pool).magazineSize(2).build();
        long only = cache.tryGet();
        assertEquals(0, cache.tryGet());
        assertEquals(0, cache.get(Duration.ofMillis(10)));
        assertThrows(NullPointerException.class, () -> cache.get(null));
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, cache::get);
        assertFalse(Thread.interrupted());
        assertEquals(4, cache.stats().misses(), "both tryGets, the timeout and the interrupted get went to the pool");
        cache.put(only);
        Thread.currentThread().interrupt();
        assertEquals(only, cache.get(), "a hit does not look at the interrupt, like Pool.get's fast path");
        assertTrue(Thread.interrupted());
        cache.put(only);
        cache.close();
        assertEquals(0, pool.waiters());
        assertEquals(0, arena.waiters());
        pool.checkInvariants();
    }

    @Test
    void closeDrainsAndRefusesFurtherUse() throws Exception {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        PoolCache cache = PoolCache.builder(pool).magazineSize(4).build();
        churn(cache, 10);
        assertTrue(pool.stats().itemsInUse() > 0);
        cache.close();
        assertTrue(cache.isClosed());
        assertEquals(0, pool.stats().itemsInUse());
        cache.close();
        assertMessage(assertThrows(IllegalStateException.class, cache::get), "closed");
        assertMessage(assertThrows(IllegalStateException.class, cache::tryGet), "closed");
        assertMessage(assertThrows(IllegalStateException.class, () -> cache.get(Duration.ZERO)), "closed");
        assertMessage(assertThrows(IllegalStateException.class, () -> cache.put(BASE)), "closed");
        assertMessage(assertThrows(IllegalStateException.class, cache::drain), "closed");
        CompletableFuture<Throwable> newcomer = CompletableFuture.supplyAsync(() -> {
            try {
                cache.tryGet();
                return null;
            } catch (Throwable e) {
                return e;
            }
        }, Background.THREADS);
        assertMessage((Exception) newcomer.get(5, TimeUnit.SECONDS), "closed");
        assertEquals(0, cache.stats().threads());
        cache.checkInvariants();
        pool.close();
        assertMessage(assertThrows(IllegalStateException.class, () -> PoolCache.builder(pool).build()), "closed");
    }

    @Test
    void closeRacingAnotherThreadsCallsLosesNothing() throws Exception {
        for (int round = 0; round < 20; round++) {
            Pool pool = smallPool(Plain.arena(BASE, 64));
            PoolCache cache = PoolCache.builder(pool).magazineSize(4).depotLimit(1).build();
            CountDownLatch running = new CountDownLatch(1);
            CompletableFuture<Long> busy = Background.start("busy", () -> {
                long held = 0;
                try {
                    for (long n = 0; ; n++) {
                        held = cache.get();
                        cache.put(held);
                        held = 0;
                        if (n == 100) {
                            running.countDown();
                        }
                    }
                } catch (IllegalStateException closed) {
                    return held; // refused after close: whatever it held is still its own
                }
            });
            assertTrue(running.await(10, TimeUnit.SECONDS));
            cache.close();
            long held = busy.get(10, TimeUnit.SECONDS);
            if (held != 0) {
                pool.put(held);
            }
            assertEquals(0, pool.stats().itemsInUse(), "round " + round + ": close took every parked item");
            pool.checkInvariants();
            pool.close();
        }
    }

    @Test
    void closeTakesALiveIdleThreadsMagazinesAndItsNextCallIsRefused() throws Exception {
        Pool pool = smallPool(Plain.arena(BASE, 64));
        PoolCache cache = PoolCache.builder(pool).magazineSize(4).build();
        CountDownLatch parked = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        CompletableFuture<Throwable> afterClose = new CompletableFuture<>();
        Thread live = new Thread(() -> {
            try {
                churn(cache, 6);
                parked.countDown();
                closed.await();
                cache.put(BASE);
                afterClose.complete(null);
            } catch (Throwable e) {
                afterClose.complete(e);
            }
        }, "live");
        live.start();
        assertTrue(parked.await(5, TimeUnit.SECONDS));
        cache.close();
        assertEquals(0, pool.stats().itemsInUse(), "close took the idle live thread's magazines");
        assertEquals(0, cache.stats().threads());
        closed.countDown();
        assertMessage((Exception) afterClose.get(5, TimeUnit.SECONDS), "closed");
        live.join();
        pool.checkInvariants();
        pool.close();
    }

}

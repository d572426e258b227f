package io.slab4j.cache;

import io.slab4j.pool.Pool;
import io.slab4j.testing.Background;
import io.slab4j.testing.Plain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The hot slot of {@link ThreadMagazines}: one item per thread that a put leaves and a get
 * takes with one CAS and no lease, which every reclaimer takes whatever the lease's state.
 * The test thread plays a reclaimer by holding its own lease TAKEN ({@code holdForCheck}).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PoolCacheHotSlotTest {
    private static final long BASE = 0x72_0000_0000L;

    private static Pool pool(int hardLimit) {
        return Pool.builder("hot", 256).slabPages(1).highWater(8).hardLimit(hardLimit).build(Plain.arena(BASE, 64));
    }

    private static PoolCache cache(Pool pool, boolean checks) {
        return PoolCache.builder(pool).magazineSize(4).depotLimit(2).checks(checks).build();
    }

    @ParameterizedTest(name = "checks {0}")
    @ValueSource(booleans = {true, false})
    void aPutThenGetGoesThroughTheHotSlotWhileAReclaimerHoldsTheLease(boolean checks) throws InterruptedException {
        Pool pool = pool(16);
        PoolCache cache = cache(pool, checks);
        PoolCache.Local local = cache.local();
        long a = local.get();
        ThreadMagazines mine = cache.holder();
        assertTrue(mine.holdForCheck(), "nobody else holds the lease");
        try {
            local.putExclusive(a); // the lease is TAKEN: a magazine put would bypass to the pool
            assertEquals(a, mine.peekHot(), "the put left the item in the hot slot");
            assertEquals(0, mine.loaded().count() + mine.previous().count());
            assertEquals(1, pool.stats().itemsInUse(), "parked, not returned");
            assertEquals(a, local.get(), "the get took the hot item, not a bypass to the pool");
            assertEquals(0, mine.peekHot());
            cache.put(a);
            assertEquals(a, cache.tryGet());
        } finally {
            mine.endCheck();
        }
        PoolCacheStats stats = cache.stats();
        assertEquals(0, stats.bypasses(), "no call found the lease taken");
        assertEquals(2, stats.hits());
        assertEquals(2, stats.puts());
        local.put(a);
        cache.checkInvariants();
        cache.close();
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
    }

    @ParameterizedTest(name = "checks {0}")
    @ValueSource(booleans = {true, false})
    void aSecondPutGoesToTheMagazineAndGetsTakeTheHotItemFirst(boolean checks) throws InterruptedException {
        Pool pool = pool(16);
        PoolCache cache = cache(pool, checks);
        long a = cache.get();
        long b = cache.get();
        cache.put(a);
        cache.put(b);
        ThreadMagazines mine = cache.holder();
        assertEquals(a, mine.peekHot());
        assertTrue(mine.holdForCheck());
        try {
            assertEquals(1, mine.loaded().count());
            assertEquals(b, mine.loaded().round(0));
        } finally {
            mine.endCheck();
        }
        assertEquals(2, cache.parked(), "the hot item counts as parked");
        cache.checkInvariants();
        assertEquals(a, mine.peekHot(), "the check put the hot item back");
        assertEquals(a, cache.get());
        assertEquals(b, cache.get());
        assertEquals(2, pool.stats().itemsInUse());
        pool.put(a);
        pool.put(b);
        cache.close();
        pool.checkInvariants();
    }

    @ParameterizedTest(name = "checks {0}")
    @ValueSource(booleans = {true, false})
    void drainTakesTheHotItemEvenWhenTheLeaseIsNotFree(boolean checks) throws InterruptedException {
        Pool pool = pool(16);
        PoolCache cache = cache(pool, checks);
        long a = cache.get();
        long b = cache.get();
        cache.put(a);
        cache.put(b);
        ThreadMagazines mine = cache.holder();
        assertTrue(mine.holdForCheck()); // as if the owner were inside a call
        try {
            cache.drain();
        } finally {
            mine.endCheck();
        }
        assertEquals(0, mine.peekHot(), "the hot item went back although the lease was taken");
        assertEquals(1, pool.stats().itemsInUse(), "the magazine's item stayed: its lease was taken");
        cache.drain();
        assertEquals(0, pool.stats().itemsInUse());
        cache.checkInvariants();
        cache.close();
        pool.checkInvariants();
    }

    @Test
    void aBlockedGetOnThePoolReachesAnIdleThreadsHotItem() throws Exception {
        Pool pool = pool(16);
        PoolCache cache = cache(pool, true);
        long[] rest = new long[15];
        for (int i = 0; i < rest.length; i++) {
            rest[i] = pool.get();
        }
        long only = cache.get();
        cache.put(only); // parked in this thread's hot slot; the pool has nothing left
        assertEquals(only, cache.holder().peekHot());
        CompletableFuture<Long> other = Background.start("getter", () -> pool.get(Duration.ofSeconds(10)));
        assertEquals(only, other.get(10, TimeUnit.SECONDS), "the pool's reclaim took the hot item for its waiter");
        assertEquals(0, cache.holder().peekHot());
        pool.put(only);
        for (long a : rest) {
            pool.put(a);
        }
        cache.close();
        pool.checkInvariants();
    }

    @ParameterizedTest(name = "checks {0}")
    @ValueSource(booleans = {true, false})
    void closeTakesTheHotItemAndSealsTheSlot(boolean checks) throws InterruptedException {
        Pool pool = pool(16);
        PoolCache cache = cache(pool, checks);
        PoolCache.Local local = cache.local();
        long a = local.get();
        long b = local.get();
        local.putExclusive(a);
        ThreadMagazines mine = cache.holder();
        cache.close();
        assertEquals(ThreadMagazines.SEALED, mine.peekHot());
        assertEquals(1, pool.stats().itemsInUse(), "only b, which this thread still holds");
        assertThrows(IllegalStateException.class, () -> local.putExclusive(b));
        assertEquals(0, mine.pollHot(), "a sealed slot gives nothing");
        assertTrue(!mine.offerHot(b), "and takes nothing");
        pool.put(b);
        pool.checkInvariants();
        pool.close();
    }

    @ParameterizedTest(name = "checks {0}")
    @ValueSource(booleans = {true, false})
    void anExitedThreadsHotItemIsSwept(boolean checks) throws Exception {
        Pool pool = pool(16);
        PoolCache cache = cache(pool, checks);
        Thread t = new Thread(() -> {
            try {
                cache.put(cache.get());
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, "exits");
        t.start();
        t.join();
        assertEquals(1, pool.stats().itemsInUse(), "parked in the exited thread's hot slot");
        cache.drain();
        assertEquals(0, pool.stats().itemsInUse());
        assertEquals(1, cache.stats().exitedThreads());
        assertEquals(0, cache.stats().threads());
        cache.checkInvariants();
        cache.close();
        pool.checkInvariants();
    }

    @Test
    void withChecksADoublePutOfTheHotItemIsRejectedAndNothingChanges() throws InterruptedException {
        Pool pool = pool(16);
        PoolCache cache = cache(pool, true);
        long a = cache.get();
        cache.put(a);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cache.put(a));
        assertTrue(e.getMessage().contains(Long.toHexString(a)), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> pool.put(a), "the hot item is parked for the pool too");
        assertEquals(1, cache.parked());
        cache.checkInvariants();
        assertEquals(a, cache.get());
        long next = cache.tryGet();
        assertNotEquals(a, next, "the item was parked once");
        cache.put(next);
        cache.put(a);
        cache.close();
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
    }

    @Test
    void withChecksOffACheckFindsTheHotItemAlsoInAMagazine() throws InterruptedException {
        Pool pool = pool(16);
        PoolCache cache = cache(pool, false);
        long a = cache.get();
        cache.put(a);
        cache.put(a); // checks off: the cache does not judge the put
        IllegalStateException e = assertThrows(IllegalStateException.class, cache::checkInvariants);
        assertTrue(e.getMessage().contains("parked twice"), e.getMessage());
        assertEquals(a, cache.holder().peekHot(), "the failed check put the hot item back");
        assertEquals(a, cache.get());
        assertEquals(a, cache.get());
        cache.checkInvariants();
        pool.put(a);
        cache.close();
        pool.checkInvariants();
    }
}

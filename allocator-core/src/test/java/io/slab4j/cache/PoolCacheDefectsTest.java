package io.slab4j.cache;

import io.slab4j.testing.Plain;
import io.slab4j.pool.Pool;
import io.slab4j.pool.PoolStats;

import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;
import io.slab4j.testing.Background;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Regression tests for the cache defects of issue 7 (each failed before its fix). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PoolCacheDefectsTest {
    static final long BASE = 0x71_0000_0000L;

    /** 256-byte items, 16 a one-page slab. */
    static Pool pool(Arena arena, int hardLimit) {
        return Pool.builder("p", 256).slabPages(1).highWater(8).hardLimit(hardLimit).build(arena);
    }

    // defect 1: items parked by an exited thread

    @Test
    void aGetDoesNotBlockWhileAnExitedThreadHoldsEveryItem() throws Exception {
        Pool pool = pool(Plain.arena(BASE, 64), 16);
        PoolCache cache = PoolCache.builder(pool).build();
        cache.put(cache.get()); // this thread registers with the cache
        cache.drain();
        Thread other = new Thread(() -> {
            long[] all = new long[16];
            for (int i = 0; i < 16; i++) {
                all[i] = cache.tryGet();
            }
            for (long a : all) {
                cache.put(a);
            }
        }, "exits");
        other.start();
        other.join();
        long got = cache.get(Duration.ofSeconds(5));
        assertNotEquals(0, got, "every item is parked by a thread that has exited");
        cache.put(got);
        cache.close();
        pool.checkInvariants();
    }

    // defect 2: items parked by a live idle thread

    @Test
    void itemsParkedByAnIdleThreadServeABlockedGetThroughTheCacheAndThePool() throws Exception {
        Pool pool = pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        CountDownLatch parked = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        CompletableFuture<Void> idle = Background.start("idle", () -> {
            long[] all = new long[64];
            for (int i = 0; i < 64; i++) {
                all[i] = cache.get();
            }
            for (long a : all) {
                cache.put(a);
            }
            parked.countDown();
            finish.await();
            return null;
        });
        parked.await();
        long viaCache = cache.get(Duration.ofSeconds(5));
        assertNotEquals(0, viaCache, "the idle thread's parked items must reach a get through the cache");
        long direct = pool.get(Duration.ofSeconds(5));
        assertNotEquals(0, direct, "and a get on the pool directly");
        cache.put(viaCache);
        pool.put(direct);
        cache.close();
        assertEquals(0, pool.stats().itemsInUse(), "close makes the idle thread's items reachable");
        finish.countDown();
        idle.get(10, TimeUnit.SECONDS);
        pool.checkInvariants();
        pool.close();
    }

    @Test
    void itemsParkedByAnIdleThreadServeAGetOnThePoolDirectly() throws Exception {
        Pool pool = pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        CountDownLatch parked = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        CompletableFuture<Void> idle = Background.start("idle", () -> {
            long[] all = new long[64];
            for (int i = 0; i < 64; i++) {
                all[i] = cache.get();
            }
            for (long a : all) {
                cache.put(a);
            }
            parked.countDown();
            finish.await();
            cache.put(cache.get()); // its magazines were taken: it carries on from empty ones
            return null;
        });
        parked.await();
        long direct = pool.get(Duration.ofSeconds(5));
        assertNotEquals(0, direct, "the idle thread's parked items must reach a get on the pool");
        pool.put(direct);
        finish.countDown();
        idle.get(10, TimeUnit.SECONDS);
        cache.close();
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
    }

    // defect 7 through the cache: timed calls try first

    @Test
    void zeroNegativeAndTinyTimeoutsThroughTheCacheTakeWhatIsThere() throws InterruptedException {
        Pool pool = pool(Plain.arena(BASE, 64), 16);
        PoolCache cache = PoolCache.builder(pool).build();
        for (Duration d : new Duration[] {Duration.ZERO, Duration.ofNanos(-1), Duration.ofSeconds(-5), Duration.ofNanos(1)}) {
            for (int round = 0; round < 50; round++) {
                long a = cache.get(d);
                assertNotEquals(0, a, "get(" + d + ") round " + round);
                cache.put(a);
            }
        }
        long[] all = new long[16];
        for (int i = 0; i < 16; i++) {
            all[i] = cache.tryGet();
        }
        assertEquals(0, cache.get(Duration.ZERO));
        assertEquals(0, cache.get(Duration.ofNanos(-1)));
        assertEquals(0, pool.stats().waits(), "no call waited");
        assertEquals(0, cache.get(Duration.ofNanos(1)));
        for (long a : all) {
            cache.put(a);
        }
        cache.close();
        pool.checkInvariants();
    }

    // the unchecked put for callers that guarantee a single return

    @Test
    void anExclusivePutStillRecordsTheItemParked() throws InterruptedException {
        Pool pool = pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        long x = cache.get();
        cache.putExclusive(x);
        assertThrows(IllegalArgumentException.class, () -> pool.put(x), "the record says parked");
        assertEquals(x, cache.get());
        pool.put(x);
        cache.close();
        pool.checkInvariants();
    }

    @Test
    void closeReturnsAnIdleLiveThreadsItems() throws Exception {
        Pool pool = pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        CountDownLatch parked = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        CompletableFuture<Void> idle = Background.start("idle", () -> {
            long a = cache.get();
            cache.put(a);
            parked.countDown();
            finish.await();
            return null;
        });
        parked.await();
        IllegalStateException e = assertThrows(IllegalStateException.class, pool::close);
        assertTrue(e.getMessage().contains("1 items parked in caches"), e.getMessage());
        cache.close();
        assertEquals(0, pool.stats().itemsInUse());
        pool.close();
        finish.countDown();
        idle.get(10, TimeUnit.SECONDS);
    }

    // defect 3: mixed paths

    @Test
    void anItemPutToThePoolCannotAlsoBePutToTheCache() throws InterruptedException {
        Pool pool = pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        long x = cache.get();
        pool.put(x);
        assertThrows(IllegalArgumentException.class, () -> cache.put(x));
        pool.checkInvariants();
        cache.checkInvariants();
        assertNotEquals(pool.get(), cache.get());
    }

    @Test
    void anItemParkedInTheCacheCannotAlsoBePutToThePool() throws InterruptedException {
        Pool pool = pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        long y = cache.get();
        cache.put(y);
        assertThrows(IllegalArgumentException.class, () -> pool.put(y));
        pool.checkInvariants();
        cache.checkInvariants();
        assertNotEquals(pool.get(), cache.get());
    }

    // defect 4: stale cache record

    @Test
    void aCacheRejectsAnAddressWhoseSlabWentBackAndNowBelongsToAnotherPool() throws InterruptedException {
        Arena arena = Plain.arena(BASE, 1);
        Pool p = Pool.builder("P", 256).slabPages(1).highWater(0).build(arena);
        Pool q = Pool.builder("Q", 256).slabPages(1).build(arena);
        PoolCache cacheP = PoolCache.builder(p).build();
        long x = cacheP.get();
        p.put(x);
        assertEquals(0, p.stats().slabs(), "P's slab went back to the arena");
        long y = q.get();
        assertEquals(x, y, "Q's item lands on the same address");
        assertThrows(IllegalArgumentException.class, () -> p.put(y));
        assertThrows(IllegalArgumentException.class, () -> cacheP.put(y));
        q.checkInvariants();
        p.checkInvariants();
        q.put(y);
    }
}

package io.slab4j.cache;

import static io.slab4j.testing.Messages.assertMessage;
import io.slab4j.testing.Plain;
import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;
import io.slab4j.pool.Pool;
import io.slab4j.testing.Background;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link PoolCache.Local}: the thread-bound handle (issue 8). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PoolCacheLocalTest {
    static final long PAGE = 4096;
    static final long BASE = 0x72_0000_0000L;

    @Test
    void aLocalSharesTheThreadsMagazinesWithTheCachesOwnCalls() throws InterruptedException {
        Pool pool = PoolCacheDefectsTest.pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        PoolCache.Local local = cache.local();
        assertSame(cache, local.cache());
        assertSame(Thread.currentThread(), local.owner());
        long a = local.get();
        local.put(a);
        assertEquals(a, cache.get(), "the cache's own call pops what the handle parked");
        cache.put(a);
        assertEquals(a, local.tryGet());
        local.putExclusive(a);
        assertEquals(a, local.get(Duration.ZERO));
        local.put(a);
        assertEquals(1, cache.parked());
        assertEquals(1, pool.stats().itemsInUse(), "parked items stay in use for the pool");
        PoolCacheStats stats = cache.stats();
        assertEquals(3, stats.hits(), stats.toString());
        assertEquals(1, stats.misses(), stats.toString());
        assertEquals(4, stats.puts(), stats.toString());
        cache.checkInvariants();
        cache.close();
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
        pool.close();
    }

    @Test
    void aLocalJudgesPutsByTheSameOwnershipRecord() throws InterruptedException {
        Pool pool = PoolCacheDefectsTest.pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        PoolCache.Local local = cache.local();
        long x = local.get();
        local.put(x);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> local.put(x)), "is already parked");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> pool.put(x)), "is already parked");
        long y = local.get();
        assertEquals(x, y);
        pool.put(y);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> local.put(y)), "is already free");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> local.put(y + 8)), "not the start of an item");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> local.put(BASE - PAGE)), "not an item of pool 'p'");
        assertEquals(0, cache.parked(), "rejected puts park nothing");
        cache.checkInvariants();
        cache.close();
        pool.checkInvariants();
    }

    @Test
    void anotherThreadIsRefusedNamingBothThreadsAndNothingChanges() throws Exception {
        Pool pool = PoolCacheDefectsTest.pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        PoolCache.Local local = cache.local();
        long held = local.get();
        long parked = local.get();
        local.put(parked);
        String owner = Thread.currentThread().getName();
        Executable[] calls = {local::get, () -> local.get(Duration.ofSeconds(1)), local::tryGet, () -> local.put(held),
                () -> local.putExclusive(held)};
        for (Executable call : calls) {
            IllegalStateException e = Background.start("intruder", () -> assertThrows(IllegalStateException.class, call))
                    .get(10, TimeUnit.SECONDS);
            assertMessage(e, "belongs to thread '" + owner + "'");
            assertMessage(e, "called from thread 'intruder'");
        }
        assertEquals(1, cache.parked(), "the refused calls changed nothing");
        assertEquals(2, pool.stats().itemsInUse());
        PoolCacheStats stats = cache.stats();
        assertEquals(1, stats.puts(), stats.toString());
        assertEquals(0, stats.hits(), stats.toString());
        assertEquals(parked, local.get(), "the owner still has its magazines");
        local.put(parked);
        local.put(held);
        cache.checkInvariants();
        cache.close();
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
    }

    @Test
    void itemsParkedThroughAnIdleOwnersLocalServeBlockedGets() throws Exception {
        Pool pool = PoolCacheDefectsTest.pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        CountDownLatch parked = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        CompletableFuture<Long> idle = Background.start("idle", () -> {
            PoolCache.Local local = cache.local();
            long[] all = new long[64];
            for (int i = 0; i < 64; i++) {
                all[i] = local.get();
            }
            for (long a : all) {
                local.put(a);
            }
            parked.countDown();
            finish.await();
            long a = local.get(); // its magazines were taken meanwhile: it carries on from empty ones
            local.put(a);
            return a;
        });
        parked.await();
        assertEquals(64, pool.stats().itemsInUse());
        long viaCache = cache.get(Duration.ofSeconds(5));
        assertNotEquals(0, viaCache, "the idle owner's parked items must reach a get through the cache");
        long direct = pool.get(Duration.ofSeconds(5));
        assertNotEquals(0, direct, "and a get on the pool directly");
        cache.put(viaCache);
        pool.put(direct);
        finish.countDown();
        assertNotEquals(0, idle.get(10, TimeUnit.SECONDS));
        cache.checkInvariants();
        cache.close();
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
        pool.close();
    }

    @Test
    void closeWhileAnOwnerHoldsItsLocalReturnsItsItemsAndRefusesItsNextCall() throws Exception {
        Pool pool = PoolCacheDefectsTest.pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        CountDownLatch parked = new CountDownLatch(1);
        CountDownLatch closed = new CountDownLatch(1);
        CompletableFuture<IllegalStateException> owner = Background.start("owner", () -> {
            PoolCache.Local local = cache.local();
            long[] some = new long[10];
            for (int i = 0; i < some.length; i++) {
                some[i] = local.get();
            }
            for (long a : some) {
                local.put(a);
            }
            parked.countDown();
            closed.await();
            return assertThrows(IllegalStateException.class, local::tryGet);
        });
        parked.await();
        assertEquals(10, pool.stats().itemsInUse());
        cache.close();
        assertEquals(0, pool.stats().itemsInUse(), "close takes the idle owner's magazines");
        closed.countDown();
        assertMessage(owner.get(10, TimeUnit.SECONDS), "tryGet: cache of pool 'p' is closed");
        pool.checkInvariants();
        pool.close();
    }

    @Test
    void aClosedCacheGivesNoLocalAndRefusesAnOldOne() throws InterruptedException {
        Pool pool = PoolCacheDefectsTest.pool(Plain.arena(BASE, 64), 64);
        PoolCache cache = PoolCache.builder(pool).build();
        PoolCache.Local local = cache.local();
        long a = local.get();
        cache.close();
        assertMessage(assertThrows(IllegalStateException.class, cache::local), "local: cache of pool 'p' is closed");
        assertMessage(assertThrows(IllegalStateException.class, () -> local.put(a)), "put: cache of pool 'p' is closed");
        assertMessage(assertThrows(IllegalStateException.class, local::get), "get: cache of pool 'p' is closed");
        assertTrue(local.toString().contains("closed"), local.toString());
        pool.put(a);
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
    }

}

package io.slab4j.cache;

import io.slab4j.arena.Arena;
import io.slab4j.pool.Pool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round-6 adversarial review of PoolCache (the per-thread hot slot) through the public API. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PoolCacheRound6ReviewTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static Pool pool() {
        return Pool.builder("r6c-" + SEQ.incrementAndGet(), 64).hardLimit(4096)
                .build(Arena.builder(0x5000_0000L + (SEQ.get() % 64) * (1L << 24), 1 << 22).build());
    }

    @Test
    void aThreadParksAtMostTwiceTheMagazineSizePlusItsHotSlot() throws InterruptedException {
        // Builder.magazineSize: "Items a magazine holds, in [1, MAX_MAGAZINE_SIZE]; a thread parks at most twice
        // this"; MAX_MAGAZINE_SIZE: "Bounds a thread's parked items to 2 * 1024". With no depot, what the pool counts
        // in use after a thread put back everything it got is exactly what that thread parks.
        // Observed: with magazineSize(1) a thread parks 3 items (the hot slot, loaded and previous): three gets, three
        // puts, and the pool still counts 3 in use and parked() says 3 -- twice the magazine size plus the hot slot,
        // so the documented bound (and the 2 * 1024 one at the maximum size) no longer holds since the hot slot was
        // added. Seen failing with mvn -o -pl allocator-core -am verify -Dtest=io.slab4j.cache.PoolCacheRound6ReviewTest.
        // Guess: PoolCache's put step 3 (hot slot) comes on top of the two magazines; either the bound in the docs
        // or the magazines' capacity must account for it.
        // Resolved in the docs: the bound is now twice the magazine size plus the hot slot (2 * 1024 + 1 at the
        // maximum), which this test holds the cache to with one item more than the bound.
        for (int m : new int[] {1, 4}) {
            Pool p = pool();
            PoolCache c = PoolCache.builder(p).magazineSize(m).depotLimit(0).build();
            int n = 2 * m + 2;
            long[] items = new long[n];
            for (int i = 0; i < n; i++) {
                items[i] = c.get();
            }
            for (long x : items) {
                c.put(x);
            }
            long parked = p.stats().itemsInUse();
            assertTrue(parked <= 2L * m + 1, "magazineSize " + m + ": the thread parks " + parked + " items (parked() "
                    + c.parked() + "), more than twice the magazine size plus the hot slot");
            c.close();
        }
    }

    @Test
    void itemsOfExitedThreadsReturnedByASweepAreCountedAsReclaimed() throws InterruptedException {
        // PoolCacheStats: reclaims "reclaim passes that returned idle parked items to the pool", reclaimedItems "items
        // those passes returned (idle or exited threads' magazines, the depot)"; exitedThreads "exited threads whose
        // holders a sweep retired". With no hits, no depot traffic and no overflow, every put parks an item, so
        // parked() == puts - reclaimedItems at a quiet moment.
        // Observed: five threads each park 1..5 items (15 puts) and exit one after another; when the next thread
        // registers, a sweep retires the exited holders (exitedThreads=4) and returns their 10 parked items to the
        // pool (parked() 5, the pool counts 5 in use), yet reclaims=0 and reclaimedItems=0: 10 items left the cache
        // uncounted. Seen failing with mvn -o -pl allocator-core -am verify -Dtest=io.slab4j.cache.PoolCacheRound6ReviewTest.
        // Guess: the registry's sweep of exited holders (PoolCache's holder registration / Depot) returns their
        // magazines and hot items without adding to the reclaim counters that drain and reclaimIdle keep.
        Pool p = pool();
        PoolCache c = PoolCache.builder(p).magazineSize(8).depotLimit(0).build();
        for (int i = 0; i < 5; i++) {
            int k = i;
            Thread t = new Thread(() -> {
                long[] xs = new long[k + 1];
                for (int j = 0; j < xs.length; j++) {
                    xs[j] = c.tryGet();
                }
                for (long x : xs) {
                    c.put(x);
                }
            });
            t.start();
            t.join();
        }
        PoolCacheStats s = c.stats();
        assertTrue(s.hits() == 0 && s.depotGets() == 0 && s.overflows() == 0 && s.waiterPuts() == 0 && s.bypasses() == 0, s.toString());
        assertEquals(p.stats().itemsInUse(), c.parked(), s.toString());
        assertEquals(s.puts() - s.reclaimedItems(), c.parked(), "parked items unaccounted for: " + s);
        c.close();
    }
}

package io.slab4j.pool;

import io.slab4j.arena.Arena;
import io.slab4j.testing.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * "Poll once": the pool lock acquisitions of a get that waits and is served by a put. The
 * get polls its sources once (one acquisition for the item and the grow together), then
 * registers on puts and on grows together (one registration, one acquisition), and the put,
 * the withdrawal of the grow and the release of the get's reservation (with its wait
 * statistics) each take the lock once; the served put registration is not withdrawn again.
 * The same get once took it 10 times and its put once (two polls of two sources each, a
 * separate acquisition for the wait statistics and for withdrawing the served registration),
 * then 5 times (a registration per source).
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PoolLockTrafficTest {
    private static final long PAGE = 4096;

    @Test
    void aGetServedByAPutTakesThePoolLockFiveTimesInAll() throws Exception {
        Arena arena = Arena.builder(0x7e_0000_0000L, 8 * PAGE).quantum(PAGE).build();
        Pool pool = Pool.builder("locks", PAGE).slabPages(1).hardLimit(1).build(arena);
        long only = pool.tryGet();
        long[] got = new long[1];
        long before = pool.lockAcquisitions(); // counts itself; no other thread uses the pool now
        Thread getter = new Thread(() -> {
            try {
                got[0] = pool.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "getter");
        getter.start();
        Await.until("the get to wait (lock-free reads only)", pool::hasWaiters);
        Await.parked(getter);
        pool.put(only);
        getter.join();
        long after = pool.lockAcquisitions() - 1; // minus this query's own
        assertEquals(only, got[0]);
        System.out.println("PoolLockTrafficTest: a get served by a put took the pool lock " + (after - before) + " times");
        assertEquals(5, after - before, "get: poll 1, register on put and grow 1, withdraw grow 1, release 1; put 1");
        assertEquals(1, pool.stats().waits());
        pool.put(only);
        pool.checkInvariants();
    }
}

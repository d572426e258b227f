package io.slab4j.bench;

import io.slab4j.arena.Fit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.function.LongSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Runs every benchmark's setup, a few operations and its teardown checks, without JMH,
 * so {@code mvn verify} catches a broken benchmark (a state that no longer builds, an
 * operation that throws or leaks) in well under a second per benchmark.
 */
@Timeout(60)
class BenchSmokeTest {

    @ParameterizedTest
    @EnumSource(value = Fit.class, names = {"INSTANT", "BEST"})
    void arenaBenchChurnsAndKeepsItsLiveCount(Fit fit) {
        ArenaBench bench = new ArenaBench();
        ArenaBench.Churn s = new ArenaBench.Churn();
        s.fit = fit;
        s.live = 1024;
        s.setUp();
        assertEquals(1024, s.arena.stats().spans());
        for (int i = 0; i < 10_000; i++) {
            assertNotEquals(0, bench.churn(s));
            assertNotEquals(0, bench.allocThenFree(s));
        }
        s.check(); // invariants, and the live count unchanged

        ArenaBench.Harness h = new ArenaBench.Harness();
        h.live = 1024;
        h.setUp();
        bench.harness(h);
    }

    @Test
    void eventBenchUncontendedSyncs() throws InterruptedException {
        EventBench bench = new EventBench();
        EventBench.Uncontended s = new EventBench.Uncontended();
        s.setUp();
        for (int i = 0; i < 1_000; i++) {
            assertEquals(42L, bench.syncAlways(s));
            assertNotNull(bench.syncChooseOfTwo(s));
            assertNotEquals(0, bench.syncArenaAllocEvent(s));
            assertNotEquals(0, bench.arenaTryAllocFree(s));
        }
        s.check(); // nothing leaked
    }

    @ParameterizedTest
    @EnumSource(Waker.Path.class)
    void eventBenchWakesAParkedEcho(Waker.Path path) throws InterruptedException {
        EventBench bench = new EventBench();
        EventBench.WakeUp s = new EventBench.WakeUp();
        s.path = path;
        s.asleepMicros = 100; // exercises the "stay parked" wait too
        wakeTheEchoRepeatedly(s, () -> bench.wakeUp(s));
    }

    /** The echo's lifecycle as JMH drives it: start, then each operation after its per-invocation setup, then stop. */
    private static void wakeTheEchoRepeatedly(EventBench.Echo s, LongSupplier operation) throws InterruptedException {
        s.start();
        try {
            for (int i = 0; i < 200; i++) {
                s.awaitParked();
                assertNotEquals(0, operation.getAsLong());
            }
        } finally {
            s.stop(); // stops the echo, checks pool and arena invariants
        }
    }

    @ParameterizedTest
    @EnumSource(value = Waker.Path.class, names = {"POOL_AT_LIMIT", "POOL_PUT_OR_GROW"})
    void eventBenchWakesAGetterBlockedOnItsPool(Waker.Path path) throws InterruptedException {
        EventBench bench = new EventBench();
        EventBench.WokenGet s = new EventBench.WokenGet();
        s.path = path;
        wakeTheEchoRepeatedly(s, () -> bench.wokenPoolGet(s));
    }

    @Test
    void poolBenchEveryContenderRuns() throws InterruptedException {
        PoolBench bench = new PoolBench();
        PoolBench.PoolState pool = new PoolBench.PoolState();
        pool.setUp();
        PoolBench.CacheState cache = new PoolBench.CacheState();
        cache.build();
        PoolBench.FloorState floor = new PoolBench.FloorState();
        PoolBench.LeasedFloorState leased = new PoolBench.LeasedFloorState();
        PoolBench.NettyAdaptive adaptive = new PoolBench.NettyAdaptive();
        adaptive.setUp();
        PoolBench.NettyPooled pooled = new PoolBench.NettyPooled();
        pooled.setUp();
        for (int i = 0; i < 1_000; i++) {
            assertNotEquals(0, bench.pool(pool));
            assertNotEquals(0, bench.poolCache(cache));
            assertNotEquals(0, bench.poolCacheChecked(cache)); // same op: the fork's property picks the mode
            assertNotEquals(0, bench.floor(floor));
            assertNotEquals(0, bench.floorOneLookup(floor));
            assertNotEquals(0, bench.floorLeased(leased));
            assertNotEquals(0, bench.nettyAdaptive(adaptive));
            assertNotEquals(0, bench.nettyPooled(pooled));
            assertEquals(PoolBench.ITEM, bench.byteBufferAllocateDirect().capacity());
            assertNotEquals(0, bench.unsafeMalloc());
        }
        pool.check(); // invariants; close() refuses if an item leaked
        cache.check();
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {64, 4096, 65536, 1048576})
    void bufferPoolBenchEveryContenderRuns(int size) throws InterruptedException {
        BufferPoolBench bench = new BufferPoolBench();
        bench.size = size;
        bench.setUp();
        for (int i = 0; i < 1_000; i++) {
            assertNotEquals(0, bench.slab4j());
            assertEquals(bench.slab4jByteBuffer() >= size, true);
            assertNotEquals(0, bench.nettyAdaptive());
            assertNotEquals(0, bench.nettyPooled());
            assertNotEquals(0, bench.unsafeMalloc());
        }
        assertEquals(size, bench.byteBufferAllocateDirect().capacity());
        bench.check(); // nothing left open, invariants, close
    }
}

package io.slab4j.pool;

import io.slab4j.testing.StressRun;
import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Conservation under stress: four threads get and put on three pools sharing one small
 * arena, with random timeouts and interrupts. An ownership map proves no item is held
 * twice; at the end every item is back, every queue is empty, and the invariants hold.
 * Bounded in time; the seed is printed.
 */
@Tag("stress")
class PoolStressTest {
    private static final int THREADS = 4;
    private static final long RUN_MILLIS = Long.getLong("slab4j.stress.millis", 2_000);

    @ParameterizedTest
    @EnumSource(value = WaitStrategy.class, names = {"NACK", "PENDING_GROW_COUNT", "LOW_WATER_PRIME"})
    void noItemIsHeldTwiceOrLost(WaitStrategy strategy) throws Exception {
        long seed = Long.getLong("slab4j.seed", 42);
        System.out.printf("PoolStressTest %s: seed %d, %d ms%n", strategy, seed, RUN_MILLIS);
        // the hard limits add up to 116 pages: scarce for the waiting strategies, enough to prime them all
        int pages = strategy == WaitStrategy.LOW_WATER_PRIME ? 120 : 96;
        Arena arena = Arena.builder(0x50_0000_0000L, pages * 4096L).quantum(4096).fit(Fit.INSTANT).build();
        Pool[] pools = {
                Pool.builder("small", 256).slabPages(1).hardLimit(64).waitStrategy(strategy).build(arena),
                Pool.builder("medium", 8192).slabPages(4).hardLimit(24).waitStrategy(strategy).build(arena),
                Pool.builder("large", 65536).slabPages(16).hardLimit(4).waitStrategy(strategy).build(arena),
        };
        ConcurrentHashMap<Long, Thread> owners = new ConcurrentHashMap<>();
        AtomicLong gets = new AtomicLong();
        AtomicLong timeouts = new AtomicLong();
        AtomicLong interrupts = new AtomicLong();
        StressRun.run("stress", THREADS, seed, RUN_MILLIS, (random, run) -> {
            List<long[]> held = new ArrayList<>(); // {pool index, address}
            try {
                while (run.running()) {
                    int p = random.nextInt(pools.length);
                    if (held.size() > 12 || (!held.isEmpty() && random.nextInt(100) < 45)) {
                        long[] item = held.remove(random.nextInt(held.size()));
                        if (owners.remove(item[1]) != Thread.currentThread()) {
                            throw new AssertionError("put of an item this thread does not own");
                        }
                        pools[(int) item[0]].put(item[1]);
                        continue;
                    }
                    long address;
                    try {
                        address = switch (random.nextInt(3)) {
                            case 0 -> pools[p].tryGet();
                            case 1 -> pools[p].get(Duration.ofMillis(random.nextInt(5)));
                            default -> pools[p].get(Duration.ofMillis(20 + random.nextInt(30)));
                        };
                    } catch (InterruptedException e) {
                        interrupts.incrementAndGet();
                        continue;
                    }
                    if (Thread.interrupted()) {
                        interrupts.incrementAndGet(); // the value won a race with the interrupt: keep it
                    }
                    if (address == 0) {
                        timeouts.incrementAndGet();
                        continue;
                    }
                    gets.incrementAndGet();
                    Thread previous = owners.putIfAbsent(address, Thread.currentThread());
                    if (previous != null) {
                        throw new AssertionError("item 0x" + Long.toHexString(address) + " handed to two owners");
                    }
                    held.add(new long[] {p, address});
                }
            } finally {
                Thread.interrupted();
                for (long[] item : held) {
                    owners.remove(item[1]);
                    pools[(int) item[0]].put(item[1]);
                }
            }
        });
        System.out.printf("PoolStressTest %s: %d gets, %d timeouts/failures, %d interrupts%n",
                strategy, gets.get(), timeouts.get(), interrupts.get());
        assertTrue(gets.get() > 1000, "the run should do real work");
        assertTrue(owners.isEmpty());
        for (Pool pool : pools) {
            pool.checkInvariants();
            PoolStats stats = pool.stats();
            assertEquals(0, stats.itemsInUse(), pool.name());
            assertEquals(0, stats.waiters(), pool.name());
            assertEquals(0, stats.pendingItems(), pool.name());
            assertEquals(stats.requests(), stats.releases(), pool.name() + ": every item handed out came back");
        }
        assertEquals(0, arena.waiters());
        arena.checkInvariants();
        for (Pool pool : pools) {
            pool.close();
        }
        assertEquals(0, arena.stats().allocated(), "closing the pools returns every slab");
    }
}

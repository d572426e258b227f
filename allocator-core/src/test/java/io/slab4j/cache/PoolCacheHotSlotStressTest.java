package io.slab4j.cache;

import io.slab4j.arena.Hex;
import io.slab4j.pool.Pool;
import io.slab4j.pool.PoolStats;
import io.slab4j.testing.Plain;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Conservation through the hot slots: owners cycle gets and puts (most of them hitting their
 * hot slot) while reclaimer threads drain and check in a loop, taking hot items whatever the
 * owners' leases; and rounds of owners cycling one item through their hot slot while the
 * cache closes under them. An ownership map proves no item is held twice; at the end every
 * item is back in the pool and the invariants hold. Bounded in time; the seed is printed.
 */
@Tag("stress")
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PoolCacheHotSlotStressTest {
    private static final long BASE = 0x73_0000_0000L;
    private static final long RUN_MILLIS = Long.getLong("slab4j.stress.millis", 1_500);

    @ParameterizedTest(name = "checks {0}")
    @ValueSource(booleans = {true, false})
    void ownersAndReclaimersNeverShareAnItemAndLoseNone(boolean checks) throws Exception {
        long seed = Long.getLong("slab4j.seed", 7);
        System.out.printf("PoolCacheHotSlotStressTest checks %s: seed %d, %d ms%n", checks, seed, RUN_MILLIS);
        Pool pool = Pool.builder("hot-stress", 256).slabPages(1).highWater(4).hardLimit(24).build(Plain.arena(BASE, 64));
        PoolCache cache = PoolCache.builder(pool).magazineSize(2).depotLimit(1).checks(checks).build();
        ConcurrentHashMap<Long, Thread> owners = new ConcurrentHashMap<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong gets = new AtomicLong();
        AtomicLong reclaims = new AtomicLong();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            SplittableRandom random = new SplittableRandom(seed + w);
            threads.add(new Thread(() -> {
                List<Long> held = new ArrayList<>();
                PoolCache.Local local = cache.local();
                try {
                    while (System.nanoTime() < deadline && failure.get() == null) {
                        if (held.size() > 2 || (!held.isEmpty() && random.nextBoolean())) {
                            long a = held.remove(held.size() - 1);
                            if (owners.remove(a) != Thread.currentThread()) {
                                throw new AssertionError("put of " + Hex.of(a) + ", not held by this thread");
                            }
                            switch (random.nextInt(4)) {
                                case 0 -> local.put(a);
                                case 1 -> cache.put(a);
                                case 2 -> pool.put(a);
                                default -> local.putExclusive(a);
                            }
                        } else {
                            long a = random.nextInt(4) == 0 ? local.get(Duration.ofMillis(1)) : local.tryGet();
                            if (a != 0) {
                                gets.incrementAndGet();
                                Thread other = owners.putIfAbsent(a, Thread.currentThread());
                                if (other != null) {
                                    throw new AssertionError("item " + Hex.of(a) + " handed to "
                                            + Thread.currentThread().getName() + " while " + other.getName() + " holds it");
                                }
                                held.add(a);
                            }
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    for (long a : held) {
                        owners.remove(a);
                        pool.put(a);
                    }
                }
            }, "owner-" + w));
        }
        for (int r = 0; r < 2; r++) {
            threads.add(new Thread(() -> {
                try {
                    while (System.nanoTime() < deadline && failure.get() == null) {
                        cache.drain();
                        cache.checkInvariants();
                        reclaims.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "reclaimer-" + r));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError("seed " + seed, failure.get());
        }
        PoolCacheStats stats = cache.stats();
        System.out.printf("  %d gets, %d reclaim passes; %s%n", gets.get(), reclaims.get(), stats);
        assertTrue(gets.get() > 1000, "the run should do real work");
        assertTrue(stats.hits() > 0);
        assertTrue(owners.isEmpty());
        cache.drain(); // the owners have exited: their hot slots and magazines come back
        cache.checkInvariants();
        pool.checkInvariants();
        PoolStats p = pool.stats();
        assertEquals(0, p.itemsInUse(), "every item came back once");
        assertEquals(p.requests(), p.releases());
        cache.close();
        pool.close();
    }

    @ParameterizedTest(name = "checks {0}")
    @ValueSource(booleans = {true, false})
    void aCloseRacingHotPutsLeavesNoItemBehind(boolean checks) throws Exception {
        long seed = Long.getLong("slab4j.seed", 11);
        SplittableRandom random = new SplittableRandom(seed);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);
        int rounds = 0;
        while (System.nanoTime() < deadline) {
            rounds++;
            Pool pool = Pool.builder("hot-close", 256).slabPages(1).hardLimit(16).build(Plain.arena(BASE, 16));
            PoolCache cache = PoolCache.builder(pool).magazineSize(2).depotLimit(1).checks(checks).build();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            List<Thread> owners = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                owners.add(new Thread(() -> {
                    long held = 0;
                    try {
                        PoolCache.Local local = cache.local();
                        while (true) {
                            held = local.tryGet();
                            long a = held;
                            if (a == 0) {
                                continue;
                            }
                            local.putExclusive(a); // mostly into the hot slot
                            held = 0; // taken: a put that throws did not take it
                        }
                    } catch (IllegalStateException closed) {
                        // the cache closed
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    } finally {
                        if (held != 0) {
                            pool.put(held);
                        }
                    }
                }, "closing-owner-" + w));
            }
            owners.forEach(Thread::start);
            long spin = System.nanoTime() + random.nextInt(200_000);
            while (System.nanoTime() < spin) {
                Thread.onSpinWait();
            }
            cache.close();
            for (Thread t : owners) {
                t.join();
            }
            if (failure.get() != null) {
                throw new AssertionError("round " + rounds, failure.get());
            }
            assertEquals(0, pool.stats().itemsInUse(), "round " + rounds + ": an item stayed parked in the closed cache");
            pool.checkInvariants();
            pool.close();
        }
        System.out.printf("PoolCacheHotSlotStressTest close race, checks %s: %d rounds%n", checks, rounds);
        assertTrue(rounds > 20, "the run should do real work");
    }
}

package io.slab4j.cache;

import io.slab4j.arena.Hex;
import io.slab4j.pool.Pool;
import io.slab4j.pool.PoolStats;
import io.slab4j.pool.WaitStrategy;

import io.slab4j.testing.Background;
import io.slab4j.testing.StressRun;
import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Conservation under stress through magazines: four threads get and put through caches over
 * three pools sharing one small arena, through each cache itself and through each thread's
 * {@link PoolCache.Local} handles, and a quarter of the time past them, straight on the
 * pools (one ownership record serves every path), with random timeouts, interrupts, drains
 * and concurrent invariant checks; now and then a short-lived helper thread that exits with
 * items parked in its magazines, and throughout an idle thread that parked items at the start
 * through its handles and never calls again (the reclaim must reach them). An ownership map proves no item is
 * held twice; at the end a drain brings every item back (the idle thread's and exited threads'
 * magazines included), every queue is empty, and the invariants hold. Bounded in time; the
 * seed is printed.
 */
@Tag("stress")
class PoolCacheStressTest {
    private static final int THREADS = 4;
    private static final long RUN_MILLIS = Long.getLong("slab4j.stress.millis", 2_000);

    /** Shared by the workers and their helpers. */
    private record World(Pool[] pools, PoolCache[] caches, ConcurrentHashMap<Long, Thread> owners,
                         AtomicLong gets, AtomicLong timeouts, AtomicLong interrupts, AtomicLong helpers) {
    }

    @ParameterizedTest(name = "checks {0}")
    @ValueSource(booleans = {true, false})
    void noItemIsHeldTwiceOrLost(boolean checks) throws Exception {
        long seed = Long.getLong("slab4j.seed", 42);
        System.out.printf("PoolCacheStressTest checks %s: seed %d, %d ms%n", checks, seed, RUN_MILLIS);
        // the hard limits add up to 116 pages of 96: scarce, and the magazines park some of it
        Arena arena = Arena.builder(0x70_0000_0000L, 96 * 4096L).quantum(4096).fit(Fit.INSTANT).build();
        Pool[] pools = {
                Pool.builder("small", 256).slabPages(1).hardLimit(64).build(arena),
                Pool.builder("medium", 8192).slabPages(4).hardLimit(24).build(arena),
                Pool.builder("large", 65536).slabPages(16).hardLimit(4).build(arena),
        };
        PoolCache[] caches = {
                PoolCache.builder(pools[0]).magazineSize(8).depotLimit(2).checks(checks).build(),
                PoolCache.builder(pools[1]).magazineSize(2).depotLimit(2).checks(checks).build(),
                PoolCache.builder(pools[2]).magazineSize(1).depotLimit(1).checks(checks).build(),
        };
        World world = new World(pools, caches, new ConcurrentHashMap<>(), new AtomicLong(), new AtomicLong(),
                new AtomicLong(), new AtomicLong());
        CountDownLatch idleParked = new CountDownLatch(1);
        CountDownLatch idleRelease = new CountDownLatch(1);
        CompletableFuture<Void> idler = Background.start("idler", () -> {
            PoolCache.Local[] locals = locals(caches);
            for (int p = 0; p < pools.length; p++) {
                List<long[]> held = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    long address = locals[p].tryGet();
                    if (address != 0 && world.owners.putIfAbsent(address, Thread.currentThread()) == null) {
                        held.add(new long[] {p, address});
                    }
                }
                for (long[] item : held) {
                    putOne(world, item, Via.LOCAL, locals);
                }
            }
            idleParked.countDown();
            idleRelease.await();
            return null;
        });
        idleParked.await();
        StressRun.run("cache-stress", THREADS, seed, RUN_MILLIS, (random, run) -> {
            List<long[]> held = new ArrayList<>(); // {pool index, address}
            PoolCache.Local[] locals = locals(caches);
            try {
                while (run.running()) {
                    int p = random.nextInt(pools.length);
                    int roll = random.nextInt(1000);
                    if (roll < 10) {
                        caches[p].drain();
                    } else if (roll < 15) {
                        caches[p].checkInvariants(); // with others running: only what is safe to read
                    } else if (roll < 20) {
                        runHelper(world, random.split(), run);
                    } else if (held.size() > 12 || (!held.isEmpty() && roll < 470)) {
                        Via via = switch (random.nextInt(8)) {
                            case 0, 1 -> Via.POOL;
                            case 2, 3, 4 -> Via.CACHE;
                            default -> Via.LOCAL;
                        };
                        putOne(world, held.remove(random.nextInt(held.size())), via, locals);
                    } else {
                        getOne(world, p, random, held, locals);
                    }
                }
            } finally {
                Thread.interrupted();
                for (long[] item : held) {
                    try {
                        putOne(world, item, Via.LOCAL, locals);
                    } catch (Throwable e) {
                        run.fail(e);
                    }
                }
            }
        });
        System.out.printf("PoolCacheStressTest checks %s: %d gets, %d timeouts/failures, %d interrupts, %d helper threads%n",
                checks, world.gets.get(), world.timeouts.get(), world.interrupts.get(), world.helpers.get());
        assertTrue(world.gets.get() > 1000, "the run should do real work");
        assertTrue(world.owners.isEmpty());

        for (PoolCache cache : caches) {
            cache.drain(); // workers and helpers have exited, the idler idles: all their magazines come back
            cache.checkInvariants();
            PoolCacheStats stats = cache.stats();
            System.out.println("  " + stats);
            assertEquals(1, stats.threads(), stats.pool() + ": every exited thread was swept; the idler remains");
            assertEquals(0, stats.fullMagazines(), stats.pool());
            assertTrue(stats.hits() > 0, stats.pool() + ": the magazines served gets");
        }
        assertTrue(world.helpers.get() == 0 || Arrays.stream(caches).anyMatch(c -> c.stats().exitedThreads() + c.stats().reclaimedItems() > 0));
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
        idleRelease.countDown();
        idler.get(10, TimeUnit.SECONDS);
        for (int i = 0; i < pools.length; i++) {
            caches[i].close();
            pools[i].close();
        }
        assertEquals(0, arena.stats().allocated(), "closing the pools returns every slab");
    }

    /** The calling thread's handle on each cache. */
    private static PoolCache.Local[] locals(PoolCache[] caches) {
        PoolCache.Local[] locals = new PoolCache.Local[caches.length];
        for (int i = 0; i < caches.length; i++) {
            locals[i] = caches[i].local();
        }
        return locals;
    }

    private static void getOne(World world, int p, SplittableRandom random, List<long[]> held, PoolCache.Local[] locals) {
        long address;
        try {
            address = switch (random.nextInt(11)) {
                case 8 -> locals[p].tryGet();
                case 9 -> locals[p].get(Duration.ofMillis(random.nextInt(5)));
                case 10 -> locals[p].get(Duration.ofMillis(20 + random.nextInt(30)));
                case 0, 1 -> world.caches[p].tryGet();
                case 2, 3 -> world.caches[p].get(Duration.ofMillis(random.nextInt(5)));
                case 4, 5 -> world.caches[p].get(Duration.ofMillis(20 + random.nextInt(30)));
                case 6 -> world.pools[p].tryGet();
                default -> world.pools[p].get(Duration.ofMillis(random.nextInt(30)));
            };
        } catch (InterruptedException e) {
            world.interrupts.incrementAndGet();
            return;
        }
        if (Thread.interrupted()) {
            world.interrupts.incrementAndGet(); // the value won a race with the interrupt: keep it
        }
        if (address == 0) {
            world.timeouts.incrementAndGet();
            return;
        }
        world.gets.incrementAndGet();
        Thread previous = world.owners.putIfAbsent(address, Thread.currentThread());
        if (previous != null) {
            throw new AssertionError("item " + Hex.of(address) + " of pool '" + world.pools[p].name()
                    + "' handed to " + Thread.currentThread().getName() + " while " + previous.getName() + " holds it");
        }
        held.add(new long[] {p, address});
    }

    /** The ways an item goes back. */
    private enum Via { POOL, CACHE, LOCAL }

    /** Puts an item back straight to its pool, through its cache, or through this thread's handle on it ({@code locals}). */
    private static void putOne(World world, long[] item, Via via, PoolCache.Local[] locals) {
        if (world.owners.remove(item[1]) != Thread.currentThread()) {
            throw new AssertionError("put of an item this thread does not own");
        }
        int p = (int) item[0];
        switch (via) {
            case POOL -> world.pools[p].put(item[1]);
            case CACHE -> world.caches[p].put(item[1]);
            case LOCAL -> locals[p].put(item[1]);
        }
    }

    /**
     * A thread that gets a few items through the caches, puts them back (so they end parked in
     * its magazines) and exits; the worker waits for it, through interrupts.
     */
    private static void runHelper(World world, SplittableRandom random, StressRun run) {
        Thread helper = new Thread(() -> {
            List<long[]> held = new ArrayList<>();
            try {
                int n = 1 + random.nextInt(6);
                for (int i = 0; i < n; i++) {
                    int p = random.nextInt(world.pools.length);
                    long address = world.caches[p].tryGet();
                    if (address != 0) {
                        world.gets.incrementAndGet();
                        if (world.owners.putIfAbsent(address, Thread.currentThread()) != null) {
                            throw new AssertionError("item " + Hex.of(address) + " handed to a helper while held");
                        }
                        held.add(new long[] {p, address});
                    }
                }
            } catch (Throwable e) {
                run.fail(e);
            } finally {
                for (long[] item : held) {
                    try {
                        putOne(world, item, Via.CACHE, null);
                    } catch (Throwable e) {
                        run.fail(e);
                    }
                }
            }
        }, Thread.currentThread().getName() + "-helper");
        world.helpers.incrementAndGet();
        helper.start();
        boolean interrupted = false;
        while (true) {
            try {
                helper.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            world.interrupts.incrementAndGet();
        }
    }
}

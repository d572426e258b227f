package io.slab4j.bench.tool.scarcity;

import io.slab4j.bench.tool.Percentiles;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.pool.PoolStats;
import io.slab4j.pool.WaitStrategy;
import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongConsumer;

/**
 * One strategy's run of the scarcity scenario:
 * <ol>
 *   <li>build the {@link Scene} (pool grown as far as contiguous space allows, the rest fragmented);
 *   <li>start the getters (the first ones holding the set-up's items) and the fragmenters together;
 *   <li>every {@link #PERIOD_NANOS} the monitor (this thread) samples and runs the {@link Watchdog},
 *       until the configured duration is over;
 *   <li>stop: set the flag and interrupt the getters (a get still waiting ends with
 *       {@code InterruptedException}, taking nothing), join them (each puts back what it
 *       holds), then the fragmenters (each frees its spans);
 *   <li>account: items the pool still counts in use or pending are lost; check both
 *       structures' invariants; close the pool; bytes still allocated in the arena leaked.
 * </ol>
 * A worker that throws, a thread that does not stop within {@link #JOIN_SECONDS}, or a
 * broken invariant fails the run with an {@link IllegalStateException} naming it.
 *
 * <p>Runs on the caller's thread; not reentrant (one run per instance).
 */
final class ScarcityRun {
    static final long PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    static final long JOIN_SECONDS = 30;

    private final ScarcityConfig config;
    private final WaitStrategy strategy;

    ScarcityRun(ScarcityConfig config, WaitStrategy strategy) {
        this.config = config;
        this.strategy = strategy;
    }

    /** Runs the strategy; {@code elapsed} hears the milliseconds run so far (for progress). */
    ScarcityResult run(LongConsumer elapsed) throws InterruptedException {
        SplittableRandom random = new SplittableRandom(config.seed() ^ strategy.ordinal() * 0x9E3779B97F4A7C15L);
        try (Scene scene = Scene.build(config, strategy, random.split())) {
            PoolStats before = scene.pool.stats();
            CountDownLatch start = new CountDownLatch(1);
            RunFlag stop = new RunFlag();
            AtomicLong puts = new AtomicLong();
            List<Getter> getters = new ArrayList<>();
            for (int i = 0; i < config.getters(); i++) {
                long item = i < scene.initialItems.length ? scene.initialItems[i] : 0;
                getters.add(new Getter(scene.pool, puts, start, stop, random.split(), config, item));
            }
            for (int i = config.getters(); i < scene.initialItems.length; i++) {
                scene.pool.put(scene.initialItems[i]); // more reachable items than getters: idle in the pool
            }
            long page = VirtualRegion.pageSize();
            long target = config.fragmentedSlabs() * scene.slabBytes / (2L * Math.max(1, config.fragmenters()));
            List<Fragmenter> fragmenters = new ArrayList<>();
            for (int i = 0; i < config.fragmenters(); i++) {
                List<long[]> mine = new ArrayList<>();
                for (int s = i; s < scene.survivors.size(); s += config.fragmenters()) {
                    mine.add(scene.survivors.get(s));
                }
                fragmenters.add(new Fragmenter(scene.arena, start, stop, random.split(), config, page, target, mine));
            }
            if (config.fragmenters() == 0) {
                for (long[] s : scene.survivors) {
                    scene.arena.free(s[0], s[1]);
                }
            }
            Workers workers = startAll(getters, fragmenters);
            Sampler sampler = new Sampler(scene.arena, scene.pool, scene.slabBytes, scene.itemsPerSlab);
            Watchdog watchdog = new Watchdog(getters, puts, TimeUnit.MILLISECONDS.toNanos(config.hangAfterMs()));

            long t0 = System.nanoTime();
            start.countDown();
            long end = t0 + TimeUnit.MILLISECONDS.toNanos(config.durationMs());
            long now;
            while ((now = System.nanoTime()) < end) {
                sampler.sample((now - t0) / 1_000_000);
                watchdog.check(now);
                elapsed.accept((now - t0) / 1_000_000);
                LockSupport.parkNanos(Math.min(PERIOD_NANOS, end - now)); // the sampling period
            }
            long runNanos = System.nanoTime() - t0;
            sampler.sample(runNanos / 1_000_000);
            int waitingAtEnd = 0;
            for (Getter g : getters) {
                waitingAtEnd += g.waiting() ? 1 : 0;
            }
            stop.set();
            stopAll(workers.getters(), "getter");
            stopAll(workers.fragmenters(), "fragmenter");
            failIfAnyFailed(getters, fragmenters);

            PoolStats after = scene.pool.stats();
            long lost = after.itemsInUse() + after.pendingItems();
            scene.pool.checkInvariants();
            scene.arena.checkInvariants();
            if (lost == 0) {
                scene.pool.close();
            }
            // with items lost the pool cannot close: its slabs are counted as lost items, not as leaked bytes
            long leaked = scene.arena.stats().allocated() - (lost == 0 ? 0 : after.slabs() * scene.slabBytes);
            return result(getters, fragmenters, sampler, before, after, runNanos, waitingAtEnd, lost, leaked);
        }
    }

    /** The started threads, by role. */
    private record Workers(List<Thread> getters, List<Thread> fragmenters) {
    }

    private Workers startAll(List<Getter> getters, List<Fragmenter> fragmenters) {
        List<Thread> gts = new ArrayList<>();
        for (int i = 0; i < getters.size(); i++) {
            Thread t = new Thread(getters.get(i), "scarcity-" + strategy + "-getter-" + i);
            t.setDaemon(true);
            getters.get(i).thread = t;
            gts.add(t);
        }
        List<Thread> fts = new ArrayList<>();
        for (int i = 0; i < fragmenters.size(); i++) {
            Thread t = new Thread(fragmenters.get(i), "scarcity-" + strategy + "-fragmenter-" + i);
            t.setDaemon(true);
            fts.add(t);
        }
        gts.forEach(Thread::start);
        fts.forEach(Thread::start);
        return new Workers(gts, fts);
    }

    private static void stopAll(List<Thread> threads, String role) throws InterruptedException {
        for (Thread t : threads) {
            t.interrupt();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(JOIN_SECONDS);
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            if (t.isAlive()) {
                throw new IllegalStateException("the " + role + " thread " + t.getName() + " did not stop within "
                        + JOIN_SECONDS + " s of the interrupt; it is at " + stackTop(t));
            }
        }
    }

    private static String stackTop(Thread t) {
        StackTraceElement[] stack = t.getStackTrace();
        return stack.length == 0 ? "(no stack)" : stack[0].toString();
    }

    private void failIfAnyFailed(List<Getter> getters, List<Fragmenter> fragmenters) {
        for (Getter g : getters) {
            if (g.failure != null) {
                throw new IllegalStateException(strategy + ": a getter failed: " + g.failure, g.failure);
            }
        }
        for (Fragmenter f : fragmenters) {
            if (f.failure != null) {
                throw new IllegalStateException(strategy + ": a fragmenter failed: " + f.failure, f.failure);
            }
        }
    }

    private ScarcityResult result(List<Getter> getters, List<Fragmenter> fragmenters, Sampler sampler, PoolStats before,
                                  PoolStats after, long runNanos, int waitingAtEnd, long lost, long leaked) {
        Histogram waits = new Histogram(3);
        long completed = 0;
        long hung = 0;
        int hungThreads = 0;
        for (Getter g : getters) {
            waits.add(g.waits);
            completed += g.completed;
            long h = g.hungWaits();
            hung += h;
            hungThreads += h > 0 ? 1 : 0;
        }
        long attempts = 0;
        long refused = 0;
        for (Fragmenter f : fragmenters) {
            attempts += f.attempts;
            refused += f.refused;
        }
        return new ScarcityResult(strategy, completed, completed / (runNanos / 1e9), hung, hungThreads, waitingAtEnd,
                lost, leaked, sampler.peakCommitted(), sampler.peakPoolCommitted(), sampler.meanWasted(),
                sampler.peakWasted(), after.grows() - before.grows(), after.shrinks() - before.shrinks(), attempts,
                refused, Percentiles.of(waits), sampler.samples(), null);
    }
}

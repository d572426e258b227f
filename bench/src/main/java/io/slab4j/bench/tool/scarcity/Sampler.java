package io.slab4j.bench.tool.scarcity;

import io.slab4j.arena.Arena;
import io.slab4j.arena.ArenaStats;
import io.slab4j.pool.Pool;
import io.slab4j.pool.PoolStats;

import java.util.ArrayList;
import java.util.List;

/**
 * Samples the arena and the pool at the monitor's period: committed bytes (the arena's,
 * and the pool's slabs), wasted bytes (committed pool items nobody holds) and waiters, for
 * the time series and the peaks and means of the table.
 *
 * <p>Called from the run's monitor thread only; {@code stats()} snapshots take each
 * structure's lock briefly.
 */
final class Sampler {
    private final Arena arena;
    private final Pool pool;
    private final long slabBytes;
    private final int itemsPerSlab;
    private final List<ScarcityResult.Sample> samples = new ArrayList<>();
    private long peakCommitted;
    private long peakPoolCommitted;
    private long peakWasted;
    private double wastedSum;

    Sampler(Arena arena, Pool pool, long slabBytes, int itemsPerSlab) {
        this.arena = arena;
        this.pool = pool;
        this.slabBytes = slabBytes;
        this.itemsPerSlab = itemsPerSlab;
    }

    void sample(long elapsedMillis) {
        ArenaStats a = arena.stats();
        PoolStats p = pool.stats();
        long poolCommitted = p.slabs() * slabBytes;
        long idleItems = (long) p.slabs() * itemsPerSlab - p.itemsInUse();
        long wasted = idleItems * (slabBytes / itemsPerSlab);
        peakCommitted = Math.max(peakCommitted, a.committed());
        peakPoolCommitted = Math.max(peakPoolCommitted, poolCommitted);
        peakWasted = Math.max(peakWasted, wasted);
        wastedSum += wasted;
        samples.add(new ScarcityResult.Sample(elapsedMillis, a.committed(), poolCommitted, wasted, p.itemsInUse(),
                a.waiters(), p.waiters()));
    }

    List<ScarcityResult.Sample> samples() {
        return List.copyOf(samples);
    }

    long peakCommitted() {
        return peakCommitted;
    }

    long peakPoolCommitted() {
        return peakPoolCommitted;
    }

    long peakWasted() {
        return peakWasted;
    }

    long meanWasted() {
        return samples.isEmpty() ? 0 : Math.round(wastedSum / samples.size());
    }
}

package io.slab4j.bench.tool.scarcity;

import io.slab4j.bench.tool.Percentiles;
import io.slab4j.pool.WaitStrategy;

import java.util.List;

/**
 * What one strategy's run measured (an element of the JSON {@code results.strategies}).
 * Bytes are bytes, times nanoseconds unless named otherwise.
 *
 * @param strategy         the wait strategy
 * @param completedGets    gets that returned an item
 * @param getsPerSecond    completed gets a second of the run
 * @param hungWaits        gets the watchdog declared hung (and interrupted)
 * @param hungThreads      getters with at least one hung get
 * @param waitingAtEnd     gets still waiting when the run stopped (interrupted then)
 * @param lostItems        items the pool counts in use or pending after every holder put its item back (0 is right)
 * @param leakedBytes      bytes still allocated in the arena after the pool closed and the fragmenters freed all (0 is right)
 * @param peakCommitted    peak bytes committed in the arena (pool slabs and small spans)
 * @param peakPoolCommitted peak bytes of the pool's slabs
 * @param meanWasted       mean bytes of pool items committed while nobody held them
 * @param peakWasted       peak of the same
 * @param slabGrows        slabs the pool took from the arena during the run
 * @param slabShrinks      slabs the pool gave back during the run (each one a decommit and, if re-grown, a commit)
 * @param smallAttempts    small allocations the fragmenters tried
 * @param smallRefused     of those, how many found no space (or a waiter queued ahead)
 * @param waitTime         durations of every get, fast or not
 * @param samples          the time series, one sample each monitor period
 * @param verdict          expected and measured behaviour
 */
public record ScarcityResult(WaitStrategy strategy, long completedGets, double getsPerSecond, long hungWaits,
                             int hungThreads, int waitingAtEnd, long lostItems, long leakedBytes, long peakCommitted,
                             long peakPoolCommitted, long meanWasted, long peakWasted, long slabGrows, long slabShrinks,
                             long smallAttempts, long smallRefused, Percentiles waitTime, List<Sample> samples,
                             Verdict verdict) {

    public ScarcityResult {
        samples = List.copyOf(samples);
    }

    ScarcityResult withVerdict(Verdict v) {
        return new ScarcityResult(strategy, completedGets, getsPerSecond, hungWaits, hungThreads, waitingAtEnd, lostItems,
                leakedBytes, peakCommitted, peakPoolCommitted, meanWasted, peakWasted, slabGrows, slabShrinks,
                smallAttempts, smallRefused, waitTime, samples, v);
    }

    /**
     * One monitor sample.
     *
     * @param timeMs         since the strategy's start
     * @param committed      arena bytes committed
     * @param poolCommitted  bytes of the pool's slabs
     * @param wasted         bytes of pool items committed but not held
     * @param itemsInUse     pool items held
     * @param arenaWaiters   requests queued in the arena
     * @param poolWaiters    registrations queued in the pool
     */
    public record Sample(long timeMs, long committed, long poolCommitted, long wasted, long itemsInUse,
                         int arenaWaiters, int poolWaiters) {
    }

    /**
     * What the seed's discussion expected of the strategy, what this run shows, and whether they agree.
     *
     * @param expected  e.g. "hangs"
     * @param measured  e.g. "hangs: 9 gets hung in 2 threads"
     * @param agrees    whether the measurement shows the expected behaviour
     */
    public record Verdict(String expected, String measured, boolean agrees) {
    }
}

package io.slab4j.bench.tool;

import org.HdrHistogram.Histogram;

/**
 * Percentiles of a duration histogram (HdrHistogram), in nanoseconds: a scenario's JSON
 * {@code waitTime} (scarcity) or {@code latency} (server), so the components are the JSON
 * names. All zero for an empty histogram. Immutable.
 */
public record Percentiles(long count, long p50, long p90, long p99, long p999, long max) {
    public static Percentiles of(Histogram h) {
        if (h.getTotalCount() == 0) {
            return new Percentiles(0, 0, 0, 0, 0, 0);
        }
        return new Percentiles(h.getTotalCount(), h.getValueAtPercentile(50), h.getValueAtPercentile(90),
                h.getValueAtPercentile(99), h.getValueAtPercentile(99.9), h.getMaxValue());
    }
}

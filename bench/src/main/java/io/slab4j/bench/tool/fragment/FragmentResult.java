package io.slab4j.bench.tool.fragment;

import io.slab4j.arena.Fit;

import java.util.List;

/**
 * What replaying the events over one fit measured (an element of the JSON
 * {@code results.fits}). Bytes are bytes; fragmentation is {@code 1 - largestFree / free}
 * (0 when nothing is free), between 0 and 1.
 *
 * @param fit                  the fit policy
 * @param allocations          allocation events
 * @param failures             of those, how many found no fit in the bounded arena (their frees are skipped)
 * @param peakLive             peak bytes in live blocks (rounded to the quantum)
 * @param peakCommitted        peak bytes of committed granules
 * @param finalLive            live bytes after the last event
 * @param finalCommitted       committed bytes after the last event
 * @param meanFragmentation    mean over the samples
 * @param maxFragmentation     max over the samples
 * @param finalFragmentation   after the last event
 * @param largeSuccessRate     share of large probes that would have succeeded
 * @param byOccupancy          large-probe success by arena occupancy (allocated / arena), in tenths
 * @param samples              the time series
 */
public record FragmentResult(Fit fit, long allocations, long failures, long peakLive, long peakCommitted,
                             long finalLive, long finalCommitted, double meanFragmentation, double maxFragmentation,
                             double finalFragmentation, double largeSuccessRate, List<OccupancyBucket> byOccupancy,
                             List<Sample> samples) {
    public FragmentResult {
        byOccupancy = List.copyOf(byOccupancy);
        samples = List.copyOf(samples);
    }

    /**
     * Probes of a large allocation taken while the occupancy was in [{@code from}, {@code to}).
     *
     * @param from       lower bound of occupancy
     * @param to         upper bound
     * @param probes     probes taken in this band
     * @param successes  probes for which a free segment of the large size existed
     */
    public record OccupancyBucket(double from, double to, long probes, long successes) {
    }

    /**
     * One point of the time series.
     *
     * @param event          events replayed so far
     * @param live           live bytes
     * @param committed      committed bytes (granule model)
     * @param free           free bytes in the arena
     * @param largestFree    the largest free segment
     * @param fragmentation  1 - largestFree / free
     */
    public record Sample(int event, long live, long committed, long free, long largestFree, double fragmentation) {
    }
}

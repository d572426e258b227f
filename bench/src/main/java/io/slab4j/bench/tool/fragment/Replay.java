package io.slab4j.bench.tool.fragment;

import io.slab4j.arena.Arena;
import io.slab4j.arena.ArenaStats;
import io.slab4j.arena.Fit;

import java.util.ArrayList;
import java.util.List;

/**
 * Replays a {@link Trace} over a bounded {@link Arena} with one fit policy and records
 * fragmentation, live and committed bytes over time, and whether a large allocation would
 * succeed at each occupancy. The arena is a plain range (no OS calls: the scenario measures
 * placement, not page faults); committed bytes come from {@link PageCommits}.
 *
 * <ul>
 *   <li>An allocation that finds no fit is counted as a failure; its block stays unplaced
 *       and its later free is skipped.
 *   <li>Every {@link #PROBE_EVERY} events a probe asks whether a free segment of the large
 *       size exists ({@code largestFree >= large}: exact for every fit, and it leaves the
 *       arena untouched, so the probes do not change what they measure).
 *   <li>{@code samples} points are taken, evenly spaced in events.
 * </ul>
 *
 * <p>Not thread-safe: one replay on one thread. After {@link #run} the final state stays
 * readable for the address-space map.
 */
final class Replay {
    static final long BASE = 1L << 40;
    static final int PROBE_EVERY = 64;
    static final int BUCKETS = 10;

    final Trace trace;
    final Fit fit;
    final long arenaBytes;
    final long quantum;
    final Arena arena;
    final PageCommits commits;
    /** Address of each placed block (0: not placed, or freed). */
    final long[] addresses;

    Replay(Trace trace, Fit fit, long arenaBytes, long quantum, long granule) {
        this.trace = trace;
        this.fit = fit;
        this.arenaBytes = arenaBytes;
        this.quantum = quantum;
        this.arena = Arena.builder(BASE, arenaBytes).quantum(quantum).fit(fit).build();
        this.commits = new PageCommits(BASE, arenaBytes, granule);
        this.addresses = new long[trace.allocations()];
    }

    /** Replays every event; {@code progress} hears the events done so far, now and then. */
    FragmentResult run(long largeBytes, int sampleCount, java.util.function.IntConsumer progress) {
        int n = trace.events();
        int sampleEvery = Math.max(1, n / Math.max(1, sampleCount));
        long[] probes = new long[BUCKETS];
        long[] successes = new long[BUCKETS];
        List<FragmentResult.Sample> samples = new ArrayList<>();
        long live = 0;
        long peakLive = 0;
        long peakCommitted = 0;
        long allocations = 0;
        long failures = 0;
        double fragSum = 0;
        double fragMax = 0;
        for (int i = 0; i < n; i++) {
            int e = trace.event(i);
            if (e >= 0) {
                long bytes = Trace.roundUp(trace.size(e), quantum);
                allocations++;
                long a = arena.tryAlloc(bytes);
                if (a == 0) {
                    failures++;
                } else {
                    addresses[e] = a;
                    commits.add(a, bytes);
                    live += bytes;
                    peakLive = Math.max(peakLive, live);
                    peakCommitted = Math.max(peakCommitted, commits.committedBytes());
                }
            } else {
                int block = ~e;
                long a = addresses[block];
                if (a != 0) {
                    long bytes = Trace.roundUp(trace.size(block), quantum);
                    arena.free(a, bytes);
                    commits.remove(a, bytes);
                    addresses[block] = 0;
                    live -= bytes;
                }
            }
            if (i % PROBE_EVERY == 0) {
                ArenaStats s = arena.stats();
                int bucket = (int) Math.min(BUCKETS - 1, s.allocated() * BUCKETS / arenaBytes);
                probes[bucket]++;
                successes[bucket] += s.largestFree() >= largeBytes ? 1 : 0;
            }
            if (i % sampleEvery == 0 || i == n - 1) {
                FragmentResult.Sample s = sample(i + 1, live);
                samples.add(s);
                fragSum += s.fragmentation();
                fragMax = Math.max(fragMax, s.fragmentation());
                progress.accept(i + 1);
            }
        }
        arena.checkInvariants();
        List<FragmentResult.OccupancyBucket> buckets = new ArrayList<>();
        long allProbes = 0;
        long allSuccesses = 0;
        for (int b = 0; b < BUCKETS; b++) {
            buckets.add(new FragmentResult.OccupancyBucket(b / (double) BUCKETS, (b + 1) / (double) BUCKETS,
                    probes[b], successes[b]));
            allProbes += probes[b];
            allSuccesses += successes[b];
        }
        FragmentResult.Sample last = samples.get(samples.size() - 1);
        return new FragmentResult(fit, allocations, failures, peakLive, peakCommitted, live, commits.committedBytes(),
                fragSum / samples.size(), fragMax, last.fragmentation(),
                allProbes == 0 ? 0 : allSuccesses / (double) allProbes, buckets, samples);
    }

    private FragmentResult.Sample sample(int event, long live) {
        ArenaStats s = arena.stats();
        double frag = s.free() == 0 ? 0 : 1 - s.largestFree() / (double) s.free();
        return new FragmentResult.Sample(event, live, commits.committedBytes(), s.free(), s.largestFree(), frag);
    }
}

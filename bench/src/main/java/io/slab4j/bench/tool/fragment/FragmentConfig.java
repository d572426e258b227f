package io.slab4j.bench.tool.fragment;

import io.slab4j.arena.Fit;

import java.util.List;

/**
 * The effective configuration of a {@code fragment} run (also its JSON {@code config}).
 *
 * @param source        "trace" or the synthetic distribution's name
 * @param trace         the trace's name (a file, or the built-in perl trace), or the synthetic description
 * @param fits          the fit policies, run one after the other over the same events
 * @param arenaBytes    the arena's size: the bound
 * @param quantum       the arena's quantum (sizes round up to it)
 * @param granule       the commit granule of the committed-bytes model
 * @param largeBytes    the size of the "large allocation" probe
 * @param events        events replayed
 * @param samples       time-series samples taken per fit
 * @param seed          seed of the synthetic generator (unused for a trace)
 */
public record FragmentConfig(String source, String trace, List<Fit> fits, long arenaBytes, long quantum, long granule,
                             long largeBytes, int events, int samples, long seed) {
    public FragmentConfig {
        fits = List.copyOf(fits);
    }
}

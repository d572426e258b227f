package io.slab4j.bench.tool.scarcity;

import io.slab4j.pool.WaitStrategy;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The effective configuration of a {@code scarcity} run (also its JSON {@code config}).
 * Durations are in milliseconds so the JSON is plain numbers.
 *
 * <p>The arena holds {@code limitSlabs + fragmentedSlabs} slabs of address space. Before a
 * strategy runs, the pool grows {@code limitSlabs - fragmentedSlabs} slabs (the items
 * DESIGN.md's fifteen stand for) and the fragmenters fill the rest with small spans, of
 * which long-lived ones stay so that no free run reaches a slab: the pool can reach its
 * limit only through a put or through space the pool itself gives back.
 *
 * @param strategies       the wait strategies, run one after the other
 * @param durationMs       how long each strategy runs
 * @param getters          threads that get an item, hold it, put it back
 * @param fragmenters      threads that allocate and free small spans in the same arena
 * @param hardLimit        the pool's hard limit, in items
 * @param itemSize         bytes an item
 * @param slabPages        pages in a slab (one contiguous grow)
 * @param fragmentedSlabs  slabs' worth of the limit that lie in fragmented space
 * @param hangAfterMs      the watchdog calls a get hung when it has waited this long while items were put back
 * @param holdMs           mean time a getter holds an item (exponential)
 * @param thinkMs          mean time between a put and the next get (exponential)
 * @param smallMaxPages    largest small span, in pages
 * @param longLivedPercent share of the fragmenters' churn spans that live long (up to half the run)
 * @param seed             seed of every random choice
 */
public record ScarcityConfig(List<WaitStrategy> strategies, long durationMs, int getters, int fragmenters,
                             int hardLimit, long itemSize, int slabPages, int fragmentedSlabs, long hangAfterMs,
                             double holdMs, double thinkMs, int smallMaxPages, int longLivedPercent, long seed) {

    public ScarcityConfig {
        strategies = List.copyOf(Objects.requireNonNull(strategies, "strategies"));
    }

    public Duration duration() {
        return Duration.ofMillis(durationMs);
    }
}

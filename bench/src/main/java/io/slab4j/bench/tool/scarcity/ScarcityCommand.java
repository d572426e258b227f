package io.slab4j.bench.tool.scarcity;

import io.slab4j.bench.tool.BenchTool;
import io.slab4j.bench.tool.Checks;
import io.slab4j.bench.tool.OutputOptions;
import io.slab4j.bench.tool.Percentiles;
import io.slab4j.bench.tool.Progress;
import io.slab4j.bench.tool.RunReport;
import io.slab4j.bench.tool.Table;
import io.slab4j.bench.tool.Units;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.pool.WaitStrategy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code slab4j-bench scarcity}: the DESIGN.md scenario at scale, once per wait strategy.
 * Parses and checks the options into a {@link ScarcityConfig}, runs each strategy
 * ({@link ScarcityRun}), judges them ({@link Verdicts}), prints the tables, and writes JSON
 * and charts when asked. Runs on the caller's thread.
 */
@Command(name = "scarcity", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "The DESIGN.md scenario at scale, once per pool wait strategy. Getter threads share an exec-like pool "
                        + "of large items (each a contiguous slab) under a hard limit; fragmenter threads fill the same "
                        + "bounded arena with small long- and short-lived spans, so that the last slabs of the limit "
                        + "never find a contiguous run. A get that finds the pool empty under its limit must then be "
                        + "served by a put, or wait.",
                "Per strategy: completed gets, hung gets (the watchdog's: waited longer than --hang-after while items "
                        + "were put back; it interrupts them so the run goes on, and a get is hung when that interrupt "
                        + "aborted it), items lost, peak committed and mean "
                        + "wasted bytes, get-duration percentiles, and a verdict against what each cure is expected to "
                        + "do: NAIVE hangs, LOW_WATER_PRIME wastes, PENDING_GROW_COUNT races, NACK completes with the "
                        + "least waste. The table prints what was measured, and says when it disagrees.",
                ""})
public final class ScarcityCommand implements Callable<Integer> {
    /** The most getter or fragmenter threads a run starts. */
    static final int MAX_THREADS = 1024;
    /** The largest {@code --limit}: the run keeps the items' addresses in arrays. */
    static final int MAX_ITEMS = 1 << 20;
    /** The largest arena the scenario reserves: 4 TiB, within the arena's quanta of a page and a 47-bit address space. */
    static final long MAX_ARENA_BYTES = 1L << 42;

    @Spec
    CommandSpec spec;

    @Mixin
    OutputOptions output;

    @Option(names = "--strategies", split = ",", paramLabel = "S",
            description = "Wait strategies to run, in order (${COMPLETION-CANDIDATES}). Default: all.")
    List<WaitStrategy> strategies = List.of(WaitStrategy.values());

    @Option(names = "--duration", paramLabel = "TIME", defaultValue = "5s", converter = Units.MillisConverter.class,
            description = "How long each strategy runs. Default: ${DEFAULT-VALUE}.")
    Duration duration;

    @Option(names = "--getters", paramLabel = "N", defaultValue = "14",
            description = "Threads that get, hold and put items. Default: ${DEFAULT-VALUE}.")
    int getters;

    @Option(names = "--fragmenters", paramLabel = "N", defaultValue = "2",
            description = "Threads that allocate and free small spans in the same arena (0 allowed). Default: ${DEFAULT-VALUE}.")
    int fragmenters;

    @Option(names = "--limit", paramLabel = "ITEMS", defaultValue = "16",
            description = "The pool's hard limit in items. Default: ${DEFAULT-VALUE}.")
    int limit;

    @Option(names = "--item-size", paramLabel = "SIZE", defaultValue = "256K", converter = Units.SizeConverter.class,
            description = "Bytes an item. Default: ${DEFAULT-VALUE}.")
    long itemSize;

    @Option(names = "--slab-pages", paramLabel = "N", defaultValue = "64",
            description = "Pages in a slab (one contiguous grow). Default: ${DEFAULT-VALUE}.")
    int slabPages;

    @Option(names = "--fragmented-slabs", paramLabel = "N", defaultValue = "4",
            description = "How many of the limit's slabs lie in fragmented space (the pool can grow the others "
                    + "contiguously). Default: ${DEFAULT-VALUE}.")
    int fragmentedSlabs;

    @Option(names = "--hang-after", paramLabel = "TIME", defaultValue = "500ms", converter = Units.MillisConverter.class,
            description = "A get is hung when it waited this long while at least as many items as there are getters "
                    + "were put back, and the watchdog's interrupt then aborted it. Default: ${DEFAULT-VALUE}.")
    Duration hangAfter;

    @Option(names = "--hold", paramLabel = "TIME", defaultValue = "2ms", converter = Units.DurationConverter.class,
            description = "Mean time a getter holds an item (exponential). Default: ${DEFAULT-VALUE}.")
    Duration hold;

    @Option(names = "--think", paramLabel = "TIME", defaultValue = "0.5ms", converter = Units.DurationConverter.class,
            description = "Mean time between a put and the getter's next get (exponential). Default: ${DEFAULT-VALUE}.")
    Duration think;

    @Option(names = "--small-max-pages", paramLabel = "N", defaultValue = "8",
            description = "Largest small span, in pages. Default: ${DEFAULT-VALUE}.")
    int smallMaxPages;

    @Option(names = "--long-lived-percent", paramLabel = "P", defaultValue = "10",
            description = "Share of the fragmenters' spans that live long (a tenth to a half of the run). "
                    + "Default: ${DEFAULT-VALUE}.")
    int longLivedPercent;

    @Override
    public Integer call() throws InterruptedException {
        ScarcityConfig config = config();
        RunReport report = RunReport.start("scarcity", spec, output);
        report.describe(describe(config));
        List<ScarcityResult> results = new ArrayList<>();
        long perStrategy = config.durationMs();
        long total = perStrategy * config.strategies().size();
        try (Progress progress = report.progress(total, "ms")) {
            for (int i = 0; i < config.strategies().size(); i++) {
                WaitStrategy s = config.strategies().get(i);
                long offset = i * perStrategy;
                progress.setExtra(s.name());
                results.add(new ScarcityRun(config, s).run(ms -> progress.stepTo(offset + ms)));
                progress.stepTo(offset + perStrategy);
            }
        }
        long itemBytes = (long) config.slabPages() * VirtualRegion.pageSize() / Scene.itemsPerSlab(config);
        List<ScarcityResult> judged = Verdicts.judge(results, itemBytes);
        print(report.out(), judged);
        report.writeFiles(config, new ScarcityResults(judged), files -> ScarcityCharts.write(files, judged));
        return BenchTool.OK;
    }

    /** The JSON {@code results} of a scarcity run. */
    public record ScarcityResults(List<ScarcityResult> strategies) {
    }

    ScarcityConfig config() {
        Checks.notEmpty(spec, "--strategies", strategies);
        Checks.distinct(spec, "--strategies", strategies, "a strategy");
        Checks.positive(spec, "--getters", getters);
        Checks.atMost(spec, "--getters", getters, MAX_THREADS, " threads");
        Checks.notNegative(spec, "--fragmenters", fragmenters);
        Checks.atMost(spec, "--fragmenters", fragmenters, MAX_THREADS, " threads");
        Checks.positive(spec, "--limit", limit);
        Checks.atMost(spec, "--limit", limit, MAX_ITEMS, " items (the run keeps every item's address in arrays)");
        Checks.positive(spec, "--slab-pages", slabPages);
        Checks.positive(spec, "--small-max-pages", smallMaxPages);
        Checks.notNegative(spec, "--fragmented-slabs", fragmentedSlabs);
        Checks.require(spec, longLivedPercent >= 0 && longLivedPercent <= 100,
                "invalid value for option '--long-lived-percent': " + longLivedPercent + " is not in [0, 100]");
        long slabBytes = (long) slabPages * VirtualRegion.pageSize();
        Checks.require(spec, itemSize <= slabBytes, "invalid value for option '--item-size': " + itemSize
                + " bytes do not fit a slab of " + slabPages + " pages (" + slabBytes + " bytes)");
        Checks.require(spec, smallMaxPages < slabPages, "invalid value for option '--small-max-pages': "
                + smallMaxPages + " is not below --slab-pages " + slabPages);
        ScarcityConfig c = new ScarcityConfig(strategies, duration.toMillis(), getters, fragmenters, limit, itemSize,
                slabPages, fragmentedSlabs, hangAfter.toMillis(), hold.toNanos() / 1e6, think.toNanos() / 1e6,
                smallMaxPages, longLivedPercent, output.seed);
        int perSlab = Scene.itemsPerSlab(c);
        Checks.require(spec, limit >= perSlab, "invalid value for option '--limit': " + limit
                + " is below one slab of " + perSlab + " items");
        int limitSlabs = limit / perSlab;
        Checks.require(spec, fragmentedSlabs < limitSlabs, "invalid value for option '--fragmented-slabs': "
                + fragmentedSlabs + " is not below the limit's " + limitSlabs + " slabs");
        long arenaBytes = (limitSlabs + (long) fragmentedSlabs) * slabBytes;
        Checks.require(spec, arenaBytes <= MAX_ARENA_BYTES, "invalid value for option '--limit': " + limit + " items in "
                + limitSlabs + " slabs of " + slabBytes + " bytes, with " + fragmentedSlabs + " fragmented slabs, need an arena of "
                + arenaBytes + " bytes, above the " + MAX_ARENA_BYTES + " the scenario reserves at most");
        Checks.require(spec, hangAfter.compareTo(duration) < 0, "invalid value for option '--hang-after': "
                + Units.duration(hangAfter) + " is not shorter than --duration " + Units.duration(duration));
        return c;
    }

    private static String describe(ScarcityConfig c) {
        int perSlab = Scene.itemsPerSlab(c);
        int limitSlabs = c.hardLimit() / perSlab;
        long slabBytes = (long) c.slabPages() * VirtualRegion.pageSize();
        return String.format(Locale.ROOT,
                "scarcity: pool 'exec' of %s items (%d a slab of %d pages), hard limit %d; arena %s (%d slabs, %d of them "
                        + "fragmented by long-lived small spans); %d getters (hold %.1f ms, think %.1f ms), %d fragmenters; "
                        + "%s per strategy; hung = waited > %s while >= %d items were put back; seed %d",
                Units.bytes(c.itemSize()), perSlab, c.slabPages(), c.hardLimit(),
                Units.bytes((limitSlabs + (long) c.fragmentedSlabs()) * slabBytes), limitSlabs + (long) c.fragmentedSlabs(),
                c.fragmentedSlabs(), c.getters(), c.holdMs(), c.thinkMs(), c.fragmenters(),
                Units.duration(c.duration()), Units.nanos(c.hangAfterMs() * 1_000_000), c.getters(), c.seed());
    }

    static void print(PrintWriter out, List<ScarcityResult> results) {
        Table t = new Table().column("strategy", false).column("gets", true).column("gets/s", true)
                .column("hung", true).column("lost", true).column("wait p50", true).column("p99", true)
                .column("p99.9", true).column("max", true).column("peak committed", true).column("mean wasted", true)
                .column("slab trips", true).column("small refused", true);
        for (ScarcityResult r : results) {
            Percentiles w = r.waitTime();
            t.row(r.strategy(), r.completedGets(), String.format(Locale.ROOT, "%.0f", r.getsPerSecond()),
                    r.hungWaits(), r.lostItems(), Units.nanos(w.p50()), Units.nanos(w.p99()), Units.nanos(w.p999()),
                    Units.nanos(w.max()), Units.bytes(r.peakCommitted()), Units.bytes(r.meanWasted()), r.slabShrinks(),
                    r.smallAttempts() == 0 ? "-" : String.format(Locale.ROOT, "%.0f%%", 100.0 * r.smallRefused() / r.smallAttempts()));
        }
        out.println();
        t.print(out);
        Table v = new Table().column("strategy", false).column("expected", false).column("measured", false)
                .column("agrees", false);
        for (ScarcityResult r : results) {
            v.row(r.strategy(), r.verdict().expected(), r.verdict().measured(), r.verdict().agrees() ? "yes" : "NO");
        }
        out.println();
        v.print(out);
    }
}

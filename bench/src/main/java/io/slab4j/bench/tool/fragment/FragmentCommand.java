package io.slab4j.bench.tool.fragment;

import io.slab4j.arena.Fit;
import io.slab4j.bench.tool.BenchTool;
import io.slab4j.bench.tool.Checks;
import io.slab4j.bench.tool.OutputOptions;
import io.slab4j.bench.tool.Progress;
import io.slab4j.bench.tool.RunReport;
import io.slab4j.bench.tool.Table;
import io.slab4j.bench.tool.Units;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code slab4j-bench fragment}: replays a recorded trace (the built-in perl trace by
 * default) or a synthetic churn over a bounded arena, once per fit policy ({@link Replay}),
 * prints the table, and writes JSON, charts and address-space maps when asked. Runs on the
 * caller's thread.
 */
@Command(name = "fragment", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Churn over a bounded arena, once per fit policy (INSTANT, BEST, NEXT), from a recorded allocation "
                        + "trace (the format of shared/traces/README.md; default: the perl-textproc trace built into "
                        + "the tool) or a synthetic size distribution (uniform, log-uniform, power-law).",
                "Measures external fragmentation over time (1 - largest free segment / free bytes), committed and "
                        + "live bytes (a granule is committed while a live block touches it), allocations that found "
                        + "no fit, and how often an allocation of --large bytes would succeed at each occupancy. "
                        + "--charts adds charts over time and an address-space map per fit (live, committed, free).",
                ""})
public final class FragmentCommand implements Callable<Integer> {
    /** The largest {@code --quantum} and {@code --granule}: 1 GiB, so that a block's rounding to either cannot overflow. */
    static final long MAX_GRANULE = 1L << 30;

    @Spec
    CommandSpec spec;

    @Mixin
    OutputOptions output;

    @Option(names = "--dist", paramLabel = "D", defaultValue = "trace",
            description = "Where the events come from: trace, uniform, log-uniform or power-law. Default: ${DEFAULT-VALUE}.")
    String dist;

    @Option(names = "--trace", paramLabel = "FILE",
            description = "A trace file (gzip or plain text). Default: the built-in " + TraceReader.DEFAULT_NAME + ".")
    Path trace;

    @Option(names = "--fits", split = ",", paramLabel = "FIT",
            description = "Fit policies to compare (${COMPLETION-CANDIDATES}). Default: all.")
    List<Fit> fits = List.of(Fit.values());

    @Option(names = "--arena", paramLabel = "SIZE", converter = Units.SizeConverter.class,
            description = "Arena size. Default: the events' peak live bytes times --headroom.")
    Long arena;

    @Option(names = "--headroom", paramLabel = "X", defaultValue = "1.25",
            description = "Arena size over peak live bytes, when --arena is not given. Default: ${DEFAULT-VALUE}.")
    double headroom;

    @Option(names = "--quantum", paramLabel = "SIZE", defaultValue = "16", converter = Units.SizeConverter.class,
            description = "Arena quantum, a power of two (sizes round up to it). Default: ${DEFAULT-VALUE}.")
    long quantum;

    @Option(names = "--granule", paramLabel = "SIZE", defaultValue = "4K", converter = Units.SizeConverter.class,
            description = "Commit granule of the committed-bytes model, a power of two. Default: ${DEFAULT-VALUE}.")
    long granule;

    @Option(names = "--large", paramLabel = "SIZE", defaultValue = "64K", converter = Units.SizeConverter.class,
            description = "Size of the large-allocation probe. Default: ${DEFAULT-VALUE}.")
    long large;

    @Option(names = "--samples", paramLabel = "N", defaultValue = "500",
            description = "Time-series samples per fit. Default: ${DEFAULT-VALUE}.")
    int samples;

    @Option(names = "--events", paramLabel = "N", defaultValue = "400000",
            description = "Synthetic: events to generate. Default: ${DEFAULT-VALUE}.")
    int events;

    @Option(names = "--live", paramLabel = "N", defaultValue = "20000",
            description = "Synthetic: blocks alive in the steady state. Default: ${DEFAULT-VALUE}.")
    int live;

    @Option(names = "--min-size", paramLabel = "SIZE", defaultValue = "16", converter = Units.SizeConverter.class,
            description = "Synthetic: smallest block. Default: ${DEFAULT-VALUE}.")
    long minSize;

    @Option(names = "--max-size", paramLabel = "SIZE", defaultValue = "64K", converter = Units.SizeConverter.class,
            description = "Synthetic: largest block. Default: ${DEFAULT-VALUE}.")
    long maxSize;

    @Option(names = "--alpha", paramLabel = "A", defaultValue = "1.5",
            description = "Synthetic power-law: the Pareto exponent. Default: ${DEFAULT-VALUE}.")
    double alpha;

    @Override
    public Integer call() {
        Trace events = events();
        FragmentConfig config = config(events);
        RunReport report = RunReport.start("fragment", spec, output);
        report.describe(describe(config, events));
        List<FragmentResult> results = new ArrayList<>();
        List<Replay> replays = new ArrayList<>();
        long total = (long) events.events() * config.fits().size();
        try (Progress progress = report.progress(total, "events")) {
            for (int i = 0; i < config.fits().size(); i++) {
                Fit fit = config.fits().get(i);
                long offset = (long) i * events.events();
                progress.setExtra(fit.name());
                Replay r = new Replay(events, fit, config.arenaBytes(), config.quantum(), config.granule());
                results.add(r.run(config.largeBytes(), config.samples(), done -> progress.stepTo(offset + done)));
                replays.add(r);
            }
        }
        print(report.out(), results, config);
        report.writeFiles(config, new FragmentResults(events.allocations(), events.frees(), results),
                files -> FragmentCharts.write(files, results, replays, events.name()));
        return BenchTool.OK;
    }

    /**
     * The JSON {@code results} of a fragment run.
     *
     * @param allocations allocation events in the trace
     * @param frees       free events in the trace
     * @param fits        one result per fit policy
     */
    public record FragmentResults(int allocations, int frees, List<FragmentResult> fits) {
    }

    private Distribution distribution() {
        return switch (dist.toLowerCase(Locale.ROOT)) {
            case "trace" -> null;
            case "uniform" -> Distribution.UNIFORM;
            case "log-uniform", "log_uniform", "loguniform" -> Distribution.LOG_UNIFORM;
            case "power-law", "power_law", "powerlaw" -> Distribution.POWER_LAW;
            default -> throw new ParameterException(spec.commandLine(), "invalid value for option '--dist': '" + dist
                    + "' is not one of trace, uniform, log-uniform, power-law");
        };
    }

    Trace events() {
        Distribution d = distribution();
        if (d != null) {
            Checks.require(spec, trace == null, "option '--trace' reads a recorded trace; it does not go with --dist " + dist);
            Checks.positive(spec, "--events", events);
            Checks.positive(spec, "--live", live);
            Checks.require(spec, live <= events, "invalid value for option '--live': " + live + " blocks alive is above --events "
                    + events + " (the steady state could never be reached)");
            Checks.require(spec, minSize <= maxSize, "invalid value for option '--min-size': " + minSize
                    + " is above --max-size " + maxSize);
            Checks.positive(spec, "--alpha", alpha);
            return d.generate(events, live, minSize, maxSize, alpha, output.seed);
        }
        try {
            if (trace == null) {
                return TraceReader.readDefault();
            }
            if (!Files.isRegularFile(trace)) {
                throw new ParameterException(spec.commandLine(), "invalid value for option '--trace': "
                        + (Files.exists(trace) ? "'" + trace + "' is not a regular file" : "file '" + trace + "' does not exist"));
            }
            return TraceReader.read(trace);
        } catch (TraceFormatException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        } catch (NoSuchFileException e) {
            throw new ParameterException(spec.commandLine(), "invalid value for option '--trace': file '" + trace
                    + "' does not exist");
        } catch (IOException e) {
            throw new ParameterException(spec.commandLine(), "cannot read trace " + (trace == null ? "(built in)" : trace)
                    + ": " + e);
        }
    }

    FragmentConfig config(Trace events) {
        Checks.notEmpty(spec, "--fits", fits);
        Checks.distinct(spec, "--fits", fits, "a fit");
        Checks.require(spec, Long.bitCount(quantum) == 1, "invalid value for option '--quantum': " + quantum
                + " is not a power of two");
        Checks.atMost(spec, "--quantum", quantum, MAX_GRANULE, "");
        Checks.require(spec, Long.bitCount(granule) == 1 && granule >= quantum, "invalid value for option '--granule': "
                + granule + " is not a power of two at least the quantum " + quantum);
        Checks.atMost(spec, "--granule", granule, MAX_GRANULE, "");
        Checks.positive(spec, "--samples", samples);
        Checks.positive(spec, "--headroom", headroom);
        Checks.require(spec, events.events() > 0, "the trace " + events.name() + " has no events");
        long largest = events.largestSize();
        Checks.require(spec, largest / quantum < Integer.MAX_VALUE, "the trace " + events.name() + " has a block of " + largest
                + " bytes, more than an arena of " + Integer.MAX_VALUE + " quanta of " + quantum + " holds: use a larger --quantum");
        long peak = events.peakLive(quantum);
        Checks.require(spec, peak <= Long.MAX_VALUE / 2, "the trace " + events.name() + " holds more than "
                + (Long.MAX_VALUE / 2) + " bytes live at once, more than any arena");
        double wanted = Math.ceil(peak * headroom);
        Checks.require(spec, arena != null || wanted <= Long.MAX_VALUE / 2, "invalid value for option '--headroom': "
                + headroom + " times the peak of " + peak + " live bytes does not fit an arena (" + (Long.MAX_VALUE / 2)
                + " bytes at most)");
        long bytes = arena != null ? arena : (long) wanted;
        bytes = (bytes + granule - 1) & -granule;
        Checks.require(spec, bytes / quantum <= Integer.MAX_VALUE, "the arena of " + bytes + " bytes holds more than "
                + Integer.MAX_VALUE + " quanta of " + quantum + ": use a larger --quantum");
        long block = Trace.roundUp(largest, quantum);
        Checks.require(spec, bytes >= block, (arena != null ? "invalid value for option '--arena': " + arena + " bytes"
                : "invalid value for option '--headroom': " + headroom + " times the peak of " + peak + " live bytes") + " ("
                + bytes + " rounded up to the granule) is below the largest block of " + events.name() + ", " + block
                + " bytes rounded up to the quantum, which could never fit");
        return new FragmentConfig(distribution() == null ? "trace" : dist.toLowerCase(Locale.ROOT), events.name(), fits,
                bytes, quantum, granule, large, events.events(), samples, output.seed);
    }

    private static String describe(FragmentConfig c, Trace t) {
        return String.format(Locale.ROOT,
                "fragment: %s, %,d events (%,d allocations, %,d frees, largest %s, peak live %s); arena %s, quantum %s, "
                        + "commit granule %s; large probe %s",
                t.name(), t.events(), t.allocations(), t.frees(), Units.bytes(t.largestSize()),
                Units.bytes(t.peakLive(c.quantum())), Units.bytes(c.arenaBytes()), Units.bytes(c.quantum()),
                Units.bytes(c.granule()), Units.bytes(c.largeBytes()));
    }

    static void print(PrintWriter out, List<FragmentResult> results, FragmentConfig c) {
        Table t = new Table().column("fit", false).column("allocations", true).column("no fit", true)
                .column("peak live", true).column("peak committed", true).column("final committed/live", true)
                .column("frag mean", true).column("frag max", true).column("frag final", true)
                .column("large ok", true).column("large ok, fullest band", true);
        for (FragmentResult r : results) {
            FragmentResult.OccupancyBucket fullest = null;
            for (FragmentResult.OccupancyBucket b : r.byOccupancy()) {
                fullest = b.probes() > 0 ? b : fullest;
            }
            t.row(r.fit(), r.allocations(), r.failures(), Units.bytes(r.peakLive()), Units.bytes(r.peakCommitted()),
                    r.finalLive() == 0 ? "-" : String.format(Locale.ROOT, "%.2f", r.finalCommitted() / (double) r.finalLive()),
                    pct(r.meanFragmentation()), pct(r.maxFragmentation()), pct(r.finalFragmentation()),
                    pct(r.largeSuccessRate()), fullest == null ? "-" : pct(fullest.successes() / (double) fullest.probes())
                            + String.format(Locale.ROOT, " at %.0f-%.0f%%", fullest.from() * 100, fullest.to() * 100));
        }
        out.println();
        t.print(out);
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.1f%%", v * 100);
    }
}

package io.slab4j.bench.tool.server;

import io.slab4j.bench.tool.BenchTool;
import io.slab4j.bench.tool.Checks;
import io.slab4j.bench.tool.OutputOptions;
import io.slab4j.bench.tool.ParsingConverter;
import io.slab4j.bench.tool.Percentiles;
import io.slab4j.bench.tool.Progress;
import io.slab4j.bench.tool.RunReport;
import io.slab4j.bench.tool.Table;
import io.slab4j.bench.tool.Units;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code slab4j-bench server}: a Netty HTTP/1.1 server on 127.0.0.1 on each allocator in turn,
 * each in its own child JVM ({@link ServerChild}, {@link ChildProcess}) so that its resident
 * memory is its own, under the same load ({@link LoadGenerator}, or {@link WrkLoad} with
 * {@code --load wrk}), then idle ({@link ServerRun}). All children start and are warmed up
 * before the first is measured; each is measured alone while the others wait idle. Parses and checks the options into a
 * {@link ServerConfig}, prints the tables, writes JSON and charts when asked. Runs on the
 * caller's thread.
 *
 * <p>Exit status {@link BenchTool#FAILED} when a check of the run failed: a response that was
 * not byte-exact, a failed request of the built-in load, an exception in a server, or slab4j
 * buffers still open after the server released everything.
 */
@Command(name = "server", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "A Netty HTTP/1.1 server on 127.0.0.1 whose buffers come from slab4j's SlabByteBufAllocator, beside the "
                        + "same server on Netty's AdaptiveByteBufAllocator and PooledByteBufAllocator, each in its own "
                        + "child JVM so that its resident memory is its own, under the same load: GET /bytes/N with N "
                        + "log-uniform in [--min-size, --max-size]; the server also keeps --held long-lived buffers "
                        + "(one request in 64 replaces one). The built-in load (java.net.http, --connections "
                        + "keep-alive connections, at most --duration and --requests) checks every response byte; "
                        + "--load wrk uses wrk from the PATH instead.",
                "After the load each server idles for --idle, starting with the allocator's trim (slab4j: "
                        + "BufferPool.trim(); --no-trim to watch decay alone), so the table shows whether resident "
                        + "memory goes back. Per allocator: requests/s, latency percentiles (HdrHistogram), VmRSS "
                        + "before, at peak, when the load stops and after the idle period, the bytes the allocator "
                        + "holds from the OS, and slab4j's used bytes and open buffers.",
                "All servers start and are warmed up (--warmup) before the first is measured; they are measured one "
                        + "after the other, in the order of --allocators. Throughput still drifts upward over a run (the "
                        + "load generator shares the machine): compare allocators in two orders before reading a "
                        + "difference in requests/s.",
                ""})
public final class ServerCommand implements Callable<Integer> {
    /** Where the load comes from. */
    public enum Load { BUILTIN, WRK }

    @Spec
    CommandSpec spec;

    @Mixin
    OutputOptions output;

    @Option(names = "--allocators", split = ",", paramLabel = "A", converter = AllocatorConverter.class,
            description = "Allocators to run, in order: slab4j, adaptive, pooled. Default: all.")
    List<AllocatorKind> allocators = List.of(AllocatorKind.values());

    @Option(names = "--load", paramLabel = "KIND", defaultValue = "builtin",
            description = "builtin (the tool's own HTTP client, every byte checked) or wrk (from the PATH). "
                    + "Default: ${DEFAULT-VALUE}.")
    Load load;

    @Option(names = "--duration", paramLabel = "TIME", defaultValue = "6s", converter = Units.MillisConverter.class,
            description = "Longest load on each server (after the warm-up). Default: ${DEFAULT-VALUE}.")
    Duration duration;

    @Option(names = "--requests", paramLabel = "N", defaultValue = "1000000",
            description = "Most requests the built-in load sends each server (it stops at whichever of --duration and "
                    + "--requests comes first). Default: ${DEFAULT-VALUE}.")
    long requests;

    @Option(names = "--warmup", paramLabel = "TIME", defaultValue = "2s", converter = Units.MillisConverter.class,
            description = "Load on each server before the measured load, not counted (the JIT of the server and of the "
                    + "built-in client). Default: ${DEFAULT-VALUE}.")
    Duration warmup;

    @Option(names = "--connections", paramLabel = "N", defaultValue = "8",
            description = "Concurrent keep-alive connections, one request in flight on each. Default: ${DEFAULT-VALUE}.")
    int connections;

    @Option(names = "--min-size", paramLabel = "SIZE", defaultValue = "1K", converter = Units.SizeConverter.class,
            description = "Smallest response. Default: ${DEFAULT-VALUE}.")
    long minSize;

    @Option(names = "--max-size", paramLabel = "SIZE", defaultValue = "1M", converter = Units.SizeConverter.class,
            description = "Largest response (at most 4M). Default: ${DEFAULT-VALUE}.")
    long maxSize;

    @Option(names = "--held", paramLabel = "N", defaultValue = "4",
            description = "Long-lived buffers the server holds, each a copy of a recent response (0 allowed). "
                    + "Default: ${DEFAULT-VALUE}.")
    int held;

    @Option(names = "--idle", paramLabel = "TIME", defaultValue = "3s", converter = Units.MillisConverter.class,
            description = "How long each server idles after the load, still sampled. Default: ${DEFAULT-VALUE}.")
    Duration idle;

    @Option(names = "--trim", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Start the idle period with the allocator's trim (slab4j: BufferPool.trim(); pooled: the "
                    + "event loops' thread caches; adaptive: none). Default: on; --no-trim leaves it to decay.")
    boolean trim;

    @Option(names = "--sample-every", paramLabel = "TIME", defaultValue = "200ms", converter = Units.MillisConverter.class,
            description = "Sampling period of resident memory, throughput and the allocator's figures. "
                    + "Default: ${DEFAULT-VALUE}.")
    Duration sampleEvery;

    @Option(names = "--io-threads", paramLabel = "N", defaultValue = "2",
            description = "The server's event-loop threads. Default: ${DEFAULT-VALUE}.")
    int ioThreads;

    @Option(names = "--reserve", paramLabel = "SIZE", defaultValue = "1G", converter = Units.SizeConverter.class,
            description = "slab4j's BufferPool reservation (its hard cap). Default: ${DEFAULT-VALUE}.")
    long reserve;

    @Option(names = "--child-heap", paramLabel = "SIZE", defaultValue = "256M", converter = Units.SizeConverter.class,
            description = "Each server JVM's -Xmx. Default: ${DEFAULT-VALUE}.")
    long childHeap;

    @Override
    public Integer call() throws IOException, InterruptedException {
        ServerConfig config = config();
        Path wrk = null;
        if (load == Load.WRK) {
            wrk = WrkLoad.find().orElseThrow(() -> new CommandLine.ParameterException(spec.commandLine(),
                    "--load wrk: wrk is not on the PATH (install it, or use the built-in load: --load builtin)"));
        }
        RunReport report = RunReport.start("server", spec, output);
        report.describe(describe(config));
        List<ServerResult> results = new ArrayList<>();
        List<ServerRun> runs = new ArrayList<>();
        long each = config.durationMs() + config.idleMs();
        long warmups = config.warmupMs() * allocators.size();
        try (Progress progress = report.progress(warmups + each * allocators.size(), "ms")) {
            for (AllocatorKind k : allocators) {
                ServerRun run = new ServerRun(config, k, wrk);
                runs.add(run);
                run.start();
            }
            for (int i = 0; i < runs.size(); i++) {
                progress.setExtra(allocators.get(i).label() + " warm-up");
                runs.get(i).warmUp();
                progress.stepTo((i + 1) * config.warmupMs());
            }
            for (int i = 0; i < runs.size(); i++) {
                long offset = warmups + i * each;
                progress.setExtra(allocators.get(i).label());
                results.add(runs.get(i).measure(ms -> progress.stepTo(offset + ms)));
                progress.stepTo(offset + each);
            }
        } finally {
            runs.forEach(ServerRun::close);
        }
        print(report.out(), results);
        report.writeFiles(config, new ServerResults(results), files -> ServerCharts.write(files, results, config.durationMs()));
        List<String> broken = checks(results);
        if (!broken.isEmpty()) {
            spec.commandLine().getErr().println("slab4j-bench server: the run broke: " + String.join("; ", broken));
            return BenchTool.FAILED;
        }
        return BenchTool.OK;
    }

    /** The JSON {@code results} of a server run. */
    public record ServerResults(List<ServerResult> allocators) {
    }

    ServerConfig config() {
        Checks.notEmpty(spec, "--allocators", allocators);
        Checks.distinct(spec, "--allocators", allocators, "an allocator");
        Checks.positive(spec, "--requests", requests);
        Checks.positive(spec, "--connections", connections);
        Checks.positive(spec, "--io-threads", ioThreads);
        Checks.notNegative(spec, "--held", held);
        Checks.require(spec, maxSize <= Payload.MAX_SIZE, "invalid value for option '--max-size': " + maxSize
                + " is above " + Units.bytes(Payload.MAX_SIZE));
        Checks.require(spec, minSize <= maxSize, "invalid value for option '--min-size': " + Units.bytes(minSize)
                + " is above --max-size " + Units.bytes(maxSize));
        Checks.require(spec, childHeap >= 64L << 20, "invalid value for option '--child-heap': " + Units.bytes(childHeap)
                + " is below 64 MiB");
        Checks.require(spec, reserve >= 32L << 20, "invalid value for option '--reserve': " + Units.bytes(reserve)
                + " is below 32 MiB");
        List<String> names = allocators.stream().map(AllocatorKind::label).toList();
        return new ServerConfig(names, load.name().toLowerCase(Locale.ROOT), duration.toMillis(), requests,
                load == Load.WRK ? 0 : warmup.toMillis(), connections,
                (int) minSize, (int) maxSize, held, idle.toMillis(), Math.max(1, sampleEvery.toMillis()), trim, ioThreads,
                reserve, childHeap, output.seed);
    }

    private static String describe(ServerConfig c) {
        return String.format(Locale.ROOT,
                "server: Netty HTTP/1.1 on 127.0.0.1 in a child JVM (-Xmx%s, %d event loops) per allocator %s; load %s, "
                        + "%d connections, GET %s..%s (log-uniform), warm-up %s, then at most %s and %d requests, "
                        + "%d long-lived buffers; "
                        + "then idle %s%s; sampled every %s; seed %d",
                Units.bytes(c.childHeapBytes()), c.ioThreads(), c.allocators(), c.load(), c.connections(),
                Units.bytes(c.minSize()), Units.bytes(c.maxSize()), Units.nanos(c.warmupMs() * 1_000_000), Units.nanos(c.durationMs() * 1_000_000),
                c.maxRequests(), c.heldBuffers(), Units.nanos(c.idleMs() * 1_000_000),
                c.trim() ? " after a trim" : " (no trim)", Units.nanos(c.sampleMs() * 1_000_000), c.seed());
    }

    static void print(PrintWriter out, List<ServerResult> results) {
        Table t = new Table().column("allocator", false).column("requests", true).column("req/s", true)
                .column("MiB/s", true).column("errors", true).column("bad bytes", true).column("p50", true)
                .column("p90", true).column("p99", true).column("p99.9", true).column("max", true);
        for (ServerResult r : results) {
            Percentiles l = r.latency();
            t.row(r.allocator(), r.requests(), String.format(Locale.ROOT, "%.0f", r.requestsPerSecond()),
                    r.bytesPerSecond() == null ? "-" : String.format(Locale.ROOT, "%.1f", r.bytesPerSecond() / (1 << 20)),
                    r.errors(), r.mismatches() == null ? "-" : r.mismatches(), Units.nanos(l.p50()), Units.nanos(l.p90()),
                    Units.nanos(l.p99()), Units.nanos(l.p999()), Units.nanos(l.max()));
        }
        out.println();
        t.print(out);
        Table m = new Table().column("allocator", false).column("RSS before load", true).column("RSS peak", true)
                .column("RSS load end", true).column("RSS after idle", true).column("returned", true)
                .column("direct load end", true).column("direct after idle", true).column("slab used load end", true)
                .column("slab open idle", true).column("slab open end", true).column("trim", false);
        for (ServerResult r : results) {
            m.row(r.allocator(), Units.bytes(r.rssBeforeLoad()), Units.bytes(r.peakRss()), Units.bytes(r.rssAtLoadEnd()),
                    Units.bytes(r.rssAfterIdle()), Units.bytes(r.rssReturned()), Units.bytes(r.directAtLoadEnd()),
                    Units.bytes(r.directAfterIdle()), r.slabUsedAtLoadEnd() == null ? "-" : Units.bytes(r.slabUsedAtLoadEnd()),
                    r.slabBuffersInUseIdle() == null ? "-" : r.slabBuffersInUseIdle(),
                    r.slabBuffersInUseAtEnd() == null ? "-" : r.slabBuffersInUseAtEnd(), r.trim());
        }
        out.println();
        m.print(out);
        out.println("RSS: the child's VmRSS; returned = RSS load end - RSS after idle; direct: bytes the allocator holds "
                + "from the OS (slab4j: committed; Netty's: its metric's usedDirectMemory()); slab open: buffers open at the end of the idle period (the held ones) "
                + "and after the server released everything (0 is right).");
    }

    static List<String> checks(List<ServerResult> results) {
        List<String> broken = new ArrayList<>();
        for (ServerResult r : results) {
            if (r.mismatches() != null && r.mismatches() > 0) {
                broken.add(r.allocator() + ": " + r.mismatches() + " responses not byte-exact (" + r.firstError() + ")");
            }
            if (r.mismatches() != null && r.errors() > 0) {
                broken.add(r.allocator() + ": " + r.errors() + " requests failed (first: " + r.firstError() + ")");
            }
            if (r.serverErrors() > 0) {
                broken.add(r.allocator() + ": " + r.serverErrors() + " exceptions in the server");
            }
            if (r.slabBuffersInUseAtEnd() != null && r.slabBuffersInUseAtEnd() != 0) {
                broken.add(r.allocator() + ": " + r.slabBuffersInUseAtEnd() + " slab4j buffers still open at the end");
            }
        }
        return broken;
    }

    /** Picocli converter for allocator names. */
    static final class AllocatorConverter extends ParsingConverter<AllocatorKind> {
        AllocatorConverter() {
            super(AllocatorKind::parse);
        }
    }
}

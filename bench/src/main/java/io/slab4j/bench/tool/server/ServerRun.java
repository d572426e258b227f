package io.slab4j.bench.tool.server;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * One allocator's part of the scenario, in three steps the command calls for every allocator
 * in turn: {@link #start} its {@link ServerChild}; {@link #warmUp} (every server is warmed up
 * before the first is measured, so the load generator's own JIT warm-up does not fall on the
 * first allocator's measurement); {@link #measure}: sample it while the load runs and while it
 * idles afterwards (starting the idle period with a trim when configured), then ask it to quit
 * and collect its last figures. {@link #close} kills the child in every case.
 *
 * <h2>Concurrency</h2>
 * The steps run on the caller's thread; during {@link #measure} a sampler thread reads the child (its
 * {@code /proc} status and a {@code stats} command) every {@code sampleMs} into
 * {@code samples}, guarded by its own monitor; {@code phase} and {@code load} are volatile.
 * The sampler is stopped (flag and interrupt) and joined before the results are built.
 */
final class ServerRun implements AutoCloseable {
    private final ServerConfig config;
    private final AllocatorKind kind;
    private final Path wrk;
    private final List<ServerResult.Sample> samples = new ArrayList<>();
    private volatile String phase = "load";
    private volatile LoadGenerator load;
    private volatile boolean sampling = true;
    private volatile IOException samplerFailure;
    private ChildProcess child;
    private long rssBefore;

    ServerRun(ServerConfig config, AllocatorKind kind, Path wrk) {
        this.config = config;
        this.kind = kind;
        this.wrk = wrk;
    }

    /** Starts the child and reads its resident memory before any request. */
    void start() throws IOException {
        child = ChildProcess.start(kind, config);
        rssBefore = child.rssBytes();
    }

    /** The warm-up load (not measured): the JIT of the server and of the client. */
    void warmUp() throws IOException, InterruptedException {
        if (config.warmupMs() > 0) {
            LoadGenerator.Outcome w = LoadGenerator.warmup(config).run(child.port());
            if (w.errors() + w.mismatches() > 0) {
                throw new IOException(kind + ": the warm-up failed: " + w.firstError());
            }
        }
    }

    /** The measured load, the idle period, the quit; {@code progress} gets the milliseconds since the load started. */
    ServerResult measure(LongConsumer progress) throws IOException, InterruptedException {
        Thread sampler = null;
        long loadStart = System.nanoTime();
        LoadGenerator.Outcome outcome;
        Map<String, String> atLoadEnd;
        long rssAtLoadEnd;
        String trim = "none";
        Map<String, String> afterIdle;
        long rssAfterIdle;
        try {
            if (wrk == null) {
                load = new LoadGenerator(config);
            }
            sample(loadStart, 0);
            sampler = new Thread(() -> sample(loadStart, progress), "slab4j-bench-sampler");
            sampler.setDaemon(true);
            sampler.start();
            outcome = wrk == null ? load.run(child.port()) : WrkLoad.run(wrk, config, child.port());
            phase = "idle";
            atLoadEnd = child.command("stats", "stats");
            rssAtLoadEnd = child.rssBytes();
            if (config.trim()) {
                trim = child.command("trim", "trimmed").get("how");
            }
            Thread.sleep(config.idleMs()); // the idle period is part of the measurement
            afterIdle = child.command("stats", "stats");
            rssAfterIdle = child.rssBytes();
        } finally {
            sampling = false;
            if (sampler != null) {
                sampler.interrupt();
                sampler.join();
            }
        }
        if (samplerFailure != null) {
            throw samplerFailure;
        }
        LoadGenerator l = load;
        sample(loadStart, l == null ? 0 : l.completed()); // the end of the idle period
        Map<String, String> bye = child.quit();
        return result(outcome, rssBefore, atLoadEnd, rssAtLoadEnd, afterIdle, rssAfterIdle, trim, bye);
    }

    /** Kills the child, whatever happened (a no-op after a quit). */
    @Override
    public void close() {
        if (child != null) {
            child.close();
        }
    }

    private ServerResult result(LoadGenerator.Outcome o, long rssBefore, Map<String, String> atLoadEnd, long rssAtLoadEnd,
                                Map<String, String> afterIdle, long rssAfterIdle, String trim, Map<String, String> bye) {
        List<ServerResult.Sample> s;
        synchronized (samples) {
            s = List.copyOf(samples);
        }
        long peakRss = Math.max(rssAtLoadEnd, rssAfterIdle);
        long peakDirect = Math.max(num(atLoadEnd, "direct"), num(afterIdle, "direct"));
        for (ServerResult.Sample x : s) {
            peakRss = Math.max(peakRss, x.rss());
            peakDirect = Math.max(peakDirect, x.direct());
        }
        double seconds = Math.max(1, o.elapsedNanos()) / 1e9;
        boolean slab = kind == AllocatorKind.SLAB4J;
        boolean checked = wrk == null;
        return new ServerResult(kind.label(), o.requests(), o.errors(), checked ? o.mismatches() : null,
                o.requests() / seconds, checked ? o.bytes() / seconds : null, o.latency(), rssBefore, peakRss,
                rssAtLoadEnd, rssAfterIdle, rssAtLoadEnd - rssAfterIdle, num(atLoadEnd, "direct"),
                num(afterIdle, "direct"), peakDirect, slab ? num(atLoadEnd, "used") : null,
                slab ? num(afterIdle, "inUse") : null, slab ? num(bye, "inUse") : null, num(afterIdle, "held"),
                num(bye, "errors"), trim, o.firstError(), s);
    }

    private static long num(Map<String, String> fields, String key) {
        String v = fields.get(key);
        if (v == null) {
            throw new IllegalStateException("the server child's answer " + fields + " has no '" + key + "'");
        }
        return Long.parseLong(v);
    }

    private void sample(long start, LongConsumer progress) {
        long previous = 0;
        long total = config.durationMs() + config.idleMs();
        try {
            while (sampling) {
                Thread.sleep(config.sampleMs());
                long sinceStart = (System.nanoTime() - start) / 1_000_000;
                previous = sample(start, previous);
                if (progress != null) {
                    progress.accept(Math.min(total, sinceStart));
                }
            }
        } catch (InterruptedException e) {
            // stopped by run()
        } catch (IOException e) {
            if (sampling) {
                samplerFailure = e;
            }
        }
    }

    /** Takes one sample; returns the load's completed count, from which the next sample's rate is computed. */
    private long sample(long start, long previousCompleted) throws IOException {
        long now = System.nanoTime();
        long rss = child.rssBytes();
        Map<String, String> stats = child.command("stats", "stats");
        LoadGenerator l = load;
        long completed = l == null ? 0 : l.completed();
        Double rate = null;
        long timeMs = (now - start) / 1_000_000;
        synchronized (samples) {
            if (wrk == null) {
                long prevTime = samples.isEmpty() ? 0 : samples.get(samples.size() - 1).timeMs();
                double dt = Math.max(1, timeMs - prevTime) / 1000.0;
                rate = samples.isEmpty() ? 0.0 : (completed - previousCompleted) / dt;
            }
            String used = stats.get("used");
            samples.add(new ServerResult.Sample(timeMs, phase, rss, rate, num(stats, "direct"),
                    kind == AllocatorKind.SLAB4J && used != null ? Long.parseLong(used) : null));
        }
        return completed;
    }
}

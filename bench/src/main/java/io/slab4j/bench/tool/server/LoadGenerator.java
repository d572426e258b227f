package io.slab4j.bench.tool.server;

import io.slab4j.bench.tool.Percentiles;
import org.HdrHistogram.Histogram;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The built-in load: {@code connections} threads, each a closed loop of
 * {@code GET /bytes/N} on 127.0.0.1 through one {@code java.net.http.HttpClient} (HTTP/1.1,
 * keep-alive), N log-uniform in [minSize, maxSize] from the seed. It stops at the deadline or
 * when {@code maxRequests} were sent, whichever first. A warm-up load of the same kind runs
 * first against each server (JIT of the server and of this client), not counted. Every response is checked: status 200,
 * exactly N bytes, each the pattern's ({@link Payload}), compared as they stream in (the client
 * keeps no response); anything else counts as an error (an
 * exception, a timeout, another status) or a mismatch (wrong bytes or length).
 *
 * <h2>Concurrency</h2>
 * {@link #run} runs on the caller's thread and joins the workers; {@link #completed} may be
 * read from any thread while it runs (an {@link AtomicLong}). Each worker records latencies in
 * its own {@link Histogram}, merged after the join.
 */
final class LoadGenerator {
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

    private final ServerConfig config;
    private final long durationMs;
    private final long maxRequests;
    private final AtomicLong completed = new AtomicLong();
    private final AtomicLong tickets = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong mismatches = new AtomicLong();
    private final AtomicLong bytes = new AtomicLong();
    private volatile String firstError;

    /** The measured load: at most {@code config.durationMs()} and {@code config.maxRequests()}. */
    LoadGenerator(ServerConfig config) {
        this(config, config.durationMs(), config.maxRequests());
    }

    LoadGenerator(ServerConfig config, long durationMs, long maxRequests) {
        this.config = config;
        this.durationMs = durationMs;
        this.maxRequests = maxRequests;
    }

    /** The warm-up before the measured load: {@code config.warmupMs()} of the same load. */
    static LoadGenerator warmup(ServerConfig config) {
        return new LoadGenerator(config, config.warmupMs(), Long.MAX_VALUE);
    }

    /** Responses received so far (checked or not). */
    long completed() {
        return completed.get();
    }

    /** What the load measured. */
    record Outcome(long requests, long errors, long mismatches, long bytes, long elapsedNanos,
                   Percentiles latency, String firstError) {
    }

    Outcome run(int port) throws InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(config.connections() + 2, r -> {
            Thread t = new Thread(r, "slab4j-bench-load");
            t.setDaemon(true);
            return t;
        });
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(pool)
                .connectTimeout(REQUEST_TIMEOUT).build();
        long start = System.nanoTime();
        long deadline = start + durationMs * 1_000_000;
        List<Thread> workers = new ArrayList<>();
        List<Histogram> histograms = new ArrayList<>();
        for (int w = 0; w < config.connections(); w++) {
            Histogram h = new Histogram(3_600_000_000_000L, 3);
            histograms.add(h);
            SplittableRandom random = new SplittableRandom(config.seed() * 1_000_003 + w);
            Thread t = new Thread(() -> loop(client, port, deadline, random, h), "slab4j-bench-client-" + w);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
        try {
            for (Thread t : workers) {
                t.join();
            }
        } finally {
            for (Thread t : workers) {
                t.interrupt();
            }
            pool.shutdownNow();
        }
        long elapsed = System.nanoTime() - start;
        Histogram all = new Histogram(3_600_000_000_000L, 3);
        histograms.forEach(all::add);
        return new Outcome(completed.get(), errors.get(), mismatches.get(), bytes.get(), elapsed,
                Percentiles.of(all), firstError);
    }

    private void loop(HttpClient client, int port, long deadline, SplittableRandom random, Histogram latency) {
        String base = "http://127.0.0.1:" + port + "/bytes/";
        byte[] chunk = new byte[64 << 10];
        while (System.nanoTime() < deadline && tickets.incrementAndGet() <= maxRequests) {
            int size = Payload.size(random, config.minSize(), config.maxSize());
            HttpRequest request = HttpRequest.newBuilder(URI.create(base + size)).timeout(REQUEST_TIMEOUT).GET().build();
            long t0 = System.nanoTime();
            try {
                HttpResponse<InputStream> r = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
                long read;
                try (InputStream body = r.body()) {
                    read = Payload.check(body, chunk); // -1: a byte differs from the pattern's
                }
                latency.recordValue(Math.max(0, System.nanoTime() - t0));
                completed.incrementAndGet();
                if (r.statusCode() != 200) {
                    fail(errors, "GET " + size + ": status " + r.statusCode());
                } else if (read != size) {
                    fail(mismatches, "GET " + size + ": " + (read < 0 ? "a byte differs from the pattern"
                            : read + " bytes, not " + size));
                } else {
                    bytes.addAndGet(size);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                fail(errors, "GET " + size + ": " + e);
            }
        }
    }

    private void fail(AtomicLong counter, String what) {
        counter.incrementAndGet();
        if (firstError == null) {
            firstError = what;
        }
    }
}

package io.slab4j.bench.tool.server;

import io.slab4j.bench.tool.Percentiles;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@code --load wrk}: the same load from wrk (https://github.com/wg/wrk) instead of the built-in
 * generator. A Lua script asks for {@code /bytes/N} with N log-uniform in [minSize, maxSize] and,
 * in wrk's {@code done} hook, prints one line the tool parses: requests, errors (socket and
 * non-2xx), duration and latency percentiles. wrk bounds the time only; it checks status
 * codes, not bytes. Stateless; {@link #run} blocks the caller until wrk exits.
 */
final class WrkLoad {
    private WrkLoad() {
    }

    /**
     * wrk's path when it is an executable on the PATH (or on the directories of the system
     * property {@code slab4j.bench.path}, when set: how a test sees a PATH without wrk).
     */
    static Optional<Path> find() {
        String path = System.getProperty("slab4j.bench.path", System.getenv("PATH"));
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path wrk = Path.of(dir.isEmpty() ? "." : dir, "wrk");
            if (Files.isRegularFile(wrk) && Files.isExecutable(wrk)) {
                return Optional.of(wrk);
            }
        }
        return Optional.empty();
    }

    static LoadGenerator.Outcome run(Path wrk, ServerConfig c, int port) throws IOException, InterruptedException {
        Path script = Files.createTempFile("slab4j-bench-wrk", ".lua");
        Path output = Files.createTempFile("slab4j-bench-wrk", ".out");
        try {
            Files.writeString(script, script(c), StandardCharsets.UTF_8);
            long seconds = Math.max(1, (c.durationMs() + 999) / 1000);
            Process p = new ProcessBuilder(wrk.toString(), "-t", Integer.toString(Math.min(2, c.connections())),
                    "-c", Integer.toString(c.connections()), "-d", seconds + "s", "--timeout", "30s",
                    "-s", script.toString(), "http://127.0.0.1:" + port + "/")
                    .redirectErrorStream(true).redirectOutput(output.toFile()).start();
            try {
                if (!p.waitFor(seconds + 60, TimeUnit.SECONDS)) {
                    throw new IOException("wrk did not finish within " + (seconds + 60) + " s");
                }
            } finally {
                p.destroyForcibly();
            }
            List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
            for (String line : lines) {
                if (line.startsWith("slab4j ")) {
                    String[] f = line.trim().split("\\s+");
                    long requests = Long.parseLong(f[1]);
                    long errors = Long.parseLong(f[2]);
                    long durationNanos = Long.parseLong(f[3]) * 1000;
                    Percentiles latency = new Percentiles(requests, us(f[4]), us(f[5]), us(f[6]),
                            us(f[7]), us(f[8]));
                    return new LoadGenerator.Outcome(requests, errors, -1, -1, durationNanos, latency, null);
                }
            }
            throw new IOException("wrk printed no result (exit " + p.exitValue() + "): "
                    + (lines.isEmpty() ? "no output" : lines.get(lines.size() - 1)));
        } finally {
            Files.deleteIfExists(script);
            Files.deleteIfExists(output);
        }
    }

    private static long us(String micros) {
        return Math.round(Double.parseDouble(micros) * 1000);
    }

    private static String script(ServerConfig c) {
        return String.format(Locale.ROOT, """
                local lo, hi = math.log(%d), math.log(%d)
                local n = 0
                setup = function(thread) n = n + 1; thread:set("id", n) end
                init = function(args) math.randomseed(%d + (id or 0)) end
                request = function()
                  local size = math.floor(math.exp(lo + math.random() * (hi - lo)) + 0.5)
                  return wrk.format("GET", "/bytes/" .. size)
                end
                done = function(summary, latency, requests)
                  local e = summary.errors
                  io.write(string.format("slab4j %%d %%d %%d %%f %%f %%f %%f %%f\\n", summary.requests,
                    e.connect + e.read + e.write + e.timeout + e.status, summary.duration,
                    latency:percentile(50), latency:percentile(90), latency:percentile(99),
                    latency:percentile(99.9), latency.max))
                end
                """, c.minSize(), c.maxSize(), c.seed());
    }
}

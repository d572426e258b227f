package io.slab4j.bench.tool.server;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One {@link ServerChild} JVM seen from the tool: started from {@code java.home} with the
 * tool's own class path and the flags slab4j needs, talked to over its stdin/stdout (see
 * {@link ServerChild}), its resident memory read from {@code /proc/PID/status}.
 *
 * <h2>Always killed</h2>
 * Every child is in {@link #LIVE} from start to {@link #close}; a JVM shutdown hook (Ctrl-C,
 * {@code System.exit} from an error) destroys whatever is left there, forcibly. {@link #close}
 * asks the child to quit, waits a little, then {@code destroyForcibly()}. And a child whose
 * stdin ends (the tool died without running hooks) stops on its own.
 *
 * <h2>Concurrency</h2>
 * {@link #command} is synchronized (one request line, one answer line); {@link #rssBytes} reads
 * /proc and may be called from any thread. {@link #LIVE} is a concurrent set.
 */
final class ChildProcess implements AutoCloseable {
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(Process::destroyForcibly),
                "slab4j-bench-server-children"));
    }

    private final Process process;
    private final PrintWriter in;
    private final BufferedReader out;
    private final Path stderr;
    private final int port;

    private ChildProcess(Process process, Path stderr) throws IOException {
        this.process = process;
        this.stderr = stderr;
        this.in = new PrintWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8), true);
        this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        Map<String, String> ready = expect("ready");
        this.port = Integer.parseInt(ready.get("port"));
    }

    /** Starts the server of {@code kind} and waits for its port. */
    static ChildProcess start(AllocatorKind kind, ServerConfig c) throws IOException {
        List<String> cmd = new ArrayList<>(javaCommand());
        cmd.add("-Xmx" + (c.childHeapBytes() >> 20) + "m");
        cmd.add("-Dio.netty.leakDetection.level=disabled");
        cmd.add(ServerChild.class.getName());
        cmd.add(kind.label());
        cmd.add(Integer.toString(c.heldBuffers()));
        cmd.add(Long.toString(c.reserveBytes()));
        cmd.add(Integer.toString(c.ioThreads()));
        Path err = Files.createTempFile("slab4j-bench-server-" + kind.label(), ".err");
        err.toFile().deleteOnExit();
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        LIVE.add(p);
        try {
            return new ChildProcess(p, err);
        } catch (IOException | RuntimeException e) {
            p.destroyForcibly();
            LIVE.remove(p);
            throw e;
        }
    }

    /** {@code java} of this JVM's home, this JVM's class path, and slab4j's flags. */
    static List<String> javaCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--add-exports");
        cmd.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        if (Runtime.version().feature() >= 22) {
            cmd.add("--enable-native-access=ALL-UNNAMED");
        }
        cmd.add("-Djava.awt.headless=true");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        return cmd;
    }

    int port() {
        return port;
    }

    long pid() {
        return process.pid();
    }

    /** Sends one command and returns its answer's fields (the answer's first word must be {@code answer}). */
    synchronized Map<String, String> command(String command, String answer) throws IOException {
        in.println(command);
        if (in.checkError()) {
            throw new IOException("the " + this + " no longer reads commands" + lastError());
        }
        return expect(answer);
    }

    /** The child's resident set in bytes (VmRSS), or -1 when /proc does not say. */
    long rssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(process.pid()), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    String[] f = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(f[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    private Map<String, String> expect(String word) throws IOException {
        String line = out.readLine();
        if (line == null) {
            throw new IOException("the server child (pid " + process.pid() + ") ended without answering '" + word + "'"
                    + lastError());
        }
        String[] parts = line.trim().split("\\s+");
        if (!parts[0].equals(word)) {
            throw new IOException("the server child answered '" + line + "', not '" + word + "'" + lastError());
        }
        Map<String, String> fields = new HashMap<>();
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq > 0) {
                fields.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
            }
        }
        return fields;
    }

    private String lastError() {
        try {
            List<String> lines = Files.readAllLines(stderr);
            return lines.isEmpty() ? "" : "; its stderr ends: " + lines.get(lines.size() - 1);
        } catch (IOException e) {
            return "";
        }
    }

    /** Asks the child to quit and returns its last figures; the process is gone afterwards in any case. */
    Map<String, String> quit() throws IOException {
        try {
            Map<String, String> bye = command("quit", "bye");
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new IOException("the server child (pid " + process.pid() + ") did not exit after quit");
            }
            return bye;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the server child quit", e);
        } finally {
            close();
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LIVE.remove(process);
        try {
            Files.deleteIfExists(stderr);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public String toString() {
        return "server child (pid " + process.pid() + ", port " + port + ")";
    }
}

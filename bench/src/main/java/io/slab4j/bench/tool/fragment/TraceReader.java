package io.slab4j.bench.tool.fragment;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * Reads an allocation trace in the format of shared/traces/README.md, gzip-compressed or
 * plain (told apart by the gzip magic bytes): one event a line, {@code a ID SIZE} or
 * {@code f ID}; blank lines and lines starting with {@code #} are skipped. Every rule of
 * the format is checked — SIZE at least 1, an ID never allocated twice, a free only of a
 * block allocated and not yet freed — and the first broken one is reported with its line
 * number as a {@link TraceFormatException}. IDs are renumbered densely in order of
 * allocation.
 *
 * <p>The built-in default is the perl trace, shipped in the jar as {@value #DEFAULT_RESOURCE}.
 * Stateless; thread-safe.
 */
public final class TraceReader {
    public static final String DEFAULT_NAME = "perl-textproc.trace.gz";
    static final String DEFAULT_RESOURCE = "/io/slab4j/bench/tool/" + DEFAULT_NAME;
    private static final int FREED = -1;

    private TraceReader() {
    }

    public static Trace read(Path file) throws IOException, TraceFormatException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        }
    }

    /** The perl trace shipped with the tool. */
    public static Trace readDefault() throws IOException, TraceFormatException {
        try (InputStream in = TraceReader.class.getResourceAsStream(DEFAULT_RESOURCE)) {
            if (in == null) {
                throw new IOException("the built-in trace " + DEFAULT_RESOURCE + " is missing from the class path");
            }
            return read(in, DEFAULT_NAME + " (built in)");
        }
    }

    public static Trace read(InputStream raw, String source) throws IOException, TraceFormatException {
        BufferedInputStream in = new BufferedInputStream(raw, 1 << 16);
        in.mark(2);
        boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
        in.reset();
        InputStream text = gzip ? new GZIPInputStream(in, 1 << 16) : in;
        BufferedReader reader = new BufferedReader(new InputStreamReader(text, StandardCharsets.UTF_8), 1 << 16);
        Trace.Builder trace = new Trace.Builder(source);
        Map<Long, Integer> blocks = new HashMap<>(); // trace ID → dense block, or FREED
        long lineNo = 0;
        String line;
        while ((line = reader.readLine()) != null) {
            lineNo++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#")) {
                continue;
            }
            String[] f = t.split("\\s+");
            switch (f[0]) {
                case "a" -> {
                    if (f.length != 3) {
                        throw new TraceFormatException(source, lineNo, "an allocation is 'a ID SIZE'", line);
                    }
                    long id = number(f[1], "ID", source, lineNo, line);
                    long size = number(f[2], "SIZE", source, lineNo, line);
                    if (size < 1) {
                        throw new TraceFormatException(source, lineNo, "SIZE " + size + " is below 1", line);
                    }
                    if (blocks.containsKey(id)) {
                        throw new TraceFormatException(source, lineNo, "block " + id + " is allocated a second time "
                                + "(IDs are never reused)", line);
                    }
                    blocks.put(id, trace.allocate(size));
                }
                case "f" -> {
                    if (f.length != 2) {
                        throw new TraceFormatException(source, lineNo, "a free is 'f ID'", line);
                    }
                    long id = number(f[1], "ID", source, lineNo, line);
                    Integer block = blocks.get(id);
                    if (block == null || block == FREED) {
                        throw new TraceFormatException(source, lineNo, block == null
                                ? "block " + id + " is freed but was never allocated" : "block " + id + " is freed a second time",
                                line);
                    }
                    blocks.put(id, FREED);
                    trace.free(block);
                }
                default -> throw new TraceFormatException(source, lineNo,
                        "unknown event '" + f[0] + "' (expected 'a ID SIZE' or 'f ID')", line);
            }
        }
        return trace.build();
    }

    private static long number(String field, String what, String source, long lineNo, String line)
            throws TraceFormatException {
        try {
            long v = Long.parseLong(field);
            if (v < 0) {
                throw new TraceFormatException(source, lineNo, what + " " + v + " is negative", line);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new TraceFormatException(source, lineNo, what + " '" + field + "' is not a whole number", line);
        }
    }
}

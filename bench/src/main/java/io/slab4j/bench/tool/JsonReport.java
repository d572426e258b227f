package io.slab4j.bench.tool;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.slab4j.nativemem.VirtualRegion;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

/**
 * The JSON document {@code --json} writes: one envelope ({@link Envelope}) around a
 * scenario's configuration and results, all plain records, so the JSON names are the record
 * components. The schema is {@value #SCHEMA_RESOURCE} (JSON Schema draft-07); a test
 * validates the output of every scenario against it, so change both together. Every object
 * in the schema is closed, so raise {@link #SCHEMA_VERSION} whenever a field is added,
 * changes meaning or goes away.
 *
 * <p>Stateless apart from a thread-safe {@link ObjectMapper}.
 */
public final class JsonReport {
    public static final String SCHEMA_RESOURCE = "/io/slab4j/bench/tool/slab4j-bench.schema.json";
    public static final int SCHEMA_VERSION = 2;
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private JsonReport() {
    }

    /**
     * The document's top level.
     *
     * @param tool           always "slab4j-bench"
     * @param version        the tool's version
     * @param schemaVersion  {@link #SCHEMA_VERSION}
     * @param scenario       the scenario's name
     * @param startedAt      ISO-8601 instant the run started
     * @param elapsedSeconds wall time of the whole run
     * @param environment    where it ran
     * @param config         the scenario's effective configuration
     * @param results        the scenario's results
     */
    public record Envelope(String tool, String version, int schemaVersion, String scenario, String startedAt,
                           double elapsedSeconds, Environment environment, Object config, Object results) {
    }

    /** Where a run happened. */
    public record Environment(String javaVersion, String javaVm, String os, String arch, int cores, long pageSize) {
        static Environment current(long pageSize) {
            return new Environment(System.getProperty("java.version"), System.getProperty("java.vm.name"),
                    System.getProperty("os.name"), System.getProperty("os.arch"),
                    Runtime.getRuntime().availableProcessors(), pageSize);
        }
    }

    public static Envelope envelope(String scenario, Instant started, Object config, Object results) {
        double elapsed = Duration.between(started, Instant.now()).toNanos() / 1e9;
        return new Envelope("slab4j-bench", BenchTool.version(), SCHEMA_VERSION, scenario, started.toString(), elapsed,
                Environment.current(VirtualRegion.pageSize()), config, results);
    }

    public static void write(Path file, Envelope envelope) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            MAPPER.writeValue(file.toFile(), envelope);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write JSON to " + file + ": " + e.getMessage(), e);
        }
    }

    /** The schema's text, from the tool's resources. */
    public static String schema() {
        try (InputStream in = JsonReport.class.getResourceAsStream(SCHEMA_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the schema " + SCHEMA_RESOURCE + " is missing from the class path");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

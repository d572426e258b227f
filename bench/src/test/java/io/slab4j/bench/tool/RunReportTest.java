package io.slab4j.bench.tool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every scenario prints and writes around its tables ({@link RunReport}), on a probe
 * command that has only the shared options: the description first, the JSON and the charts
 * only when asked, each named on its own line after the tables.
 */
class RunReportTest {
    record ProbeConfig(int size) {
    }

    record ProbeResults(String verdict) {
    }

    @Command(name = "probe")
    static final class Probe implements Runnable {
        @Spec
        CommandSpec spec;

        @Mixin
        OutputOptions output;

        @Override
        public void run() {
        }
    }

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private Probe parse(String... args) {
        Probe probe = new Probe();
        CommandLine cl = new CommandLine(probe);
        cl.setCaseInsensitiveEnumValuesAllowed(true); // as BenchTool parses
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.parseArgs(args);
        return probe;
    }

    private List<String> outLines() {
        return out.toString().lines().toList();
    }

    @Test
    void jsonAndChartsAreWrittenWhenAskedAndEachIsNamedAfterTheTables(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("sub/probe.json");
        Path charts = dir.resolve("charts");
        Probe probe = parse("--json", json.toString(), "--charts", charts.toString(), "--progress", "lines");
        Instant before = Instant.now();
        RunReport report = RunReport.start("probe", probe.spec, probe.output);
        Instant after = Instant.now();
        report.describe("probe: one run");
        try (Progress progress = report.progress(10, "ms")) {
            progress.stepTo(5);
        }
        report.out().println("the table");
        report.writeFiles(new ProbeConfig(7), new ProbeResults("fine"),
                files -> files.image("map", new BufferedImage(200, 20, BufferedImage.TYPE_INT_RGB)));

        assertEquals(List.of("probe: one run", "the table", "JSON: " + json, "charts: [" + charts.resolve("map.png") + "]"),
                outLines());
        assertTrue(err.toString().contains("probe 100%"), "progress is named after the scenario: " + err);
        assertTrue(Files.isRegularFile(charts.resolve("map.png")));
        JsonNode doc = new ObjectMapper().readTree(json.toFile());
        assertEquals("probe", doc.get("scenario").asText());
        assertEquals(7, doc.get("config").get("size").asInt());
        assertEquals("fine", doc.get("results").get("verdict").asText());
        Instant started = Instant.parse(doc.get("startedAt").asText());
        assertFalse(started.isBefore(before) || started.isAfter(after), started + " is when start() was called");
    }

    @Test
    void withoutJsonOrChartsNothingIsWrittenOrSaid(@TempDir Path dir) {
        Probe probe = parse("--progress", "none");
        RunReport report = RunReport.start("probe", probe.spec, probe.output);
        report.describe("probe: one run");
        try (Progress progress = report.progress(10, "ms")) {
            progress.stepTo(10);
        }
        AtomicInteger drawn = new AtomicInteger();
        report.writeFiles(new ProbeConfig(7), new ProbeResults("fine"), files -> drawn.incrementAndGet());

        assertEquals(List.of("probe: one run"), outLines());
        assertEquals("", err.toString(), "--progress none shows nothing");
        assertEquals(0, drawn.get(), "no charts are drawn without --charts");
    }
}

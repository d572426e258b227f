package io.slab4j.bench.tool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each scenario, run small through the command line, writes JSON that validates against
 * the published schema and charts that read back as images.
 */
@Timeout(120)
class OutputFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static MiniSchemaValidator validator;

    @BeforeAll
    static void schema() throws IOException {
        validator = new MiniSchemaValidator(JSON.readTree(JsonReport.schema()));
    }

    private static void assertValid(Path json) throws IOException {
        JsonNode doc = JSON.readTree(json.toFile());
        List<String> errors = validator.validate(doc);
        assertTrue(errors.isEmpty(), json + " violates the schema: " + errors);
    }

    private static void assertChartsReadBack(Path dir, int expectedPngs) throws IOException {
        List<Path> pngs;
        try (Stream<Path> files = Files.list(dir)) {
            pngs = files.filter(p -> p.toString().endsWith(".png")).toList();
        }
        assertEquals(expectedPngs, pngs.size(), pngs.toString());
        for (Path png : pngs) {
            BufferedImage image = ImageIO.read(png.toFile());
            assertNotNull(image, png + " is not an image");
            assertTrue(image.getWidth() > 100 && image.getHeight() > 10, png.toString());
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path svg : files.filter(p -> p.toString().endsWith(".svg")).toList()) {
                assertTrue(Files.readString(svg).contains("<svg"), svg + " is not SVG");
            }
        }
    }

    @Test
    void scarcityWritesValidJsonAndCharts(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("scarcity.json");
        Path charts = dir.resolve("charts");
        Cli cli = Cli.run("scarcity", "--strategies", "NAIVE,NACK", "--duration", "600ms", "--hang-after", "100ms",
                "--getters", "6", "--limit", "6", "--slab-pages", "16", "--item-size", "64K", "--fragmented-slabs", "2",
                "--fragmenters", "1", "--progress", "lines", "--json", json.toString(), "--charts", charts.toString());
        assertEquals(BenchTool.OK, cli.status(), cli.toString());
        assertTrue(cli.out().contains("strategy") && cli.out().contains("NACK") && cli.out().contains("agrees"), cli.out());
        assertTrue(cli.err().contains("scarcity 100%"), "without a terminal, progress ends with a plain line: " + cli);
        assertTrue(!cli.err().contains("\r"), "and has no carriage returns");
        assertValid(json);
        assertEquals("scarcity", JSON.readTree(json.toFile()).get("scenario").asText());
        assertChartsReadBack(charts, 3);
    }

    @Test
    void fragmentWritesValidJsonChartsAndMaps(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("fragment.json");
        Path charts = dir.resolve("charts");
        Cli cli = Cli.run("fragment", "--dist", "log-uniform", "--events", "20000", "--live", "1000", "--samples", "50",
                "--progress", "none", "--json", json.toString(), "--charts", charts.toString());
        assertEquals(BenchTool.OK, cli.status(), cli.toString());
        assertTrue(cli.out().contains("INSTANT") && cli.out().contains("NEXT"), cli.out());
        assertValid(json);
        assertChartsReadBack(charts, 3 + 3);
    }

    /**
     * The server scenario end to end at a tiny size: three child JVMs, 300 requests each (so the
     * server's four long-lived slots are all filled: one request in 64 fills one), every response
     * checked byte for byte by the built-in load (after a 100 ms warm-up, not counted).
     */
    @Test
    void serverRunsEveryAllocatorAndWritesValidJsonAndCharts(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("server.json");
        Path charts = dir.resolve("charts");
        Cli cli = Cli.run("server", "--requests", "300", "--duration", "60s", "--idle", "300ms", "--sample-every", "50ms",
                "--warmup", "100ms", "--connections", "3", "--max-size", "64K", "--held", "4", "--child-heap", "64M", "--progress", "none",
                "--json", json.toString(), "--charts", charts.toString());
        assertEquals(BenchTool.OK, cli.status(), cli.toString());
        assertTrue(cli.out().contains("slab4j") && cli.out().contains("adaptive") && cli.out().contains("pooled")
                && cli.out().contains("RSS after idle"), cli.out());
        assertValid(json);
        JsonNode doc = JSON.readTree(json.toFile());
        assertEquals("server", doc.get("scenario").asText());
        JsonNode results = doc.get("results").get("allocators");
        assertEquals(3, results.size());
        for (JsonNode r : results) {
            String a = r.get("allocator").asText();
            assertEquals(300, r.get("requests").asLong(), a + " served every request");
            assertEquals(0, r.get("errors").asLong(), a + ": " + r.get("firstError"));
            assertEquals(0, r.get("mismatches").asLong(), a + " answered byte-exact: " + r.get("firstError"));
            assertEquals(0, r.get("serverErrors").asLong(), a);
            assertEquals(300, r.get("latency").get("count").asLong(), a);
            assertEquals(4, r.get("heldBuffers").asLong(), a + " holds its long-lived buffers");
            JsonNode samples = r.get("samples");
            assertTrue(samples.size() >= 2, a + " was sampled: " + samples);
            boolean idle = false;
            for (JsonNode sample : samples) {
                assertTrue(sample.get("rss").asLong() > 0, a + " RSS sampled from /proc: " + sample);
                idle |= sample.get("phase").asText().equals("idle");
            }
            assertTrue(idle, a + " was sampled while idle");
            assertTrue(r.get("rssAfterIdle").asLong() > 0 && r.get("rssAtLoadEnd").asLong() > 0, a);
            if (a.equals("slab4j")) {
                assertEquals(4, r.get("slabBuffersInUseIdle").asLong(), "only the held buffers are open while idle");
                assertEquals(0, r.get("slabBuffersInUseAtEnd").asLong(), "nothing open after the server stopped");
                assertEquals("BufferPool.trim()", r.get("trim").asText());
                assertTrue(r.get("peakDirect").asLong() > 0, "slab4j committed memory");
            } else {
                assertTrue(r.get("slabBuffersInUseAtEnd").isNull(), a);
            }
        }
        assertChartsReadBack(charts, 3);
    }

    @Test
    void theValidatorRejectsWhatTheSchemaForbids(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("fragment.json");
        Cli cli = Cli.run("fragment", "--dist", "uniform", "--events", "2000", "--live", "100", "--fits", "BEST",
                "--progress", "none", "--json", json.toString());
        assertEquals(BenchTool.OK, cli.status(), cli.toString());
        ObjectNode doc = (ObjectNode) JSON.readTree(json.toFile());
        assertTrue(validator.validate(doc).isEmpty());
        ObjectNode extra = doc.deepCopy();
        ((ObjectNode) extra.get("config")).put("surprise", 1);
        assertFalse(validator.validate(extra).isEmpty(), "an unknown field");
        ObjectNode missing = doc.deepCopy();
        ((ObjectNode) missing.get("results").get("fits").get(0)).remove("peakLive");
        assertFalse(validator.validate(missing).isEmpty(), "a missing field");
        ObjectNode wrong = doc.deepCopy();
        wrong.put("scenario", "scarcity");
        assertFalse(validator.validate(wrong).isEmpty(), "fragment results under the scarcity scenario");
        ObjectNode range = doc.deepCopy();
        ((ObjectNode) range.get("results").get("fits").get(0)).put("meanFragmentation", 1.5);
        assertFalse(validator.validate(range).isEmpty(), "a fraction above 1");
    }

    @Test
    void theSchemaCommandPrintsTheSchema() throws IOException {
        Cli cli = Cli.run("schema");
        assertEquals(BenchTool.OK, cli.status());
        assertEquals("slab4j-bench results", JSON.readTree(cli.out()).get("title").asText());
    }
}

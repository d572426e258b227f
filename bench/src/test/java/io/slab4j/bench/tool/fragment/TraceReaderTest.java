package io.slab4j.bench.tool.fragment;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The trace format of shared/traces/README.md, on traces the tests write themselves. */
class TraceReaderTest {
    private static final String SMALL = "# slab4j allocation trace v1\na 0 100\na 1 16\n\nf 0\na 2 4096\nf 2\n";

    private static Trace parse(String text) throws IOException, TraceFormatException {
        return TraceReader.read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), "test");
    }

    @Test
    void readsPlainAndGzipAlike(@TempDir Path dir) throws Exception {
        Path gz = dir.resolve("small.trace.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write(SMALL.getBytes(StandardCharsets.UTF_8));
        }
        Path plain = dir.resolve("small.trace");
        Files.writeString(plain, SMALL);
        for (Path p : new Path[]{gz, plain}) {
            Trace t = TraceReader.read(p);
            assertEquals(5, t.events());
            assertEquals(3, t.allocations());
            assertEquals(2, t.frees());
            assertEquals(0, t.event(0));
            assertEquals(~0, t.event(2), "frees block 0");
            assertEquals(4096, t.size(2));
            assertEquals(16 + 4096, t.peakLive(16), "block 0 (100 B, 112 rounded) is gone when block 2 comes");
        }
    }

    @Test
    void sparseIdsAreRenumberedDensely() throws Exception {
        Trace t = parse("a 10 8\na 700 8\nf 10\n");
        assertEquals(2, t.allocations());
        assertEquals(~0, t.event(2));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "a 0 16\\nx 1 2                  | line 2: unknown event 'x'",
            "a 0\\n                           | line 1: an allocation is 'a ID SIZE'",
            "a 0 16\\na 1 0                  | line 2: SIZE 0 is below 1",
            "a 0 16\\na 1 -4                 | line 2: SIZE -4 is negative",
            "a 0 16\\na 0 8                  | line 2: block 0 is allocated a second time",
            "a 0 16\\nf 0\\nf 0               | line 3: block 0 is freed a second time",
            "# c\\na 0 16\\nf 9               | line 3: block 9 is freed but was never allocated",
            "a 0 16\\nf                      | line 2: a free is 'f ID'",
            "a zero 16                       | line 1: ID 'zero' is not a whole number",
    })
    void aBrokenLineIsReportedWithItsNumber(String text, String expected) {
        TraceFormatException e = assertThrows(TraceFormatException.class, () -> parse(text.trim().replace("\\n", "\n")));
        assertTrue(e.getMessage().startsWith("trace test "), e.getMessage());
        assertTrue(e.getMessage().contains(expected.trim()), e.getMessage());
    }

    /** The one test that reads the real trace: the copy built into the tool, checked against its README's counts. */
    @Test
    void theBuiltInPerlTraceHasItsDocumentedCounts() throws Exception {
        Trace t = TraceReader.readDefault();
        assertEquals(180_226, t.allocations());
        assertEquals(178_737, t.frees());
        assertTrue(t.name().contains("perl-textproc"));
    }
}

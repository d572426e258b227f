package io.slab4j.bench.tool;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Bad command lines: each prints one line naming the problem, then the usage, exits 2 and
 * prints no stack trace. Nothing here runs a scenario (the checks come first).
 */
class BadArgumentsTest {

    /** Exit 2, one line naming {@code expectedInFirstLine}, then the usage; no stack trace, nothing on stdout. */
    static void assertUsageError(Cli cli, String expectedInFirstLine) {
        assertEquals(BenchTool.USAGE, cli.status(), cli.toString());
        String first = cli.firstErrLine();
        assertTrue(first.startsWith("slab4j-bench: "), cli.toString());
        assertTrue(first.contains(expectedInFirstLine), "'" + first + "' should name " + expectedInFirstLine);
        assertTrue(cli.err().contains("Usage: slab4j-bench"), "the usage follows:\n" + cli);
        assertFalse(cli.err().contains("\tat "), "no stack trace:\n" + cli);
        assertFalse(cli.err().contains("Exception"), "no exception name:\n" + cli);
        assertEquals("", cli.out(), "nothing on stdout: " + cli);
    }

    @Test
    void anUnknownScenario() {
        assertUsageError(Cli.run("scarce"), "'scarce'");
    }

    @Test
    void noScenario() {
        assertUsageError(Cli.run(), "no scenario given");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "scarcity --duration 0s       | '0s' is not longer than zero",
            "scarcity --duration -5s      | '-5s' is negative",
            "scarcity --duration 5parsecs | is not a duration",
            "scarcity --hang-after 0ms    | '0ms' is not longer than zero",
            "scarcity --item-size 0       | '0' is zero",
            "scarcity --item-size -256K   | '-256K' is negative",
            "scarcity --getters 0         | '--getters': 0 is not positive",
            "scarcity --getters -3        | '--getters': -3 is not positive",
            "scarcity --limit 0           | '--limit': 0 is not positive",
            "scarcity --slab-pages -1     | '--slab-pages': -1 is not positive",
            "scarcity --fragmenters -1    | '--fragmenters': -1 is negative",
            "scarcity --fragmented-slabs -1 | '--fragmented-slabs': -1 is negative",
            "scarcity --strategies ,      | '--strategies': empty",
            "scarcity --strategies FASTEST | FASTEST",
            "scarcity --hang-after 10s    | is not shorter than --duration",
            "scarcity --fragmented-slabs 16 | is not below the limit's 16 slabs",
            "scarcity --item-size 1M      | do not fit a slab of 64 pages",
            "fragment --arena 0           | '0' is zero",
            "fragment --arena -1M         | '-1M' is negative",
            "fragment --large 0           | '0' is zero",
            "fragment --quantum 24        | '--quantum': 24 is not a power of two",
            "fragment --samples 0         | '--samples': 0 is not positive",
            "fragment --dist zipf         | 'zipf' is not one of trace, uniform, log-uniform, power-law",
            "fragment --dist uniform --events 0 | '--events': 0 is not positive",
            "fragment --dist uniform --trace x.gz | does not go with --dist uniform",
            "fragment --fits WORST        | WORST",
            "fragment --fits ,            | '--fits': empty",
            "fragment --headroom 0        | '--headroom': 0.0 is not positive",
            "fragment --dist power-law --alpha -1 | '--alpha': -1.0 is not positive",
            "server --duration 0s         | '0s' is not longer than zero",
            "server --duration -1s        | '-1s' is negative",
            "server --idle 0ms            | '0ms' is not longer than zero",
            "server --warmup -1s          | '-1s' is negative",
            "server --sample-every -5ms   | '-5ms' is negative",
            "server --min-size 0          | '0' is zero",
            "server --max-size -1M        | '-1M' is negative",
            "server --max-size 8M         | is above 4 MiB",
            "server --min-size 64K --max-size 4K | is above --max-size 4 KiB",
            "server --connections 0       | '--connections': 0 is not positive",
            "server --requests -10        | '--requests': -10 is not positive",
            "server --io-threads 0        | '--io-threads': 0 is not positive",
            "server --held -1             | '--held': -1 is negative",
            "server --allocators ,        | '--allocators': empty",
            "server --allocators slab4j,jemalloc | 'jemalloc' is not one of slab4j, adaptive, pooled",
            "server --allocators pooled,pooled | names an allocator twice",
            "server --load curl           | curl",
    })
    void aBadValueIsNamed(String commandLine, String expected) {
        assertUsageError(Cli.run(commandLine.trim().split("\\s+")), expected.trim());
    }

    @Test
    void aTraceFileThatDoesNotExist(@TempDir Path dir) {
        Path missing = dir.resolve("nope.trace.gz");
        assertUsageError(Cli.run("fragment", "--trace", missing.toString()), "file '" + missing + "' does not exist");
    }

    @Test
    void aMalformedTraceLineIsReportedWithItsNumber(@TempDir Path dir) throws IOException {
        Path trace = dir.resolve("bad.trace");
        Files.writeString(trace, "# a comment\na 0 16\na 1 banana\nf 0\n", StandardCharsets.UTF_8);
        assertUsageError(Cli.run("fragment", "--trace", trace.toString()), "line 3: SIZE 'banana' is not a whole number");
    }

    @Test
    void helpExplainsEveryScenarioAndExitsZero() {
        Cli cli = Cli.run("--help");
        assertEquals(BenchTool.OK, cli.status(), cli.toString());
        for (String scenario : new String[]{"scarcity", "fragment", "server", "schema"}) {
            assertTrue(cli.out().contains(scenario), scenario + " in\n" + cli.out());
        }
        Cli scarcity = Cli.run("scarcity", "--help");
        assertEquals(BenchTool.OK, scarcity.status());
        for (String option : new String[]{"--duration", "--getters", "--hang-after", "--json", "--charts", "NAIVE"}) {
            assertTrue(scarcity.out().contains(option), option + " in\n" + scarcity.out());
        }
        Cli fragment = Cli.run("help", "fragment");
        assertEquals(BenchTool.OK, fragment.status());
        assertTrue(fragment.out().contains("--trace") && fragment.out().contains("power-law"), fragment.out());
    }

    @Test
    void serverHelpNamesItsOptions() {
        Cli server = Cli.run("server", "--help");
        assertEquals(BenchTool.OK, server.status());
        for (String option : new String[]{"--allocators", "--load", "--duration", "--requests", "--idle", "--no-trim",
                "SlabByteBufAllocator", "AdaptiveByteBufAllocator", "PooledByteBufAllocator"}) {
            assertTrue(server.out().contains(option), option + " in\n" + server.out());
        }
    }

    @Test
    void wrkThatIsNotOnThePathIsNamed(@TempDir Path emptyDir) {
        String before = System.getProperty("slab4j.bench.path");
        System.setProperty("slab4j.bench.path", emptyDir.toString()); // a PATH without wrk, wherever this runs
        try {
            assertUsageError(Cli.run("server", "--load", "wrk"), "wrk is not on the PATH");
        } finally {
            if (before == null) {
                System.clearProperty("slab4j.bench.path");
            } else {
                System.setProperty("slab4j.bench.path", before);
            }
        }
    }

}

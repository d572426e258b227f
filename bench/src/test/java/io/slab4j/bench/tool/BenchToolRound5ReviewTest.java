package io.slab4j.bench.tool;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static io.slab4j.bench.tool.BadArgumentsTest.assertUsageError;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Round-5 review of the tool's argument checks (BenchTool: "2 bad arguments — one line naming the problem, then
 * the usage, no stack trace"). Each line gives a short, otherwise valid run, so a bad value that is accepted
 * runs briefly and the test fails on the exit status instead of hanging.
 */
class BenchToolRound5ReviewTest {
    private static final String SCARCITY = "scarcity --duration 100ms --hang-after 50ms --getters 2 --fragmenters 0 --strategies NAIVE --progress none ";
    private static final String FRAGMENT = "fragment --dist uniform --events 2000 --live 100 --samples 10 --fits INSTANT --progress none ";

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "S --hold -1ms               | -1ms",
            "S --think -1ms              | -1ms",
            "S --small-max-pages 0       | --small-max-pages",
            "S --small-max-pages -1      | --small-max-pages",
            "S --long-lived-percent -1   | --long-lived-percent",
            "S --long-lived-percent 101  | --long-lived-percent",
            "S --item-size 99999999999G  | 99999999999G",
            "S --getters 99999999999     | 99999999999",
            "S --seed banana             | banana",
            "S --progress loud           | loud",
            "F --granule 3               | --granule",
            "F --granule 0               | 0",
            "F --quantum 0               | 0",
            "F --live 0                  | --live",
            "F --live -5                 | --live",
            "F --samples -1              | --samples",
            "F --min-size 0              | 0",
            "F --min-size 64K --max-size 4K | --max-size",
            "F --headroom NaN            | NaN",
            "F --headroom -1             | --headroom",
            "F --events 99999999999      | 99999999999",
    })
    void aBadValueIsNamedProbe(String commandLine, String expected) {
        String line = commandLine.trim();
        String prefix = line.startsWith("S ") ? SCARCITY : FRAGMENT;
        String full = prefix + line.substring(2);
        assertUsageError(Cli.run(full.trim().split("\\s+")), expected.trim());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "fragment --dist uniform --events 2000 --live 100 --samples 10 --fits INSTANT --progress none --arena 99999999999T | 99999999999T",
            "fragment --dist uniform --events 2000 --live 100 --samples 10 --fits INSTANT --progress none --arena 8388608T | 8388608T",
            "fragment --dist uniform --events 2000 --live 100 --samples 10 --fits INSTANT --progress none --large 8388608T | 8388608T",
            "scarcity --duration 100ms --hang-after 50ms --getters 2 --fragmenters 0 --strategies NAIVE --progress none --item-size 8388608T | 8388608T",
    })
    void aSizeTooLargeForALongIsAUsageErrorNamingItProbe(String commandLine, String expected) {
        assertUsageError(Cli.run(commandLine.trim().split("\\s+")), expected.trim());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "scarcity --duration 100ms --hang-after 50ms --getters 2 --fragmenters 0 --progress none --strategies NAIVE,NAIVE | NAIVE",
            "fragment --dist uniform --events 2000 --live 100 --samples 10 --progress none --fits INSTANT,INSTANT | INSTANT",
    })
    void aScenarioNamedTwiceIsAUsageErrorAsForTheServersAllocators(String commandLine, String expected) {
        // server refuses "--allocators pooled,pooled" ("names an allocator twice", BadArgumentsTest); the
        // shared RunReport makes the other commands' lists the same kind of argument, yet scarcity and fragment run
        // a strategy or fit twice and print two identical-looking rows that the summary cannot tell apart.
        assertUsageError(Cli.run(commandLine.trim().split("\\s+")), expected.trim());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "fragment --dist power-law --events 2000 --live 100 --samples 10 --fits INSTANT --progress none --alpha NaN | NaN",
            "fragment --dist power-law --events 2000 --live 100 --samples 10 --fits INSTANT --progress none --alpha Infinity | Infinity",
    })
    void aNonFiniteAlphaIsNamed(String commandLine, String expected) {
        // NaN is refused ("'--alpha': NaN ..."), and so is any alpha <= 0, but Infinity is accepted and the run
        // goes ahead on a degenerate distribution (every block 16 B, "largest 16 B"): a bad value, not a scenario.
        assertUsageError(Cli.run(commandLine.trim().split("\\s+")), expected.trim());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "fragment --dist uniform --events 2000 --live 100 --samples 10 --fits INSTANT --progress none --headroom Infinity | Infinity",
            "fragment --dist uniform --events 2000 --live 100 --samples 10 --fits INSTANT --progress none --headroom 1e300 | 1.0E300",
    })
    void aHeadroomThatOverflowsTheArenaIsAUsageError(String commandLine, String expected) {
        // BenchTool: exit 2 "bad arguments - one line naming the problem, then the usage, no stack trace"; NaN and
        // values <= 0 are refused that way. Infinity (or 1e300) is accepted; peak live bytes times it wraps the arena
        // size to Long.MIN_VALUE ("arena -8388608 TiB") and the run breaks with exit 1 and
        // "IllegalArgumentException: size -9223372036854775808 is not a positive multiple of the quantum 16".
        assertUsageError(Cli.run(commandLine.trim().split("\\s+")), expected.trim());
    }

    private static final String SERVER = "server --duration 200ms --warmup 1ms --allocators slab4j --requests 20 --idle 10ms --progress none ";

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--reserve 0          | '0' is zero",
            "--reserve -1M        | '-1M' is negative",
            "--child-heap 0       | '0' is zero",
            "--sample-every 0ms   | '0ms'",
            "--io-threads -1      | --io-threads",
            "--connections 99999999999 | 99999999999",
            "--reserve 64K        | --reserve",
    })
    void aBadServerValueIsNamedProbe(String args, String expected) {
        assertUsageError(Cli.run((SERVER + args).trim().split("\\s+")), expected.trim());
    }

    @org.junit.jupiter.api.Test
    void aJsonFileInADirectoryThatDoesNotExistIsNamed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path json = dir.resolve("no/such/dir/out.json");
        Cli cli = Cli.run((FRAGMENT + "--json " + json).trim().split("\\s+"));
        // either written (parents made) or a usage error naming the path, never a broken run
        if (cli.status() == BenchTool.OK) {
            assertTrue(java.nio.file.Files.exists(json), cli.toString());
        } else {
            assertUsageError(cli, json.getParent().toString());
        }
    }

    @org.junit.jupiter.api.Test
    void chartsIntoARegularFileIsNamed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // BenchTool: exit 2 is "bad arguments - one line naming the problem, then the usage, no stack trace", exit 1
        // is "the run broke". A --charts path that is a regular file is a bad argument known before the run; now the
        // whole scenario runs, then exit 1 with "UncheckedIOException: cannot create the charts directory ...".
        java.nio.file.Path file = java.nio.file.Files.writeString(dir.resolve("plain.txt"), "x");
        assertUsageError(Cli.run((FRAGMENT + "--charts " + file).trim().split("\\s+")), file.toString());
    }

    @org.junit.jupiter.api.Test
    void jsonOntoADirectoryIsNamed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        // As above: --json naming a directory runs the scenario, then exits 1 with
        // "UncheckedIOException: cannot write JSON to ... (Is a directory)" instead of a usage error before the run.
        assertUsageError(Cli.run((FRAGMENT + "--json " + dir).trim().split("\\s+")), dir.toString());
    }

    private static final String TRACE = "fragment --samples 10 --fits INSTANT --progress none --trace ";

    @org.junit.jupiter.api.Test
    void aTraceThatIsADirectoryIsNamed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        assertUsageError(Cli.run((TRACE + dir).split("\\s+")), dir.toString());
    }

    @org.junit.jupiter.api.Test
    void aTraceThatIsNotReallyGzipIsNamed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path fake = java.nio.file.Files.writeString(dir.resolve("fake.gz"), "not gzip at all\n");
        assertUsageError(Cli.run((TRACE + fake).split("\\s+")), fake.toString());
    }

    @org.junit.jupiter.api.Test
    void anEmptyTraceIsNamed(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path empty = java.nio.file.Files.writeString(dir.resolve("empty.txt"), "");
        assertUsageError(Cli.run((TRACE + empty).split("\\s+")), empty.toString());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--item-size 2G --slab-pages 524288 --limit 2 --fragmented-slabs 1",
    })
    void theArenaOfSlabsBeyondAnIntIsReportedWithoutOverflow(String args) {
        // The scenario accepts these values and runs (exit 0), but its header reports the arena through an int
        // overflow of the slab's bytes (524288 pages * 4096 = 2^31): "arena -6 GiB (3 slabs ...)"; with the default
        // limit "arena -40 GiB (20 slabs ...)", and 4 GiB items in 2,000,000-page slabs print "arena -7.4 GiB".
        // 1 GiB slabs (262144 pages) report "arena 4 GiB" correctly. An accepted value must give a true report
        // (or be refused with exit 2 naming it).
        Cli cli = Cli.run((SCARCITY + args).trim().split("\\s+"));
        assertTrue(cli.status() == BenchTool.USAGE || cli.status() == BenchTool.OK, cli.toString());
        assertFalse(cli.out().contains("arena -"), cli.toString());
    }
}

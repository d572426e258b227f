package io.slab4j.bench.tool;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

import static io.slab4j.bench.tool.BadArgumentsTest.assertUsageError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Review 20 (b): slab4j-bench's argument handling. The promise (BenchTool, README "Bad arguments print one line
 * and the usage and exit 2"; Units: "a run never starts with a size or a duration it cannot use"): a bad value
 * gives exit 2, one line naming it, then the usage, no stack trace and no exception name; exit 1 is only for a
 * run that broke. Every command line here is short: a bad value that is accepted runs for well under a second.
 */
class Review20ToolTest {
    private static final String SCARCITY = "scarcity --getters 2 --fragmenters 0 --strategies NAIVE --progress none ";
    private static final String FRAGMENT = "fragment --dist uniform --events 2000 --live 100 --samples 10 --fits INSTANT --progress none ";
    private static final String SERVER = "server --warmup 1ms --allocators slab4j --requests 20 --idle 10ms --progress none ";

    private static Cli run(String line) {
        return Cli.run(line.trim().split("\\s+"));
    }

    /** Exit 2 naming {@code what} before anything ran, or (for values a run can use) a clean run: never exit 1. */
    private static void usageErrorOrCleanRun(Cli cli, String what) {
        assertTrue(cli.status() != BenchTool.FAILED, "a bad argument broke the run instead of being named (exit 1): " + cli);
        if (cli.status() == BenchTool.USAGE) {
            assertUsageError(cli, what);
        }
        assertFalse(cli.err().contains("Exception"), "no exception name:\n" + cli);
    }

    /** A usage error naming {@code what}; first, when the run broke instead (exit 1), a failure that says {@code defect}. */
    private static void assertRefused(Cli cli, String what, String defect) {
        assertTrue(cli.status() != BenchTool.FAILED, defect + " (exit 1 instead of a usage error naming " + what + "): " + cli);
        assertUsageError(cli, what);
    }

    // ------------------------------------------------------------------ defects

    /**
     * fragment --arena smaller than blocks of the events: either a usage error naming --arena, or a run that counts
     * them as "allocations that found no fit" (the scenario's own measure). Observed: exit 1,
     * "IllegalArgumentException: tryAlloc: size 22000 is not in [1, 4096], the arena's size".
     */
    @Test
    @Timeout(20)
    void anArenaSmallerThanABlockIsNamedOrCountedAsNoFit() {
        usageErrorOrCleanRun(run(FRAGMENT + "--arena 4K"), "--arena");
    }

    /**
     * fragment --live far above --events (blocks alive in a steady state that 2000 events never reach): a bad
     * value, to be named. Observed: OutOfMemoryError (an int[live] array) escapes BenchTool.run, i.e. a JVM stack
     * trace from the jar.
     */
    @Test
    @Timeout(20)
    void aHugeLiveCountIsNamedNotAnOutOfMemoryError() {
        Cli cli;
        try {
            cli = run("fragment --dist uniform --events 2000 --samples 10 --fits INSTANT --progress none --live 2147483647");
        } catch (Throwable e) {
            fail("fragment --live 2147483647 escaped BenchTool.run with " + e + " (the jar prints its stack trace)");
            return;
        }
        usageErrorOrCleanRun(cli, "--live");
    }

    /**
     * A duration too long to count in milliseconds or nanoseconds is accepted by Units and then overflows in the
     * scenario's config: exit 1 "ArithmeticException: long overflow" instead of a usage error naming it.
     */
    @ParameterizedTest
    @Timeout(20)
    @CsvSource(delimiter = '|', value = {
            "S --duration PT999999999999999H --hang-after 50ms | PT999999999999999H",
            "S --duration 100ms --hang-after 50ms --hold PT9999999999H | PT9999999999H",
            "S --duration 100ms --hang-after 50ms --think PT9999999999H | PT9999999999H",
            "V --duration PT999999999999999H | PT999999999999999H",
    })
    void aDurationBeyondALongOfNanosIsAUsageError(String line, String expected) {
        String prefix = line.startsWith("S ") ? SCARCITY : SERVER;
        assertRefused(run(prefix + line.substring(2)), expected.trim(), "a duration too long for a long of nanos overflows in the config");
    }

    /**
     * Units: durations "must be positive ... so a run never starts with a duration it cannot use". A sub-millisecond
     * --duration or --hang-after passes that check, then scarcity truncates it to whole milliseconds: observed
     * "0 ns per strategy" (a run of nothing, exit 0) and "hung = waited > 0 ns" (every wait counts as hung).
     */
    @Test
    @Timeout(20)
    void aSubMillisecondDurationIsNotRunAsZero() {
        Cli whole = run(SCARCITY + "--duration 0.5ms --hang-after 0.1ms");
        if (whole.status() == BenchTool.USAGE) {
            assertUsageError(whole, "0.5ms");
        } else {
            assertEquals(BenchTool.OK, whole.status(), whole.toString());
            assertFalse(whole.out().contains("0 ns per strategy"), "--duration 0.5ms ran as zero:\n" + whole.out());
        }
        Cli hang = run(SCARCITY + "--duration 100ms --hang-after 0.5ms");
        if (hang.status() == BenchTool.USAGE) {
            assertUsageError(hang, "0.5ms");
        } else {
            assertEquals(BenchTool.OK, hang.status(), hang.toString());
            assertFalse(hang.out().contains("waited > 0 ns"), "--hang-after 0.5ms became zero:\n" + hang.out());
        }
    }

    /**
     * scarcity --limit so large that its arena cannot exist: known from the arguments, so a usage error naming
     * --limit. Observed: 100000000 → exit 1 "IllegalArgumentException: size 26214401048576 holds 6400000256 quanta";
     * 2147483647 → the header says "arena -512.0 TiB (-2147483645 slabs" (int overflow), then exit 1
     * "NativeMemoryException: mmap(...) failed: ENOMEM".
     */
    @ParameterizedTest
    @Timeout(20)
    @ValueSource(strings = {"100000000", "2147483647"})
    void aLimitWhoseArenaCannotBeReservedIsNamed(String limit) {
        Cli cli = run(SCARCITY + "--duration 100ms --hang-after 50ms --limit " + limit);
        assertFalse(cli.out().contains("arena -"), "the header reports a negative arena:\n" + cli.out());
        assertRefused(cli, "--limit", "a --limit whose arena cannot be reserved breaks the run");
    }

    /**
     * A trace whose SIZE is valid by the format (>= 1) but whose rounding to the quantum overflows: observed
     * header "largest 8388608 TiB, peak live 0 B); arena 0 B", then exit 1 "IllegalArgumentException: size 0 is
     * not a positive multiple of the quantum 16". Expected: a usage error naming the trace (its line or the size).
     */
    @Test
    @Timeout(20)
    void aTraceSizeThatOverflowsTheQuantumIsNamed(@TempDir Path dir) throws IOException {
        Path trace = Files.writeString(dir.resolve("huge.trace"), "a 0 9223372036854775807\nf 0\n", StandardCharsets.UTF_8);
        Cli cli = run("fragment --samples 10 --fits INSTANT --progress none --trace " + trace);
        assertFalse(cli.out().contains("arena 0 B"), "the header reports an arena of 0 B:\n" + cli.out());
        assertRefused(cli, trace.toString(), "a trace SIZE whose rounding to the quantum overflows breaks the run");
    }

    /**
     * --json FILE whose parent is a regular file cannot be written, and that is known before the run (as for a
     * --json that is a directory, which RunReport refuses up front). Observed: the whole scenario runs, then exit 1
     * "UncheckedIOException: cannot write JSON to .../plain.txt/out.json".
     */
    @Test
    @Timeout(20)
    void aJsonFileUnderARegularFileIsNamedBeforeTheRun(@TempDir Path dir) throws IOException {
        Path plain = Files.writeString(dir.resolve("plain.txt"), "x");
        Path json = plain.resolve("out.json");
        assertRefused(run(FRAGMENT + "--json " + json), json.toString(), "--json under a regular file fails only after the run");
    }

    /**
     * --charts DIR under a regular file: the directory can never be created (the sibling case, --charts naming a
     * regular file, is refused before the run). Observed: the run, then exit 1 "UncheckedIOException: cannot create
     * the charts directory ...: Not a directory".
     */
    @Test
    @Timeout(20)
    void aChartsDirectoryUnderARegularFileIsNamedBeforeTheRun(@TempDir Path dir) throws IOException {
        Path plain = Files.writeString(dir.resolve("plain.txt"), "x");
        Path charts = plain.resolve("charts");
        assertRefused(run(FRAGMENT + "--charts " + charts), charts.toString(), "--charts under a regular file fails only after the run");
    }

    /**
     * --json into a directory nobody may create files in (/proc, even as root): observed, the run and then exit 1
     * "UncheckedIOException: cannot write JSON to /proc/...: (No such file or directory)". Expected: named before.
     */
    @Test
    @Timeout(20)
    void aJsonFileInAnUnwritableDirectoryIsNamedBeforeTheRun() {
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self")), "Linux /proc");
        String json = "/proc/r20b-" + ProcessHandle.current().pid() + ".json";
        assertRefused(run(FRAGMENT + "--json " + json), json, "--json in an unwritable directory fails only after the run");
    }

    // ------------------------------------------------------------------ probes that hold

    /** An unknown option is named, for every scenario. */
    @ParameterizedTest
    @Timeout(20)
    @ValueSource(strings = {"scarcity", "fragment", "server", "schema"})
    void anUnknownOptionIsNamed(String scenario) {
        assertUsageError(run(scenario + " --bogus-option 3"), "--bogus-option");
    }

    /** An option given last without its value is named with the option. */
    @ParameterizedTest
    @Timeout(20)
    @ValueSource(strings = {"fragment --json", "fragment --trace", "scarcity --duration", "server --reserve", "scarcity --strategies"})
    void anOptionWithoutItsValueIsNamed(String line) {
        String option = line.substring(line.indexOf("--"));
        assertUsageError(run(line), option);
    }

    /** A stray positional argument is named. */
    @Test
    @Timeout(20)
    void aStrayArgumentIsNamed() {
        assertUsageError(run("fragment extra-thing"), "extra-thing");
        assertUsageError(run("schema again"), "again");
    }

    /** Malformed units and numbers are named with the value (Units' examples: 500ms, 5s, 1m, PT5S; 4096, 256K, 4MiB, 1G). */
    @ParameterizedTest
    @Timeout(20)
    @CsvSource(delimiter = '|', value = {
            "scarcity --duration 1h               | '1h'",
            "scarcity --duration 5.s              | '5.s'",
            "scarcity --hold ms                   | 'ms'",
            "scarcity --item-size 4KB2            | '4KB2'",
            "scarcity --item-size 1.5M            | '1.5M'",
            "fragment --arena 1T                  | '1T'",
            "fragment --headroom 1,5              | '1,5'",
            "fragment --seed 99999999999999999999 | 99999999999999999999",
            "server --child-heap 256MB!           | '256MB!'",
            "server --sample-every PT-1S          | 'PT-1S'",
    })
    void aMalformedValueIsNamed(String line, String expected) {
        assertUsageError(run(line), expected.trim());
    }

    /** A gzip trace cut short: exit 2 with one line naming the file, the usage, and no stack trace. */
    @Test
    @Timeout(20)
    void aTruncatedGzipTraceIsNamed(@TempDir Path dir) throws IOException {
        Path whole = dir.resolve("whole.trace.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(whole))) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < 20_000; i++) {
                text.append("a ").append(i).append(' ').append(16 + i % 1000).append('\n');
            }
            out.write(text.toString().getBytes(StandardCharsets.UTF_8));
        }
        byte[] bytes = Files.readAllBytes(whole);
        Path cut = Files.write(dir.resolve("cut.trace.gz"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
        Cli cli = run("fragment --samples 10 --fits INSTANT --progress none --trace " + cut);
        assertEquals(BenchTool.USAGE, cli.status(), cli.toString());
        assertTrue(cli.firstErrLine().startsWith("slab4j-bench: ") && cli.firstErrLine().contains(cut.toString()), cli.toString());
        assertFalse(cli.err().contains("\tat "), "no stack trace:\n" + cli);
        assertEquals("", cli.out(), cli.toString());
    }

    /** Trace format rules (shared/traces/README.md) broken through the command line: named with the line number. */
    @ParameterizedTest
    @Timeout(20)
    @CsvSource(delimiter = '|', value = {
            "a 0 16;f 0;f 0       | line 3",
            "a 0 16;f 7           | line 2",
            "a 0 16;a 0 32        | line 2",
            "a 0 0                | line 1",
            "a 0 -16              | line 1",
            "x 0 16               | line 1",
            "a 0 16 9             | line 1",
    })
    void aBrokenTraceRuleIsNamedWithItsLine(String lines, String expected, @TempDir Path dir) throws IOException {
        Path trace = Files.writeString(dir.resolve("bad.trace"), lines.trim().replace(';', '\n') + "\n", StandardCharsets.UTF_8);
        assertUsageError(run("fragment --samples 10 --fits INSTANT --progress none --trace " + trace), expected.trim());
    }

    /** A huge --large (beyond any arena) is a measurement, not a crash: the probe never succeeds and the run ends cleanly. */
    @Test
    @Timeout(20)
    void aLargeProbeBeyondTheArenaRunsAndNeverSucceeds() {
        Cli cli = run(FRAGMENT + "--large 1G");
        assertEquals(BenchTool.OK, cli.status(), cli.toString());
        assertTrue(cli.out().contains("large probe 1 GiB"), cli.out());
        assertTrue(cli.out().contains("0.0%"), "no 1 GiB probe fits a 4 MiB arena:\n" + cli.out());
    }
}

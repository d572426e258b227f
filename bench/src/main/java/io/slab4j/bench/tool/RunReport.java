package io.slab4j.bench.tool;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * What one run of a scenario prints and writes around its own tables, the same for every
 * scenario: its one-line description first on stdout, its progress on stderr (as
 * {@code --progress} asks, named after the scenario), and after the tables the JSON document
 * ({@code --json}) and the charts ({@code --charts}), each followed by one stdout line saying
 * where it went ({@code JSON: FILE}, {@code charts: [FILE, ...]}). The instant the run
 * started, taken by {@link #start}, goes into the JSON envelope.
 *
 * <p>Made and used by one command's {@code call()}, on the caller's thread; not thread-safe
 * (the {@link Progress} it hands out is).
 */
public final class RunReport {
    private final String scenario;
    private final OutputOptions options;
    private final CommandLine command;
    private final Instant started;

    private RunReport(String scenario, OutputOptions options, CommandLine command, Instant started) {
        this.scenario = scenario;
        this.options = options;
        this.command = command;
        this.started = started;
    }

    /**
     * The run of {@code scenario} (the JSON {@code scenario} and the progress task) starts now.
     * A {@code --json} path that is a directory, or a {@code --charts} path that exists and is
     * not one, is a bad argument: refused here, before anything runs, not after the run.
     */
    public static RunReport start(String scenario, CommandSpec spec, OutputOptions options) {
        if (options.json != null) {
            Checks.require(spec, !Files.isDirectory(options.json), "invalid value for option '--json': '" + options.json
                    + "' is a directory, not a file");
        }
        if (options.charts != null) {
            Checks.require(spec, !Files.exists(options.charts) || Files.isDirectory(options.charts),
                    "invalid value for option '--charts': '" + options.charts + "' exists and is not a directory");
        }
        return new RunReport(scenario, options, spec.commandLine(), Instant.now());
    }

    /** The command's stdout, for its tables. */
    public PrintWriter out() {
        return command.getOut();
    }

    /** Prints the run's description and flushes, so that it shows before the first progress line. */
    public void describe(String description) {
        out().println(description);
        out().flush();
    }

    /** Progress of {@code total} units on stderr, shown as {@code --progress} asks. */
    public Progress progress(long total, String unit) {
        return Progress.start(options.progress, scenario, total, unit, command.getErr());
    }

    /**
     * After the tables: the JSON document of {@code config} and {@code results} if {@code --json}
     * was given, then the charts {@code charts} draws into the {@code --charts} directory if it
     * was given (not called otherwise), each followed by its line; flushes stdout.
     */
    public void writeFiles(Object config, Object results, Consumer<ChartFiles> charts) {
        PrintWriter out = out();
        if (options.json != null) {
            JsonReport.write(options.json, JsonReport.envelope(scenario, started, config, results));
            out.println("JSON: " + options.json);
        }
        if (options.charts != null) {
            ChartFiles files = new ChartFiles(options.charts);
            charts.accept(files);
            out.println("charts: " + files.written());
        }
        out.flush();
    }
}

package io.slab4j.bench.tool;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
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
     * An output that cannot be written is a bad argument, refused here, before anything runs,
     * not after the run: a {@code --json} path that is a directory, a {@code --charts} path
     * that exists and is not one, and either one in a directory that cannot be made or
     * written (a parent that is a regular file, a read-only or special file system). So the
     * {@code --json} file's directory and the {@code --charts} directory are made here (each
     * is tried with a file made and deleted at once); the files are written after the run.
     */
    public static RunReport start(String scenario, CommandSpec spec, OutputOptions options) {
        if (options.json != null) {
            Checks.require(spec, !Files.isDirectory(options.json), "invalid value for option '--json': '" + options.json
                    + "' is a directory, not a file");
            writableDirectory(spec, "--json", options.json, options.json.toAbsolutePath().getParent());
        }
        if (options.charts != null) {
            Checks.require(spec, !Files.exists(options.charts) || Files.isDirectory(options.charts),
                    "invalid value for option '--charts': '" + options.charts + "' exists and is not a directory");
            writableDirectory(spec, "--charts", options.charts, options.charts.toAbsolutePath());
        }
        return new RunReport(scenario, options, spec.commandLine(), Instant.now());
    }

    /** Makes {@code dir} if missing and writes and deletes a file in it; a failure is a usage error naming {@code given}. */
    private static void writableDirectory(CommandSpec spec, String option, Path given, Path dir) {
        try {
            Files.createDirectories(dir);
            Files.delete(Files.createTempFile(dir, ".slab4j-bench-", ".probe"));
        } catch (IOException | SecurityException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "invalid value for option '" + option + "': cannot write '"
                    + given + "': " + reason(e));
        }
    }

    /** The OS's reason without the exception's name (the usage line names no exception). */
    private static String reason(Exception e) {
        if (e instanceof FileAlreadyExistsException f) {
            return f.getFile() + " exists and is not a directory";
        }
        if (e instanceof FileSystemException f) {
            return f.getFile() + (f.getReason() != null ? ": " + f.getReason() : "");
        }
        return String.valueOf(e.getMessage());
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

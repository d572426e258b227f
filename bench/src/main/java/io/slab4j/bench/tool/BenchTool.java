package io.slab4j.bench.tool;

import io.slab4j.bench.tool.fragment.FragmentCommand;
import io.slab4j.bench.tool.scarcity.ScarcityCommand;
import io.slab4j.bench.tool.server.ServerCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The {@code slab4j-bench} command line: the entry point of {@code bench/target/slab4j-bench.jar}.
 * Each scenario is a picocli subcommand that returns its exit status; this class only wires
 * them and fixes the exit codes.
 *
 * <h2>Exit status</h2>
 * <ul>
 *   <li>{@link #OK} 0: the scenario ran to the end (whatever it measured: a hang that the
 *       watchdog caught is a measurement, not a failure of the tool);
 *   <li>{@link #FAILED} 1: the run broke (an invariant check failed, a thread did not stop, a server
 *       answered wrong bytes or kept slab4j buffers open);
 *   <li>{@link #USAGE} 2: bad arguments — one line naming the problem, then the usage, no stack trace.
 * </ul>
 *
 * <h2>Concurrency</h2>
 * {@link #run} is called once per process by {@link #main}; tests call it from their own
 * thread with their own writers. Nothing here is shared between calls.
 */
@Command(name = "slab4j-bench",
        mixinStandardHelpOptions = true,
        versionProvider = BenchTool.Version.class,
        description = {
                "Scenarios that show how slab4j behaves when memory is scarce or fragmented.",
                "Each prints progress on stderr, a summary table on stdout, and writes JSON (--json) and charts (--charts).",
                ""},
        subcommands = {ScarcityCommand.class, FragmentCommand.class, ServerCommand.class, SchemaCommand.class,
                CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {
                "0:the scenario ran to the end (what it measured is in the table)",
                "1:the run broke: an invariant check failed or a thread did not stop",
                "2:bad arguments"},
        footer = {"", "Example: java -jar bench/target/slab4j-bench.jar scarcity --json scarcity.json --charts charts/"})
public final class BenchTool implements Runnable {
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** No scenario named: that is a usage error, not a request for help. */
    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "no scenario given: name one of scarcity, fragment, server");
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        int status = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        System.exit(status);
    }

    /** Parses and runs one command line, writing to {@code out} and {@code err}; returns the exit status. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new BenchTool());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setOut(out);
        cl.setErr(err);
        cl.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? USAGE : FAILED);
        cl.setParameterExceptionHandler(BenchTool::usageError);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            // A bug or a broken run: say what broke in one line; the trace only on request.
            cmd.getErr().println("slab4j-bench " + cmd.getCommandName() + ": " + describe(e));
            if (Boolean.getBoolean("slab4j.bench.trace")) {
                e.printStackTrace(cmd.getErr());
            } else {
                cmd.getErr().println("(run with -Dslab4j.bench.trace=true for the stack trace)");
            }
            return FAILED;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) { // picocli passes errors on: one line, as for any broken run, not the JVM's stack trace
            err.println("slab4j-bench: out of memory: the arguments ask for more heap than this JVM's " + Units.bytes(Runtime.getRuntime().maxMemory())
                    + " (-Xmx sets it)");
            return FAILED;
        }
    }

    /** One line naming the bad argument, then the usage of the command it belongs to; status 2. */
    private static int usageError(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println("slab4j-bench: " + e.getMessage().replace('\n', ' '));
        cmd.usage(err);
        return USAGE;
    }

    private static String describe(Throwable e) {
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    /** The version from the jar's manifest (unknown when run from classes). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"slab4j-bench " + version()};
        }
    }

    public static String version() {
        String v = BenchTool.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}

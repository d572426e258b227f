package io.slab4j.bench.tool;

import picocli.CommandLine;

/**
 * Argument checks that picocli's types cannot express (a count that must be positive, a
 * value that must be below another). Each failure is a {@link CommandLine.ParameterException}
 * naming the option and the value, which the tool prints as one line before the usage.
 *
 * <p>Stateless; thread-safe.
 */
public final class Checks {
    private Checks() {
    }

    public static int positive(CommandLine.Model.CommandSpec spec, String option, int value) {
        if (value <= 0) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "invalid value for option '" + option + "': " + value + " is not positive");
        }
        return value;
    }

    public static long positive(CommandLine.Model.CommandSpec spec, String option, long value) {
        if (value <= 0) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "invalid value for option '" + option + "': " + value + " is not positive");
        }
        return value;
    }

    public static void require(CommandLine.Model.CommandSpec spec, boolean ok, String message) {
        if (!ok) {
            throw new CommandLine.ParameterException(spec.commandLine(), message);
        }
    }
}

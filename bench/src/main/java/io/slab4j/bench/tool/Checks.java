package io.slab4j.bench.tool;

import picocli.CommandLine;

import java.util.List;

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
        positive(spec, option, (long) value);
        return value;
    }

    public static long positive(CommandLine.Model.CommandSpec spec, String option, long value) {
        require(spec, value > 0, "invalid value for option '" + option + "': " + value + " is not positive");
        return value;
    }

    /** A positive real number: NaN, 0, negatives and infinity are refused. */
    public static double positive(CommandLine.Model.CommandSpec spec, String option, double value) {
        require(spec, value > 0, "invalid value for option '" + option + "': " + value + " is not positive");
        require(spec, value != Double.POSITIVE_INFINITY, "invalid value for option '" + option + "': " + value
                + " is not finite");
        return value;
    }

    /** A list option that names each of its values once (a value named twice would run twice). */
    public static <T> List<T> distinct(CommandLine.Model.CommandSpec spec, String option, List<T> values, String what) {
        require(spec, new java.util.HashSet<>(values).size() == values.size(), "invalid value for option '" + option
                + "': " + values + " names " + what + " twice");
        return values;
    }

    /** A value at most {@code max}; {@code unit} follows the bound in the message (" threads", or ""). */
    public static long atMost(CommandLine.Model.CommandSpec spec, String option, long value, long max, String unit) {
        require(spec, value <= max, "invalid value for option '" + option + "': " + value + " is above " + max + unit);
        return value;
    }

    /** A count where 0 is allowed. */
    public static int notNegative(CommandLine.Model.CommandSpec spec, String option, int value) {
        require(spec, value >= 0, "invalid value for option '" + option + "': " + value + " is negative");
        return value;
    }

    /** A list option (given as an empty string, it would run nothing). */
    public static <T> List<T> notEmpty(CommandLine.Model.CommandSpec spec, String option, List<T> values) {
        require(spec, !values.isEmpty(), "invalid value for option '" + option + "': empty");
        return values;
    }

    public static void require(CommandLine.Model.CommandSpec spec, boolean ok, String message) {
        if (!ok) {
            throw new CommandLine.ParameterException(spec.commandLine(), message);
        }
    }
}

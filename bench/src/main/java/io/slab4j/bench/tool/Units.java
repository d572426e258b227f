package io.slab4j.bench.tool;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parsing and printing of the tool's sizes and durations. Sizes take binary suffixes
 * ({@code 4096}, {@code 256K}, {@code 256KiB}, {@code 4M}, {@code 1G}); durations take
 * {@code ms}, {@code s} or {@code m} ({@code 500ms}, {@code 5s}, {@code 1m}) or ISO-8601
 * ({@code PT5S}). Both must be positive: zero and negative values are rejected with the
 * option's name, so a run never starts with a size or a duration it cannot use. A duration is
 * at most {@link #MAX_DURATION}, so that it counts in nanoseconds and in milliseconds without
 * overflow, and an option counted in whole milliseconds ({@link MillisConverter}) refuses a
 * value that is not one (a {@code 0.5ms} run would otherwise run as zero).
 *
 * <p>Stateless; thread-safe.
 */
public final class Units {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kmg]?)(i?b)?", Pattern.CASE_INSENSITIVE);
    private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m)", Pattern.CASE_INSENSITIVE);

    /** The longest duration any option takes: a year (in nanoseconds, far below a long's 292 years). */
    public static final Duration MAX_DURATION = Duration.ofDays(365);

    private Units() {
    }

    /** A size in bytes, at least 1. */
    public static long parseSize(String text) {
        String t = text.trim();
        if (t.startsWith("-")) {
            throw new IllegalArgumentException("'" + text + "' is negative: a size must be at least 1 byte");
        }
        Matcher m = SIZE.matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + text + "' is not a size (examples: 4096, 256K, 4MiB, 1G)");
        }
        long value;
        try {
            value = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' is too large", e);
        }
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            default -> 0;
        };
        if (value == 0) {
            throw new IllegalArgumentException("'" + text + "' is zero: a size must be at least 1 byte");
        }
        if (Long.numberOfLeadingZeros(value) <= shift + 1) {
            throw new IllegalArgumentException("'" + text + "' is too large");
        }
        return value << shift;
    }

    /** A duration, longer than zero. */
    public static Duration parseDuration(String text) {
        String t = text.trim();
        if (t.startsWith("-")) {
            throw new IllegalArgumentException("'" + text + "' is negative: a duration must be longer than zero");
        }
        Duration d;
        Matcher m = DURATION.matcher(t);
        if (m.matches()) {
            double amount = Double.parseDouble(m.group(1));
            double millis = switch (m.group(2).toLowerCase(Locale.ROOT)) {
                case "ms" -> amount;
                case "s" -> amount * 1e3;
                default -> amount * 60e3;
            };
            d = Duration.ofNanos(Math.round(millis * 1e6));
        } else {
            try {
                d = Duration.parse(t);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("'" + text + "' is not a duration (examples: 500ms, 5s, 1m, PT5S)", e);
            }
        }
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("'" + text + "' is not longer than zero: a duration must be");
        }
        if (d.compareTo(MAX_DURATION) > 0) {
            throw new IllegalArgumentException("'" + text + "' is longer than " + MAX_DURATION.toDays() + " days, the longest duration taken");
        }
        return d;
    }

    /** As {@link #parseDuration}, for an option counted in whole milliseconds: at least 1 ms, and a whole number of them. */
    public static Duration parseMillis(String text) {
        Duration d = parseDuration(text);
        if (d.compareTo(Duration.ofMillis(1)) < 0) {
            throw new IllegalArgumentException("'" + text + "' is shorter than 1 ms: this option counts whole milliseconds");
        }
        if (d.toNanos() % 1_000_000 != 0) {
            throw new IllegalArgumentException("'" + text + "' is not a whole number of milliseconds: this option counts them");
        }
        return d;
    }

    /** 262144 → "256 KiB"; exact multiples print without decimals. */
    public static String bytes(long bytes) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = 0;
        while (Math.abs(v) >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        if (u == 0 || v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%d %s", (long) v, units[u]);
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** Nanoseconds as a short human duration: "850 ns", "12.3 us", "4.56 ms", "1.20 s". */
    public static String nanos(long nanos) {
        if (nanos < 1_000) {
            return nanos + " ns";
        }
        if (nanos < 1_000_000) {
            return String.format(Locale.ROOT, "%.1f us", nanos / 1e3);
        }
        if (nanos < 1_000_000_000) {
            return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
        }
        return String.format(Locale.ROOT, "%.2f s", nanos / 1e9);
    }

    public static String duration(Duration d) {
        return nanos(d.toNanos());
    }

    /** Picocli converter for size options. */
    public static final class SizeConverter extends ParsingConverter<Long> {
        public SizeConverter() {
            super(Units::parseSize);
        }
    }

    /** Picocli converter for duration options. */
    public static final class DurationConverter extends ParsingConverter<Duration> {
        public DurationConverter() {
            super(Units::parseDuration);
        }
    }

    /** Picocli converter for duration options counted in whole milliseconds ({@link #parseMillis}). */
    public static final class MillisConverter extends ParsingConverter<Duration> {
        public MillisConverter() {
            super(Units::parseMillis);
        }
    }
}

package io.slab4j.bench.tool.fragment;

/** A trace line that breaks the format of shared/traces/README.md; names the source and the line number. */
public final class TraceFormatException extends Exception {
    private final long line;

    TraceFormatException(String source, long line, String problem, String text) {
        super("trace " + source + " line " + line + ": " + problem + ": '" + abbreviate(text) + "'");
        this.line = line;
    }

    public long line() {
        return line;
    }

    private static String abbreviate(String text) {
        return text.length() <= 60 ? text : text.substring(0, 57) + "...";
    }
}

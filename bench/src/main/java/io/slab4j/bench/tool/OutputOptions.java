package io.slab4j.bench.tool;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The options every scenario shares: where JSON and charts go, how progress is shown, and
 * the random seed. A picocli mixin; filled once by the parser, then read-only.
 */
public final class OutputOptions {
    @Option(names = "--json", paramLabel = "FILE",
            description = "Write the results as JSON to FILE. The schema is printed by 'slab4j-bench schema' "
                    + "(io/slab4j/bench/tool/slab4j-bench.schema.json in the jar).")
    public Path json;

    @Option(names = "--charts", paramLabel = "DIR",
            description = "Write PNG and SVG charts into DIR (created if missing).")
    public Path charts;

    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "Progress on stderr: auto (a live bar on a terminal, a line every few seconds otherwise), "
                    + "bar, lines or none. Default: ${DEFAULT-VALUE}.")
    public Progress.Mode progress;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42",
            description = "Seed of every random choice (printed with the results). Default: ${DEFAULT-VALUE}.")
    public long seed;
}

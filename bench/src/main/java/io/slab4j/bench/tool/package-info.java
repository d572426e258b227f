/**
 * {@code slab4j-bench}, the command-line tool of the bench module ({@code bench/target/slab4j-bench.jar}):
 * scenarios that show how slab4j behaves when memory is scarce or fragmented, and how a Netty
 * server on it compares with Netty's own allocators.
 *
 * <h2>Layout</h2>
 * <ul>
 *   <li>{@link io.slab4j.bench.tool.BenchTool}: the picocli entry point, exit statuses, error
 *       handling (bad arguments: one line, the usage, status 2, no stack trace).
 *   <li>One subpackage per scenario, each with the same parts: a {@code *Command} (options,
 *       checks, printing), a {@code *Config} record (the effective configuration, also the
 *       JSON {@code config}), the run itself, a results record (the JSON {@code results}) and
 *       a {@code *Charts} class. {@code scarcity}: {@code Scene}, {@code Getter},
 *       {@code Fragmenter}, {@code Watchdog}, {@code Sampler}, {@code Verdicts}.
 *       {@code fragment}: {@code TraceReader}, {@code Distribution}, {@code Replay},
 *       {@code PageCommits}, {@code AddressMap}. {@code server}: {@code ServerChild} (the Netty
 *       server, main class of a child JVM per allocator), {@code ChildProcess} (its launch, stdin/stdout
 *       control and /proc sampling, always killed), {@code LoadGenerator} / {@code WrkLoad},
 *       {@code Payload}, {@code ServerRun}.
 *   <li>Shared by every scenario: {@link io.slab4j.bench.tool.OutputOptions} (--json,
 *       --charts, --progress, --seed), {@link io.slab4j.bench.tool.RunReport} (what a run
 *       prints and writes around its tables), {@link io.slab4j.bench.tool.Progress},
 *       {@link io.slab4j.bench.tool.Table}, {@link io.slab4j.bench.tool.JsonReport},
 *       {@link io.slab4j.bench.tool.ChartFiles}, {@link io.slab4j.bench.tool.Percentiles},
 *       {@link io.slab4j.bench.tool.Units}, {@link io.slab4j.bench.tool.ParsingConverter},
 *       {@link io.slab4j.bench.tool.Checks}.
 * </ul>
 *
 * <h2>Output</h2>
 * Progress goes to stderr (a bar on a terminal, a line every few seconds otherwise); the
 * description of the run and the summary tables go to stdout. {@code --json FILE} writes
 * one document: {@code {tool, version, schemaVersion, scenario, startedAt, elapsedSeconds,
 * environment, config, results}}, described field by field by the JSON Schema (draft-07)
 * {@code io/slab4j/bench/tool/slab4j-bench.schema.json} in the jar, which
 * {@code slab4j-bench schema} prints. Bytes are bytes; durations are nanoseconds unless a
 * field's name says {@code Ms} or {@code Seconds}. {@code --charts DIR} writes every chart as
 * PNG and SVG (XChart) and the fragment scenario's address-space maps as PNG.
 *
 * <h2>Concurrency</h2>
 * A command runs on the caller's thread. Scenario workers (scarcity's getters and
 * fragmenters, server's load workers and sampler) are threads the run starts, stops (flag and
 * interrupt) and joins before it reports; each class header says which fields cross threads and
 * how. The server scenario's child JVMs are processes the run starts and always kills.
 */
package io.slab4j.bench.tool;

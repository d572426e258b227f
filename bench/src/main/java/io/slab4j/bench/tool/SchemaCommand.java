package io.slab4j.bench.tool;

import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.concurrent.Callable;

/** {@code slab4j-bench schema}: prints the JSON Schema that {@code --json} output follows. */
@Command(name = "schema", mixinStandardHelpOptions = true,
        description = "Print the JSON Schema (draft-07) of the files that --json writes.")
public final class SchemaCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().print(JsonReport.schema());
        spec.commandLine().getOut().flush();
        return BenchTool.OK;
    }
}

package io.slab4j.bench.tool;

import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.util.concurrent.Callable;

/**
 * {@code slab4j-bench server}: the hook for the Netty HTTP scenario (DESIGN.md, bench). It
 * needs {@value #ADAPTER} from the {@code allocator-netty} module; until that module is on
 * the class path, the command says so and exits {@link BenchTool#UNAVAILABLE}.
 *
 * <h2>How to build it here</h2>
 * When {@code allocator-netty} exists: add it as a dependency of {@code bench}, put the
 * scenario in {@code io.slab4j.bench.tool.server} the way {@code scarcity} and
 * {@code fragment} are laid out (a config record, a run that returns a results record, a
 * charts class), replace {@link #call()} with the run, and share {@link OutputOptions},
 * {@link Progress}, {@link Table}, {@link JsonReport} and {@link ChartFiles}. Add its
 * results under {@code definitions} in the schema and a branch to its top-level
 * {@code oneOf}. Each allocator runs in its own child JVM (its resident memory is its own):
 * start it with {@code ProcessBuilder} on {@code ProcessHandle.current().info().command()}
 * and this jar.
 */
@Command(name = "server", mixinStandardHelpOptions = true,
        description = {"REQUIRES allocator-netty and is not built yet: a Netty HTTP server on 127.0.0.1 with buffers "
                + "from slab4j's SlabByteBufAllocator, beside the same server on Netty's adaptive and pooled "
                + "allocators, under the same load.",
                "Needs io.slab4j.netty.SlabByteBufAllocator from the allocator-netty module; without it the command "
                        + "says so and exits with status 3."})
public final class ServerCommand implements Callable<Integer> {
    static final String ADAPTER = "io.slab4j.netty.SlabByteBufAllocator";

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (!adapterPresent()) {
            spec.commandLine().getErr().println("slab4j-bench server: needs the allocator-netty module (" + ADAPTER
                    + "), which is not in this build; scenarios available now: scarcity, fragment");
            return BenchTool.UNAVAILABLE;
        }
        spec.commandLine().getErr().println("slab4j-bench server: the allocator-netty adapter (" + ADAPTER
                + ") is on the class path, but this build of the tool has no server scenario yet");
        return BenchTool.UNAVAILABLE;
    }

    static boolean adapterPresent() {
        try {
            Class.forName(ADAPTER, false, ServerCommand.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}

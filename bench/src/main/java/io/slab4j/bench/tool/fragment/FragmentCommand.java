package io.slab4j.bench.tool.fragment;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "fragment")
public final class FragmentCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        return 0;
    }
}

package io.slab4j.bench.tool.scarcity;

/**
 * The stop signal of a run: set once by the run's thread, read by every worker after each
 * wait, hold and step. A volatile boolean; the workers are also interrupted so that parks
 * and waits end promptly.
 */
final class RunFlag {
    private volatile boolean set;

    void set() {
        set = true;
    }

    boolean isSet() {
        return set;
    }
}

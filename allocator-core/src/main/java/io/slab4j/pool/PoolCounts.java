package io.slab4j.pool;

/**
 * The counters of a {@link Pool} and the assembly of its {@link PoolStats}.
 *
 * <p>Terms: a <b>request</b> is an item handed out (taken, or handed over by a put); a
 * <b>failure</b> a get that returned 0; a <b>release</b> an accepted put; a <b>grow</b> /
 * <b>shrink</b> a slab added / returned to the arena; a <b>wait</b> a get that really
 * blocked (a timed get that only tried counts none), with its time.
 *
 * <p>Not thread-safe: every field is written and read under the pool's lock.
 */
final class PoolCounts {
    private long requests;
    private long failures;
    private long releases;
    private long grows;
    private long shrinks;
    private long highMark;
    private long waits;
    private long waitNanos;
    private long slabReturnFailures;

    /** An item went out; {@code inUse} items are out now. */
    void handedOut(long inUse) {
        requests++;
        highMark = Math.max(highMark, inUse);
    }

    /** An item went out by a put's hand-over (the count of items out did not change). */
    void handedOver() {
        requests++;
    }

    void failed() {
        failures++;
    }

    void released() {
        releases++;
    }

    void grew() {
        grows++;
    }

    void shrank() {
        shrinks++;
    }

    void slabReturnFailed() {
        slabReturnFailures++;
    }

    /** Adds one real wait ({@code nanos >= 0}); a negative value (no wait) is ignored. */
    void waited(long nanos) {
        if (nanos >= 0) {
            waits++;
            waitNanos += nanos;
        }
    }

    /** Adds the time of a wait counted already (the same sync queued again); a negative value is ignored. */
    void waitedMore(long nanos) {
        if (nanos >= 0) {
            waitNanos += nanos;
        }
    }

    PoolStats snapshot(String name, Geometry g, int slabs, int idleSlabs, long inUse, long pending, int waiting) {
        return new PoolStats(name, g.itemSize(), g.itemsPerSlab(), requests, failures, releases, grows, shrinks,
                slabs, idleSlabs, inUse, pending, highMark, waits, waitNanos, waiting, slabReturnFailures);
    }
}

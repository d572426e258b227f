package io.slab4j.event;

/**
 * {@link Events#timeout}: a branch whose source is the syncing thread's own clock; the
 * deadline is fixed at instantiation from the sync's start time. Immutable.
 */
final class TimeoutEvent extends Event<Timeout> {
    /** In [0, 2^62]: {@code start + nanos} stays comparable with {@code nanoTime} differences. */
    private final long nanos;

    TimeoutEvent(long nanos) {
        this.nanos = nanos;
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, Branch.Nacks nacks) {
        sync.addTimeout(nanos, wraps, nacks);
    }

    @Override
    public String toString() {
        return "timeout(" + nanos + "ns)";
    }
}

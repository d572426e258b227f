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
    void instantiate(Sync sync, Branch.Wraps wraps, NackEvent nacks) {
        sync.addTimeout(nanos, wraps, nacks);
    }

    @Override
    int plainBranches() {
        return 1;
    }

    @Override
    boolean plainHasTimeout() {
        return true;
    }

    /**
     * Ready once {@code nanos} have passed since the sync started, as in the sync's own poll
     * step; for {@link Event#poll} ({@code start == Sync.POLL_ONLY}) only when {@code nanos} is 0.
     */
    @Override
    Object pollPlain(int from, int to, int first, long start) {
        boolean ready = from <= first && first < to
                && (nanos == 0 || start != Sync.POLL_ONLY && System.nanoTime() - start - nanos >= 0);
        return ready ? Timeout.TIMEOUT : null;
    }

    @Override
    public String toString() {
        return "timeout(" + nanos + "ns)";
    }
}

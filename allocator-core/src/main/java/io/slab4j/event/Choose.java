package io.slab4j.event;

/**
 * {@link Events#choose}: all branches of all alternatives, flattened. Immutable; plain when
 * every alternative is, and then its leaf count and whether it holds a timeout are fixed
 * here once.
 */
final class Choose<T> extends Event<T> {
    private final Event<?>[] alternatives;
    /** Sum of the alternatives' leaves, or -1 if one of them is not plain. */
    private final int plainBranches;
    private final boolean plainHasTimeout;

    /** @param alternatives a private copy, no null element */
    Choose(Event<?>[] alternatives) {
        this.alternatives = alternatives;
        int leaves = 0;
        boolean timeout = false;
        for (Event<?> e : alternatives) {
            int n = e.plainBranches();
            if (n < 0 || leaves < 0) {
                leaves = -1;
            } else {
                leaves = Math.addExact(leaves, n);
            }
            timeout |= e.plainHasTimeout();
        }
        this.plainBranches = leaves;
        this.plainHasTimeout = leaves >= 0 && timeout;
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, NackEvent nacks) {
        for (Event<?> e : alternatives) {
            e.instantiate(sync, wraps, nacks);
        }
    }

    @Override
    int plainBranches() {
        return plainBranches;
    }

    @Override
    boolean plainHasTimeout() {
        return plainHasTimeout;
    }

    /** Visits only the alternatives whose leaves overlap {@code [from, to)}, in order. */
    @Override
    Object pollPlain(int from, int to, int first, long start) {
        int offset = first;
        for (Event<?> e : alternatives) {
            if (offset >= to) {
                break;
            }
            int n = e.plainBranches();
            if (offset + n > from) {
                Object v = e.pollPlain(from, to, offset, start);
                if (v != null) {
                    return v;
                }
            }
            offset += n;
        }
        return null;
    }
}

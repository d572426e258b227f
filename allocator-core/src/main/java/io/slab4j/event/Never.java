package io.slab4j.event;

/** {@link Events#never}: contributes no branch, so it can never commit. Stateless. */
final class Never extends Event<Object> {
    static final Never INSTANCE = new Never();

    private Never() {
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, NackEvent nacks) {
        // no branch
    }

    @Override
    int plainBranches() {
        return 0;
    }

    @Override
    Object pollPlain(int from, int to, int first, long start) {
        return null;
    }

    @Override
    public String toString() {
        return "never()";
    }
}

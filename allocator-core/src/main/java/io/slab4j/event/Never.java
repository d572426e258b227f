package io.slab4j.event;

/** {@link Events#never}: contributes no branch, so it can never commit. Stateless. */
final class Never extends Event<Object> {
    static final Never INSTANCE = new Never();

    private Never() {
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, Branch.Nacks nacks) {
        // no branch
    }

    @Override
    public String toString() {
        return "never()";
    }
}

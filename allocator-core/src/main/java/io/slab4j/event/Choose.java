package io.slab4j.event;

/** {@link Events#choose}: all branches of all alternatives, flattened. Immutable. */
final class Choose<T> extends Event<T> {
    private final Event<?>[] alternatives;

    /** @param alternatives a private copy, no null element */
    Choose(Event<?>[] alternatives) {
        this.alternatives = alternatives;
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, Branch.Nacks nacks) {
        for (Event<?> e : alternatives) {
            e.instantiate(sync, wraps, nacks);
        }
    }
}

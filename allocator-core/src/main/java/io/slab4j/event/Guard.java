package io.slab4j.event;

import java.util.Objects;
import java.util.function.Supplier;

/** {@link Events#guard}: the supplier runs at each instantiation, on the syncing thread. */
final class Guard<T> extends Event<T> {
    private final Supplier<? extends Event<T>> supplier;

    Guard(Supplier<? extends Event<T>> supplier) {
        this.supplier = supplier;
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, NackEvent nacks) {
        Event<T> e = Objects.requireNonNull(supplier.get(),
                () -> "guard: the supplier " + supplier + " returned null instead of an event");
        e.instantiate(sync, wraps, nacks);
    }
}

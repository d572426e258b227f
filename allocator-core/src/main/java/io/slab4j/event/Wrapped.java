package io.slab4j.event;

import java.util.function.Function;

/** {@link Event#wrap}: the inner event with one more post-commit function. Immutable. */
final class Wrapped<T, R> extends Event<R> {
    private final Event<T> inner;
    private final Function<? super T, ? extends R> function;

    Wrapped(Event<T> inner, Function<? super T, ? extends R> function) {
        this.inner = inner;
        this.function = function;
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, Branch.Nacks nacks) {
        inner.instantiate(sync, new Branch.Wraps(function, wraps), nacks);
    }
}

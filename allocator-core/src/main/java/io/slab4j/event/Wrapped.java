package io.slab4j.event;

import java.util.function.Function;

/**
 * {@link Event#wrap}: the inner event with one more post-commit function. Immutable; plain
 * exactly when the inner event is. When nothing wraps it, it is itself the list of wraps
 * its branches carry (see {@link Branch.Wraps}).
 */
final class Wrapped<T, R> extends Event<R> implements Branch.Wraps {
    private final Event<T> inner;
    private final Function<? super T, ? extends R> function;

    Wrapped(Event<T> inner, Function<? super T, ? extends R> function) {
        this.inner = inner;
        this.function = function;
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, NackEvent nacks) {
        inner.instantiate(sync, wraps == null ? this : new Branch.WrapNode(function, wraps), nacks);
    }

    /** As the outermost element of a list of wraps (only ever used so: see instantiate). */
    @Override
    @SuppressWarnings("unchecked")
    public Function<Object, Object> function() {
        return (Function<Object, Object>) function;
    }

    @Override
    public Branch.Wraps outer() {
        return null;
    }

    @Override
    int plainBranches() {
        return inner.plainBranches();
    }

    @Override
    boolean plainHasTimeout() {
        return inner.plainHasTimeout();
    }

    /** The inner leaf's value, then this function: innermost first, as {@link Branch#unwrap}. */
    @Override
    @SuppressWarnings("unchecked")
    Object pollPlain(int from, int to, int first, long start) {
        Object v = inner.pollPlain(from, to, first, start);
        return v == null ? null : Branch.apply((Function<Object, Object>) function, v);
    }
}

package io.slab4j.event;

import java.util.Objects;
import java.util.function.Function;

/**
 * {@link Events#withNack}: at each instantiation, a fresh {@link NackEvent} is recorded in
 * the sync (so it fires even if the function throws) and handed to the function; every
 * branch of the returned event is inside this nack's scope.
 */
final class WithNack<T> extends Event<T> {
    private final Function<? super NackEvent, ? extends Event<T>> function;

    WithNack(Function<? super NackEvent, ? extends Event<T>> function) {
        this.function = function;
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, NackEvent nacks) {
        NackEvent nack = sync.newNack(nacks);
        Event<T> e = Objects.requireNonNull(function.apply(nack),
                () -> "withNack: the function " + function + " returned null instead of an event");
        e.instantiate(sync, wraps, nack);
    }
}

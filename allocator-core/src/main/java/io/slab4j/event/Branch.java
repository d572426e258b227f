package io.slab4j.event;

import java.util.function.Function;

/**
 * One base event of an instantiated event tree: what a {@link Sync} polls, registers and,
 * if it wins, unwraps. It is also the {@link Waiter} that the sync hands to the base
 * event's source, so a branch costs one object whether or not it ever registers.
 * Produced by {@link Event#instantiate} once per waiting sync.
 *
 * <p>Invariants: exactly one of {@link #base} and "timeout" ({@code base == null}, a
 * {@link Timed} branch, which alone carries a deadline, so a base event's branch is 8 bytes
 * smaller) holds;
 * {@link #wraps} lists the wrap functions from innermost (applied first) outwards;
 * {@link #nacks} is the innermost withNack scope this branch is inside, the rest reached
 * through {@link NackEvent#enclosing}: if this branch wins, every other nack of the sync
 * fires.
 *
 * <p>Concurrency: the fields declared here are read and written by the syncing thread
 * only (sources see only the {@code Waiter} methods); the final ones are set before the
 * waiter is handed to any source.
 */
sealed class Branch<T> extends Waiter<T> permits Branch.Timed {
    /** The source's event, or null for a timeout branch. */
    final BaseEvent<T> base;
    final Wraps wraps;
    /** Innermost enclosing withNack scope, or null. */
    final NackEvent nacks;
    /** The current registration on {@link #base}'s source, or null. Syncing thread only. */
    Registration registration;
    /** The next branch of the same sync, in instantiation order, or null. Syncing thread only. */
    Branch<?> next;

    private Branch(Offer offer, int index, BaseEvent<T> base, Wraps wraps, NackEvent nacks) {
        super(offer, index);
        this.base = base;
        this.wraps = wraps;
        this.nacks = nacks;
    }

    static <T> Branch<T> of(Offer offer, int index, BaseEvent<T> base, Wraps wraps, NackEvent nacks) {
        return new Branch<>(offer, index, base, wraps, nacks);
    }

    static Timed timeout(Offer offer, int index, long deadline, Wraps wraps, NackEvent nacks) {
        return new Timed(offer, index, deadline, wraps, nacks);
    }

    /** A timeout branch: its source is the syncing thread's clock. */
    static final class Timed extends Branch<Timeout> {
        /** The {@code System.nanoTime()} deadline. */
        final long deadline;

        private Timed(Offer offer, int index, long deadline, Wraps wraps, NackEvent nacks) {
            super(offer, index, null, wraps, nacks);
            this.deadline = deadline;
        }
    }

    boolean isTimeout() {
        return base == null;
    }

    /** Registers this waiter on its source (not for a timeout branch). */
    Registration register() {
        return base.register(this);
    }

    /** Applies the wrap functions, innermost first; rejects a null result. */
    Object unwrap(Object value) {
        Object v = value;
        for (Wraps w = wraps; w != null; w = w.outer()) {
            v = apply(w.function(), v);
        }
        return v;
    }

    /** One wrap function, rejecting a null result; shared with the plain poll of {@link Wrapped}. */
    static Object apply(Function<Object, Object> function, Object value) {
        Object v = function.apply(value);
        if (v == null) {
            throw new NullPointerException("the wrap function " + function
                    + " returned null; an event never yields null (wrap to Optional"
                    + " or a sentinel instead)");
        }
        return v;
    }

    /** True if this branch is inside {@code nack}'s withNack, i.e. its winning must not fire it. */
    boolean isInside(NackEvent nack) {
        for (NackEvent n = nacks; n != null; n = n.enclosing) {
            if (n == nack) {
                return true;
            }
        }
        return false;
    }

    /**
     * An immutable list of wrap functions, innermost first; shared between branches. A
     * {@link Wrapped} with no wrap around it is its own one-element list, so the common
     * single wrap costs no list node.
     */
    interface Wraps {
        Function<Object, Object> function();

        /** The next function to apply, or null. */
        Wraps outer();
    }

    /** A list element for a wrap inside another wrap. */
    static final class WrapNode implements Wraps {
        private final Function<Object, Object> function;
        private final Wraps outer;

        @SuppressWarnings("unchecked")
        WrapNode(Function<?, ?> function, Wraps outer) {
            this.function = (Function<Object, Object>) function;
            this.outer = outer;
        }

        @Override
        public Function<Object, Object> function() {
            return function;
        }

        @Override
        public Wraps outer() {
            return outer;
        }
    }
}

package io.slab4j.event;

import java.util.function.Function;

/**
 * One base event of an instantiated event tree: what a {@link Sync} polls, registers and,
 * if it wins, unwraps. Produced by {@link Event#instantiate} once per sync; confined to
 * the syncing thread.
 *
 * <p>Invariants: exactly one of {@link #base} and "timeout" ({@code base == null}) holds;
 * {@link #wraps} lists the wrap functions from innermost (applied first) outwards;
 * {@link #nacks} lists the withNack scopes this branch is inside: if this branch wins,
 * every other nack created by the sync fires.
 */
final class Branch {
    /** The source's event, or null for a timeout branch. */
    final BaseEvent<?> base;
    /** For a timeout branch: the {@code System.nanoTime()} deadline. */
    final long deadline;
    final Wraps wraps;
    final Nacks nacks;

    private Branch(BaseEvent<?> base, long deadline, Wraps wraps, Nacks nacks) {
        this.base = base;
        this.deadline = deadline;
        this.wraps = wraps;
        this.nacks = nacks;
    }

    static Branch of(BaseEvent<?> base, Wraps wraps, Nacks nacks) {
        return new Branch(base, 0, wraps, nacks);
    }

    static Branch timeout(long deadline, Wraps wraps, Nacks nacks) {
        return new Branch(null, deadline, wraps, nacks);
    }

    boolean isTimeout() {
        return base == null;
    }

    /** Applies the wrap functions, innermost first; rejects a null result. */
    Object unwrap(Object value) {
        Object v = value;
        for (Wraps w = wraps; w != null; w = w.outer) {
            v = w.function.apply(v);
            if (v == null) {
                throw new NullPointerException("the wrap function " + w.function
                        + " returned null; an event never yields null (wrap to Optional"
                        + " or a sentinel instead)");
            }
        }
        return v;
    }

    /** True if this branch is inside {@code nack}'s withNack, i.e. its winning must not fire it. */
    boolean isInside(NackEvent nack) {
        for (Nacks n = nacks; n != null; n = n.outer) {
            if (n.nack == nack) {
                return true;
            }
        }
        return false;
    }

    /** An immutable list of wrap functions, innermost first; shared between branches. */
    static final class Wraps {
        final Function<Object, Object> function;
        final Wraps outer;

        @SuppressWarnings("unchecked")
        Wraps(Function<?, ?> function, Wraps outer) {
            this.function = (Function<Object, Object>) function;
            this.outer = outer;
        }
    }

    /** An immutable list of enclosing withNack scopes, innermost first. */
    static final class Nacks {
        final NackEvent nack;
        final Nacks outer;

        Nacks(NackEvent nack, Nacks outer) {
            this.nack = nack;
            this.outer = outer;
        }
    }
}

package io.slab4j.event;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Constructors of events, after Concurrent ML's {@code choose}, {@code guard},
 * {@code withNack}, {@code alwaysEvt}, {@code never} and {@code timeOutEvt}. Building an
 * event has no effect; the effects happen when it is synced or polled (see
 * {@link Event}). Stateless and thread-safe.
 */
public final class Events {
    /** Longest timeout honoured, 2^62 ns (about 146 years); longer ones are clamped. */
    private static final long MAX_TIMEOUT_NANOS = 1L << 62;

    private Events() {
    }

    /**
     * The choice of the given events: syncing on it commits to exactly one branch of one
     * of them, the first found ready, else the first to become ready. No alternative is
     * preferred (polling starts at a random one). {@code choose()} is {@link #never()}.
     *
     * @throws NullPointerException if the array or an element is null
     */
    @SafeVarargs
    public static <T> Event<T> choose(Event<? extends T>... events) {
        Objects.requireNonNull(events, "choose((Event[]) null)");
        Event<?>[] copy = new Event<?>[events.length];
        for (int i = 0; i < events.length; i++) { // element-wise: the array itself never escapes
            copy[i] = events[i];
        }
        return chooseOf(copy);
    }

    /**
     * The choice of the events in the list, as {@link #choose(Event[])}.
     *
     * @throws NullPointerException if the list or an element is null
     */
    public static <T> Event<T> choose(List<? extends Event<? extends T>> events) {
        Objects.requireNonNull(events, "choose((List) null)");
        return chooseOf(events.toArray(new Event<?>[0]));
    }

    @SuppressWarnings("unchecked")
    private static <T> Event<T> chooseOf(Event<?>[] copy) {
        for (int i = 0; i < copy.length; i++) {
            if (copy[i] == null) {
                throw new NullPointerException("choose: event " + i + " of " + copy.length + " is null");
            }
        }
        if (copy.length == 0) {
            return never();
        }
        // Events only produce values, so an Event<? extends T> is safely an Event<T>.
        return copy.length == 1 ? (Event<T>) copy[0] : new Choose<>(copy);
    }

    /**
     * An event that calls {@code supplier} at each sync and poll, on the syncing thread
     * before anything is polled, holding no lock, and behaves as the event it returns
     * (Concurrent ML's {@code guard}). An exception from the supplier propagates from
     * sync/poll, after the nacks already created by that sync have fired.
     *
     * @param supplier makes the event to sync on; not null, must not return null
     */
    public static <T> Event<T> guard(Supplier<? extends Event<T>> supplier) {
        Objects.requireNonNull(supplier, "guard(null): the supplier is null");
        return new Guard<>(supplier);
    }

    /**
     * An event that, at each sync and poll, makes a fresh {@link NackEvent}, passes it to
     * {@code function} (on the syncing thread, holding no lock) and behaves as the event
     * returned. The nack fires iff none of that event's branches is the one committed.
     * Nested {@code choose}, {@code guard} and {@code withNack} inside it are fine.
     *
     * @param function makes the event to sync on; not null, must not return null
     */
    public static <T> Event<T> withNack(Function<? super NackEvent, ? extends Event<T>> function) {
        Objects.requireNonNull(function, "withNack(null): the function is null");
        return new WithNack<>(function);
    }

    /**
     * An event that is always ready with {@code value}.
     *
     * @throws NullPointerException if value is null (events never yield null)
     */
    public static <T> Event<T> always(T value) {
        Objects.requireNonNull(value, "always(null): an event never yields null");
        return new Always<>(value);
    }

    /** An event that is never ready: syncing on it alone waits until interrupted. */
    @SuppressWarnings("unchecked")
    public static <T> Event<T> never() {
        return (Event<T>) Never.INSTANCE;
    }

    /**
     * An event that becomes ready {@code d} after the sync (or poll) that performs it
     * starts, not after this call (Concurrent ML's {@code timeOutEvt}); it yields
     * {@link Timeout#TIMEOUT}. Zero or negative durations are ready at once. The syncing
     * thread is its own source, so a timeout never registers anywhere.
     *
     * @throws NullPointerException if d is null
     */
    public static Event<Timeout> timeout(Duration d) {
        Objects.requireNonNull(d, "timeout(null): the duration is null");
        long nanos;
        if (d.isNegative()) {
            nanos = 0;
        } else if (d.compareTo(Duration.ofNanos(MAX_TIMEOUT_NANOS)) >= 0) {
            nanos = MAX_TIMEOUT_NANOS;
        } else {
            nanos = d.toNanos();
        }
        return new TimeoutEvent(nanos);
    }
}

package io.slab4j.event;

import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * A first-class synchronous event, after Concurrent ML (Reppy, "Concurrent Programming
 * in ML", 1999): a value describing a communication that has not happened yet. Building
 * and combining events ({@link #wrap}, {@link Events#choose}, {@link Events#guard},
 * {@link Events#withNack}) does nothing; {@link #sync()} performs it, committing to
 * exactly one of its base events, and {@link #poll()} performs it only if some base
 * event can commit right now.
 *
 * <p>An event never yields null: {@code always(null)}, a {@code wrap} function returning
 * null and a source completing with null are rejected, so {@code poll()}'s
 * {@code Optional} is unambiguous.
 *
 * <p>Events are immutable and may be shared between threads and synced any number of
 * times, concurrently; each {@code sync}/{@code poll} re-runs the guards and withNack
 * functions on the calling thread (a fresh instance of the event each time). Only this
 * package defines combinators; sources of values extend {@link BaseEvent}.
 *
 * @param <T> the type of value the event yields
 */
public abstract class Event<T> {

    Event() {
    }

    /**
     * Performs this event: commits to exactly one base event, blocking until one can
     * commit. See the {@linkplain io.slab4j.event package documentation} for the protocol.
     * On return, no registration of this sync is left on any source, and the nack of
     * every {@code withNack} whose branch did not win has fired.
     *
     * <p>Interrupts: an interrupted thread gets {@link InterruptedException} without the
     * event being performed (checked on entry, as {@code Semaphore.acquire} does). An
     * interrupt while waiting withdraws every registration, fires every nack and throws;
     * but if a source had already claimed this sync, its value is returned (never
     * dropped) with the thread's interrupt flag set again.
     *
     * @return the value of the committed branch, after its wrap functions
     * @throws InterruptedException if interrupted before a branch committed
     * @throws NullPointerException if a wrap function of the winning branch returned null
     */
    @SuppressWarnings("unchecked")
    public final T sync() throws InterruptedException {
        return (T) Sync.sync(this);
    }

    /**
     * Performs this event only if some base event is ready now: commits to the first
     * ready one found (starting at a rotating position), leaving no registration behind.
     * The nack of every {@code withNack} whose branch did not commit fires, including
     * when nothing committed. Never blocks (beyond sources' own short locks); ignores the
     * interrupt flag. {@code timeout(d)} is ready here only if {@code d <= 0}.
     *
     * <p>Branches are polled one after another, not atomically: an empty result means
     * each branch was found not ready at some moment during the call.
     *
     * @return the committed value after the winner's wrap functions, or empty
     */
    @SuppressWarnings("unchecked")
    public final Optional<T> poll() {
        return (Optional<T>) Sync.poll(this);
    }

    /**
     * An event that performs this one and then applies {@code f} to its value. {@code f}
     * runs after the commit, only if this event's branch won, on the syncing thread,
     * holding no lock; it may block. An exception from {@code f} propagates from
     * {@code sync}/{@code poll} (the commit has happened).
     *
     * @param f the post-commit action, not null; must not return null
     * @return the wrapped event
     */
    public final <R> Event<R> wrap(Function<? super T, ? extends R> f) {
        Objects.requireNonNull(f, "Event.wrap(null): the function is null");
        return new Wrapped<>(this, f);
    }

    /**
     * Instantiates this event for one waiting sync: runs guards and withNack functions and
     * adds one {@link Branch} per base event to {@code sync}.
     *
     * @param wraps the wrap functions enclosing this event, innermost first
     * @param nacks the innermost withNack scope enclosing this event, or null
     */
    abstract void instantiate(Sync sync, Branch.Wraps wraps, NackEvent nacks);

    /**
     * How many base events (leaves) this event has if it is <em>plain</em>, else -1. A
     * plain event contains no {@code guard} and no {@code withNack}: instantiating it runs
     * no user code and creates nothing the sync must clean up, so {@link Sync} can poll it
     * in place, without instantiating it (see {@link #pollPlain}). Constant per instance:
     * events are immutable.
     */
    int plainBranches() {
        return -1;
    }

    /** For a plain event: true if some leaf is a {@code timeout} (the sync must read the clock). */
    boolean plainHasTimeout() {
        return false;
    }

    /**
     * For a plain event: polls, in order, the leaves numbered {@code from} to {@code to - 1}
     * (leaves are numbered depth first, as {@link #instantiate} adds branches, this event's
     * first leaf being {@code first}) and returns the value of the first that commits,
     * after the wrap functions inside this event; null when none of them is ready.
     *
     * @param start the sync's start ({@code System.nanoTime()}), read only by timeouts
     */
    Object pollPlain(int from, int to, int first, long start) {
        throw new IllegalStateException(this + " is not a plain event");
    }
}

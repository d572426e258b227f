package io.slab4j.event;

import java.lang.reflect.UndeclaredThrowableException;
import java.util.ArrayList;
import java.util.Objects;

/**
 * The negative acknowledgement of one {@link Events#withNack} branch in one sync
 * (Concurrent ML's {@code withNack}): enabled exactly when that branch is <em>not</em>
 * the one committed — another branch won, the timeout won, the sync was interrupted, a
 * {@code poll} committed something else or nothing, or instantiating the event threw.
 * It fires at most once, during that sync's clean-up, on the syncing thread; if the
 * branch wins it never fires.
 *
 * <p>Two ways to react:
 * <ul>
 *   <li>sync (or poll) on it, from any thread: a helper thread can wait for it; it
 *       yields {@link Nack#NACK} once fired and stays enabled.</li>
 *   <li>{@link #onNack(Runnable)}: a source's clean-up hook, run exactly once when the
 *       nack fires, or at once if it already has (the pool releases a pending-grow count
 *       this way).</li>
 * </ul>
 *
 * <p>Concurrency contract: all public methods are thread-safe. The private {@code source}
 * object is the lock; it guards {@code fired}, {@code action}, {@code moreActions} and
 * {@code waiters}; no user code runs under it. A new instance is made by every
 * instantiation of a withNack (every waiting sync, and every poll, of an event holding
 * one), so keeping one after its sync is fine but it never fires again. The two
 * package-private links are written only by the sync that made the nack.
 */
public final class NackEvent extends Event<Nack> {
    /** This nack as a base event; also the lock (private, so no caller can hold it). */
    private final Source source = new Source();
    /** Guarded by source; false → true once. */
    private boolean fired;
    /** Guarded by source; the first action waiting for the fire (the common case: one), null after firing. */
    private Runnable action;
    /** Guarded by source; further actions in registration order, null when none or after firing. */
    private ArrayList<Runnable> moreActions;
    /** Guarded by source; syncs waiting on this nack, null when none or after firing. */
    private ArrayList<Waiter<Nack>> waiters;

    /**
     * The innermost withNack scope that encloses this one in the event tree, or null: the
     * chain from a branch's innermost nack through {@code enclosing} is every scope the
     * branch is inside ({@link Branch#isInside}). Final, set by the syncing thread.
     */
    final NackEvent enclosing;
    /** The next nack made by the same sync, in creation order. Syncing thread only. */
    NackEvent nextInSync;

    NackEvent(NackEvent enclosing) {
        this.enclosing = enclosing;
    }

    /**
     * Runs {@code action} exactly once when this nack fires (on the syncing thread, during
     * clean-up, holding no lock), or immediately on the calling thread if it has already
     * fired. Never runs it if the withNack branch wins. Actions run in registration
     * order, before syncs waiting on this nack are woken. An exception from an action
     * propagates from the sync that fired the nack (after its clean-up) when nothing won
     * that sync; when a branch did win, its value is delivered and the exception goes to
     * the thread's uncaught exception handler instead, so a transferred value is never
     * dropped. From this method it propagates if this method ran the action.
     *
     * @param action the action, not null
     */
    public void onNack(Runnable action) {
        Objects.requireNonNull(action, "NackEvent.onNack(null): the action is null");
        synchronized (source) {
            if (!fired) {
                if (this.action == null) {
                    this.action = action;
                } else {
                    if (moreActions == null) {
                        moreActions = new ArrayList<>(2);
                    }
                    moreActions.add(action);
                }
                return;
            }
        }
        action.run();
    }

    /** Fires, once: runs the actions, then completes every waiting sync. Syncing thread only. */
    void fire() {
        Runnable first;
        ArrayList<Runnable> more;
        ArrayList<Waiter<Nack>> toWake;
        synchronized (source) {
            if (fired) {
                return;
            }
            fired = true;
            first = action;
            more = moreActions;
            toWake = waiters;
            action = null;
            moreActions = null;
            waiters = null;
        }
        Throwable failure = null;
        if (first != null) {
            failure = run(first, failure);
        }
        if (more != null) {
            for (Runnable a : more) {
                failure = run(a, failure);
            }
        }
        if (toWake != null) {
            for (Waiter<Nack> w : toWake) {
                if (w.claim()) {
                    w.complete(Nack.NACK);
                }
            }
        }
        if (failure instanceof RuntimeException) {
            throw (RuntimeException) failure;
        } else if (failure instanceof Error) {
            throw (Error) failure;
        } else if (failure != null) {
            throw new UndeclaredThrowableException(failure);
        }
    }

    private static Throwable run(Runnable action, Throwable failure) {
        try {
            action.run();
        } catch (Throwable t) {
            if (failure == null) {
                return t;
            }
            failure.addSuppressed(t);
        }
        return failure;
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, NackEvent nacks) {
        sync.addBranch(source, wraps, nacks);
    }

    @Override
    int plainBranches() {
        return 1;
    }

    @Override
    Object pollPlain(int from, int to, int first, long start) {
        return from <= first && first < to ? source.tryNow() : null;
    }

    @Override
    public String toString() {
        boolean f;
        synchronized (source) {
            f = fired;
        }
        return f ? "NackEvent[fired]" : "NackEvent[not fired]";
    }

    /** This nack as a source: ready once fired. Its monitor is the nack's lock. */
    private final class Source extends BaseEvent<Nack> {
        @Override
        protected Nack tryNow() {
            synchronized (this) {
                return fired ? Nack.NACK : null;
            }
        }

        @Override
        protected Registration register(Waiter<Nack> waiter) {
            synchronized (this) {
                if (!fired) {
                    if (waiters == null) {
                        waiters = new ArrayList<>(2);
                    }
                    waiters.add(waiter);
                    return () -> {
                        synchronized (this) {
                            if (waiters != null) {
                                waiters.remove(waiter);
                            }
                        }
                    };
                }
            }
            // Fired: completing needs no lock, the nack stays enabled forever.
            if (waiter.claim()) {
                waiter.complete(Nack.NACK);
            }
            return Registration.NONE;
        }

        @Override
        public String toString() {
            return NackEvent.this.toString();
        }
    }
}

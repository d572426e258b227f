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
 * <p>Concurrency contract: all public methods are thread-safe. {@code lock} guards
 * {@code fired}, {@code actions} and {@code waiters}; no user code runs under it. A new
 * instance is made by every instantiation of a withNack (every sync and poll), so
 * keeping one after its sync is fine but it never fires again.
 */
public final class NackEvent extends Event<Nack> {
    private final Object lock = new Object();
    /** Guarded by lock; false → true once. */
    private boolean fired;
    /** Guarded by lock; actions waiting for the fire, null when none or after firing. */
    private ArrayList<Runnable> actions;
    /** Guarded by lock; syncs waiting on this nack, null when none or after firing. */
    private ArrayList<Waiter<Nack>> waiters;
    private final Source source = new Source();

    NackEvent() {
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
        synchronized (lock) {
            if (!fired) {
                if (actions == null) {
                    actions = new ArrayList<>(2);
                }
                actions.add(action);
                return;
            }
        }
        action.run();
    }

    /** Fires, once: runs the actions, then completes every waiting sync. Syncing thread only. */
    void fire() {
        ArrayList<Runnable> toRun;
        ArrayList<Waiter<Nack>> toWake;
        synchronized (lock) {
            if (fired) {
                return;
            }
            fired = true;
            toRun = actions;
            toWake = waiters;
            actions = null;
            waiters = null;
        }
        Throwable failure = null;
        if (toRun != null) {
            for (Runnable action : toRun) {
                try {
                    action.run();
                } catch (Throwable t) {
                    if (failure == null) {
                        failure = t;
                    } else {
                        failure.addSuppressed(t);
                    }
                }
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

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, Branch.Nacks nacks) {
        sync.addBranch(source, wraps, nacks);
    }

    @Override
    public String toString() {
        boolean f;
        synchronized (lock) {
            f = fired;
        }
        return f ? "NackEvent[fired]" : "NackEvent[not fired]";
    }

    /** This nack as a source: ready once fired. */
    private final class Source extends BaseEvent<Nack> {
        @Override
        protected Nack tryNow() {
            synchronized (lock) {
                return fired ? Nack.NACK : null;
            }
        }

        @Override
        protected Registration register(Waiter<Nack> waiter) {
            synchronized (lock) {
                if (!fired) {
                    if (waiters == null) {
                        waiters = new ArrayList<>(2);
                    }
                    waiters.add(waiter);
                    return () -> {
                        synchronized (lock) {
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
    }
}

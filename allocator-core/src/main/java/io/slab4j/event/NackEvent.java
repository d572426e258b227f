package io.slab4j.event;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
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
 * <p>Concurrency contract: all public methods are thread-safe. The common use (one
 * {@code onNack} action, nobody syncing on the nack) takes no lock and allocates nothing
 * beyond the nack: one word, {@code state}, moves by CAS
 * <pre>
 *   null ──onNack(a)──▶ a ──fire──▶ FIRED          (fire runs a; an onNack after it runs its action at once)
 *    └──────fire──────────────────▶ FIRED
 *   any of them ──a second action, or a sync on the nack──▶ a Source (final: never replaced)
 * </pre>
 * and from then on the {@code Source}'s monitor guards its {@code fired}, actions and waiting
 * syncs, as every call goes through it. Its fields are set before the CAS that publishes it,
 * and every read of {@code state} is an acquire, so a thread that sees it sees them. No user
 * code runs under the monitor. A new instance is made by every instantiation of a withNack
 * (every waiting sync, and every poll, of an event holding one), so keeping one after its
 * sync is fine but it never fires again. The two package-private links are written only by
 * the sync that made the nack.
 */
public final class NackEvent extends Event<Nack> {
    private static final VarHandle STATE;
    /** The state after a fire that nobody needed a {@code Source} for. */
    private static final Object FIRED = new Object();

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(NackEvent.class, "state", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * null, the one action (a {@link Runnable}), {@link #FIRED}, or the {@link Source} that
     * holds the full state. Accessed only through {@link #STATE}: CAS, acquire reads.
     */
    @SuppressWarnings("unused")
    private Object state;

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
        for (;;) {
            Object now = STATE.getAcquire(this);
            if (now == null) {
                if (STATE.compareAndSet(this, null, action)) {
                    return;
                }
            } else if (now == FIRED) {
                action.run();
                return;
            } else {
                if (!source().add(action)) {
                    action.run();
                }
                return;
            }
        }
    }

    /** Fires, once: runs the actions, then completes every waiting sync. Syncing thread only. */
    void fire() {
        for (;;) {
            Object now = STATE.getAcquire(this);
            if (now instanceof Source) {
                ((Source) now).fire();
                return;
            }
            if (now == FIRED) {
                return;
            }
            if (STATE.compareAndSet(this, now, FIRED)) {
                if (now != null) {
                    throwIfFailed(run((Runnable) now, null));
                }
                return;
            }
        }
    }

    /** The full state, made (from what {@link #state} holds now) the first time it is needed. */
    private Source source() {
        for (;;) {
            Object now = STATE.getAcquire(this);
            if (now instanceof Source) {
                return (Source) now;
            }
            Source made = new Source(now == FIRED, now == FIRED ? null : (Runnable) now);
            if (STATE.compareAndSet(this, now, made)) {
                return made;
            }
        }
    }

    private static void throwIfFailed(Throwable failure) {
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
            return Failures.merge(failure, t);
        }
        return failure;
    }

    @Override
    void instantiate(Sync sync, Branch.Wraps wraps, NackEvent nacks) {
        sync.addBranch(source(), wraps, nacks);
    }

    @Override
    int plainBranches() {
        return 1;
    }

    @Override
    Object pollPlain(int from, int to, int first, long start) {
        return from <= first && first < to && isFired() ? Nack.NACK : null;
    }

    private boolean isFired() {
        Object now = STATE.getAcquire(this);
        return now == FIRED || now instanceof Source && ((Source) now).isFired();
    }

    @Override
    public String toString() {
        return isFired() ? "NackEvent[fired]" : "NackEvent[not fired]";
    }

    /**
     * This nack as a source (ready once fired) and its full state; its monitor is the nack's
     * lock. Made only when a nack gets a second action or a sync on it.
     */
    private final class Source extends BaseEvent<Nack> {
        /** Guarded by this; false → true once. */
        private boolean fired;
        /** Guarded by this; the first action waiting for the fire, null after firing. */
        private Runnable action;
        /** Guarded by this; further actions in registration order, null when none or after firing. */
        private ArrayList<Runnable> moreActions;
        /** Guarded by this; syncs waiting on this nack, null when none or after firing. */
        private ArrayList<Waiter<Nack>> waiters;

        Source(boolean fired, Runnable action) {
            this.fired = fired;
            this.action = action;
        }

        synchronized boolean isFired() {
            return fired;
        }

        /** Adds an action to run at the fire; false (and nothing added) when it has fired already. */
        boolean add(Runnable a) {
            synchronized (this) {
                if (fired) {
                    return false;
                }
                if (action == null) {
                    action = a;
                } else {
                    if (moreActions == null) {
                        moreActions = new ArrayList<>(2);
                    }
                    moreActions.add(a);
                }
                return true;
            }
        }

        void fire() {
            Runnable first;
            ArrayList<Runnable> more;
            ArrayList<Waiter<Nack>> toWake;
            synchronized (this) {
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
            throwIfFailed(failure);
        }

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

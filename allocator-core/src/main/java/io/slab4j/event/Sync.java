package io.slab4j.event;

import java.lang.reflect.UndeclaredThrowableException;
import java.util.ArrayList;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * One {@code sync} (or {@code poll}) of one event: the wait protocol of DESIGN.md, after
 * Reppy, Russo and Xiao, "Parallel Concurrent ML" (2009), simplified because our sources
 * never block inside a choice: one {@link Offer} state word per sync suffices.
 *
 * <pre>
 *  1 instantiate ─▶ 2 poll ──ready──────────────────────────────────────┐
 *                      │ none ready                                      │
 *                      ▼                                                 ▼
 *                   3 register ─▶ 4 park ─▶ (offer DONE | timeout | interrupt)
 *                                                    │
 *                                                    ▼
 *                                   5 clean up (cancel registrations, fire nacks) ─▶ 6 wrap
 *
 *  offer:  WAITING ─claim─▶ CLAIMED ─complete─▶ DONE        (a source, or step 4 on timeout)
 *             │  ◀─abandon──────┘
 *             └─cancel─▶ CANCELLED                           (step 4 on interrupt)
 * </pre>
 *
 * <ol>
 *   <li><b>Instantiate.</b> Walk the event tree on the syncing thread: run guards, run
 *       withNack functions (each creating a {@link NackEvent}), and flatten it into a list
 *       of {@link Branch}es, each with its wrap functions and its enclosing withNacks. If
 *       a guard or withNack function throws, the nacks already created fire and the
 *       exception propagates.</li>
 *   <li><b>Poll.</b> Try each branch once, starting at a random index so no branch is
 *       always preferred: {@link BaseEvent#tryNow()}; a timeout branch is ready once its
 *       deadline ({@code sync start + d}) has passed. The first ready one wins; nothing
 *       was registered. {@code poll()} stops here.</li>
 *   <li><b>Register.</b> Make one {@code Offer}, give each source a {@link Waiter} for it
 *       ({@link BaseEvent#register}, which re-checks readiness under the source's lock),
 *       same order as the poll; stop as soon as the offer is no longer WAITING. Timeout
 *       branches are not registered: this thread is their source.</li>
 *   <li><b>Park</b> until the offer is DONE. On the earliest deadline, claim the offer
 *       for the timeout branch like any source would. On interrupt, cancel the offer; if
 *       that fails a source holds a claim: keep waiting for DONE and set the interrupt
 *       flag again on return. If a source abandoned its claim, or a registration pass
 *       was cut short by a claim that was then abandoned, register everywhere again.</li>
 *   <li><b>Clean up.</b> Cancel every registration (eagerly, so sources' waiter counts
 *       are exact when sync returns), then fire the nack of every withNack the winning
 *       branch is not inside (all of them if nothing won).</li>
 *   <li><b>Wrap.</b> Apply the winner's wrap functions, innermost first.</li>
 * </ol>
 *
 * <p>No lock is held by this class at any time, so guards, withNack functions, onNack
 * actions and wrap functions all run lock-free on the syncing thread.
 *
 * <p>Concurrency contract: a {@code Sync} is confined to its syncing thread; other
 * threads reach it only through the {@code Offer} (via {@link Waiter}s).
 */
final class Sync {
    /** {@code System.nanoTime()} when sync started: timeouts count from here (CML timeOutEvt). */
    private final long startNanos;
    private final ArrayList<Branch> branches = new ArrayList<>(4);
    /** Every NackEvent made by this sync's withNack functions, in creation order; lazy. */
    private ArrayList<NackEvent> nacks;
    /** The timeout branch with the earliest deadline, or -1. */
    private int timeoutBranch = -1;
    private long deadline;
    /** Where the poll and register passes start, in [0, branches.size()). */
    private int rotation;

    private Offer offer;
    /** Per branch: its registration on its source, or null. */
    private Registration[] registrations;
    /** True when the last register pass reached every branch. */
    private boolean registeredAll;

    /** Index of the committed branch, or -1. */
    private int winner = -1;
    /** The committed branch's value, before wraps. */
    private Object value;

    private Sync(long startNanos) {
        this.startNanos = startNanos;
    }

    static Object sync(Event<?> event) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException("sync(): the thread was interrupted before the sync started");
        }
        Sync s = new Sync(System.nanoTime());
        s.instantiate(event);
        return s.await();
    }

    static Optional<Object> poll(Event<?> event) {
        Sync s = new Sync(System.nanoTime());
        s.instantiate(event);
        Throwable failure = null;
        try {
            s.pollAll();
        } catch (Throwable t) {
            failure = t;
        }
        failure = s.keepWonValue(s.cleanUp(failure));
        if (failure != null) {
            throw rethrow(failure);
        }
        return s.winner < 0 ? Optional.empty() : Optional.of(s.branches.get(s.winner).unwrap(s.value));
    }

    // ---- step 1: instantiation, called back by Event.instantiate ----

    void addBranch(BaseEvent<?> base, Branch.Wraps wraps, Branch.Nacks nacks) {
        branches.add(Branch.of(base, wraps, nacks));
    }

    void addTimeout(long nanos, Branch.Wraps wraps, Branch.Nacks nacks) {
        long d = startNanos + nanos;
        if (timeoutBranch < 0 || d - deadline < 0) {
            timeoutBranch = branches.size();
            deadline = d;
        }
        branches.add(Branch.timeout(d, wraps, nacks));
    }

    NackEvent newNack() {
        NackEvent nack = new NackEvent();
        if (nacks == null) {
            nacks = new ArrayList<>(2);
        }
        nacks.add(nack);
        return nack;
    }

    private void instantiate(Event<?> event) {
        try {
            event.instantiate(this, null, null);
        } catch (Throwable t) {
            throw rethrow(fireNacks(t));
        }
    }

    // ---- steps 2 to 6 ----

    private Object await() throws InterruptedException {
        boolean reassertInterrupt = false;
        Throwable failure = null;
        try {
            if (!pollAll()) {
                reassertInterrupt = waitForCommit();
            }
        } catch (Throwable t) {
            failure = t;
        }
        failure = keepWonValue(cleanUp(failure));
        try {
            if (failure instanceof InterruptedException) {
                throw (InterruptedException) failure;
            } else if (failure != null) {
                throw rethrow(failure);
            }
            return branches.get(winner).unwrap(value);
        } finally {
            if (reassertInterrupt) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Step 2. True if a branch committed ({@link #winner} and {@link #value} set). */
    private boolean pollAll() {
        int n = branches.size();
        if (n == 0) {
            return false;
        }
        rotation = n == 1 ? 0 : ThreadLocalRandom.current().nextInt(n);
        long now = timeoutBranch >= 0 ? System.nanoTime() : 0L;
        for (int k = 0; k < n; k++) {
            int i = index(k);
            Branch b = branches.get(i);
            Object v = b.isTimeout()
                    ? (now - b.deadline >= 0 ? Timeout.TIMEOUT : null)
                    : b.base.tryNow();
            if (v != null) {
                winner = i;
                value = v;
                return true;
            }
        }
        return false;
    }

    /**
     * Steps 3 and 4. Returns normally once the offer is DONE ({@link #winner} set), with
     * true if an interrupt arrived after a source had claimed; throws InterruptedException
     * if the offer was cancelled.
     */
    private boolean waitForCommit() throws InterruptedException {
        offer = new Offer(Thread.currentThread());
        boolean interrupted = false;
        int abandonsSeen = 0;
        for (;;) {
            int state = offer.state();
            if (state == Offer.DONE) {
                winner = offer.branch();
                value = offer.value();
                return interrupted;
            }
            if (state == Offer.CLAIMED) {
                // A source is mid-transfer and will complete (or abandon) and unpark us.
                // Consume interrupts so that park does not spin; remember them.
                LockSupport.park(this);
                interrupted |= Thread.interrupted();
                continue;
            }
            // WAITING: CANCELLED is only ever set below, by this thread, which then leaves.
            if (interrupted || Thread.interrupted()) {
                if (offer.cancel()) {
                    throw new InterruptedException("sync() was interrupted while waiting");
                }
                interrupted = true; // a source claimed first: its value must not be dropped
                continue;
            }
            long remaining = 0L;
            if (timeoutBranch >= 0) {
                remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    if (offer.claim()) {
                        offer.complete(timeoutBranch, Timeout.TIMEOUT);
                    }
                    continue;
                }
            }
            int abandons = offer.abandons();
            if (!registeredAll || abandons != abandonsSeen) {
                abandonsSeen = abandons;
                try {
                    registerPass();
                } catch (Throwable t) {
                    if (offer.cancel()) {
                        throw t;
                    }
                    // Another branch committed before we could give up: that commit
                    // happened first and stands; this failing registration is moot.
                }
                continue;
            }
            if (timeoutBranch >= 0) {
                LockSupport.parkNanos(this, remaining);
            } else {
                LockSupport.park(this);
            }
        }
    }

    /** Step 3, also re-run after an abandoned claim: withdraw everything, register again. */
    private void registerPass() {
        int n = branches.size();
        if (registrations == null) {
            registrations = new Registration[n];
        }
        registeredAll = false;
        cancelRegistrations();
        for (int k = 0; k < n; k++) {
            if (!offer.isLive()) {
                return;
            }
            int i = index(k);
            Branch b = branches.get(i);
            if (!b.isTimeout()) {
                registrations[i] = Objects.requireNonNull(register(b.base, i),
                        () -> b.base + ".register returned null; return Registration.NONE instead");
            }
        }
        registeredAll = true;
    }

    private <T> Registration register(BaseEvent<T> base, int branch) {
        return base.register(new Waiter<>(offer, branch));
    }

    private void cancelRegistrations() {
        for (int i = 0; i < registrations.length; i++) {
            Registration r = registrations[i];
            if (r != null) {
                registrations[i] = null;
                r.cancel();
            }
        }
    }

    /**
     * Once a branch has won, its value is delivered whatever clean-up threw (a throwing
     * nack action or cancel): dropping it would lose an item or span the source already
     * transferred. The failure is not swallowed either: it goes to the thread's uncaught
     * exception handler (by default printed with its stack trace). Returns the failure to
     * throw, which is null once something has won.
     */
    private Throwable keepWonValue(Throwable failure) {
        if (failure == null || winner < 0) {
            return failure;
        }
        Thread self = Thread.currentThread();
        self.getUncaughtExceptionHandler().uncaughtException(self, failure);
        return null;
    }

    /** Step 5. Never throws: returns {@code failure} with clean-up failures added. */
    private Throwable cleanUp(Throwable failure) {
        if (registrations != null) {
            for (int i = 0; i < registrations.length; i++) {
                Registration r = registrations[i];
                if (r != null) {
                    registrations[i] = null;
                    try {
                        r.cancel();
                    } catch (Throwable t) {
                        failure = addFailure(failure, t);
                    }
                }
            }
        }
        return fireNacks(failure);
    }

    /** Fires every nack the winner is not inside (all if none won); collects failures. */
    private Throwable fireNacks(Throwable failure) {
        if (nacks == null) {
            return failure;
        }
        Branch won = winner >= 0 ? branches.get(winner) : null;
        for (NackEvent nack : nacks) {
            if (won == null || !won.isInside(nack)) {
                try {
                    nack.fire();
                } catch (Throwable t) {
                    failure = addFailure(failure, t);
                }
            }
        }
        return failure;
    }

    private int index(int k) {
        int i = rotation + k;
        return i >= branches.size() ? i - branches.size() : i;
    }

    private static Throwable addFailure(Throwable failure, Throwable t) {
        if (failure == null) {
            return t;
        }
        if (failure != t) {
            failure.addSuppressed(t);
        }
        return failure;
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException) {
            throw (RuntimeException) t;
        }
        if (t instanceof Error) {
            throw (Error) t;
        }
        throw new UndeclaredThrowableException(t);
    }
}

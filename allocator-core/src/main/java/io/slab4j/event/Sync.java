package io.slab4j.event;

import java.lang.reflect.UndeclaredThrowableException;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * One {@code sync} (or {@code poll}) of one event: the wait protocol of DESIGN.md, after
 * Reppy, Russo and Xiao, "Parallel Concurrent ML" (2009), simplified because our sources
 * never block inside a choice: one {@link Offer} state word per sync suffices. The
 * protocol's rules, lock order and ownership rule are stated once in {@code package-info};
 * this class is its syncing side, step by step.
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
 * <p><b>Plain events: step 2 first, in place.</b> An event with no {@code guard} and no
 * {@code withNack} inside (a base event, a wrap of one, a choose of such: see
 * {@link Event#plainBranches}) runs no user code when instantiated and has nothing to
 * clean up. {@link #sync} and {@link #poll} poll its leaves where they are, with the same
 * random starting leaf and order as step 2, without making a {@code Sync}, a branch or a
 * waiter; a ready leaf commits and its wraps run, exactly as step 2 and step 6 would. Only
 * when none is ready does a sync instantiate it and go on with step 3, skipping the poll it
 * has just done (registering re-checks readiness under each source's lock anyway). This
 * path adds no shared state and no lock-free step: it is the sources' {@code tryNow} calls
 * on the syncing thread, ordered by their own locks, and nothing of this sync is visible to
 * another thread before step 3 publishes a waiter.
 *
 * <ol>
 *   <li><b>Instantiate.</b> Walk the event tree on the syncing thread: run guards, run
 *       withNack functions (each creating a {@link NackEvent}), and flatten it into a list
 *       of {@link Branch}es, each with its wrap functions and its enclosing withNacks; each
 *       branch is also the {@link Waiter} its source will get. If
 *       a guard or withNack function throws, the nacks already created fire and the
 *       exception propagates.</li>
 *   <li><b>Poll.</b> Try each branch once, starting at a random index so no branch is
 *       always preferred: {@link BaseEvent#tryNow()}; a timeout branch is ready once its
 *       deadline ({@code sync start + d}) has passed. The first ready one wins; nothing
 *       was registered. {@code poll()} stops here.</li>
 *   <li><b>Register.</b> This sync is the {@code Offer}; give each source its branch's waiter
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
 * threads reach it only through its {@code Offer} part (via {@link Waiter}s), whose
 * fields and orderings are documented there. Every field declared here is the syncing
 * thread's alone.
 */
final class Sync extends Offer {
    /**
     * The start time a plain {@link Event#poll} passes down: a timeout leaf is then ready only
     * when its duration is zero ({@link TimeoutEvent#pollPlain}).
     */
    static final long POLL_ONLY = Long.MIN_VALUE;

    /** {@code System.nanoTime()} when sync started: timeouts count from here (CML timeOutEvt); unused (0) without one. */
    private final long startNanos;
    /**
     * The branches in instantiation order, linked by {@link Branch#next} (a list, not an
     * array: the link fits in a branch's padding); also this sync's waiters. The number of
     * a branch is its {@link Waiter#branch} index.
     */
    private Branch<?> first;
    private Branch<?> last;
    /**
     * Every NackEvent made by this sync's withNack functions, in creation order (linked by
     * nextInSync; no tail pointer: a sync makes few, and a field less keeps a Sync at 64 bytes).
     */
    private NackEvent firstNack;
    /** The timeout branch with the earliest deadline, or null. */
    private Branch.Timed timeout;
    /** Where the poll and register passes start, in [0, size()). */
    private int rotation;
    /** True when the last register pass reached every branch. */
    private boolean registeredAll;

    private Sync(long startNanos) {
        super(Thread.currentThread());
        this.startNanos = startNanos;
    }

    static Object sync(Event<?> event) throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException("sync(): the thread was interrupted before the sync started");
        }
        int n = event.plainBranches();
        if (n < 0) {
            Sync s = new Sync(System.nanoTime());
            s.instantiate(event);
            return s.await(true);
        }
        long start = event.plainHasTimeout() ? System.nanoTime() : 0L;
        int rotation = rotation(n);
        Object v = pollPlain(event, n, rotation, start);
        return v != null ? v : waitAfterPlainPoll(event, start, rotation);
    }

    static Optional<Object> poll(Event<?> event) {
        int n = event.plainBranches();
        if (n >= 0) {
            return Optional.ofNullable(pollPlain(event, n, rotation(n), POLL_ONLY));
        }
        Sync s = new Sync(System.nanoTime());
        s.instantiate(event);
        Throwable failure = null;
        try {
            s.pollAll(true);
        } catch (Throwable t) {
            failure = t;
        }
        failure = s.keepWonValue(s.cleanUp(failure));
        if (failure != null) {
            throw rethrow(failure);
        }
        return s.winner() < 0 ? Optional.empty() : Optional.of(s.won().unwrap(s.value()));
    }

    /** Step 2 for a plain event: every leaf once, from {@code rotation} on, wrapping around. */
    private static Object pollPlain(Event<?> event, int n, int rotation, long start) {
        Object v = event.pollPlain(rotation, n, 0, start);
        return v != null || rotation == 0 ? v : event.pollPlain(0, rotation, 0, start);
    }

    /** Steps 1 and 3 to 6 for a plain event whose poll found nothing ready. */
    private static Object waitAfterPlainPoll(Event<?> event, long start, int rotation) throws InterruptedException {
        Sync s = new Sync(start);
        s.instantiate(event);
        s.rotation = rotation;
        return s.await(false);
    }

    private static int rotation(int n) {
        return n <= 1 ? 0 : ThreadLocalRandom.current().nextInt(n);
    }

    // ---- step 1: instantiation, called back by Event.instantiate ----

    <T> void addBranch(BaseEvent<T> base, Branch.Wraps wraps, NackEvent nacks) {
        add(Branch.of(this, size(), base, wraps, nacks));
    }

    void addTimeout(long nanos, Branch.Wraps wraps, NackEvent nacks) {
        Branch.Timed b = Branch.timeout(this, size(), startNanos + nanos, wraps, nacks);
        if (timeout == null || b.deadline - timeout.deadline < 0) {
            timeout = b;
        }
        add(b);
    }

    private void add(Branch<?> b) {
        if (last == null) {
            first = b;
        } else {
            last.next = b;
        }
        last = b;
    }

    private int size() {
        return last == null ? 0 : last.branch + 1;
    }

    /** The branch numbered {@code i}, {@code 0 <= i < size()}. */
    private Branch<?> branchAt(int i) {
        Branch<?> b = first;
        for (int k = 0; k < i; k++) {
            b = b.next;
        }
        return b;
    }

    /** The branch after {@code b} in pass order: the next one, wrapping around to the first. */
    private Branch<?> after(Branch<?> b) {
        return b.next != null ? b.next : first;
    }

    /** The winning branch; only once the offer is DONE. */
    private Branch<?> won() {
        return branchAt(winner());
    }

    /** A fresh nack for a withNack inside {@code enclosing} (null: outermost), recorded so it fires. */
    NackEvent newNack(NackEvent enclosing) {
        NackEvent nack = new NackEvent(enclosing);
        if (firstNack == null) {
            firstNack = nack;
        } else {
            NackEvent last = firstNack;
            while (last.nextInSync != null) {
                last = last.nextInSync;
            }
            last.nextInSync = nack;
        }
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

    /** @param pollFirst false when a plain poll already found nothing ready (its {@link #rotation} is set) */
    private Object await(boolean pollFirst) throws InterruptedException {
        boolean reassertInterrupt = false;
        Throwable failure = null;
        try {
            if (!(pollFirst && pollAll(false))) {
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
            return won().unwrap(value());
        } finally {
            if (reassertInterrupt) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Step 2. True if a branch committed (then the offer is DONE, by {@link #completeByPoll}). */
    private boolean pollAll(boolean pollOnly) {
        int n = size();
        if (n == 0) {
            return false;
        }
        rotation = rotation(n);
        long now = timeout != null ? System.nanoTime() : 0L;
        Branch<?> b = branchAt(rotation);
        for (int k = 0; k < n; k++, b = after(b)) {
            // Event.poll: timeout(d) is ready only for d <= 0 (deadline == start), however long
            // instantiating the event (guards, withNack functions) took.
            Object v = b.isTimeout()
                    ? (due((Branch.Timed) b, pollOnly, now) ? Timeout.TIMEOUT : null)
                    : b.base.tryNow();
            if (v != null) {
                completeByPoll(b.branch, v);
                return true;
            }
        }
        return false;
    }

    private boolean due(Branch.Timed b, boolean pollOnly, long now) {
        return pollOnly ? b.deadline == startNanos : now - b.deadline >= 0;
    }

    /**
     * Steps 3 and 4. Returns normally once the offer is DONE ({@link #winner()} set), with
     * true if an interrupt arrived after a source had claimed; throws InterruptedException
     * if the offer was cancelled.
     */
    private boolean waitForCommit() throws InterruptedException {
        boolean interrupted = false;
        int abandonsSeen = 0;
        for (;;) {
            int state = state();
            if (state == Offer.DONE) {
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
                if (cancel()) {
                    throw new InterruptedException("sync() was interrupted while waiting");
                }
                interrupted = true; // a source claimed first: its value must not be dropped
                continue;
            }
            long remaining = 0L;
            if (timeout != null) {
                remaining = timeout.deadline - System.nanoTime();
                if (remaining <= 0) {
                    if (claim()) {
                        complete(timeout.branch, Timeout.TIMEOUT);
                    }
                    continue;
                }
            }
            int abandons = abandons();
            if (!registeredAll || abandons != abandonsSeen) {
                abandonsSeen = abandons;
                try {
                    registerPass();
                } catch (Throwable t) {
                    if (cancel()) {
                        throw t;
                    }
                    // Another branch committed before we could give up: that commit
                    // happened first and stands; this failing registration is moot.
                }
                continue;
            }
            if (timeout != null) {
                LockSupport.parkNanos(this, remaining);
            } else {
                LockSupport.park(this);
            }
        }
    }

    /** Step 3, also re-run after an abandoned claim: withdraw everything, register the same waiters again. */
    private void registerPass() {
        registeredAll = false;
        cancelRegistrations();
        int n = size();
        Branch<?> b = n == 0 ? null : branchAt(rotation);
        for (int k = 0; k < n; k++, b = after(b)) {
            if (!isLive()) {
                return;
            }
            if (!b.isTimeout()) {
                Registration r = b.register();
                if (r == null) {
                    throw new NullPointerException(b.base + ".register returned null; return Registration.NONE instead");
                }
                b.registration = r;
            }
        }
        registeredAll = true;
    }

    private void cancelRegistrations() {
        for (Branch<?> b = first; b != null; b = b.next) {
            Registration r = b.registration;
            if (r != null) {
                b.registration = null;
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
        if (failure == null || winner() < 0) {
            return failure;
        }
        Thread self = Thread.currentThread();
        self.getUncaughtExceptionHandler().uncaughtException(self, failure);
        return null;
    }

    /** Step 5. Never throws: returns {@code failure} with clean-up failures added. */
    private Throwable cleanUp(Throwable failure) {
        for (Branch<?> b = first; b != null; b = b.next) {
            Registration r = b.registration;
            if (r != null) {
                b.registration = null;
                try {
                    r.cancel();
                } catch (Throwable t) {
                    failure = Failures.merge(failure, t);
                }
            }
        }
        return fireNacks(failure);
    }

    /** Fires every nack the winner is not inside (all if none won); collects failures. */
    private Throwable fireNacks(Throwable failure) {
        Branch<?> won = winner() >= 0 ? won() : null;
        for (NackEvent nack = firstNack; nack != null; nack = nack.nextInSync) {
            if (won == null || !won.isInside(nack)) {
                try {
                    nack.fire();
                } catch (Throwable t) {
                    failure = Failures.merge(failure, t);
                }
            }
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

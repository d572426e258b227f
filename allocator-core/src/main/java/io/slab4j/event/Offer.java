package io.slab4j.event;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The one state word of one {@code sync}: every registration that sync makes on a
 * source (one {@link Waiter} per base event) shares this offer, so at most one source
 * can ever deliver to it. After Reppy, Russo and Xiao, "Parallel Concurrent ML" (2009),
 * simplified: our sources never block inside a choice, so one word per sync suffices
 * (the protocol as a whole, and the lock order: {@code package-info}).
 *
 * <pre>
 *                claim() (a source, or the owner for a timeout)
 *   WAITING ────────────────────────────────▶ CLAIMED ──complete(branch, value)──▶ DONE
 *      │   ◀──────────── abandon() ────────────┘            (setRelease, unpark)
 *      │                 (transfer threw)
 *      └──cancel() (owner only: interrupt)──▶ CANCELLED
 * </pre>
 *
 * <ol>
 *   <li>The syncing thread (the <em>owner</em>) creates the offer in {@code WAITING} and
 *       registers it on sources.</li>
 *   <li>A source that wants to deliver CASes {@code WAITING → CLAIMED} ({@link #claim}).
 *       Only the winner of that CAS may transfer; everyone else treats the
 *       registration as stale.</li>
 *   <li>The claimer stores the value and the branch index with plain writes, then
 *       publishes them with {@code setRelease(DONE)} and unparks the owner
 *       ({@link #complete}). If the transfer itself failed it may instead
 *       {@link #abandon} ({@code CLAIMED → WAITING}); sources that saw the claim and
 *       dropped the registration are then made whole by the owner re-registering
 *       (see {@link #abandons()}).</li>
 *   <li>The owner cancels ({@code WAITING → CANCELLED}) on interrupt. If that CAS fails
 *       the offer is claimed: the owner waits for {@code DONE} and keeps the value.</li>
 * </ol>
 *
 * <p>The offer is the state word of the {@link Sync} that extends it (one object per
 * waiting sync instead of two); a sync that commits in its poll step never publishes it,
 * and a sync of a plain event that is ready makes no {@code Sync} at all.
 *
 * <p>Concurrency contract: {@link #state()}, {@link #claim()}, {@link #isLive()} are
 * callable from any thread. {@link #complete} and {@link #abandon} only by the thread
 * whose {@code claim()} succeeded (they check {@code CLAIMED} and throw otherwise).
 * {@link #cancel()}, {@link #branch()} and {@link #value()} only by the owner, the
 * latter two after it has read {@code DONE}. {@code DONE} and {@code CANCELLED} are
 * final.
 */
abstract sealed class Offer permits Sync {
    static final int WAITING = 0;
    static final int CLAIMED = 1;
    static final int DONE = 2;
    static final int CANCELLED = 3;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Offer.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The syncing thread; unparked by complete and abandon. Final: safely published. */
    final Thread owner;

    /**
     * WAITING, CLAIMED, DONE or CANCELLED. Accessed only through {@link #STATE} with the
     * mode spelled at each call site; a plain field so no access is accidentally volatile.
     */
    @SuppressWarnings("unused")
    private int state;

    /**
     * Written (plain) by the claimer before {@code setRelease(DONE)}, or by the owner in
     * {@link #completeByPoll}; read (plain) by the owner after {@code getAcquire() == DONE}.
     */
    private Object value;

    /** As {@link #value}: the index of the winning branch in the sync's branch list. */
    private int branch = -1;

    /**
     * How often a claim was abandoned. Written (plain) only by the current claimer, before
     * the releasing CAS {@code CLAIMED → WAITING}; claimers are serialised by the claim
     * CAS, so there is one writer at a time. The owner reads it after reading
     * {@code WAITING} with acquire; a read racing with a claim may see the new count early,
     * which is harmless because the owner re-registers whenever its last registration pass
     * was cut short (see {@code Sync}).
     */
    private int abandons;

    Offer(Thread owner) {
        this.owner = owner;
    }

    /** Current state, with acquire semantics (so a {@code DONE} read sees the value). */
    int state() {
        return (int) STATE.getAcquire(this);
    }

    /** True while no branch has won and the owner has not given up. */
    boolean isLive() {
        return (int) STATE.getAcquire(this) == WAITING;
    }

    /** Step 2: {@code WAITING → CLAIMED}. True means the caller must complete or abandon. */
    boolean claim() {
        return STATE.compareAndSet(this, WAITING, CLAIMED);
    }

    /** Step 3: store the result, {@code CLAIMED → DONE} with release, wake the owner. */
    void complete(int branchIndex, Object result) {
        if ((int) STATE.getAcquire(this) != CLAIMED) {
            throw new IllegalStateException("complete(" + result + ") on branch " + branchIndex
                    + ": the offer is " + name(state()) + ", not CLAIMED; call claim() first"
                    + " and complete only when it returned true");
        }
        this.value = result;
        this.branch = branchIndex;
        STATE.setRelease(this, DONE);
        if (owner != Thread.currentThread()) {
            LockSupport.unpark(owner);
        }
    }

    /** Step 3, failure path: the transfer threw after a successful claim; back to WAITING. */
    void abandon() {
        if ((int) STATE.getAcquire(this) != CLAIMED) {
            throw new IllegalStateException("abandon(): the offer is " + name(state())
                    + ", not CLAIMED; abandon only after a successful claim()");
        }
        abandons++;
        if (!STATE.compareAndSet(this, CLAIMED, WAITING)) {
            throw new IllegalStateException("abandon(): the offer left CLAIMED while claimed");
        }
        LockSupport.unpark(owner);
    }

    /**
     * Owner only, before the offer is handed to any source: the poll step committed
     * {@code branchIndex}. {@code WAITING → DONE} by a plain store, since no other thread
     * can reach this offer yet; afterwards the offer reads as if a source had completed it.
     */
    void completeByPoll(int branchIndex, Object result) {
        this.value = result;
        this.branch = branchIndex;
        STATE.set(this, DONE);
    }

    /** Owner only: the index of the branch that won, or -1 while the offer is not DONE. */
    int winner() {
        return (int) STATE.getAcquire(this) == DONE ? branch : -1;
    }

    /** Step 4, owner only: {@code WAITING → CANCELLED}; false means a source has claimed. */
    boolean cancel() {
        return STATE.compareAndSet(this, WAITING, CANCELLED);
    }

    /** Owner only, after reading WAITING: changes whenever a claim was abandoned. */
    int abandons() {
        return abandons;
    }

    /** Owner only, after reading DONE. */
    int branch() {
        return branch;
    }

    /** Owner only, after reading DONE. */
    Object value() {
        return value;
    }

    static String name(int state) {
        switch (state) {
            case WAITING: return "WAITING";
            case CLAIMED: return "CLAIMED";
            case DONE: return "DONE";
            case CANCELLED: return "CANCELLED";
            default: return "state " + state;
        }
    }

    @Override
    public String toString() {
        return "Offer[" + name(state()) + ", owner=" + owner.getName() + "]";
    }
}

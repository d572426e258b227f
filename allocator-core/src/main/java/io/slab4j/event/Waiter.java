package io.slab4j.event;

/**
 * A source's handle on one registration of one {@code sync}: the sync's shared
 * {@link Offer} plus the index of the base event (branch) this registration is for.
 * Several waiters of one sync share one offer, so at most one of them is ever
 * completed, whichever source claims first.
 *
 * <p>How a source uses it, under its own lock:
 * <pre>{@code
 * Waiter<T> w = queue.peekOldest();
 * if (w.claim()) {              // WAITING -> CLAIMED: this source won the sync
 *     T value = transfer();     // carve the span, take the item...
 *     w.complete(value);        // CLAIMED -> DONE, owner unparked
 * }                             // else: stale (another branch won, or the owner left):
 * queue.remove(w);              //       drop it and try the next waiter
 * }</pre>
 * If {@code transfer()} throws after a successful claim, call {@link #abandon()} before
 * propagating: the offer returns to WAITING and the syncing thread re-registers
 * everywhere, so a source that dropped this sync in the meantime is not missed.
 *
 * <p>The syncing thread makes one waiter per base event when it instantiates the event
 * (it is that sync's {@link Branch}, which adds what only the syncing thread reads) and
 * registers the same waiter again if it has to re-register after an abandoned claim; a
 * sync that commits in its poll step hands no waiter to any source.
 *
 * <p>Thread-safe: any thread may call any method, but {@link #complete} and
 * {@link #abandon} only after its own {@link #claim()} returned true, exactly once, and
 * never both. A source must not block between claim and complete: the syncing thread
 * is waiting for it, uninterruptibly.
 *
 * @param <T> the type of value the base event delivers
 */
public abstract sealed class Waiter<T> permits Branch {
    /** The sync's state word, shared by all its waiters. Final: safely published to sources. */
    private final Offer offer;
    /** This waiter's index among its sync's branches. Final. */
    final int branch;

    /** Set by the first {@link #arrival(long)} of the sync, 0 before; the syncing thread only (sources call it inside their registration, which runs there). */
    private long arrival;

    Waiter(Offer offer, int branch) {
        this.offer = offer;
        this.branch = branch;
    }

    /**
     * Tries to win this sync for this registration: CAS of the offer
     * {@code WAITING → CLAIMED}.
     *
     * @return true if this caller now owns the offer and must {@link #complete} it (or,
     *         only if the transfer itself failed, {@link #abandon} it); false if another
     *         branch already won, the sync was interrupted or another source holds a claim
     *         — drop this registration and move on
     */
    public final boolean claim() {
        return offer.claim();
    }

    /**
     * Delivers the value after a successful {@link #claim()}: stores it and this branch
     * index, sets the offer DONE with release semantics and unparks the syncing thread.
     *
     * @param value the transferred value, not null
     * @throws NullPointerException if value is null (an event never yields null); the
     *         claim is abandoned first, so the syncing thread is not left waiting
     * @throws IllegalStateException if the offer is not CLAIMED (no successful claim)
     */
    public final void complete(T value) {
        if (value == null) {
            if (offer.state() == Offer.CLAIMED) {
                offer.abandon();
            }
            throw new NullPointerException("Waiter.complete(null) on branch " + branch
                    + ": an event never yields null; the claim was abandoned");
        }
        offer.complete(branch, value);
    }

    /**
     * Cheap check for sources scanning their queue: true while the sync is still waiting
     * for some branch. False means the entry is stale or momentarily claimed by another
     * source; a source may drop it (the owner re-registers if that claim is abandoned).
     */
    public final boolean isLive() {
        return offer.isLive();
    }

    /**
     * Returns a claimed offer to WAITING because the transfer failed after
     * {@link #claim()} succeeded. The syncing thread then withdraws all its registrations
     * and registers again on every source (other sources may have dropped it while it was
     * claimed), so the waiter goes to the back of each queue; a source need not re-queue
     * it, and one that does sees that node cancelled right away.
     *
     * @throws IllegalStateException if the offer is not CLAIMED
     */
    public final void abandon() {
        offer.abandon();
    }

    /**
     * This waiter's place in its source's queue, kept across the sync's registrations: the
     * first call in the sync stores {@code next} (a source's own increasing stamp, above 0) and
     * returns it; a later call, when the sync registers again after an abandoned claim,
     * returns the stored stamp. A source that queues by this stamp keeps such a waiter in the
     * place it had instead of sending it to the back (FIFO across a failed transfer), and one
     * that compares the result with {@code next} counts one wait per sync, not one per
     * registration. Call it only inside the registration ({@code BaseEvent.register}), which
     * runs on the syncing thread, and only when the waiter really queues.
     *
     * @throws IllegalArgumentException if {@code next} is not above 0
     */
    public final long arrival(long next) {
        if (next <= 0) {
            throw new IllegalArgumentException("arrival(" + next + "): a source's stamp is above 0");
        }
        if (arrival == 0) {
            arrival = next;
        }
        return arrival;
    }

    @Override
    public final String toString() {
        return "Waiter[branch " + branch + ", " + offer + "]";
    }
}

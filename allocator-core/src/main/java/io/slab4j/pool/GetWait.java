package io.slab4j.pool;

import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

/**
 * One blocking {@link Pool#get}'s wait (step 3 of the get in {@link Pool}'s header), as one
 * base event: "a put hands me an item, <em>or</em> the arena gives my grow a slab". Its one
 * registration queues the sync's waiter in both places at once, under one acquisition of the
 * pool's lock, and whichever source claims the sync's offer first delivers; so the get makes
 * one branch and one registration, not a {@code choose} of two and a nack.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>put side</b>: a {@link PutWaiters.Node} in the pool's FIFO of put waiters
 *       (for {@link WaitStrategy#LOW_WATER_PRIME}, and for the other strategies when the
 *       pool may not grow, the only side).
 *   <li><b>grow side</b>: a {@link GrowSupply.Request} for this ticket, forwarded into the
 *       arena's queue, or queued in the pool until the hard limit leaves room.
 * </ul>
 *
 * <h2>Invariants</h2>
 * Made after the get polled the pool itself, so {@link #tryNow()} does not poll again (its
 * registration re-checks under the lock). {@link #servedByPut()} tells, once the sync has
 * returned, whether it was given an item (by a put or by its registration) or a slab; the get
 * settles its ticket (this object's
 * {@link GrowTicket} part: its claim on the hard limit and its wait clock) after its sync
 * ends ({@link GetWaits#await}): a slab that came is added, a reservation left is released.
 *
 * <h2>Concurrency</h2>
 * Confined to the get's own thread, which makes it, syncs on it once, registers and cancels it
 * ({@link GetWaits#register}, {@link GetWaits#cancel}): those run under the pool's lock. Its
 * nodes' {@code served} flags are written by a put under the lock before it completes the
 * waiter and read here after the offer is DONE (see {@link PutWaiters.Node#served}).
 */
final class GetWait extends GrowTicket implements Registration {
    /** True: register on puts; {@link #grows}: register a grow (at least one of the two). */
    final boolean puts;
    final boolean grows;
    /**
     * The latest registration's put node (kept after it is withdrawn), or null. Only the latest
     * can have been served: an older one left the queue before a newer one was made, and a
     * put that claims the offer never gives it back. Set under the pool lock by the syncing thread.
     */
    PutWaiters.Node node;
    /** The current registration's grow request, or null once withdrawn. Pool lock. */
    GrowSupply.Request request;
    /** The registration itself took a free item for the sync. Syncing thread. */
    boolean byPut;

    GetWait(GetWaits waits, boolean puts, boolean grows) {
        super(waits);
        this.puts = puts;
        this.grows = grows;
    }

    @Override
    protected Long tryNow() {
        return null;
    }

    @Override
    protected Registration register(Waiter<Long> waiter) {
        return waits.register(this, waiter);
    }

    /**
     * After the sync has returned a value: true when it is an item (taken by the registration or
     * handed over by a put), false when it is a slab from the arena. The put sets its node's
     * {@code served} under the lock before it completes the offer, and the syncing thread read
     * the offer DONE with acquire, so the flag is visible here however the clean-up raced.
     */
    boolean servedByPut() {
        return byPut || node != null && node.served;
    }

    /** Withdraws both sides; idempotent. */
    @Override
    public void cancel() {
        waits.cancel(this);
    }

    @Override
    public String toString() {
        return "get(" + waits.poolName() + (puts ? ", put" : "") + (grows ? ", grow " + stateName() : "") + ")";
    }
}

package io.slab4j.arena;

import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

/**
 * One registration waiting for space in an {@link Arena}: the request, the span carved once
 * it is claimed, and its links in the arena's {@link SpanQueue}. All fields but the final
 * ones are guarded by the arena lock. It is its own {@link Registration} (no cancel lambda
 * a wait), so a waiting allocation costs one object here.
 */
final class SpanRequest implements Registration {
    private final Handover owner;
    final Waiter<Long> waiter;
    final int quanta;
    final long alignQuanta;
    /** The carved span's start in quanta and its address, set under the arena lock after a successful claim. */
    int at;
    long address;
    SpanRequest prev;
    SpanRequest next;
    boolean linked;
    /** Its place in the queue ({@link Waiter#arrival}): the arrival of the sync's first queued registration. */
    long arrival;

    SpanRequest(Handover owner, Waiter<Long> waiter, int quanta, long alignQuanta) {
        this.owner = owner;
        this.waiter = waiter;
        this.quanta = quanta;
        this.alignQuanta = alignQuanta;
    }

    /** Withdraws this request from the arena's queue (idempotent: a request no longer queued is left alone). */
    @Override
    public void cancel() {
        owner.cancel(this);
    }
}

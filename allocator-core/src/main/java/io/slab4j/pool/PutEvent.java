package io.slab4j.pool;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

/**
 * The base event "an item of this pool is free, or a put hands one over": ready when the
 * pool has a free item; a registration waits in the pool's FIFO of put waiters, and
 * {@link Pool#put} gives its item to the oldest live one.
 *
 * <p>Two flavours. The pool's shared instance (no ticket) is the put branch of
 * {@link Pool#getEvent()} and polls like any event. A get's own instance (with its
 * {@link GrowTicket}) is made after that get has just polled the pool itself, so it does not
 * poll again ({@link #tryNow()} is null): its registration re-checks under the lock, which
 * is what makes skipping the poll safe, and it records when the get began to wait.
 */
final class PutEvent extends BaseEvent<Long> {
    private final GetWaits waits;
    private final GrowTicket ticket;

    PutEvent(GetWaits waits, GrowTicket ticket) {
        this.waits = waits;
        this.ticket = ticket;
    }

    @Override
    protected Long tryNow() {
        return ticket == null ? waits.pollItem() : null;
    }

    @Override
    protected Registration register(Waiter<Long> waiter) {
        return waits.registerForPut(waiter, ticket);
    }

    @Override
    public String toString() {
        return "put-to(" + waits.poolName() + ")";
    }
}

package io.slab4j.pool;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

/**
 * The base event "an item of this pool is free, or a put hands one over": ready when the
 * pool has a free item; a registration waits in the pool's FIFO of put waiters, and
 * {@link Pool#put} gives its item to the oldest live one. One instance per pool; it holds
 * no per-sync state.
 */
final class PutEvent extends BaseEvent<Long> {
    private final Pool pool;

    PutEvent(Pool pool) {
        this.pool = pool;
    }

    @Override
    protected Long tryNow() {
        return pool.pollItem();
    }

    @Override
    protected Registration register(Waiter<Long> waiter) {
        return pool.registerForPut(waiter);
    }

    @Override
    public String toString() {
        return "put-to(" + pool.name + ")";
    }
}

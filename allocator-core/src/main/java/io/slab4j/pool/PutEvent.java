package io.slab4j.pool;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

/**
 * The put branch of {@link Pool#getEvent()}, "an item of this pool is free, or a put hands
 * one over": ready when the pool has a free item; a registration waits in the pool's FIFO of
 * put waiters ({@link PutWaiters.Node}, which is its own {@link Registration}), and
 * {@link Pool#put} gives its item to the oldest live one. One instance per pool, shared by
 * every sync (it holds no per-sync state).
 */
final class PutEvent extends BaseEvent<Long> {
    private final GetWaits waits;

    PutEvent(GetWaits waits) {
        this.waits = waits;
    }

    @Override
    protected Long tryNow() {
        return waits.pollItem();
    }

    @Override
    protected Registration register(Waiter<Long> waiter) {
        return waits.registerForPut(waiter);
    }

    @Override
    public String toString() {
        return "put-to(" + waits.poolName() + ")";
    }
}

package io.slab4j.pool;

import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

import java.util.function.Function;

/**
 * The grow branch of one sync of {@link Pool#getEvent()}: the base event "this pool may grow
 * and the arena has a slab's worth of contiguous space", yielding the slab's address. Made
 * per sync by the branch's withNack function; as a {@link GrowTicket} it records the
 * reservation against the hard limit; the same object is the branch's nack action (it
 * releases the reservation) and its wrap (it turns the address into a slab and takes an item).
 *
 * <p>Poll: only when the pool has no free item and may grow, and the arena has space now.
 * Register: under the limit, reserve and forward the registration into the arena's FIFO
 * queue; at the limit, queue in the pool until capacity returns, then do the same
 * ({@link GrowSupply}). Confined to the syncing thread, but for the pool's use of the ticket
 * under its lock.
 */
final class GrowEvent extends GrowTicket implements Runnable, Function<Long, Long> {
    GrowEvent(GetWaits waits) {
        super(waits);
    }

    @Override
    protected Long tryNow() {
        return waits.tryGrowNow(this);
    }

    @Override
    protected Registration register(Waiter<Long> waiter) {
        return waits.registerForGrow(waiter, this);
    }

    /** The nack: the branch lost; give the reservation back. */
    @Override
    public void run() {
        waits.release(this);
    }

    /** The wrap: the branch won with a slab at {@code address}; add it and take an item. */
    @Override
    public Long apply(Long address) {
        return waits.addSlab(this, address);
    }

    @Override
    public String toString() {
        return "grow(" + waits.poolName() + ", " + stateName() + ")";
    }
}

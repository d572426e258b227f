package io.slab4j.pool;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

/**
 * The base event "this pool may grow and the arena has a slab's worth of contiguous
 * space"; yields the slab's address (the branch's wrap turns it into a slab). It belongs
 * to one sync's grow branch: its {@link GrowTicket} records the reservation against the
 * hard limit that the branch's nack releases.
 *
 * <p>Poll (unless {@code poll} is false: the get polled the pool just before): only when
 * the pool has no free item and may grow, and the arena has space now. Register: under the
 * limit, reserve and forward the registration into the arena's FIFO queue; at the limit,
 * queue in the pool until capacity returns, then do the same ({@link GrowSupply}).
 */
final class GrowEvent extends BaseEvent<Long> {
    private final GetWaits waits;
    private final GrowTicket ticket;
    private final boolean poll;

    GrowEvent(GetWaits waits, GrowTicket ticket, boolean poll) {
        this.waits = waits;
        this.ticket = ticket;
        this.poll = poll;
    }

    @Override
    protected Long tryNow() {
        return poll ? waits.tryGrowNow(ticket) : null;
    }

    @Override
    protected Registration register(Waiter<Long> waiter) {
        return waits.registerForGrow(new GrowSupply.Request(waiter, ticket));
    }

    @Override
    public String toString() {
        return "grow(" + waits.poolName() + ", " + ticket + ")";
    }
}

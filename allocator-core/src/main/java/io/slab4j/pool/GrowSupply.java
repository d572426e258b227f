package io.slab4j.pool;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.WaitQueue;
import io.slab4j.event.Waiter;

/**
 * The supply side of a {@link Pool}'s hard limit: items made (in the pool's slabs) and
 * pending (reserved by grows waiting for arena space), and the grows queued for capacity
 * when {@code made + pending} leaves no room for another slab.
 *
 * <p>A grow is reserved before it registers in the arena, so concurrent grows never
 * overshoot the limit; when a reservation is released (a grow branch lost) or a slab goes
 * back to the arena, capacity returns and the oldest grows queued for it are reserved and
 * forwarded to the arena ({@link BaseEvent#forward}) under the same offer. That is the rule
 * of the NetBSD tech-kern thread "pools and scarcity" (PR kern/45718) in this design: a get
 * that waited on puts alone because pending grows filled the limit is woken to grow.
 *
 * <p>Not thread-safe: guarded by the pool's lock (lock order pool, then arena, for
 * {@code forward}); cancelling an arena registration happens after the pool lock is released.
 */
final class GrowSupply {
    /**
     * A grow registration: its ticket, and its forwarded registration in the arena once it has
     * one; withdrawn by {@link #cancel()} (a {@link GrowEvent}'s registration).
     */
    static final class Request extends WaitQueue.Node<Long> implements Registration {
        final GrowTicket ticket;
        /** Set under the pool lock when forwarded; cancelled when the branch loses. */
        Registration inArena;
        /** Under the pool lock: registered and not yet withdrawn (queued here or forwarded to the arena), counted in {@code live}. */
        boolean registered;

        Request(Waiter<Long> waiter, GrowTicket ticket) {
            super(waiter);
            this.ticket = ticket;
        }

        @Override
        public void cancel() {
            ticket.waits.cancelGrow(this);
        }
    }

    private final int itemsPerSlab;
    private final long hardLimit;
    private final BaseEvent<Long> slabSpace;
    private final WaitQueue<Request> queued = new WaitQueue<>();
    private long made;
    private long pending;
    /**
     * Requests registered and not yet withdrawn: queued for capacity, or forwarded to the arena
     * and waiting there (the sync that made one withdraws it when it ends, whoever won).
     */
    private int live;

    GrowSupply(int itemsPerSlab, long hardLimit, BaseEvent<Long> slabSpace) {
        this.itemsPerSlab = itemsPerSlab;
        this.hardLimit = hardLimit;
        this.slabSpace = slabSpace;
    }

    long made() {
        return made;
    }

    long pending() {
        return pending;
    }

    long hardLimit() {
        return hardLimit;
    }

    /** Room for one more slab under the hard limit. */
    boolean canReserve() {
        return made + pending + itemsPerSlab <= hardLimit;
    }

    /** Room for a grow that does not overtake the grows queued for capacity. */
    boolean mayGrow() {
        return queued.liveHead() == null && canReserve();
    }

    /**
     * Reserves a slab's items for {@code ticket}, or, when it is null, for the calling step
     * alone (a poll or a prime, which consumes or releases it before it returns).
     */
    void reserve(GrowTicket ticket) {
        if (ticket != null) {
            ticket.reserve();
        }
        pending += itemsPerSlab;
    }

    /** The nack of a grow branch, the end of a get's wait, or a failed non-waiting grow: gives the reservation back, if any. */
    void release(GrowTicket ticket) {
        if (ticket == null || ticket.release()) {
            pending -= itemsPerSlab;
            serveQueued();
        }
    }

    /** A reserved grow's slab arrived. */
    void consume(GrowTicket ticket, String pool) {
        if (ticket != null) {
            ticket.consume(pool);
        }
        pending -= itemsPerSlab;
        made += itemsPerSlab;
    }

    /** A slab went back to the arena: capacity returns. */
    void shrunk() {
        made -= itemsPerSlab;
        serveQueued();
    }

    /** The pool closed and dropped every slab. */
    void dropAll() {
        made = 0;
    }

    /** {@link GrowEvent}'s registration: reserve and forward to the arena now, or queue for capacity. */
    void register(Request request) {
        if (!request.registered) {
            request.registered = true;
            live++;
        }
        // a ticket still reserved is a re-registration after an abandoned claim (the sync
        // withdraws and registers again): it already holds its capacity, so it goes straight on
        if (request.ticket.isReserved() || mayGrow()) {
            forward(request);
        } else {
            queued.addLast(request);
        }
    }

    /** Withdraws a request from the queue; returns its arena registration for the caller to cancel after unlocking. */
    Registration withdraw(Request request) {
        if (request.registered) {
            request.registered = false;
            live--;
        }
        queued.remove(request);
        Registration inArena = request.inArena;
        request.inArena = null;
        return inArena;
    }

    /** Requests registered and not withdrawn: the grows of gets waiting now, queued here or in the arena. */
    int liveCount() {
        return live;
    }

    boolean isIdle() {
        return pending == 0 && queued.isEmpty();
    }

    /** Checks the counts against the limit; returns what is broken, or null. */
    String check(String owner, long slabs) {
        queued.check(owner);
        if (live < queued.size()) {
            return live + " live requests but " + queued.size() + " queued";
        }
        if (made != slabs * itemsPerSlab) {
            return "made " + made + " but " + slabs + " slabs";
        }
        if (made + pending > hardLimit) {
            return "made " + made + " + pending " + pending + " exceeds the hard limit " + hardLimit;
        }
        if (pending < 0 || pending % itemsPerSlab != 0) {
            return "pending " + pending + " is not a whole number of slabs";
        }
        return null;
    }

    private void forward(Request request) {
        if (!request.ticket.isReserved()) {
            reserve(request.ticket);
        }
        request.inArena = BaseEvent.forward(slabSpace, request.waiter());
    }

    private void serveQueued() {
        Request head;
        while (canReserve() && (head = queued.liveHead()) != null) {
            queued.remove(head);
            forward(head);
        }
    }
}

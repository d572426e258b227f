package io.slab4j.pool;

import io.slab4j.event.Event;
import io.slab4j.event.Events;
import io.slab4j.event.NackEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

import java.time.Duration;
import java.util.function.Function;

/**
 * The waiting side of a {@link Pool}'s get: a blocking get's wait (steps 2 and 3 of the get
 * in {@link Pool}'s header, one {@link GetWait}), the event {@link Pool#getEvent()} that
 * callers compose, and the polls, registrations and cancellations those make on the pool. The
 * wait protocol and the lock order are in {@code package-info.java}.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>put branch</b> of {@code getEvent()}: the pool's one {@link PutEvent}, queued in
 *       {@link PutWaiters} until a put claims it; <b>grow branch</b>: a {@link GrowEvent}
 *       under {@code withNack}, one per sync, which as a {@link GrowTicket} holds a
 *       reservation against the hard limit ({@link GrowSupply}).
 *   <li><b>nack</b>: a grow branch that lost gives its reservation back ({@link #release}).
 * </ul>
 *
 * <h2>Invariants</h2>
 * A registration either takes a free item (after claiming its waiter) or queues; it never
 * queues for a put while an item is free. Every reservation is consumed by a slab
 * ({@link ArenaTraffic#addSlab}) or released: by a grow branch's nack, by a blocking get when
 * its sync ends without a slab, or by a failed arena try.
 *
 * <h2>Concurrency</h2>
 * Thread-safe. Holds no state of its own but the event {@code getEvent()} returns (immutable,
 * built once): the pool's lock guards the slabs, queues, supply and counts it reads and
 * writes; it completes waiters, calls the arena and cancels arena registrations only after
 * unlocking, and calls the layers ({@link Reclaimers}) holding none of the pool's locks.
 */
final class GetWaits {
    private final Pool pool;
    private final ArenaTraffic traffic;
    private final WaitStrategy strategy;
    private final CountingLock lock;
    private final SlabStock stock;
    private final PutWaiters putWaiters;
    private final GrowSupply supply;
    private final Reclaimers reclaimers;
    private final PoolCounts counts;
    /** Pool lock: the stamp of the last put registration that queued ({@link Waiter#arrival}). */
    private long putArrivals;
    /** {@link Pool#getEvent()}: built once; each sync instantiates it afresh. */
    private final Event<Long> event;

    GetWaits(Pool pool, ArenaTraffic traffic, WaitStrategy strategy, SlabStock stock, PutWaiters putWaiters,
             GrowSupply supply, Reclaimers reclaimers, PoolCounts counts) {
        this.pool = pool;
        this.traffic = traffic;
        this.strategy = strategy;
        this.lock = pool.lock;
        this.stock = stock;
        this.putWaiters = putWaiters;
        this.supply = supply;
        this.reclaimers = reclaimers;
        this.counts = counts;
        PutEvent put = new PutEvent(this);
        Event<Long> grow = Events.withNack(growBranch());
        this.event = switch (strategy) {
            case NACK -> Events.choose(put, grow);
            case LOW_WATER_PRIME -> put;
            case NAIVE, PENDING_GROW_COUNT -> Events.guard(() -> mayGrowNow() ? grow : put);
        };
    }

    /** The pool's name, for the events' {@code toString}. */
    String poolName() {
        return pool.name;
    }

    Event<Long> event() {
        return event;
    }

    /** The withNack function of {@code getEvent()}'s grow branch: a fresh grow event (and ticket) per sync. */
    private Function<NackEvent, Event<Long>> growBranch() {
        boolean alone = strategy == WaitStrategy.NAIVE || strategy == WaitStrategy.PENDING_GROW_COUNT;
        return nack -> {
            GrowEvent grow = new GrowEvent(this);
            if (alone) {
                grow.startClock(System.nanoTime()); // no put branch beside it to count the wait
            }
            nack.onNack(grow);
            return grow.wrap(grow);
        };
    }

    /**
     * Get steps 2 and 3: reclaim idle parked items, then wait, without polling again, for a put
     * or (when the pool may grow) a slab; then settle the ticket: add the slab that came, or
     * release the reservation and count the wait.
     */
    long await(Duration timeout) throws InterruptedException {
        if (reclaimers.any() && reclaimers.reclaimIdle() > 0) {
            long address = traffic.getNow(false);
            if (address != 0) {
                return address;
            }
        }
        boolean grows = switch (strategy) {
            case NACK -> true;
            case LOW_WATER_PRIME -> false;
            case NAIVE, PENDING_GROW_COUNT -> mayGrowNow();
        };
        GetWait wait = new GetWait(this, !grows || strategy == WaitStrategy.NACK, grows);
        wait.startClock(System.nanoTime());
        long got = 0;
        try {
            got = timeout == null ? wait.sync() : Events.choose(wait, Events.timeout(timeout).wrap(signal -> 0L)).sync();
        } finally {
            if (got != 0 && !wait.servedByPut()) {
                got = traffic.addSlab(wait, got, true); // the grow won: its slab, and the wait counted
            } else {
                release(wait);
            }
        }
        return got;
    }

    /** {@link PutEvent}'s poll (the shared instance of {@code getEvent()}). */
    Long pollItem() {
        lock.lock();
        try {
            pool.checkOpen("get");
            long address = stock.take();
            return address == 0 ? null : address;
        } finally {
            lock.unlock();
        }
    }

    /** {@link PutEvent}'s registration: claim and take a free item, or queue for a put. */
    Registration registerForPut(Waiter<Long> waiter) {
        long address;
        lock.lock();
        try {
            pool.checkOpen("get");
            if (!stock.hasFree()) {
                // a real wait: counted when it ends, once per sync (a sync queued again after an
                // abandoned claim adds its time only, and takes back its place in the queue)
                long stamp = ++putArrivals;
                long arrival = waiter.arrival(stamp);
                PutWaiters.Node node = new PutWaiters.Node(waiter, this, System.nanoTime(), arrival != stamp);
                putWaiters.add(node, arrival);
                return node;
            }
            if (!waiter.claim()) {
                return Registration.NONE;
            }
            address = stock.take();
        } finally {
            lock.unlock();
        }
        waiter.complete(address);
        return Registration.NONE;
    }

    /** A put node's cancellation: out of the queue, and its wait counted (a served node was counted by its put). */
    void cancelPut(PutWaiters.Node node) {
        if (node.served) {
            return; // the put that served it already took it off the queue (see PutWaiters.Node.served)
        }
        lock.lock();
        try {
            putWaiters.remove(node);
            waitEnded(node);
        } finally {
            lock.unlock();
        }
    }

    /**
     * A {@code getEvent()} sync's put node was served or withdrawn: its wait counts once (a node
     * the sync queued again after an abandoned claim adds only its time). The
     * put node counts for the sync, whose grow branch (when it has one) does not; a sync with
     * only a grow branch counts through its {@link GrowEvent}. Pool lock.
     */
    void waitEnded(PutWaiters.Node node) {
        if (node.queuedAt >= 0) {
            long nanos = System.nanoTime() - node.queuedAt;
            if (node.again) {
                counts.waitedMore(nanos);
            } else {
                counts.waited(nanos);
            }
            node.queuedAt = -1;
        }
    }

    /**
     * {@link GrowEvent}'s poll: when the pool is empty, may grow, and the arena has a slab
     * now, reserve and take it; the caller (the wrap) turns it into a slab.
     */
    Long tryGrowNow(GrowTicket ticket) {
        lock.lock();
        try {
            pool.checkOpen("get");
            if (stock.hasFree() || !supply.mayGrow()) {
                return null;
            }
            supply.reserve(ticket);
        } finally {
            lock.unlock();
        }
        long address = traffic.allocSlabOrRelease(ticket, false, false); // a sync waits next; a poll sees no slab
        return address == 0 ? null : address;
    }

    /** {@link GrowEvent}'s registration: reserve and forward to the arena now, or queue for capacity. */
    Registration registerForGrow(Waiter<Long> waiter, GrowTicket ticket) {
        GrowSupply.Request request = new GrowSupply.Request(waiter, ticket);
        lock.lock();
        try {
            pool.checkOpen("get");
            supply.register(request);
            ticket.queued(); // counted (when its clock runs) by its nack or its wrap
        } finally {
            lock.unlock();
        }
        return request;
    }

    /** A grow request's cancellation: out of the pool's queue, then (after unlocking) out of the arena's. */
    void cancelGrow(GrowSupply.Request request) {
        Registration inArena;
        lock.lock();
        try {
            inArena = supply.withdraw(request);
        } finally {
            lock.unlock();
        }
        if (inArena != null) {
            inArena.cancel();
        }
    }

    /**
     * {@link GetWait}'s registration, under one lock acquisition: take a free item (claimed)
     * if the get waits on puts and one is free; else queue on puts and register the grow, as
     * the get's strategy asks. Either side may then deliver, whichever claims first.
     */
    Registration register(GetWait wait, Waiter<Long> waiter) {
        long address;
        lock.lock();
        try {
            pool.checkOpen("get");
            if (!wait.puts || !stock.hasFree()) {
                if (wait.puts) {
                    wait.node = new PutWaiters.Node(waiter, this, -1, false); // the GetWait counts the wait
                    putWaiters.add(wait.node, waiter.arrival(++putArrivals)); // the put queue alone stamps this waiter
                }
                if (wait.grows) {
                    wait.request = new GrowSupply.Request(waiter, wait);
                    supply.register(wait.request);
                }
                wait.queued();
                return wait;
            }
            if (!waiter.claim()) {
                return Registration.NONE;
            }
            address = stock.take();
            wait.byPut = true;
        } finally {
            lock.unlock();
        }
        waiter.complete(address);
        return Registration.NONE;
    }

    /** {@link GetWait}'s cancellation: both sides out of the pool's queues, then the grow out of the arena's. */
    void cancel(GetWait wait) {
        PutWaiters.Node node = wait.node; // kept: the get reads its served flag when its sync ends
        GrowSupply.Request request = wait.request;
        wait.request = null;
        if (node != null && node.served) {
            node = null; // the put took it off the queue itself
        }
        if (node == null && request == null) {
            return;
        }
        Registration inArena = null;
        lock.lock();
        try {
            if (node != null) {
                putWaiters.remove(node);
            }
            if (request != null) {
                inArena = supply.withdraw(request);
            }
        } finally {
            lock.unlock();
        }
        if (inArena != null) {
            inArena.cancel();
        }
    }

    /** {@link GrowEvent}'s wrap: its slab arrived. */
    Long addSlab(GrowTicket ticket, long address) {
        return traffic.addSlab(ticket, address, true);
    }

    /** Gives back the ticket's reservation, if it still holds one, and counts its wait: a grow branch's nack, or a get's end. */
    void release(GrowTicket ticket) {
        lock.lock();
        try {
            supply.release(ticket);
            counts.waited(ticket.takeWait(System.nanoTime()));
        } finally {
            lock.unlock();
        }
    }

    private boolean mayGrowNow() {
        lock.lock();
        try {
            return !stock.hasFree() && supply.canReserve();
        } finally {
            lock.unlock();
        }
    }
}

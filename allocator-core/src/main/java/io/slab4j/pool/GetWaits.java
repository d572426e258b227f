package io.slab4j.pool;

import io.slab4j.event.Event;
import io.slab4j.event.Events;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

import java.time.Duration;

/**
 * The waiting side of a {@link Pool}'s get: the events a get syncs on (steps 2 and 3 of the
 * get in {@link Pool}'s header, and {@link Pool#getEvent()}), and the polls, registrations
 * and cancellations that {@link PutEvent} and {@link GrowEvent} make on the pool. The wait
 * protocol and the lock order are in {@code package-info.java}.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>put branch</b>: a {@link PutEvent}, queued in {@link PutWaiters} until a put
 *       claims it; <b>grow branch</b>: a {@link GrowEvent} under {@code withNack}, whose
 *       {@link GrowTicket} holds a reservation against the hard limit ({@link GrowSupply}).
 *   <li><b>nack</b>: a grow branch that lost gives its reservation back ({@link #release}).
 * </ul>
 *
 * <h2>Invariants</h2>
 * A registration either takes a free item (after claiming its waiter) or queues; it never
 * queues for a put while an item is free. Every reservation a branch makes is consumed by a
 * slab ({@link ArenaTraffic#addSlab}) or released by its nack or by a failed arena try.
 *
 * <h2>Concurrency</h2>
 * Thread-safe. Holds no state of its own: the pool's lock guards the slabs, queues, supply
 * and counts it reads and writes; it completes waiters, calls the arena and cancels arena
 * registrations only after unlocking, and calls the layers ({@link Reclaimers}) holding none
 * of the pool's locks.
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
    /** The put branch of {@link Pool#getEvent()}: one shared instance, which polls like any event. */
    private final PutEvent putEvent;

    GetWaits(Pool pool, ArenaTraffic traffic, WaitStrategy strategy, SlabStock stock, PutWaiters putWaiters, GrowSupply supply,
             Reclaimers reclaimers, PoolCounts counts) {
        this.pool = pool;
        this.traffic = traffic;
        this.strategy = strategy;
        this.lock = pool.lock;
        this.stock = stock;
        this.putWaiters = putWaiters;
        this.supply = supply;
        this.reclaimers = reclaimers;
        this.counts = counts;
        this.putEvent = new PutEvent(this, null);
    }

    /** The pool's name, for the events' {@code toString}. */
    String poolName() {
        return pool.name;
    }

    /** {@link Pool#getEvent()}: each sync registers afresh on the pool and the arena. */
    Event<Long> event() {
        return switch (strategy) {
            case NACK -> Events.choose(putEvent, growBranch(null, true));
            case LOW_WATER_PRIME -> putEvent;
            case NAIVE, PENDING_GROW_COUNT -> Events.guard(() -> mayGrowNow() ? growBranch(null, true) : putEvent);
        };
    }

    /** Get steps 2 and 3: reclaim idle parked items, then wait without polling again. */
    long await(Duration timeout) throws InterruptedException {
        if (reclaimers.any() && reclaimers.reclaimIdle() > 0) {
            long address = traffic.getNow(false);
            if (address != 0) {
                return address;
            }
        }
        GrowTicket ticket = new GrowTicket();
        Event<Long> wait = switch (strategy) {
            case NACK -> Events.choose(new PutEvent(this, ticket), growBranch(ticket, false));
            case LOW_WATER_PRIME -> new PutEvent(this, ticket);
            case NAIVE, PENDING_GROW_COUNT -> Events.guard(() -> mayGrowNow() ? growBranch(ticket, false) : new PutEvent(this, ticket));
        };
        if (timeout != null) {
            wait = Events.choose(wait, Events.timeout(timeout).wrap(signal -> 0L));
        }
        ticket.startClock(System.nanoTime());
        try {
            return wait.sync();
        } finally {
            long waited = ticket.takeWait(System.nanoTime());
            if (waited >= 0) {
                lock.lock();
                try {
                    counts.waited(waited);
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /** A grow under {@code given} (null: a fresh ticket for each sync), whose nack releases the ticket's reservation. */
    private Event<Long> growBranch(GrowTicket given, boolean poll) {
        return Events.withNack(nack -> {
            GrowTicket ticket = given != null ? given : new GrowTicket();
            nack.onNack(() -> release(ticket));
            return new GrowEvent(this, ticket, poll).wrap(address -> traffic.addSlab(ticket, address, true));
        });
    }

    /** {@link PutEvent}'s poll (the shared instance only). */
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
    Registration registerForPut(Waiter<Long> waiter, GrowTicket ticket) {
        long address;
        lock.lock();
        try {
            pool.checkOpen("get");
            if (!stock.hasFree()) {
                PutWaiters.Node node = new PutWaiters.Node(waiter, ticket);
                putWaiters.add(node);
                if (ticket != null) {
                    ticket.queued();
                }
                return () -> cancelPut(node);
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

    private void cancelPut(PutWaiters.Node node) {
        if (node.served) {
            return; // the put that served it already took it off the queue (see PutWaiters.Node.served)
        }
        lock.lock();
        try {
            putWaiters.remove(node);
        } finally {
            lock.unlock();
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
        long address = traffic.allocSlabOrRelease(ticket, false);
        return address == 0 ? null : address;
    }

    /** {@link GrowEvent}'s registration: reserve and forward to the arena now, or queue for capacity. */
    Registration registerForGrow(GrowSupply.Request request) {
        lock.lock();
        try {
            pool.checkOpen("get");
            supply.register(request);
            request.ticket.queued();
        } finally {
            lock.unlock();
        }
        return () -> cancelGrow(request);
    }

    private void cancelGrow(GrowSupply.Request request) {
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

    /** The nack of a grow branch: gives back its reservation, if it still holds one, and counts the wait. */
    private void release(GrowTicket ticket) {
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

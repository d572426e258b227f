package io.slab4j.pool;

import io.slab4j.arena.Hex;
import io.slab4j.arena.Arena;
import io.slab4j.event.Waiter;
import io.slab4j.nativemem.NativeMemoryException;

/**
 * A {@link Pool}'s non-waiting traffic with its arena: the poll of a get (step 1 of the get
 * in {@link Pool}'s header: a free item, else a slab the arena gives now), priming, the slab a
 * reserved grow brings in (which may also serve gets waiting for a put), and slabs going back.
 *
 * <p>Each step reserves under the pool's lock, unlocks, calls the arena, and locks again to
 * add what came ({@link SlabStock}, {@link GrowSupply}); waiters it serves are completed
 * after unlocking ({@link Handoffs}). A reservation is released on every path where the
 * arena gives nothing, so none outlives the call that made it.
 *
 * <p>Thread-safe. Holds no state of its own: everything it changes is guarded by the pool's
 * lock, which it never holds while calling the arena or completing a waiter (lock order:
 * {@code package-info}).
 */
final class ArenaTraffic {
    private static final System.Logger LOG = System.getLogger(Pool.class.getName());

    private final Pool pool;
    private final CountingLock lock;
    private final Arena arena;
    private final Geometry g;
    private final WaitStrategy strategy;
    private final SlabStock stock;
    private final GrowSupply supply;
    private final PutWaiters putWaiters;
    private final PoolCounts counts;

    ArenaTraffic(Pool pool, Arena arena, Geometry g, WaitStrategy strategy, SlabStock stock, GrowSupply supply,
                 PutWaiters putWaiters, PoolCounts counts) {
        this.pool = pool;
        this.lock = pool.lock;
        this.arena = arena;
        this.g = g;
        this.strategy = strategy;
        this.stock = stock;
        this.supply = supply;
        this.putWaiters = putWaiters;
        this.counts = counts;
    }

    /**
     * The poll, under the lock once: a free item, or one from a slab the arena gives now; 0 when
     * neither. {@code countFailure}: the get does not wait, so a miss is counted and a slab
     * whose commit the OS refused is thrown; else (a get that waits next) that refusal reads
     * as no slab (see {@link #allocSlabOrRelease}).
     */
    long getNow(boolean countFailure) {
        lock.lock();
        try {
            pool.checkOpen("get");
            long address = stock.take();
            if (address != 0) {
                return address;
            }
            if (strategy == WaitStrategy.LOW_WATER_PRIME || !supply.mayGrow()) {
                if (countFailure) {
                    counts.failed();
                }
                return 0;
            }
            supply.reserve(null);
        } finally {
            lock.unlock();
        }
        long address = allocSlabOrRelease(null, countFailure, countFailure);
        return address == 0 ? 0 : addSlab(null, address, true);
    }

    /** {@link Pool#prime}: grows without waiting until {@code items} are made or the limit or the arena stops it. */
    long prime(long items) {
        while (true) {
            lock.lock();
            try {
                pool.checkOpen("prime");
                if (supply.made() >= items || !supply.canReserve()) {
                    return supply.made();
                }
                supply.reserve(null);
            } finally {
                lock.unlock();
            }
            long address = allocSlabOrRelease(null, false, true);
            if (address == 0) {
                lock.lock();
                try {
                    return supply.made();
                } finally {
                    lock.unlock();
                }
            }
            addSlab(null, address, false);
        }
    }

    /**
     * Makes a slab of a reserved grow ({@code ticket}, or null for the caller's own reservation,
     * see {@link GrowSupply#reserve}); with {@code takeOne}, takes an item for the caller;
     * serves waiting gets from the rest.
     */
    long addSlab(GrowTicket ticket, long address, boolean takeOne) {
        Handoffs handoffs = null;
        long mine = 0;
        lock.lock();
        try {
            stock.added(ticket, address);
            if (takeOne) {
                mine = stock.take();
            }
            Waiter<Long> receiver;
            while (stock.hasFree() && (receiver = putWaiters.claimOldest()) != null) {
                handoffs = Handoffs.add(handoffs, receiver, stock.take());
            }
            if (ticket != null) {
                counts.waited(ticket.takeWait(System.nanoTime()));
            }
        } finally {
            lock.unlock();
        }
        Handoffs.completeAll(handoffs);
        return mine;
    }

    /**
     * Asks the arena for a slab without waiting: the slab (not yet added), or 0 after releasing
     * the reservation. A commit the OS refused is thrown when {@code throwFailedCommit} (the
     * call does not wait); else it reads as no slab, for a get that waits next: the arena has
     * counted it, paused serving and scheduled a retry, so the get's grow queues there and is
     * tried again ({@link Arena}'s "Failed commits").
     */
    long allocSlabOrRelease(GrowTicket ticket, boolean countFailure, boolean throwFailedCommit) {
        long address = 0;
        try {
            address = arena.tryAlloc(g.slabBytes(), g.slabAlign());
        } catch (NativeMemoryException e) {
            if (throwFailedCommit) {
                throw e;
            } // else it reads as no slab; the arena counted and logged it
        } finally {
            if (address == 0) {
                lock.lock();
                try {
                    supply.release(ticket);
                    if (countFailure) {
                        counts.failed();
                    }
                } finally {
                    lock.unlock();
                }
            }
        }
        return address;
    }

    /** After unlocking: detached slabs (linked by {@code next}) go back to the arena; a failure is counted and logged, never thrown. */
    void returnToArena(Slab leaving) {
        for (Slab slab = leaving, next; slab != null; slab = next) {
            next = slab.next;
            slab.next = null;
            try {
                arena.free(slab.base, g.slabBytes());
            } catch (RuntimeException e) {
                lock.lock();
                try {
                    counts.slabReturnFailed();
                } finally {
                    lock.unlock();
                }
                LOG.log(System.Logger.Level.WARNING, "pool '" + pool.name + "': returning the slab at " + Hex.of(slab.base)
                        + " to the arena failed; the put that freed it was accepted", e);
            }
        }
    }
}

package io.slab4j.pool;

import io.slab4j.arena.Hex;
import io.slab4j.event.Waiter;

/**
 * The slab traffic of a {@link Pool}: items taken from and freed into its slabs
 * ({@link SlabSet}), slabs added by grows and detached to go back to the arena, and the two
 * counts that traffic keeps, with the checks and the close-time refusal that read them
 * together with the supply ({@link GrowSupply}) and the put waiters ({@link PutWaiters}).
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>in use</b>: items out of the slabs (held by users or parked in layers).
 *   <li><b>idle slab</b>: every item free; {@code lowWater} of them survive a reclaim, and a
 *       put that idles one beyond {@code highWater} (or while a grow is pending, for
 *       {@link WaitStrategy#PENDING_GROW_COUNT}) detaches it.
 *   <li><b>leaving</b>: slabs detached under the lock, not yet returned to the arena. They
 *       are out of the buckets, so their {@code next} link is free to chain them here.
 * </ul>
 *
 * <h2>Invariants</h2>
 * {@code inUse} is the items made minus the free ones; {@code idleSlabs} is the number of
 * idle slabs in the buckets; {@code leaving} is empty whenever the pool's lock is free: the
 * lock holder that detached a slab takes it ({@link #takeLeaving}) before unlocking and
 * returns it to the arena afterwards.
 *
 * <h2>Concurrency</h2>
 * Not thread-safe: guarded by the pool's lock, like the {@link SlabSet}, supply, queue and
 * counts it updates; it never calls the arena, a layer or a waiter ({@link #find} alone is
 * lock-free, see {@link SlabDirectory}).
 */
final class SlabStock {
    private final String name;
    private final Geometry g;
    private final Marks marks;
    private final WaitStrategy strategy;
    private final SlabSet slabs;
    private final ItemRecords records;
    private final GrowSupply supply;
    private final PutWaiters putWaiters;
    private final PoolCounts counts;
    private long inUse;
    private int idleSlabs;
    private Slab leaving;

    SlabStock(String name, Geometry g, Marks marks, WaitStrategy strategy, SlabSet slabs, ItemRecords records,
              GrowSupply supply, PutWaiters putWaiters, PoolCounts counts) {
        this.name = name;
        this.g = g;
        this.marks = marks;
        this.strategy = strategy;
        this.slabs = slabs;
        this.records = records;
        this.supply = supply;
        this.putWaiters = putWaiters;
        this.counts = counts;
    }

    /** The slab containing {@code address}, or null; any thread, no lock. */
    Slab find(long address) {
        return slabs.find(address);
    }

    boolean hasFree() {
        return slabs.fullestWithFree() != null;
    }

    /** Takes an item from the fullest slab with one free; 0 when none. */
    long take() {
        Slab slab = slabs.fullestWithFree();
        if (slab == null) {
            return 0;
        }
        int old = slab.freeCount();
        if (old == g.itemsPerSlab()) {
            idleSlabs--;
        }
        int index = slab.take();
        slabs.moved(slab, old);
        inUse++;
        counts.handedOut(inUse);
        return slab.base + index * g.stride();
    }

    /**
     * A put of {@code address} ({@code held}: by a layer, its record OUT or PARKED; else by a
     * user, OUT): moves the record to FREE by CAS, then {@link #released}.
     *
     * @throws IllegalArgumentException not an item of this pool in such a state; nothing changes
     */
    Waiter<Long> accept(long address, boolean held, String call) {
        Slab slab = slabs.find(address);
        int index = records.indexIn(slab, address, call);
        byte was = held ? slab.releaseHeld(index) : slab.release(index);
        if (held ? was == Slab.FREE : was != Slab.OUT) {
            throw records.rejected(call, address, was);
        }
        return released(slab, index);
    }

    /**
     * An accepted put of item {@code index} of {@code slab} (its record already left OUT or
     * PARKED): hands it to the oldest live put waiter, claimed, whom the caller completes after
     * unlocking; else frees it (its slab may join {@link #takeLeaving leaving}) and returns null.
     */
    private Waiter<Long> released(Slab slab, int index) {
        counts.released();
        Waiter<Long> receiver = putWaiters.claimOldest();
        if (receiver != null) {
            slab.handOut(index);
            counts.handedOver();
            return receiver;
        }
        int old = slab.freeCount();
        slab.free(index);
        slabs.moved(slab, old);
        inUse--;
        if (slab.isIdle()) {
            idleSlabs++;
            boolean pendingGrowWantsSpace = strategy == WaitStrategy.PENDING_GROW_COUNT && supply.pending() > 0;
            if (idleSlabs > marks.highWater() || pendingGrowWantsSpace) {
                detach(slab);
            }
        }
        return null;
    }

    /** The slab of a reserved grow arrived ({@code ticket} null: the caller's own reservation): it is made and joins the buckets idle. */
    void added(GrowTicket ticket, long address) {
        supply.consume(ticket, name);
        counts.grew();
        slabs.add(new Slab(address, g.itemsPerSlab()));
        idleSlabs++;
    }

    /** {@link Pool#reclaim()}: detaches idle slabs beyond low water; returns how many. */
    int detachIdleBeyondLowWater() {
        int gone = 0;
        Slab idle;
        while (idleSlabs > marks.lowWater() && (idle = slabs.anyIdle()) != null) {
            detach(idle);
            gone++;
        }
        return gone;
    }

    /**
     * {@link Pool#close()}: why the pool may not close now (items in use, grows pending, gets
     * waiting), or null.
     */
    String refusalToClose(long parked) {
        if (inUse == 0 && supply.isIdle() && putWaiters.size() == 0) {
            return null;
        }
        return "close: pool '" + name + "' has " + inUse + " items in use"
                + (parked > 0 ? " (" + parked + " items parked in caches: close the caches first)" : "")
                + ", " + supply.pending() + " items of pending grows and " + waitingGets()
                + " waiting gets; put every item back first";
    }

    /** {@link Pool#close()}, once it may: every slab leaves (see {@link #takeLeaving}), nothing is made. */
    void detachAll() {
        for (Slab slab : slabs.all()) {
            slabs.remove(slab);
            slab.next = leaving;
            leaving = slab;
        }
        supply.dropAll();
        idleSlabs = 0;
    }

    /** The slabs detached since the last call, linked by {@code next}; the caller returns them after unlocking. */
    Slab takeLeaving() {
        Slab first = leaving;
        leaving = null;
        return first;
    }

    /**
     * Gets waiting now, one each: a NACK get registers a put waiter and a grow (counted once,
     * by its put waiter); other strategies one of the two, so their grows count too, queued
     * for capacity or waiting in the arena.
     */
    int waitingGets() {
        return putWaiters.size() + (strategy == WaitStrategy.NACK ? 0 : supply.liveCount());
    }

    PoolStats stats() {
        return counts.snapshot(name, g, slabs.slabs(), idleSlabs, inUse, supply.pending(), waitingGets());
    }

    /** Checks slabs, records, lookup, counts and queues against each other; throws IllegalStateException on the first broken invariant. */
    void check() {
        long free = slabs.check(name);
        String broken = supply.check("pool '" + name + "'", slabs.slabs());
        if (broken == null && free != supply.made() - inUse) {
            broken = free + " free items but made " + supply.made() + " - in use " + inUse;
        } else if (broken == null && idleSlabs != slabs.idle()) {
            broken = "idle count " + idleSlabs + " but " + slabs.idle() + " idle slabs";
        } else if (broken == null && free > 0 && putWaiters.hasLive()) {
            broken = free + " free items while gets wait for a put";
        } else if (broken == null && leaving != null) {
            broken = "slab " + Hex.of(leaving.base) + " detached but not returned to the arena";
        }
        if (broken != null) {
            throw new IllegalStateException("pool '" + name + "' invariant broken: " + broken);
        }
        putWaiters.check("pool '" + name + "'");
    }

    private void detach(Slab slab) {
        slabs.remove(slab);
        idleSlabs--;
        counts.shrank();
        supply.shrunk();
        slab.next = leaving;
        leaving = slab;
    }
}

package io.slab4j.pool;

import org.agrona.collections.LongHashSet;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The shared layer of a {@link PoolCache} (Bonwick's depot): a stack of full magazines, a
 * stack of empty ones, and the registry of every thread's {@link ThreadCache}.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>{@code full[0, fullCount)} are full, at most {@code limit} of them; that bounds what
 *       the depot parks to {@code limit * magazineSize} items.
 *       {@code empty[0, emptyCount)} are empty, at most {@code limit} of them (extras go to
 *       the garbage collector). No magazine is in two places.
 *   <li>Every registered holder is {@link ThreadCache#ACTIVE}; a holder is retired (CAS)
 *       and unregistered in the same critical section, so the registry holds exactly the
 *       active holders.
 *   <li>Once closed, the depot holds no full magazine and accepts none, and registers no
 *       holder.
 * </ul>
 *
 * <h2>Concurrency</h2>
 * Thread-safe: one {@link ReentrantLock} guards every field. It is never held while calling
 * the pool: magazines to flush and holders to reclaim are handed back to the caller, which
 * returns their items after unlocking. Lock order: depot, then a {@link Ledger} stripe (only
 * in {@link #check}); never the other way round.
 *
 * <h2>Sweeps</h2>
 * A sweep retires and unregisters the holders of exited threads and returns them to the
 * caller to flush. Registration always sweeps (so the registry tracks live threads as
 * threads come and go); a get that misses the depot sweeps once at least as many depot
 * visits as registered holders have passed since the last sweep, so a sweep's cost (one
 * {@code isAlive} a holder) is amortised to O(1) a visit, and an exited thread's magazines
 * come back within that many misses; drain and close always sweep.
 */
final class Depot {
    private final ReentrantLock lock = new ReentrantLock();
    private final String pool;
    private final int magazineSize;
    private final int limit;

    /** Full magazines, most recently given on top. Lock. */
    private final Magazine[] full;
    private int fullCount;
    /** Empty magazines for puts that need one. Lock. */
    private final Magazine[] empty;
    private int emptyCount;
    /** The active holders, in no order. Lock. */
    private final ArrayList<ThreadCache> threads = new ArrayList<>();
    /** Exchanges and misses since the last sweep. Lock. */
    private int visitsSinceSweep;
    private boolean closed;

    // statistics, lock
    private long fullTaken;
    private long fullGiven;
    private long overflows;
    private long made;
    private long reclaimedThreads;
    private long reclaimedItems;
    /** The counters of retired holders, in {@link ThreadCache#addCountsTo} order. */
    private final long[] retiredCounts = new long[ThreadCache.COUNTERS];

    Depot(String pool, int magazineSize, int limit) {
        this.pool = pool;
        this.magazineSize = magazineSize;
        this.limit = limit;
        this.full = new Magazine[limit];
        this.empty = new Magazine[limit];
    }

    // ---------------------------------------------------------------- exchanges

    /** Get step 3: takes {@code emptyIn} and returns a full magazine; null, taking nothing, when there is none. */
    Magazine fullFor(Magazine emptyIn) {
        lock.lock();
        try {
            visitsSinceSweep++;
            if (closed || fullCount == 0) {
                return null;
            }
            Magazine out = full[--fullCount];
            full[fullCount] = null;
            keepEmpty(emptyIn);
            fullTaken++;
            return out;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Put step 3: takes {@code fullIn} and returns an empty magazine (a new one when the
     * depot has none); null, taking nothing, when the depot already holds {@code limit}
     * full magazines (or is closed).
     */
    Magazine emptyFor(Magazine fullIn) {
        lock.lock();
        try {
            visitsSinceSweep++;
            if (closed) {
                return null;
            }
            if (fullCount == limit) {
                overflows++;
                return null;
            }
            full[fullCount++] = fullIn;
            fullGiven++;
            if (emptyCount > 0) {
                Magazine out = empty[--emptyCount];
                empty[emptyCount] = null;
                return out;
            }
            made++;
            return new Magazine(magazineSize);
        } finally {
            lock.unlock();
        }
    }

    /** One full magazine for the caller to flush to the pool (waiters want items); null when none. */
    Magazine takeFull() {
        lock.lock();
        try {
            if (fullCount == 0) {
                return null;
            }
            Magazine out = full[--fullCount];
            full[fullCount] = null;
            return out;
        } finally {
            lock.unlock();
        }
    }

    /** Every full magazine, for the caller to flush to the pool. */
    List<Magazine> takeAllFull() {
        lock.lock();
        try {
            return takeAllFullLocked();
        } finally {
            lock.unlock();
        }
    }

    private List<Magazine> takeAllFullLocked() {
        List<Magazine> out = new ArrayList<>(fullCount);
        while (fullCount > 0) {
            out.add(full[--fullCount]);
            full[fullCount] = null;
        }
        return out;
    }

    /** Takes back a magazine the caller emptied. */
    void recycle(Magazine m) {
        lock.lock();
        try {
            keepEmpty(m);
        } finally {
            lock.unlock();
        }
    }

    private void keepEmpty(Magazine m) {
        if (emptyCount < empty.length && !closed) {
            empty[emptyCount++] = m;
        }
    }

    // ------------------------------------------------------------------ holders

    /**
     * Registers a new holder (its owner is the calling thread) and sweeps; returns the
     * exited threads' holders for the caller to flush (null when none).
     *
     * @throws IllegalStateException the cache is closed; nothing changes
     */
    List<ThreadCache> register(ThreadCache holder) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("cache of pool '" + pool + "' is closed");
            }
            List<ThreadCache> dead = sweepLocked();
            threads.add(holder);
            return dead;
        } finally {
            lock.unlock();
        }
    }

    /** A sweep when a get missed and enough visits passed since the last one; null when not due or none exited. */
    List<ThreadCache> sweepIfDue() {
        lock.lock();
        try {
            return visitsSinceSweep >= threads.size() ? sweepLocked() : null;
        } finally {
            lock.unlock();
        }
    }

    /** A sweep now; null when no registered thread has exited. */
    List<ThreadCache> sweep() {
        lock.lock();
        try {
            return sweepLocked();
        } finally {
            lock.unlock();
        }
    }

    private List<ThreadCache> sweepLocked() {
        visitsSinceSweep = 0;
        List<ThreadCache> dead = null;
        for (int i = threads.size() - 1; i >= 0; i--) {
            ThreadCache holder = threads.get(i);
            if (holder.ownerExited()) {
                retireLocked(holder, i);
                reclaimedThreads++;
                if (dead == null) {
                    dead = new ArrayList<>();
                }
                dead.add(holder);
            }
        }
        return dead;
    }

    /**
     * Retires {@code holder} (the caller is its owner, or knows the owner exited); true when
     * this call did it and the caller must now flush its magazines. {@code exited} counts it
     * as a reclaimed thread.
     */
    boolean retire(ThreadCache holder, boolean exited) {
        lock.lock();
        try {
            int i = threads.indexOf(holder);
            if (i < 0) {
                return false;
            }
            retireLocked(holder, i);
            if (exited) {
                reclaimedThreads++;
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    private void retireLocked(ThreadCache holder, int index) {
        if (!holder.retire()) {
            throw new IllegalStateException("cache of pool '" + pool + "' invariant broken: registered holder of thread '"
                    + holder.ownerName + "' was already retired");
        }
        int last = threads.size() - 1;
        threads.set(index, threads.get(last));
        threads.remove(last);
        holder.addCountsTo(retiredCounts);
    }

    /** Counts items the caller returned to the pool from exited threads' magazines. */
    void reclaimed(long items) {
        lock.lock();
        try {
            reclaimedItems += items;
        } finally {
            lock.unlock();
        }
    }

    /** What {@link #close} hands back: full magazines and exited threads' holders to flush, live holders to watch. */
    record Closing(List<Magazine> full, List<ThreadCache> exited, List<ThreadCache> live) {
    }

    /** Closes the depot: it parks nothing more and registers no one. Null when it was closed already. */
    Closing close() {
        lock.lock();
        try {
            if (closed) {
                return null;
            }
            List<Magazine> fulls = takeAllFullLocked();
            List<ThreadCache> exited = sweepLocked();
            closed = true;
            emptyCount = 0;
            java.util.Arrays.fill(empty, null);
            return new Closing(fulls, exited == null ? List.of() : exited, new ArrayList<>(threads));
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------- queries

    PoolCacheStats stats() {
        lock.lock();
        try {
            long[] sums = retiredCounts.clone();
            for (ThreadCache holder : threads) {
                holder.addCountsTo(sums);
            }
            return new PoolCacheStats(pool, magazineSize, limit, sums[0], fullTaken, sums[1], sums[2], fullGiven, overflows,
                    sums[3], sums[4], threads.size(), reclaimedThreads, reclaimedItems, fullCount, emptyCount, made);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Checks the depot, the calling thread's magazines and exited threads' magazines; other
     * live threads' magazines are theirs to change and are not read. With a ledger, every
     * parked address seen must be recorded as parked and seen once; when every holder could
     * be read, the ledger must record no other parked item. Exact only while no other thread
     * uses the cache.
     */
    void check(ThreadCache caller, Ledger ledger) {
        lock.lock();
        try {
            Set<Magazine> seen = Collections.newSetFromMap(new IdentityHashMap<>());
            LongHashSet rounds = new LongHashSet();
            if (fullCount < 0 || fullCount > limit || emptyCount < 0 || emptyCount > limit) {
                throw broken(fullCount + " full and " + emptyCount + " empty magazines, limit " + limit);
            }
            if (closed && fullCount > 0) {
                throw broken("closed with " + fullCount + " full magazines");
            }
            for (int i = 0; i < fullCount; i++) {
                checkMagazine(full[i], "a full magazine in the depot", seen, rounds, ledger);
                if (!full[i].isFull()) {
                    throw broken("a magazine on the full stack holds " + full[i].count + " of " + magazineSize);
                }
            }
            for (int i = 0; i < emptyCount; i++) {
                checkMagazine(empty[i], "an empty magazine in the depot", seen, rounds, ledger);
                if (!empty[i].isEmpty()) {
                    throw broken("a magazine on the empty stack holds " + empty[i].count);
                }
            }
            boolean everyHolderRead = true;
            for (ThreadCache holder : threads) {
                if (!holder.isActive()) {
                    throw broken("registered holder of thread '" + holder.ownerName + "' is retired");
                }
                if (holder != caller && !holder.ownerExited()) {
                    everyHolderRead = false;
                    continue;
                }
                String whose = "thread '" + holder.ownerName + "'";
                if (holder.loaded == holder.previous) {
                    throw broken(whose + " has one magazine as both loaded and previous");
                }
                checkMagazine(holder.loaded, whose + "'s loaded magazine", seen, rounds, ledger);
                checkMagazine(holder.previous, whose + "'s previous magazine", seen, rounds, ledger);
                if (!holder.previous.isEmpty() && !holder.previous.isFull()) {
                    throw broken(whose + "'s previous magazine holds " + holder.previous.count + " of " + magazineSize
                            + "; it must be full or empty");
                }
            }
            if (ledger != null && everyHolderRead) {
                long parked = ledger.parked();
                if (parked != rounds.size()) {
                    throw broken("the put checks record " + parked + " parked items but the magazines hold " + rounds.size());
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private void checkMagazine(Magazine m, String where, Set<Magazine> seen, LongHashSet rounds, Ledger ledger) {
        if (m == null || m.capacity() != magazineSize || m.count < 0 || m.count > magazineSize) {
            throw broken(where + " is missing or malformed");
        }
        if (!seen.add(m)) {
            throw broken(where + " is also somewhere else");
        }
        for (int i = 0; i < m.count; i++) {
            long address = m.rounds[i];
            if (address == 0 || !rounds.add(address)) {
                throw broken(where + " holds " + Pool.hex(address) + (address == 0 ? "" : ", which is parked twice"));
            }
            if (ledger != null && !ledger.isParked(address)) {
                throw broken(where + " holds " + Pool.hex(address) + ", which the put checks do not record as parked");
            }
        }
    }

    private IllegalStateException broken(String what) {
        return new IllegalStateException("cache of pool '" + pool + "' invariant broken: " + what);
    }
}

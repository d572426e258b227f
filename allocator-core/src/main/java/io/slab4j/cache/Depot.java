package io.slab4j.cache;

import io.slab4j.arena.Hex;
import io.slab4j.pool.Pool;
import org.agrona.collections.LongArrayList;
import org.agrona.collections.LongHashSet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The shared layer of a {@link PoolCache} (Bonwick's depot): a stack of full magazines, a
 * stack of empty ones, and the registry of every thread's {@link ThreadMagazines}.
 *
 * <h2>Invariants</h2>
 * <ul>
 *   <li>{@code full[0, fullCount)} are full, at most {@code limit} of them; that bounds what
 *       the depot parks to {@code limit * magazineSize} items. {@code empty[0, emptyCount)}
 *       are empty, at most {@code limit} of them (extras go to the garbage collector). No
 *       magazine is in two places.
 *   <li>Every registered holder is not retired; a holder is retired and unregistered in the
 *       same critical section.
 *   <li>Once closed, the depot holds no full magazine and accepts none, and registers no one.
 * </ul>
 *
 * <h2>Concurrency</h2>
 * Thread-safe: one {@link ReentrantLock} guards every field. It is never held while calling
 * the pool: magazines and rounds to return are handed back to the caller, which returns
 * them after unlocking. Under it, only non-blocking CASes on holders' leases happen.
 *
 * <h2>Sweeps</h2>
 * Registration sweeps the registry: holders of exited threads (necessarily outside a call)
 * are retired and their rounds handed back, so the registry follows the live threads. This
 * is housekeeping; reaching parked items never depends on it (see {@link ThreadMagazines}).
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
    /** The registered holders, in no order. Lock. */
    private final ArrayList<ThreadMagazines> threads = new ArrayList<>();
    private boolean closed;

    // statistics, lock
    private long fullTaken;
    private long fullGiven;
    private long overflows;
    private long made;
    private long exitedThreads;
    private long reclaims;
    private long reclaimedItems;
    /** The counters of holders that left the registry. */
    private ThreadMagazines.Counts retiredCounts = ThreadMagazines.Counts.ZERO;

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
     * Put step 5: takes {@code fullIn} and returns an empty magazine (a new one when the
     * depot has none); null, taking nothing, when the depot already holds {@code limit}
     * full magazines (or is closed).
     */
    Magazine emptyFor(Magazine fullIn) {
        lock.lock();
        try {
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

    /** Every full magazine, for the caller to return to the pool and then {@link #recycle}. */
    List<Magazine> takeAllFull() {
        lock.lock();
        try {
            return takeAllFullLocked();
        } finally {
            lock.unlock();
        }
    }

    private List<Magazine> takeAllFullLocked() {
        if (fullCount == 0) {
            return List.of();
        }
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
        if (!closed && emptyCount < limit) {
            empty[emptyCount++] = m;
        }
    }

    // ----------------------------------------------------------------- registry

    /**
     * Registers a new holder after sweeping out exited threads' holders; returns their
     * rounds for the caller to return to the pool.
     *
     * @throws IllegalStateException the depot is closed
     */
    List<long[]> register(ThreadMagazines holder) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("cache of pool '" + pool + "' is closed");
            }
            List<long[]> rounds = sweepLocked();
            threads.add(holder);
            return rounds;
        } finally {
            lock.unlock();
        }
    }

    /** The registered holders now, for a reclaimer to visit without the lock. */
    ThreadMagazines[] holders() {
        lock.lock();
        try {
            return threads.toArray(new ThreadMagazines[0]);
        } finally {
            lock.unlock();
        }
    }

    /** A sweep now: the rounds of exited threads' holders, which it retired. */
    List<long[]> sweep() {
        lock.lock();
        try {
            return sweepLocked();
        } finally {
            lock.unlock();
        }
    }

    private List<long[]> sweepLocked() {
        List<long[]> rounds = List.of();
        for (int i = threads.size() - 1; i >= 0; i--) {
            ThreadMagazines holder = threads.get(i);
            if (holder.ownerExited()) {
                long[] parked = holder.retireIfOutside();
                if (parked != null) {
                    unregisterLocked(i);
                    exitedThreads++;
                    if (parked.length > 0) {
                        if (rounds.isEmpty()) {
                            rounds = new ArrayList<>();
                        }
                        rounds.add(parked);
                    }
                }
            }
        }
        return rounds;
    }

    private void unregisterLocked(int index) {
        ThreadMagazines holder = threads.get(index);
        int last = threads.size() - 1;
        threads.set(index, threads.get(last));
        threads.remove(last);
        retiredCounts = retiredCounts.plus(holder.counts());
    }

    /** Counts one reclaim pass's result. */
    void reclaimed(long items) {
        lock.lock();
        try {
            reclaims++;
            reclaimedItems += items;
        } finally {
            lock.unlock();
        }
    }

    /** What {@link #close} hands back: full magazines to return and every registered holder to retire. */
    record Closing(List<Magazine> full, List<ThreadMagazines> holders) {
    }

    /** Closes the depot: it parks nothing more and registers no one. Null when it was closed already. */
    Closing close() {
        lock.lock();
        try {
            if (closed) {
                return null;
            }
            List<Magazine> fulls = takeAllFullLocked();
            closed = true;
            emptyCount = 0;
            Arrays.fill(empty, null);
            return new Closing(fulls, new ArrayList<>(threads));
        } finally {
            lock.unlock();
        }
    }

    /** After close: the holder was retired by the closer; unregisters it. */
    void unregister(ThreadMagazines holder) {
        lock.lock();
        try {
            int i = threads.indexOf(holder);
            if (i >= 0) {
                unregisterLocked(i);
            }
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------- queries

    /** Racy estimate of everything parked: depot and every registered holder. */
    long parkedEstimate() {
        lock.lock();
        try {
            long parked = (long) fullCount * magazineSize;
            for (ThreadMagazines holder : threads) {
                parked += holder.parkedEstimate();
            }
            return parked;
        } finally {
            lock.unlock();
        }
    }

    PoolCacheStats stats() {
        lock.lock();
        try {
            ThreadMagazines.Counts sum = retiredCounts;
            for (ThreadMagazines holder : threads) {
                sum = sum.plus(holder.counts());
            }
            return new PoolCacheStats(pool, magazineSize, limit, sum.hits(), fullTaken, sum.misses(), sum.puts(), fullGiven,
                    overflows, sum.waiterPuts(), sum.bypasses(), threads.size(), exitedThreads, reclaims, reclaimedItems,
                    fullCount, emptyCount, made);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Checks the depot and the magazines of every thread that is outside a cache call (each
     * held still through its lease while it is read, its hot item lifted out of the slot for
     * the check and put back after): shapes, no magazine in two places, no address parked
     * twice, the hot item included. A thread inside a call is skipped. A lifted hot item that
     * cannot go back (the owner refilled the slot and its magazines are full) is added to
     * {@code spill}, for the caller to return to the pool after this lock.
     */
    void check(LongArrayList spill) {
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
                checkMagazine(full[i], "a full magazine in the depot", seen, rounds);
                if (!full[i].isFull()) {
                    throw broken("a magazine on the full stack holds " + full[i].count() + " of " + magazineSize);
                }
            }
            for (int i = 0; i < emptyCount; i++) {
                checkMagazine(empty[i], "an empty magazine in the depot", seen, rounds);
                if (!empty[i].isEmpty()) {
                    throw broken("a magazine on the empty stack holds " + empty[i].count());
                }
            }
            // hold every readable holder still at once, so no item moves between two of them mid-check
            // and lift their hot items, which move without the lease: each item read is then held still
            List<ThreadMagazines> held = new ArrayList<>();
            long[] hot = new long[threads.size()];
            try {
                for (ThreadMagazines holder : threads) {
                    if (holder.lease() == ThreadMagazines.RETIRED) {
                        throw broken("registered holder of thread '" + holder.ownerName + "' is retired");
                    }
                    if (holder.holdForCheck()) { // else its owner is inside a call: not ours to read now
                        hot[held.size()] = holder.pollHot();
                        held.add(holder);
                    }
                }
                for (int i = 0; i < held.size(); i++) {
                    checkHolder(held.get(i), hot[i], seen, rounds);
                }
            } finally {
                for (int i = 0; i < held.size(); i++) {
                    ThreadMagazines holder = held.get(i);
                    long x = hot[i];
                    // back where it was; when the owner refilled the slot meanwhile, into its magazines
                    // (held still), else out to the pool by the caller, after this lock
                    if (x != 0 && !holder.restoreHot(x) && !holder.give(x)) {
                        spill.addLong(x);
                    }
                    holder.endCheck();
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private void checkHolder(ThreadMagazines holder, long hot, Set<Magazine> seen, LongHashSet rounds) {
        String whose = "thread '" + holder.ownerName + "'";
        if (hot != 0 && !rounds.add(hot)) {
            throw broken(whose + "'s hot slot holds " + Hex.of(hot) + ", which is parked twice");
        }
        if (holder.loaded() == holder.previous()) {
            throw broken(whose + " has one magazine as both loaded and previous");
        }
        checkMagazine(holder.loaded(), whose + "'s loaded magazine", seen, rounds);
        checkMagazine(holder.previous(), whose + "'s previous magazine", seen, rounds);
        if (!holder.previous().isEmpty() && !holder.previous().isFull()) {
            throw broken(whose + "'s previous magazine holds " + holder.previous().count() + " of " + magazineSize
                    + "; it must be full or empty");
        }
    }

    private void checkMagazine(Magazine m, String where, Set<Magazine> seen, LongHashSet rounds) {
        if (m == null || m.capacity() != magazineSize || m.count() < 0 || m.count() > magazineSize) {
            throw broken(where + " is missing or malformed");
        }
        if (!seen.add(m)) {
            throw broken(where + " is also somewhere else");
        }
        for (int i = 0; i < m.count(); i++) {
            long address = m.round(i);
            if (address == 0 || !rounds.add(address)) {
                throw broken(where + " holds " + Hex.of(address) + (address == 0 ? "" : ", which is parked twice"));
            }
        }
    }

    private IllegalStateException broken(String what) {
        return new IllegalStateException("cache of pool '" + pool + "' invariant broken: " + what);
    }
}

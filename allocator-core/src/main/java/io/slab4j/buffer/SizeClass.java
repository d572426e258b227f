package io.slab4j.buffer;

import io.slab4j.arena.Arena;
import io.slab4j.event.Event;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.pool.Pool;
import io.slab4j.cache.PoolCache;
import io.slab4j.pool.PoolStats;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * One size class of a {@link BufferPool}: a {@link Pool} of {@code size}-byte items over the
 * pool's arena, with a {@link PoolCache} in front of it when magazines are on. The only class
 * of {@code io.slab4j.buffer} that names {@code io.slab4j.pool} or {@code io.slab4j.cache}
 * types.
 *
 * <h2>The cache runs without its put checks</h2>
 * The class's cache is built with {@code PoolCache.Builder.checks(false)}: its items are not
 * recorded PARKED while in a magazine, and a hit does not record them OUT again; they stay OUT
 * in the pool's ownership record from the pool's get until they are returned to it. This
 * gives up nothing the handle does not already give, because every address reaching the
 * cache or the pool from here comes from one {@link PooledBuffer} of this class, whose
 * {@code close()} wins its one CAS once, and no one else can reach either: the pool and the
 * cache are private to this object, so a user who knows an address has no call that returns
 * it. The paths that return memory, and why each is still one return through the pool's
 * validating calls:
 * <ul>
 *   <li>close on the acquiring thread: into its {@link ClassTally}'s hot slot when that is
 *       empty, else {@code Local.putExclusive} into that thread's magazines (no record write);
 *       close on another thread: {@code cache.putExclusive} into the closing thread's. All:
 *       the item is OUT, parked once. A hot item leaves its slot by one CAS (its thread's next
 *       acquire, or a reclaimer below, which gives it to {@code Pool.put}).
 *   <li>close while an acquire waits, or while a reclaimer holds the magazines this instant
 *       (the bypass): {@code Pool.put}, which validates OUT → FREE as for any put.
 *   <li>the leak detector's return ({@link #giveBackFromCleaner}): {@code Pool.put} straight
 *       away; the cleaner runs only for a handle that was never closed, and disarming it is
 *       part of the close that won the CAS (the handle stays reachable until then), so it is
 *       the single return.
 *   <li>trim, the decay pass and {@code makeRoom} take every tally's hot item (and the fold
 *       of an exited thread's tally takes its one; the class's close seals every slot) and
 *       give it to {@code Pool.put}, which validates OUT → FREE.
 *   <li>drain, trim, the decay pass, {@code makeRoom}, a blocked get's reclaim, and the
 *       cache's close: the parked items go to {@code Pool.putAll} / {@code Pool.putHeld},
 *       which accept an item that is OUT (a layer holding it with checks off) and reject a
 *       free one.
 *   <li>the pool's close: the cache's close returns every parked item first (waiting for a
 *       thread inside a call), then the pool refuses to close if any item is still OUT.
 * </ul>
 * What is given up is only the cache's own judgement of a put at the moment of the put (a
 * second put of one item would be parked twice and found later, by {@code checkInvariants} or
 * by the pool when the magazines go back); the handle's CAS is what makes that second put
 * impossible, and {@code BufferSafetyTest} races closes with magazines on to show it. What
 * the checks cost here: at two threads both threads' items share a slab's record cache line,
 * so each park and unpark moved that line between cores.
 *
 * <h2>Slabs</h2>
 * A slab holds at least {@value #MIN_ITEMS_PER_SLAB} items and is at least
 * {@value #MIN_SLAB_BYTES} bytes, rounded up to pages: one grow amortises its
 * {@code mprotect} over many acquires, and the tail of a slab that no item fits stays
 * below one item. The pool keeps one idle slab (high water 1) so that churn around a slab
 * boundary does not commit and decommit on every call; {@link #trim()} gives back every
 * idle slab (low water 0).
 *
 * <h2>Invariant and concurrency</h2>
 * Buffers of this class in use = {@code folded} + the sum of the live threads'
 * {@link ClassTally} counts − {@code elsewhere} (closes by a thread other than the acquiring
 * one, and leak-detector returns); exact when no acquire or close is in flight. The fast path
 * (a thread that closes what it acquired) writes only its own tally, with plain release
 * stores: no atomic instruction and no shared cache line. {@code tallies} and {@code folded}
 * are guarded by {@code tallyLock}, taken when a thread first uses the class and by
 * {@link #buffersInUse()}, which folds the tallies of terminated threads (so thread churn does
 * not grow the list). Thread-safe: the pool and the cache are.
 */
final class SizeClass {
    static final int MIN_ITEMS_PER_SLAB = 8;
    static final int MIN_SLAB_BYTES = 16 * 1024;

    final BufferPool owner;
    final int size;
    private final Pool pool;
    /** Null when magazines are off. */
    private final PoolCache cache;
    private final LongAdder elsewhere = new LongAdder();
    /** Acquires of this class that returned no buffer (see {@link SizeClassStats#failures()}). */
    private final LongAdder misses = new LongAdder();
    private final Object tallyLock = new Object();
    /** Guarded by tallyLock: the tallies of threads not yet seen terminated. */
    private final List<ClassTally> tallies = new ArrayList<>();
    /** Guarded by tallyLock: the open count of the tallies folded (their threads terminated). */
    private long folded;
    /** Guarded by tallyLock: set by {@link #close()}; a tally registered afterwards is sealed at once. */
    private boolean sealed;

    SizeClass(BufferPool owner, String name, int size, Arena arena, boolean magazines) {
        this.owner = owner;
        this.size = size;
        int pages = (int) (SizeClasses.slabBytes(size) / VirtualRegion.pageSize());
        this.pool = Pool.builder(name + "/" + size, size).slabPages(pages).lowWater(0).highWater(1).build(arena);
        this.cache = magazines ? PoolCache.builder(pool).checks(false).build() : null;
    }

    /** True when the class's cache runs its put checks (never, see the class comment); false without magazines. For tests. */
    boolean cacheChecks() {
        return cache != null && cache.checksEnabled();
    }

    /** An item now for {@code t}'s thread (its magazines, the depot, the pool, or a grow the arena can give now), or 0. */
    long tryTake(ClassTally t) {
        PoolCache.Local local = t.local;
        return local != null ? local.tryGet() : pool.tryGet();
    }

    /** The calling thread's handle on this class's magazines, or null when magazines are off. */
    PoolCache.Local local() {
        return cache != null ? cache.local() : null;
    }

    /**
     * Whether {@code address} is the start of an item of this class that is out (see
     * {@code Pool.isOut(long, Object)}); no lock. {@code t} keeps the slab of the last address it checked,
     * so a run of addresses from one slab reads no directory.
     */
    boolean isOut(long address, ClassTally t) {
        Object hint = pool.isOut(address, t.slabHint);
        if (hint == null) {
            return false;
        }
        if (hint != t.slabHint) {
            t.slabHint = hint; // only on a change: a steady run writes nothing to the tally's line
        }
        return true;
    }

    /** The wait: a put to this class's pool or arena space for a grow, whichever first (the pool's nack choice). */
    Event<Long> takeEvent() {
        return pool.getEvent();
    }

    /** A thread's first use of the class; also folds the tallies of terminated threads. */
    void register(ClassTally t) {
        synchronized (tallyLock) {
            foldTerminated();
            if (sealed) {
                t.sealHot(); // empty: made just now
            }
            tallies.add(t);
        }
    }

    /**
     * A close by {@code t}'s thread parked its item in {@code t}'s hot slot and then saw a
     * waiting acquire: the item (if no reclaimer took it meanwhile) goes back as any close's
     * would, to the waiter, and the class makes room as a close with waiters does.
     */
    void unparkForWaiters(ClassTally t) {
        long address = t.takeHot();
        if (address != 0) {
            giveBack(address, null, true); // never throws: it swallows a refusal of a pool closed meanwhile
        } // else a reclaimer took it first, and gave it to the pool (hence to the waiter) and made room itself
    }

    /** Guarded by tallyLock: returns every tally's hot item to the pool (their threads may be inside an acquire or a close: the CAS decides). */
    private void returnHotItems() {
        for (ClassTally t : tallies) {
            long address = t.takeHot();
            if (address != 0) {
                returnToPool(address);
            }
        }
    }

    /** An item taken out of a hot slot: to the pool, which hands it to the oldest waiter if any. */
    private void returnToPool(long address) {
        try {
            pool.put(address);
        } catch (IllegalStateException e) {
            refusedUnlessClosed(e);
        }
    }

    /** A return refused with {@code e}: rethrown while the buffer pool is open (cannot happen: its pools close only with it), else the memory went with the region. */
    private void refusedUnlessClosed(IllegalStateException e) {
        if (!owner.isClosed()) {
            throw e;
        }
    }

    /** An acquire of this class returned no buffer (a tryAcquire miss, a timeout). */
    void missed() {
        misses.increment();
    }

    /** A buffer acquired by one thread was closed by another one, or returned by the leak detector. */
    void releasedElsewhere() {
        elsewhere.increment();
    }

    /** Guarded by tallyLock. */
    private void foldTerminated() {
        for (int i = tallies.size() - 1; i >= 0; i--) {
            ClassTally t = tallies.get(i);
            if (!t.thread.isAlive()) {
                long parked = t.takeHot(); // the thread will not take it back
                if (parked != 0) {
                    returnToPool(parked);
                }
                folded += t.open(); // final: the thread has terminated (see ClassTally)
                int last = tallies.size() - 1;
                tallies.set(i, tallies.get(last));
                tallies.remove(last);
            }
        }
    }

    /**
     * Returns an item of this class (the handle's single return, see the class comment):
     * through {@code local}, the calling thread's own handle on the magazines, when given;
     * else through the cache's lookup of the calling thread's magazines.
     */
    void giveBack(long address, PoolCache.Local local) {
        giveBack(address, local, false);
    }

    /** The leak detector's return: straight to the pool, never into the cleaner thread's magazines. */
    void giveBackFromCleaner(long address) {
        giveBack(address, null, true);
    }

    private void giveBack(long address, PoolCache.Local local, boolean toPool) {
        if (owner.isClosed()) {
            return; // the memory went with the region (and a pool that refused to close must not free into it)
        }
        try {
            if (local != null) {
                local.putExclusive(address); // the handle's CAS makes this the item's only return
            } else if (cache != null && !toPool) {
                cache.putExclusive(address);
            } else {
                pool.put(address);
            }
            if (owner.waiters() > 0) {
                trim(); // someone waits, maybe for another class: park nothing here, give idle slabs to the arena
            }
        } catch (IllegalStateException e) {
            refusedUnlessClosed(e);
        }
    }

    /** Returns the threads' hot items, the items parked by threads outside a cache call (this one, idle and exited ones) and the depot's to the pool, then idle slabs to the arena. */
    void trim() {
        synchronized (tallyLock) {
            returnHotItems();
        }
        if (cache != null) {
            cache.drain();
        }
        pool.reclaim();
    }

    long buffersInUse() {
        long away = elsewhere.sum(); // first: a close counted here was counted taken before
        synchronized (tallyLock) {
            foldTerminated();
            long n = folded;
            for (ClassTally t : tallies) {
                n += t.open();
            }
            return n - away;
        }
    }

    int tallies() {
        synchronized (tallyLock) {
            return tallies.size();
        }
    }

    int waiters() {
        return pool.waiters();
    }

    SizeClassStats stats() {
        long inUse = buffersInUse(); // first: its fold of exited threads' tallies returns their hot items to the pool
        PoolStats p = pool.stats();
        boolean unmapped = owner.isClosed(); // a pool that refused to close (buffers open) still lists slabs that are gone
        return new SizeClassStats(size, inUse, unmapped ? 0 : p.slabs(), unmapped ? 0 : p.idleSlabs(), pool.slabBytes(),
                p.requests(), misses.sum(), p.waits(), p.waiters());
    }

    void checkInvariants() {
        pool.checkInvariants();
        if (cache != null) {
            cache.checkInvariants();
        }
        synchronized (tallyLock) {
            long twice = parkedTwice();
            if (twice != 0 && parkedTwice() == twice) { // read again: an item may move from one slot to another between reads
                throw new IllegalStateException(this + ": " + io.slab4j.arena.Hex.of(twice) + " is in two threads' hot slots");
            }
        }
    }

    /** Guarded by tallyLock: an item found in two tallies' hot slots, or 0; throws on a slot that holds no item address. */
    private long parkedTwice() {
        java.util.Set<Long> seen = new java.util.HashSet<>();
        long twice = 0;
        for (ClassTally t : tallies) {
            long x = t.peekHot(); // racy for a live thread's slot
            if (x == ClassTally.SEALED) {
                if (!sealed && cache != null) {
                    throw new IllegalStateException(this + ": " + t + " has a sealed hot slot while the class is open");
                }
            } else if ((x & 15) != 0) {
                throw new IllegalStateException(this + ": " + t + "'s hot slot holds " + io.slab4j.arena.Hex.of(x)
                        + ", which is not an item address");
            } else if (x != 0 && !seen.add(x)) {
                twice = x;
            }
        }
        return twice;
    }

    /** Closes the cache and the pool; false when the pool refused (buffers of this class still open). */
    boolean close() {
        synchronized (tallyLock) {
            sealed = true;
            for (ClassTally t : tallies) {
                long address = t.sealHot(); // a close racing this one either parked before the seal (taken here) or fails its CAS
                if (address != 0) {
                    returnToPool(address);
                }
            }
        }
        if (cache != null) {
            cache.close();
        }
        try {
            pool.close();
            return true;
        } catch (IllegalStateException stillInUse) {
            return false;
        }
    }

    @Override
    public String toString() {
        return "size class " + size;
    }
}

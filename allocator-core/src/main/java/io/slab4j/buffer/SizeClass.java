package io.slab4j.buffer;

import io.slab4j.arena.Arena;
import io.slab4j.event.Event;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.pool.Pool;
import io.slab4j.cache.PoolCache;
import io.slab4j.pool.PoolStats;

import java.util.concurrent.atomic.LongAdder;

/**
 * One size class of a {@link BufferPool}: a {@link Pool} of {@code size}-byte items over the
 * pool's arena, with a {@link PoolCache} in front of it when magazines are on. The only class
 * of {@code io.slab4j.buffer} that names {@code io.slab4j.pool} or {@code io.slab4j.cache}
 * types. A close goes through {@link PoolCache#putExclusive}: the handle's CAS already
 * guarantees one return per acquire, so the cache skips the checking CAS on the item's
 * ownership record (a stray put of the item from elsewhere is still rejected).
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
 * {@code inUse} counts buffers of this class handed out and not yet released (a
 * {@link LongAdder}: acquires and closes of many threads do not contend on one word; its
 * sum is exact when no acquire or close is in flight). Thread-safe: the pool and the cache
 * are; this class adds no state of its own besides {@code inUse}.
 */
final class SizeClass extends Supply {
    static final int MIN_ITEMS_PER_SLAB = 8;
    static final int MIN_SLAB_BYTES = 16 * 1024;

    final int size;
    private final Pool pool;
    /** Null when magazines are off. */
    private final PoolCache cache;
    private final LongAdder inUse = new LongAdder();

    SizeClass(BufferPool owner, String name, int size, Arena arena, boolean magazines) {
        super(owner);
        this.size = size;
        int pages = (int) (SizeClasses.slabBytes(size) / VirtualRegion.pageSize());
        this.pool = Pool.builder(name + "/" + size, size).slabPages(pages).lowWater(0).highWater(1).build(arena);
        this.cache = magazines ? PoolCache.builder(pool).build() : null;
    }

    /** An item now (magazines, depot, pool, or a grow the arena can give now), or 0. */
    long tryTake() {
        return cache != null ? cache.tryGet() : pool.tryGet();
    }

    /** The wait: a put to this class's pool or arena space for a grow, whichever first (the pool's nack choice). */
    Event<Long> takeEvent() {
        return pool.getEvent();
    }

    void taken() {
        inUse.increment();
    }

    @Override
    void release(long address, int capacity, boolean fromCleaner) {
        inUse.decrement();
        if (owner.isClosed()) {
            return; // the memory went with the region
        }
        try {
            if (cache != null && !fromCleaner) {
                cache.putExclusive(address); // the handle's CAS makes this the item's only return
                if (owner.waiters() > 0) {
                    cache.drain(); // someone waits, maybe for another class: park nothing here
                }
            } else {
                pool.put(address);
            }
            if (owner.waiters() > 0) {
                pool.reclaim(); // and give idle slabs to the arena, where another class may grow
            }
        } catch (IllegalStateException e) {
            if (!owner.isClosed()) {
                throw e; // cannot happen while the pool is open: pools close only with it
            }
        }
    }

    /** Returns items parked by threads outside a cache call (this one, idle and exited ones) and the depot's to the pool, then idle slabs to the arena. */
    void trim() {
        if (cache != null) {
            cache.drain();
        }
        pool.reclaim();
    }

    long buffersInUse() {
        return inUse.sum();
    }

    int waiters() {
        return pool.waiters();
    }

    SizeClassStats stats() {
        PoolStats p = pool.stats();
        return new SizeClassStats(size, inUse.sum(), p.slabs(), p.idleSlabs(), pool.slabBytes(), p.requests(), p.failures(),
                p.waits(), p.waiters());
    }

    void checkInvariants() {
        pool.checkInvariants();
        if (cache != null) {
            cache.checkInvariants();
        }
    }

    /** Closes the cache and the pool; false when the pool refused (buffers of this class still open). */
    boolean close() {
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

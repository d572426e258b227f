package io.slab4j.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;

/**
 * One thread's magazines in one {@link PoolCache} (Bonwick's per-CPU cache, per thread
 * here): a {@code loaded} magazine that gets pop from and puts push to, and a
 * {@code previous} one that is always either full or empty, so that a thread alternating
 * around a magazine boundary swaps instead of going to the depot.
 *
 * <h2>Ownership and hand-off</h2>
 * While its owner thread is alive and the holder is {@link #ACTIVE}, {@code loaded},
 * {@code previous} and the counters are written by the owner alone, with no lock and no
 * atomic instruction: that is the fast path. Another thread takes the magazines over only
 * through {@link #retire()}, a CAS {@code ACTIVE -> RETIRED}, done under the depot lock
 * (see {@link Depot#retire} and {@link Depot#sweep}), and only when
 * <ul>
 *   <li>the owner has terminated: the reclaimer saw {@code !thread.isAlive()}, which
 *       synchronizes-with the thread's last action (JLS 17.4.4), so every write the owner
 *       made to its magazines is visible; or the {@code WeakReference} to the thread was
 *       cleared, which implies the thread terminated (a live thread is a GC root);
 *   <li>or the retiring thread is the owner itself (after the cache was closed).
 * </ul>
 * The CAS makes reclaim happen at most once, whoever gets there first (a sweep, the owner,
 * a {@link java.lang.ref.Cleaner} action). A retired holder is never written again.
 *
 * <h2>Counters</h2>
 * Written by the owner with {@code setOpaque} (a plain store on x86 and ARM, but never torn
 * and never hoisted out of a loop) and read by {@link PoolCache#stats()} with
 * {@code getOpaque}: per-counter exact, not a consistent snapshot across counters.
 */
final class ThreadCache {
    static final int ACTIVE = 0;
    static final int RETIRED = 1;

    /** The owner, weakly: a registered holder must not keep an exited thread's object alive. */
    final WeakReference<Thread> owner;
    /** The owner's name, for messages after the thread object is gone. */
    final String ownerName;
    /** Gets pop here, puts push here. Owner-only while ACTIVE. */
    Magazine loaded;
    /** Full or empty, never partly loaded. Owner-only while ACTIVE. */
    Magazine previous;

    /** Gets served from {@code loaded}/{@code previous}. Owner writes opaque. */
    private long hits;
    /** Gets that went to the pool. Owner writes opaque. */
    private long misses;
    /** Puts kept in this thread's magazines. Owner writes opaque. */
    private long puts;
    /** Puts of addresses this cache did not hand out, sent to the pool to validate. Owner writes opaque. */
    private long poolPuts;
    /** Puts sent straight to the pool because a get was waiting there. Owner writes opaque. */
    private long waiterPuts;

    /** {@link #ACTIVE} or {@link #RETIRED}; CAS only, under the depot lock. */
    private volatile int state;

    private static final VarHandle STATE;
    private static final VarHandle HITS;
    private static final VarHandle MISSES;
    private static final VarHandle PUTS;
    private static final VarHandle POOL_PUTS;
    private static final VarHandle WAITER_PUTS;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            STATE = lookup.findVarHandle(ThreadCache.class, "state", int.class);
            HITS = lookup.findVarHandle(ThreadCache.class, "hits", long.class);
            MISSES = lookup.findVarHandle(ThreadCache.class, "misses", long.class);
            PUTS = lookup.findVarHandle(ThreadCache.class, "puts", long.class);
            POOL_PUTS = lookup.findVarHandle(ThreadCache.class, "poolPuts", long.class);
            WAITER_PUTS = lookup.findVarHandle(ThreadCache.class, "waiterPuts", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    ThreadCache(Thread owner, int magazineSize) {
        this.owner = new WeakReference<>(owner);
        this.ownerName = owner.getName();
        this.loaded = new Magazine(magazineSize);
        this.previous = new Magazine(magazineSize);
    }

    // ------------------------------------------------------- owner-only fast path

    /** Get steps 1 and 2: pop from loaded, or swap in a full previous; 0 when both are empty. Counts a hit. */
    long take() {
        long address = takeAny();
        if (address != 0) {
            HITS.setOpaque(this, hits + 1);
        }
        return address;
    }

    /** {@link #take()} without counting: for handing parked items to a waiting pool. */
    long takeAny() {
        Magazine m = loaded;
        if (m.count == 0) {
            Magazine p = previous;
            if (p.count == 0) {
                return 0;
            }
            loaded = p;
            previous = m;
            m = p;
        }
        return m.rounds[--m.count];
    }

    /** Put steps 1 and 2: push to loaded, or swap in an empty previous; false when both are full. */
    boolean give(long address) {
        Magazine m = loaded;
        if (m.count == m.rounds.length) {
            Magazine p = previous;
            if (p.count != 0) {
                return false;
            }
            loaded = p;
            previous = m;
            m = p;
        }
        m.rounds[m.count++] = address;
        PUTS.setOpaque(this, puts + 1);
        return true;
    }

    void countPut() {
        PUTS.setOpaque(this, puts + 1);
    }

    void countMiss() {
        MISSES.setOpaque(this, misses + 1);
    }

    void countPoolPut() {
        POOL_PUTS.setOpaque(this, poolPuts + 1);
    }

    void countWaiterPut() {
        WAITER_PUTS.setOpaque(this, waiterPuts + 1);
    }

    // ------------------------------------------------------------- any thread

    /** The hand-off: true for exactly one caller. Called under the depot lock. */
    boolean retire() {
        return STATE.compareAndSet(this, ACTIVE, RETIRED);
    }

    boolean isActive() {
        return state == ACTIVE;
    }

    /** True when the owner has terminated (see the class comment for why its writes are then visible). */
    boolean ownerExited() {
        Thread t = owner.get();
        return t == null || !t.isAlive();
    }

    /** Adds the counters (opaque reads) to {@code sums}: hits, misses, puts, poolPuts, waiterPuts. */
    void addCountsTo(long[] sums) {
        sums[0] += (long) HITS.getOpaque(this);
        sums[1] += (long) MISSES.getOpaque(this);
        sums[2] += (long) PUTS.getOpaque(this);
        sums[3] += (long) POOL_PUTS.getOpaque(this);
        sums[4] += (long) WAITER_PUTS.getOpaque(this);
    }

    static final int COUNTERS = 5;
}

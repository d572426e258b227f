package io.slab4j.pool;

import java.lang.ref.Cleaner;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A magazine layer over one {@link Pool} (after NetBSD {@code pool_cache(9)} and Bonwick and
 * Adams, "Magazines and Vmem", USENIX 2001): gets and puts that find room in the calling
 * thread's own magazines touch no lock and allocate nothing.
 *
 * <h2>Terms and picture</h2>
 * A <b>magazine</b> is a stack of up to {@code magazineSize} item addresses. Each thread that
 * uses the cache has a {@link ThreadCache} with a <b>loaded</b> magazine and a
 * <b>previous</b> one (always full or empty); the <b>depot</b> keeps full and empty
 * magazines for all threads, under one lock; the pool is below it all.
 * <pre>
 *   thread A                 thread B
 *   loaded [a1 a2 a3 . ]     loaded [b1 . . . ]        per thread, no lock
 *   previous [full]          previous [empty]
 *         \                    /
 *          depot  full: [M][M]  empty: [ ][ ][ ]       one lock; at most depotLimit full
 *                         |
 *                        Pool                          its own lock; waits; slabs
 * </pre>
 *
 * <h2>Get</h2>
 * <ol>
 *   <li>loaded not empty: pop it (a hit).
 *   <li>previous full: swap loaded and previous, pop (a hit).
 *   <li>depot has a full magazine: give it previous (empty), move loaded to previous, load
 *       the full one, pop.
 *   <li>else (a miss): sweep exited threads' magazines back to the pool if a sweep is due
 *       (see {@link Depot}), then {@code pool.get / get(timeout) / tryGet}.
 * </ol>
 * <h2>Put</h2>
 * <ol>
 *   <li>checks (below): a double put is rejected; an address this cache did not hand out
 *       goes to {@code pool.put}, which validates it.
 *   <li>the pool has a waiting get ({@link Pool#hasWaiters()}, a lock-free read): the item
 *       goes straight to the pool, which hands it to the waiter, and so do further items
 *       from this thread's magazines and the depot's full ones while gets still wait, so
 *       memory parked here never starves a blocked get.
 *   <li>loaded not full: push (no lock).
 *   <li>previous empty: swap, push.
 *   <li>depot below its limit: give it previous (full), move loaded to previous, take an
 *       empty magazine (a new one if it has none), push. Otherwise the depot is at its
 *       limit: return previous's items to the pool and reuse it as the empty one.
 * </ol>
 *
 * <h2>Per-thread state and exited threads</h2>
 * A {@link ThreadLocal} per cache (so several caches in one thread never mix) finds the
 * holder: one {@code ThreadLocalMap} probe, the same cost as bench's {@code PoolBench.floor}
 * measures for the cheapest possible per-thread stack. Nothing depends on that
 * {@code ThreadLocal} being cleaned up: every holder is also registered in the depot with a
 * weak reference to its thread, and the cache takes back the magazines of threads that have
 * exited ({@code !isAlive()}, which makes their writes visible) on registration of a new
 * thread, on an amortised schedule when a get misses the depot, on {@link #drain()} and on
 * {@link #close()}. The owner and every reclaimer go through one CAS on the holder (see
 * {@link ThreadCache}), so a holder is reclaimed once. A live thread's magazines are never
 * touched by another thread: that is what keeps the fast path free of atomics.
 *
 * <h2>Checks ({@value #CHECKS_PROPERTY}, default true)</h2>
 * A put cannot ask the pool whether an address is a live item without taking the pool lock,
 * which would defeat the cache. So with checks on the cache keeps its own {@link Ledger}:
 * the state (handed out, or parked in a magazine) of every item it has handed out, in a
 * striped primitive map. A put of a parked item is a double put:
 * {@code IllegalArgumentException} naming the address, nothing changed. A put of an address
 * the cache never handed out (foreign, interior, already free, or got from the pool
 * directly) goes to {@link Pool#put}, which validates it under its lock; so garbage never
 * enters a magazine. Cost: one uncontended monitor and one hash probe a get and a put
 * (JMH, one thread, 2-core x86: get + put 37 ns with checks, 12 ns without, against 7 ns
 * for a bare {@code ThreadLocal} stack and 57 ns for {@code Pool} alone).
 * With {@code -Dslab4j.cache.checks=false} (benchmarks, which say so) the cache only
 * rejects address 0; a bad address is then parked unchecked and found only on the way to
 * the pool (a drain, an overflow), or handed to a later get: the trade-off is speed for
 * safety, so it is off only by explicit choice. See {@link #configuration()}.
 *
 * <h2>Concurrency</h2>
 * Thread-safe. The owner alone writes its holder (no lock); the depot's lock guards the
 * depot and the registry; each ledger stripe has its monitor; {@code closed} is volatile.
 * No lock of the cache is held while calling the pool, and the pool never calls back.
 * Lock order where two are held: depot, then a ledger stripe ({@link #checkInvariants()}).
 * {@link #close()} cannot take magazines from live threads without making every fast path
 * synchronise with it; instead each live thread returns its magazines on its next call
 * (which then throws {@code IllegalStateException}), or a {@link Cleaner} returns them once
 * the thread has exited and been collected.
 */
public final class PoolCache implements AutoCloseable {
    /** System property switching the put checks; on unless set to {@code false}. */
    public static final String CHECKS_PROPERTY = "slab4j.cache.checks";
    /** The effective default, read once at class initialisation. */
    public static final boolean CHECKS = !"false".equalsIgnoreCase(System.getProperty(CHECKS_PROPERTY, "true").trim());
    public static final int DEFAULT_MAGAZINE_SIZE = 32;
    /** Bounds a thread's parked items to {@code 2 * 1024} and a magazine to 8 KiB of heap. */
    public static final int MAX_MAGAZINE_SIZE = 1024;
    public static final int DEFAULT_DEPOT_LIMIT = 16;
    public static final int MAX_DEPOT_LIMIT = 1 << 16;

    private final Pool pool;
    private final int magazineSize;
    private final Depot depot;
    /** The put checks; null when they are off. */
    private final Ledger ledger;
    /** This cache's holder for each thread; set once per thread, by that thread. */
    private final ThreadLocal<ThreadCache> local = new ThreadLocal<>();
    /** Written once by {@link #close()}, read (volatile) on every call. */
    private volatile boolean closed;

    private PoolCache(Pool pool, int magazineSize, int depotLimit, boolean checks) {
        this.pool = pool;
        this.magazineSize = magazineSize;
        this.depot = new Depot(pool.name(), magazineSize, depotLimit);
        this.ledger = checks ? new Ledger(pool.name()) : null;
    }

    public static Builder builder(Pool pool) {
        return new Builder(pool);
    }

    /** The effective configuration, for logs and benchmark reports. */
    public static String configuration() {
        return CHECKS_PROPERTY + "=" + CHECKS + " (put checks " + (CHECKS ? "on" : "OFF: double and bad puts may go unnoticed")
                + "), default magazine size " + DEFAULT_MAGAZINE_SIZE + ", default depot limit " + DEFAULT_DEPOT_LIMIT;
    }

    // ---------------------------------------------------------------------- get

    /** Takes an item: from this thread's magazines, the depot, or else the pool, waiting as {@link Pool#get()} does. */
    public long get() throws InterruptedException {
        ThreadCache mine = mine("get");
        long address = cached(mine);
        if (address != 0) {
            return address;
        }
        mine.countMiss();
        return handedOut(pool.get());
    }

    /** As {@link #get()}, waiting up to {@code timeout} in the pool; 0 when the time runs out. */
    public long get(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        ThreadCache mine = mine("get");
        long address = cached(mine);
        if (address != 0) {
            return address;
        }
        mine.countMiss();
        return handedOut(pool.get(timeout));
    }

    /** As {@link #get()} without waiting; 0 when the magazines, the depot and the pool have nothing now. */
    public long tryGet() {
        ThreadCache mine = mine("tryGet");
        long address = cached(mine);
        if (address != 0) {
            return address;
        }
        mine.countMiss();
        return handedOut(pool.tryGet());
    }

    /** Get steps 1 to 3; 0 on a miss. */
    private long cached(ThreadCache mine) {
        long address = mine.take();
        if (address == 0) {
            address = fromDepot(mine);
        }
        if (address != 0 && ledger != null) {
            ledger.unpark(address);
        }
        return address;
    }

    private long fromDepot(ThreadCache mine) {
        Magazine full = depot.fullFor(mine.previous);
        if (full == null) {
            throwIfAny(reclaim(depot.sweepIfDue()));
            return 0;
        }
        mine.previous = mine.loaded;
        mine.loaded = full;
        return full.pop();
    }

    /** Get step 4's bookkeeping: the pool handed {@code address} out through this cache (0: it did not). */
    private long handedOut(long address) {
        if (address != 0 && ledger != null) {
            ledger.handedOut(address);
        }
        return address;
    }

    // ---------------------------------------------------------------------- put

    /**
     * Returns an item: to this thread's magazines, the depot, or the pool (straight to the
     * pool while a get waits there).
     *
     * @throws IllegalArgumentException with checks on: the item is already parked in this
     *                                  cache (double put); always: the pool rejects an
     *                                  address the cache did not hand out (foreign,
     *                                  interior, already free) or 0. Nothing changes.
     * @throws IllegalStateException    the cache is closed (this thread's magazines have
     *                                  gone back to the pool; the item was not taken)
     */
    public void put(long address) {
        ThreadCache mine = mine("put");
        if (ledger != null) {
            if (!ledger.park(address)) {
                pool.put(address);
                mine.countPoolPut();
                return;
            }
        } else if (address == 0) {
            pool.put(address); // rejects it: 0 means "empty" inside a magazine
            return;
        }
        if (pool.hasWaiters()) {
            toPool(address);
            mine.countWaiterPut();
            throwIfAny(feedWaiters(mine));
            return;
        }
        if (!mine.give(address)) {
            putAfterDepot(mine, address);
        }
        if (pool.hasWaiters()) {
            // a get began waiting between the check above and the push: do not leave it
            // waiting on what was just parked (found in review)
            throwIfAny(feedWaiters(mine));
        }
    }

    /** Put step 5: loaded and previous are both full. */
    private void putAfterDepot(ThreadCache mine, long address) {
        Magazine empty = depot.emptyFor(mine.previous);
        RuntimeException trouble = null;
        if (empty == null) {
            empty = mine.previous;
            trouble = flush(empty);
        }
        mine.previous = mine.loaded;
        mine.loaded = empty;
        empty.push(address);
        mine.countPut();
        throwIfAny(trouble);
    }

    /** Put step 2: while gets wait, gives them what this thread and the depot have parked. */
    private RuntimeException feedWaiters(ThreadCache mine) {
        RuntimeException trouble = null;
        while (pool.hasWaiters()) {
            long address = mine.takeAny();
            if (address != 0) {
                trouble = returnToPool(address, trouble);
                continue;
            }
            Magazine full = depot.takeFull();
            if (full == null) {
                break;
            }
            trouble = merge(trouble, flush(full));
            depot.recycle(full);
        }
        return trouble;
    }

    // ------------------------------------------------------------ drain, close

    /**
     * Returns to the pool every item parked in the calling thread's magazines, in the depot,
     * and in the magazines of threads that have exited. Other live threads' magazines are
     * theirs: each thread drains its own.
     *
     * @throws IllegalStateException    the cache is closed
     * @throws IllegalArgumentException (checks off only) the pool rejected a parked address;
     *                                  every other item was still returned
     */
    public void drain() {
        ThreadCache mine = local.get();
        if (closed) {
            throw closedError(mine, "drain");
        }
        RuntimeException trouble = null;
        if (mine != null) {
            trouble = merge(flush(mine.loaded), flush(mine.previous));
        }
        for (Magazine m : depot.takeAllFull()) {
            trouble = merge(trouble, flush(m));
            depot.recycle(m);
        }
        trouble = merge(trouble, reclaim(depot.sweep()));
        throwIfAny(trouble);
    }

    /**
     * Drains as {@link #drain()} does, then refuses further use with
     * {@code IllegalStateException}. Threads still alive keep their magazines until their
     * next call on this cache (which returns them, then throws) or until they exit and are
     * collected (a {@link Cleaner} returns them); {@link #stats()}{@code .threads()} counts
     * them meanwhile. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        Depot.Closing closing = depot.close();
        if (closing == null) {
            return;
        }
        RuntimeException trouble = null;
        for (Magazine m : closing.full()) {
            trouble = merge(trouble, flush(m));
        }
        trouble = merge(trouble, reclaim(closing.exited()));
        for (ThreadCache holder : closing.live()) {
            Thread owner = holder.owner.get();
            if (owner == Thread.currentThread()) {
                trouble = merge(trouble, retireAndFlush(holder, false));
            } else if (owner == null || !owner.isAlive()) {
                trouble = merge(trouble, retireAndFlush(holder, true));
            } else {
                Reclaim.watch(owner, new Reclaim(this, holder));
            }
        }
        throwIfAny(trouble);
    }

    public boolean isClosed() {
        return closed;
    }

    // ----------------------------------------------------------------- plumbing

    /** The calling thread's holder, registering one on first use; after close, returns its magazines and throws. */
    private ThreadCache mine(String call) {
        ThreadCache mine = local.get();
        if (closed) {
            throw closedError(mine, call);
        }
        return mine != null ? mine : register();
    }

    private ThreadCache register() {
        ThreadCache mine = new ThreadCache(Thread.currentThread(), magazineSize);
        List<ThreadCache> exited = depot.register(mine); // throws if a close got there first
        local.set(mine);
        throwIfAny(reclaim(exited));
        return mine;
    }

    private IllegalStateException closedError(ThreadCache mine, String call) {
        IllegalStateException e = new IllegalStateException(call + ": cache of pool '" + pool.name() + "' is closed");
        if (mine != null) {
            RuntimeException trouble = retireAndFlush(mine, false);
            if (trouble != null) {
                e.addSuppressed(trouble);
            }
        }
        return e;
    }

    /** Retires {@code holder} (its owner is the caller, or has exited) and returns its items, once. */
    private RuntimeException retireAndFlush(ThreadCache holder, boolean exited) {
        if (!depot.retire(holder, exited)) {
            return null;
        }
        long items = holder.loaded.count + holder.previous.count;
        RuntimeException trouble = merge(flush(holder.loaded), flush(holder.previous));
        if (exited) {
            depot.reclaimed(items);
        }
        return trouble;
    }

    /** Returns the items of exited threads' holders, which a sweep has already retired. */
    private RuntimeException reclaim(List<ThreadCache> exited) {
        if (exited == null) {
            return null;
        }
        RuntimeException trouble = null;
        for (ThreadCache holder : exited) {
            long items = holder.loaded.count + holder.previous.count;
            trouble = merge(trouble, flush(holder.loaded));
            trouble = merge(trouble, flush(holder.previous));
            depot.reclaimed(items);
        }
        return trouble;
    }

    /** Returns every round of {@code m} to the pool, even past a rejected one; the first rejection, or null. */
    private RuntimeException flush(Magazine m) {
        RuntimeException trouble = null;
        long address;
        while ((address = m.pop()) != 0) {
            trouble = returnToPool(address, trouble);
        }
        return trouble;
    }

    private RuntimeException returnToPool(long address, RuntimeException trouble) {
        try {
            toPool(address);
            return trouble;
        } catch (RuntimeException e) {
            return merge(trouble, e);
        }
    }

    private void toPool(long address) {
        if (ledger != null) {
            ledger.forget(address);
        }
        pool.put(address);
    }

    private static RuntimeException merge(RuntimeException first, RuntimeException next) {
        if (first == null) {
            return next;
        }
        if (next != null && next != first) {
            first.addSuppressed(next);
        }
        return first;
    }

    private static void throwIfAny(RuntimeException trouble) {
        if (trouble != null) {
            throw trouble;
        }
    }

    // ------------------------------------------------------------------ queries

    public Pool pool() {
        return pool;
    }

    public int magazineSize() {
        return magazineSize;
    }

    /** True when this cache runs the put checks (see the class comment). */
    public boolean checksEnabled() {
        return ledger != null;
    }

    public PoolCacheStats stats() {
        return depot.stats();
    }

    /**
     * Checks the depot, the calling thread's magazines, exited threads' magazines and, with
     * checks on, the ledger against them; throws {@code IllegalStateException} on the first
     * broken invariant. Exact while no other thread uses the cache; other live threads'
     * magazines are not read (they are theirs to change).
     */
    public void checkInvariants() {
        depot.check(local.get(), ledger);
    }

    @Override
    public String toString() {
        return "PoolCache[pool '" + pool.name() + "', magazines of " + magazineSize + ", checks " + (ledger != null ? "on" : "off")
                + (closed ? ", closed" : "") + "]";
    }

    /**
     * The safety net after {@link #close()}: returns a live thread's magazines once that
     * thread has exited and been collected. It holds the holder and the cache, never the
     * thread. Errors are logged: the Cleaner thread has no caller to throw to.
     */
    private static final class Reclaim implements Runnable {
        /** Created on first use, so a JVM that never closes a cache with live users starts no thread. */
        private static final class Lazy {
            static final Cleaner CLEANER = Cleaner.create();
        }

        private final PoolCache cache;
        private final ThreadCache holder;

        Reclaim(PoolCache cache, ThreadCache holder) {
            this.cache = cache;
            this.holder = holder;
        }

        static void watch(Thread owner, Reclaim action) {
            Lazy.CLEANER.register(owner, action);
        }

        @Override
        public void run() {
            RuntimeException trouble;
            try {
                trouble = cache.retireAndFlush(holder, true);
            } catch (RuntimeException e) {
                trouble = e;
            }
            if (trouble != null) {
                System.getLogger(PoolCache.class.getName()).log(System.Logger.Level.WARNING,
                        "reclaiming the magazines of exited thread '" + holder.ownerName + "' from " + cache, trouble);
            }
        }
    }

    /**
     * Configures a {@link PoolCache}. Defaults: {@value #DEFAULT_MAGAZINE_SIZE} items a
     * magazine, a depot of at most {@value #DEFAULT_DEPOT_LIMIT} full magazines, checks as
     * {@link #CHECKS}.
     */
    public static final class Builder {
        private final Pool pool;
        private int magazineSize = DEFAULT_MAGAZINE_SIZE;
        private int depotLimit = DEFAULT_DEPOT_LIMIT;
        private boolean checks = CHECKS;

        private Builder(Pool pool) {
            this.pool = Objects.requireNonNull(pool, "pool");
        }

        /** Items a magazine holds, in [1, {@value #MAX_MAGAZINE_SIZE}]; a thread parks at most twice this. */
        public Builder magazineSize(int items) {
            this.magazineSize = items;
            return this;
        }

        /** Full magazines the depot may hold, in [0, {@value #MAX_DEPOT_LIMIT}]; 0 means no depot. */
        public Builder depotLimit(int magazines) {
            this.depotLimit = magazines;
            return this;
        }

        /** For tests of both modes in one JVM; everyone else uses {@value #CHECKS_PROPERTY}. */
        Builder checks(boolean on) {
            this.checks = on;
            return this;
        }

        /**
         * @throws IllegalArgumentException a magazine size or depot limit out of range
         * @throws IllegalStateException    the pool is closed
         */
        public PoolCache build() {
            if (magazineSize < 1 || magazineSize > MAX_MAGAZINE_SIZE) {
                throw new IllegalArgumentException("cache of pool '" + pool.name() + "': magazine size " + magazineSize
                        + " is not in [1, " + MAX_MAGAZINE_SIZE + "]");
            }
            if (depotLimit < 0 || depotLimit > MAX_DEPOT_LIMIT) {
                throw new IllegalArgumentException("cache of pool '" + pool.name() + "': depot limit " + depotLimit
                        + " is not in [0, " + MAX_DEPOT_LIMIT + "]");
            }
            if (pool.isClosed()) {
                throw new IllegalStateException("cache of pool '" + pool.name() + "': the pool is closed");
            }
            return new PoolCache(pool, magazineSize, depotLimit, checks);
        }
    }
}

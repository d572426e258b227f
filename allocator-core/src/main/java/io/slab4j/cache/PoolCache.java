package io.slab4j.cache;

import io.slab4j.event.Failures;
import io.slab4j.pool.Pool;
import io.slab4j.pool.Reclaimer;

import org.agrona.collections.LongArrayList;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * A magazine layer over one {@link Pool} (after NetBSD {@code pool_cache(9)} and Bonwick and
 * Adams, "Magazines and Vmem", USENIX 2001): gets and puts that find room in the calling
 * thread's own magazines take no lock and allocate nothing. The package documentation
 * states the ownership rule and the reclaim protocol once.
 *
 * <h2>Terms and picture</h2>
 * A <b>magazine</b> is a stack of up to {@code magazineSize} item addresses. Each thread that
 * uses the cache has a {@link ThreadMagazines} with a <b>loaded</b> magazine and a
 * <b>previous</b> one (always full or empty) under a <b>lease</b>, and a <b>hot slot</b> of one
 * item outside the lease, changed only by CAS; the <b>depot</b> keeps
 * full and empty magazines for all threads, under one lock; the pool is below it all.
 * <pre>
 *   thread A                 thread B
 *   hot a0                   hot (empty)               per thread, one CAS, no lease
 *   loaded [a1 a2 a3 . ]     loaded [b1 . . . ]        per thread, leased: one CAS a call
 *   previous [full]          previous [empty]
 *         \                    /
 *          depot  full: [M][M]  empty: [ ][ ][ ]       one lock; at most depotLimit full
 *                         |
 *                        Pool                          its own lock; waits; slabs; records
 * </pre>
 *
 * <h2>Get</h2>
 * <ol>
 *   <li>The thread's hot slot holds an item: take it with one CAS (a hit), no lease; with
 *       checks on, record it OUT again ({@link Pool#unpark}). Else:
 *   <li>Enter the lease (when a reclaimer holds it this instant, go to step 5).
 *   <li>Loaded not empty: pop it (a hit); else previous full: swap, pop (a hit); else the
 *       depot has a full magazine: exchange previous (empty) for it, pop.
 *   <li>Leave the lease. With checks on, record the item OUT again ({@link Pool#unpark}).
 *   <li>A miss: {@code pool.get / get(timeout) / tryGet}. Before a get blocks there, the
 *       pool has this cache (and every other layer) return idle parked items.
 * </ol>
 * <h2>Put</h2>
 * <ol>
 *   <li>The pool has a waiting get ({@link Pool#hasWaiters()}, a lock-free read): the item
 *       goes to the pool ({@link Pool#put} validates it), which hands it to the waiter, and
 *       so do further parked items while gets still wait.
 *   <li>With checks on, record the item PARKED: one CAS on its ownership record
 *       ({@link Pool#park}), which rejects anything that is not an item of the pool that is
 *       out, however it was got or put before.
 *   <li>The thread's hot slot is empty: leave the item there with one CAS, no lease, and go
 *       to the last step. Else:
 *   <li>Enter the lease (when a reclaimer holds it, return the item to the pool instead:
 *       {@link Pool#putHeld} with checks on, since it is parked now).
 *   <li>Loaded not full: push; else previous empty: swap, push; else exchange previous
 *       (full) at the depot for an empty one; when the depot is at its limit, previous's
 *       items go back to the pool (after leaving the lease) and it is reused.
 *   <li>Leave the lease; if a get began waiting meanwhile, feed it as in step 1.
 * </ol>
 *
 * <h2>Reclaim</h2>
 * Registered with the pool as a {@link Reclaimer}: before a get blocks on the pool, and
 * every {@link Pool#RECLAIM_INTERVAL_MILLIS} ms while gets wait, the cache takes the
 * magazines of every thread that is outside a cache call (idle, or exited) through the lease,
 * and every thread's hot item (by CAS, inside a call or not), and returns them and the
 * depot's items to the pool. So items parked by an exited thread
 * never make a get block, and items parked by an idle thread reach a blocked get within about
 * one interval (100 ms by default, at most 1 s). {@link #close()} takes every thread's
 * magazines the same way, waiting only for threads inside a call to leave it.
 *
 * <h2>The thread-bound handle</h2>
 * Every call on the cache first finds the calling thread's {@link ThreadMagazines} through
 * a {@code ThreadLocal}. {@link #local()} returns a {@link Local} that holds them, bound to
 * the calling thread (its owner): its calls run the same steps on the same magazines under
 * the same lease, so reclaim, drain and close treat them exactly like the cache's own
 * calls (a reclaimer may take the owner's magazines whenever it is outside a call, whether
 * it calls through the handle or not). A call from another thread is refused with
 * {@code IllegalStateException} naming both threads before anything changes; after close,
 * every call is refused as the cache's are. The handle keeps its owner's {@code Thread}
 * strongly, so it is for the owner to keep (a field of a thread's own task), not for the
 * cache: the registry still holds its owner weakly.
 *
 * <h2>Checks ({@value #CHECKS_PROPERTY}, default true)</h2>
 * With checks on, every put is judged by the item's ownership record, shared with the pool
 * and every other layer: a double put, a put of an item put to the pool directly, a foreign
 * or interior address, an item of a slab that has since gone back to the arena, all get
 * {@code IllegalArgumentException} naming the address, and nothing changes. With
 * {@code -Dslab4j.cache.checks=false} (benchmarks, which say so) the cache rejects only
 * address 0; a bad address is then found on the way to the pool, or handed to a later get:
 * speed for safety, by explicit choice only. See {@link #configuration()}.
 *
 * <h2>Concurrency</h2>
 * Thread-safe. Each holder's lease guards its magazines, and its hot slot is one word that
 * only atomic read-modify-writes change (see {@link ThreadMagazines}); the depot's lock guards the depot
 * and the registry; {@code closed} is volatile. No lock of the cache is held while calling
 * the pool, and the pool calls back ({@link Reclaimer}) holding none of its locks.
 */
public final class PoolCache implements AutoCloseable {
    /** System property switching the put checks; on unless set to {@code false}. */
    public static final String CHECKS_PROPERTY = "slab4j.cache.checks";
    /** The effective default, read once at class initialisation. */
    public static final boolean CHECKS = !"false".equalsIgnoreCase(System.getProperty(CHECKS_PROPERTY, "true").trim());
    public static final int DEFAULT_MAGAZINE_SIZE = 32;
    /** Bounds a thread's parked items to {@code 2 * 1024 + 1} (two magazines and the hot slot) and a magazine to 8 KiB of heap. */
    public static final int MAX_MAGAZINE_SIZE = 1024;
    public static final int DEFAULT_DEPOT_LIMIT = 16;
    public static final int MAX_DEPOT_LIMIT = 1 << 16;

    private static final System.Logger LOG = System.getLogger(PoolCache.class.getName());

    private final Pool pool;
    private final int magazineSize;
    private final Depot depot;
    private final boolean checks;
    /** This cache's holder for each thread; set once per thread, by that thread. */
    private final ThreadLocal<ThreadMagazines> local = new ThreadLocal<>();
    /** Written once by {@link #close()}, read (volatile) on every call. */
    private volatile boolean closed;
    private final Reclaimer hook = new Reclaimer() {
        @Override
        public long reclaimIdle() {
            return reclaimQuietly();
        }

        @Override
        public long parked() {
            return PoolCache.this.parked();
        }

        @Override
        public String toString() {
            return PoolCache.this.toString();
        }
    };

    private PoolCache(Pool pool, int magazineSize, int depotLimit, boolean checks) {
        this.pool = pool;
        this.magazineSize = magazineSize;
        this.depot = new Depot(pool.name(), magazineSize, depotLimit);
        this.checks = checks;
    }

    public static Builder builder(Pool pool) {
        return new Builder(pool);
    }

    /** The effective configuration, for logs and benchmark reports. */
    public static String configuration() {
        return CHECKS_PROPERTY + "=" + CHECKS + " (put checks " + (CHECKS ? "on" : "OFF: double and bad puts may go unnoticed")
                + "), default magazine size " + DEFAULT_MAGAZINE_SIZE + ", default depot limit " + DEFAULT_DEPOT_LIMIT
                + ", " + Pool.RECLAIM_INTERVAL_PROPERTY + "=" + Pool.RECLAIM_INTERVAL_MILLIS;
    }

    // ---------------------------------------------------------------------- get

    /** Takes an item: from this thread's magazines, the depot, or else the pool, waiting as {@link Pool#get()} does. */
    public long get() throws InterruptedException {
        return get(mine("get"));
    }

    /** As {@link #get()}, trying first and then waiting up to {@code timeout} in the pool; 0 when the time runs out. */
    public long get(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        return get(mine("get"), timeout);
    }

    /** As {@link #get()} without waiting; 0 when the magazines, the depot and the pool have nothing now. */
    public long tryGet() {
        return tryGet(mine("tryGet"));
    }

    /** The gets of the cache and of a {@link Local}, once the caller's magazines are found. */
    private long get(ThreadMagazines mine) throws InterruptedException {
        long address = cached(mine);
        return address != 0 ? address : pool.get();
    }

    private long get(ThreadMagazines mine, Duration timeout) throws InterruptedException {
        long address = cached(mine);
        return address != 0 ? address : pool.get(timeout);
    }

    private long tryGet(ThreadMagazines mine) {
        long address = cached(mine);
        return address != 0 ? address : pool.tryGet();
    }

    /** Get steps 1 to 4 for {@code mine}'s owner; 0 on a miss (counted). */
    private long cached(ThreadMagazines mine) {
        long hot = mine.pollHot(); // step 1: the hot slot, one CAS and no lease
        if (hot != 0) {
            mine.countHit();
            if (checks) {
                pool.unpark(hot);
            }
            return hot;
        }
        if (!mine.enter()) {
            mine.countBypass();
            mine.countMiss();
            return 0;
        }
        long address;
        try {
            address = mine.take();
            if (address == 0) {
                address = fromDepot(mine);
            } else {
                mine.countHit();
            }
        } finally {
            mine.exit();
        }
        if (address == 0) {
            mine.countMiss();
        } else if (checks) {
            pool.unpark(address);
        }
        return address;
    }

    /** Under the lease: exchanges the empty previous for a full magazine at the depot and pops; 0 when it has none. */
    private long fromDepot(ThreadMagazines mine) {
        Magazine full = depot.fullFor(mine.previous());
        if (full == null) {
            return 0;
        }
        mine.rotate(full);
        return full.pop();
    }

    // ---------------------------------------------------------------------- put

    /**
     * Returns an item: to this thread's magazines, the depot, or the pool (straight to the
     * pool while a get waits there).
     *
     * @throws IllegalArgumentException with checks on: the address is not an item of the
     *                                  pool that is out (foreign, interior, already free, or
     *                                  already parked); always: 0. Nothing changes.
     * @throws IllegalStateException    the cache is closed (the item was not taken)
     */
    public void put(long address) {
        put(mine("put"), address, false);
    }

    /**
     * A put for a caller that itself guarantees each item comes back once (a handle released
     * by one CAS, as a {@code BufferPool} has): with checks on, the item is recorded PARKED by
     * a plain store instead of the checking CAS, so a stray {@link Pool#put} of it is still
     * rejected, but this call does not judge the address. Otherwise as {@link #put}.
     */
    public void putExclusive(long address) {
        put(mine("put"), address, true);
    }

    /** Put steps 1 to 6 for {@code mine}'s owner; the cold steps are separate methods so this one stays small. */
    private void put(ThreadMagazines mine, long address, boolean exclusive) {
        if (pool.hasWaiters()) {
            putToWaiter(mine, address);
            return;
        }
        // the record first, before the lease: its loads then overlap the call's start
        // instead of waiting behind the lease's CAS
        if (!checks) {
            if (address == 0) {
                throw zeroPut();
            }
        } else if (exclusive) {
            pool.parkOwned(address);
        } else {
            pool.park(address);
        }
        if (mine.offerHot(address)) { // step 3: the hot slot when empty, one CAS and no lease
            mine.countPut();
            if (pool.hasWaiters()) {
                afterPut(mine, null);
            }
            return;
        }
        if (!mine.enter()) {
            bypassPut(mine, address);
            return;
        }
        Magazine overflow = null;
        try {
            if (!mine.give(address)) {
                overflow = putAfterDepot(mine, address);
            }
        } finally {
            mine.exit();
        }
        mine.countPut();
        if (overflow != null || pool.hasWaiters()) {
            afterPut(mine, overflow);
        }
    }

    /** A reclaimer holds the magazines this instant: the item goes to the pool, parked already when checks are on. */
    private void bypassPut(ThreadMagazines mine, long address) {
        if (checks) {
            pool.putHeld(address);
        } else {
            pool.put(address);
        }
        mine.countBypass();
    }

    private IllegalArgumentException zeroPut() {
        return new IllegalArgumentException("put(0x0): address 0 is not an item of pool '" + pool.name() + "'");
    }

    /** Put step 1. */
    private void putToWaiter(ThreadMagazines mine, long address) {
        pool.put(address);
        mine.countWaiterPut();
        throwIfAny(feedWaiters(mine));
    }

    /** Put step 6, and the overflow of step 5, after leaving the lease. */
    private void afterPut(ThreadMagazines mine, Magazine overflow) {
        RuntimeException trouble = overflow == null ? null : returnMagazine(overflow);
        if (pool.hasWaiters()) {
            // a get began waiting between the check above and the push: do not leave it
            // waiting on what was just parked
            trouble = Failures.merge(trouble, feedWaiters(mine));
        }
        throwIfAny(trouble);
    }

    /**
     * Under the lease, loaded and previous both full: gives previous to the depot for an
     * empty one and pushes; when the depot is full, returns a magazine holding previous's
     * items for the caller to send to the pool after leaving the lease.
     */
    private Magazine putAfterDepot(ThreadMagazines mine, long address) {
        Magazine empty = depot.emptyFor(mine.previous());
        Magazine overflow = null;
        if (empty == null) {
            overflow = new Magazine(magazineSize);
            empty = mine.previous();
            long a;
            while ((a = empty.pop()) != 0) {
                overflow.push(a);
            }
        }
        mine.rotate(empty);
        empty.push(address);
        return overflow;
    }

    /** Put step 1: while gets wait, gives them what this thread and the depot have parked. */
    private RuntimeException feedWaiters(ThreadMagazines mine) {
        RuntimeException trouble = null;
        while (pool.hasWaiters()) {
            long address = mine.pollHot();
            if (address == 0 && mine.enter()) {
                try {
                    address = mine.take();
                } finally {
                    mine.exit();
                }
            }
            if (address != 0) {
                trouble = Failures.merge(trouble, returnOne(address));
                continue;
            }
            List<Magazine> fulls = depot.takeAllFull();
            if (fulls.isEmpty()) {
                break;
            }
            for (Magazine m : fulls) {
                trouble = Failures.merge(trouble, returnMagazine(m));
                depot.recycle(m);
            }
        }
        return trouble;
    }

    // ----------------------------------------------------- the thread-bound handle

    /**
     * The calling thread's handle on this cache (as {@code ThreadLocalRandom.current()}):
     * its get and put reach this thread's magazines directly, skipping the
     * {@code ThreadLocal} lookup every call on the cache itself makes. Cheap enough to call
     * once per task; each call returns a new handle on the same magazines. The handle is
     * bound to the calling thread: see {@link Local}.
     *
     * @throws IllegalStateException the cache is closed
     */
    public Local local() {
        return new Local(mine("local"), Thread.currentThread());
    }

    /**
     * A handle bound to one thread (its <b>owner</b>, the thread that called
     * {@link PoolCache#local()}) on that thread's magazines of one cache. Its calls are the
     * cache's calls, with the same steps, checks, waits, reclaim and close behaviour; they
     * only skip finding the thread's magazines. It uses the same lease as the cache's own
     * calls, so a reclaimer may take the owner's magazines whenever the owner is outside a
     * call (through this handle or the cache), and calls through the handle and through the
     * cache on the owner thread may be mixed freely.
     *
     * <p>Concurrency: only the owner may call it; a call from any other thread is refused
     * with {@code IllegalStateException} naming both threads, before anything changes (the
     * owner check is the first step of every call). After {@link PoolCache#close()} every
     * call is refused with {@code IllegalStateException}, as the cache's are.
     */
    public final class Local {
        private final ThreadMagazines mine;
        private final Thread owner;

        private Local(ThreadMagazines mine, Thread owner) {
            this.mine = mine;
            this.owner = owner;
        }

        /** As {@link PoolCache#get()}. */
        public long get() throws InterruptedException {
            return PoolCache.this.get(mine("get"));
        }

        /** As {@link PoolCache#get(Duration)}. */
        public long get(Duration timeout) throws InterruptedException {
            Objects.requireNonNull(timeout, "timeout");
            return PoolCache.this.get(mine("get"), timeout);
        }

        /** As {@link PoolCache#tryGet()}. */
        public long tryGet() {
            return PoolCache.this.tryGet(mine("tryGet"));
        }

        /** As {@link PoolCache#put(long)}. */
        public void put(long address) {
            PoolCache.this.put(mine("put"), address, false);
        }

        /** As {@link PoolCache#putExclusive(long)}. */
        public void putExclusive(long address) {
            PoolCache.this.put(mine("put"), address, true);
        }

        /** The cache this handle is on. */
        public PoolCache cache() {
            return PoolCache.this;
        }

        /** The thread this handle is bound to. */
        public Thread owner() {
            return owner;
        }

        private ThreadMagazines mine(String call) {
            if (Thread.currentThread() != owner) {
                throw foreign(call);
            }
            if (closed) {
                throw closed(call);
            }
            return mine;
        }

        private IllegalStateException foreign(String call) {
            Thread caller = Thread.currentThread();
            return new IllegalStateException(call + ": this PoolCache.Local of pool '" + pool.name() + "' belongs to thread '"
                    + owner.getName() + "' (id " + owner.getId() + ") but was called from thread '" + caller.getName()
                    + "' (id " + caller.getId() + "): each thread takes its own from cache.local()");
        }

        @Override
        public String toString() {
            return "PoolCache.Local[pool '" + pool.name() + "', owner '" + owner.getName() + "'" + (closed ? ", closed" : "") + "]";
        }
    }

    // ------------------------------------------------------- drain, reclaim, close

    /**
     * Returns to the pool every item parked where no thread is using it: the calling
     * thread's magazines, the depot, the magazines of every thread outside a cache call
     * (idle or exited), and every thread's hot item. A thread inside a call keeps its
     * magazines.
     *
     * @throws IllegalStateException    the cache is closed
     * @throws IllegalArgumentException (checks off only) the pool rejected a parked address;
     *                                  every other item was still returned
     */
    public void drain() {
        if (closed) {
            throw new IllegalStateException("drain: cache of pool '" + pool.name() + "' is closed");
        }
        throwIfAny(reclaim().trouble);
    }

    /** {@link Reclaimer#reclaimIdle()}: never throws; a rejected address (checks off) is logged. */
    private long reclaimQuietly() {
        if (closed) {
            return 0;
        }
        Reclaimed r = reclaim();
        if (r.trouble != null) {
            LOG.log(System.Logger.Level.WARNING, "reclaiming parked items of " + this + ": the pool rejected some", r.trouble);
        }
        return r.items;
    }

    private record Reclaimed(long items, RuntimeException trouble) {
    }

    private Reclaimed reclaim() {
        long items = 0;
        RuntimeException trouble = null;
        for (ThreadMagazines holder : depot.holders()) {
            long[] rounds = holder.takeIdle();
            if (rounds != null && rounds.length > 0) {
                items += rounds.length;
                trouble = Failures.merge(trouble, returnAll(rounds));
            }
        }
        for (Magazine m : depot.takeAllFull()) {
            items += m.count();
            trouble = Failures.merge(trouble, returnMagazine(m));
            depot.recycle(m);
        }
        for (long[] rounds : depot.sweep()) {
            items += rounds.length;
            trouble = Failures.merge(trouble, returnAll(rounds));
        }
        if (items > 0) {
            depot.reclaimed(items);
        }
        return new Reclaimed(items, trouble);
    }

    /**
     * Returns every parked item to the pool and refuses further use with
     * {@code IllegalStateException}. It takes every thread's magazines through the lease,
     * waiting only for a thread that is inside a cache call this instant to leave it (a short
     * step that never blocks), so nothing parked depends on any thread calling again or
     * exiting. Idempotent.
     *
     * @throws IllegalArgumentException (checks off only) the pool rejected a parked address;
     *                                  every other item was still returned and the cache is closed
     */
    @Override
    public void close() {
        closed = true;
        Depot.Closing closing = depot.close();
        if (closing == null) {
            return;
        }
        pool.removeReclaimer(hook);
        RuntimeException trouble = null;
        for (Magazine m : closing.full()) {
            trouble = Failures.merge(trouble, returnMagazine(m));
        }
        for (ThreadMagazines holder : closing.holders()) {
            long[] rounds;
            while ((rounds = holder.retireIfOutside()) == null && holder.lease() != ThreadMagazines.RETIRED) {
                Thread.onSpinWait(); // its owner is inside a call (or a reclaimer mid-move): a short, non-blocking step
                Thread.yield();
            }
            depot.unregister(holder);
            if (rounds != null && rounds.length > 0) {
                trouble = Failures.merge(trouble, returnAll(rounds));
            }
        }
        throwIfAny(trouble);
    }

    public boolean isClosed() {
        return closed;
    }

    // ----------------------------------------------------------------- plumbing

    /** The calling thread's holder, for tests that play a reclaimer on it. */
    ThreadMagazines holder() {
        return mine("holder");
    }

    /** The calling thread's holder, registering one on first use. */
    private ThreadMagazines mine(String call) {
        ThreadMagazines mine = local.get();
        if (closed) {
            throw closed(call);
        }
        return mine != null ? mine : register();
    }

    private IllegalStateException closed(String call) {
        return new IllegalStateException(call + ": cache of pool '" + pool.name() + "' is closed");
    }

    private ThreadMagazines register() {
        ThreadMagazines mine = new ThreadMagazines(Thread.currentThread(), magazineSize);
        List<long[]> exited = depot.register(mine); // throws if a close got there first
        local.set(mine);
        RuntimeException trouble = null;
        long items = 0;
        for (long[] rounds : exited) {
            items += rounds.length;
            trouble = Failures.merge(trouble, returnAll(rounds));
        }
        if (items > 0) {
            depot.reclaimed(items); // a reclaim pass like drain's: puts - reclaimedItems stays what is parked
        }
        if (trouble != null) {
            LOG.log(System.Logger.Level.WARNING, "returning exited threads' parked items of " + this + ": the pool rejected some",
                    trouble);
        }
        return mine;
    }

    private RuntimeException returnOne(long address) {
        try {
            pool.putHeld(address);
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    private RuntimeException returnAll(long[] rounds) {
        try {
            pool.putAll(rounds, rounds.length);
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    private RuntimeException returnMagazine(Magazine m) {
        long[] rounds = new long[m.count()];
        m.drainTo(rounds, 0);
        return rounds.length == 0 ? null : returnAll(rounds);
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
        return checks;
    }

    /** Items parked in this cache now: an estimate, since other threads may be changing their magazines. */
    public long parked() {
        return closed ? 0 : depot.parkedEstimate();
    }

    public PoolCacheStats stats() {
        return depot.stats();
    }

    /**
     * Checks the depot and the magazines of every thread outside a cache call (the caller's
     * included), holding each still through its lease while reading it; throws
     * {@code IllegalStateException} on the first broken invariant. Safe while other threads
     * use the cache; threads inside a call at that instant are skipped.
     */
    public void checkInvariants() {
        LongArrayList spill = new LongArrayList();
        try {
            depot.check(spill);
        } finally {
            if (!spill.isEmpty()) {
                long[] rounds = spill.toLongArray();
                RuntimeException trouble = returnAll(rounds);
                if (trouble != null) {
                    LOG.log(System.Logger.Level.WARNING, "returning hot items lifted by a check of " + this
                            + ": the pool rejected some", trouble);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "PoolCache[pool '" + pool.name() + "', magazines of " + magazineSize + ", checks " + (checks ? "on" : "off")
                + (closed ? ", closed" : "") + "]";
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

        /** Items a magazine holds, in [1, {@value #MAX_MAGAZINE_SIZE}]; a thread parks at most twice this, plus one in its hot slot. */
        public Builder magazineSize(int items) {
            this.magazineSize = items;
            return this;
        }

        /** Full magazines the depot may hold, in [0, {@value #MAX_DEPOT_LIMIT}]; 0 means no depot. */
        public Builder depotLimit(int magazines) {
            this.depotLimit = magazines;
            return this;
        }

        /**
         * Whether this cache judges each put by the item's ownership record (default
         * {@link #CHECKS}, from {@value #CHECKS_PROPERTY}). Turn them off only in a layer that
         * itself guarantees one put per get and never shows the raw addresses to its users, as
         * {@code BufferPool}'s handles do (one CAS each): the cache then skips the record's
         * write on every get and put. What is given up is the put's own judgement: a second put
         * of one item is parked twice and found only later, by the pool when the item goes back
         * or by {@code checkInvariants}.
         */
        public Builder checks(boolean on) {
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
            PoolCache cache = new PoolCache(pool, magazineSize, depotLimit, checks);
            pool.addReclaimer(cache.hook);
            return cache;
        }
    }
}

package io.slab4j.pool;

import io.slab4j.event.Failures;
import io.slab4j.arena.Arena;
import io.slab4j.event.BaseEvent;
import io.slab4j.event.Event;
import io.slab4j.event.Waiter;

import java.time.Duration;
import java.util.Objects;

/**
 * A pool of fixed-size items carved from slabs of contiguous arena pages (after NetBSD
 * {@code pool(9)}), whose empty {@code get} waits on a put <em>or</em> a grow, whichever
 * comes first. The protocol, the lock order and the ownership rule are stated once in the
 * package documentation.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>item</b>: {@code itemSize} bytes at a {@code stride} (item size rounded up to
 *       the alignment) inside a slab; {@link Geometry} has the shape. The pool never writes
 *       into items: bookkeeping is in {@link Slab} objects on the Java heap.
 *   <li><b>slab</b>: {@code slabPages} contiguous arena quanta, one arena allocation,
 *       holding {@code itemsPerSlab} items (at most {@value #MAX_ITEMS_PER_SLAB}).
 *   <li><b>ownership record</b>: one byte an item, FREE, OUT or PARKED ({@link Slab}),
 *       shared by this pool and every layer over it ({@link #park}, {@link #putAll}).
 *   <li><b>made / pending</b>: items in the pool's slabs / items of grows waiting for arena
 *       space ({@link GrowSupply}). The hard limit bounds {@code made + pending}; since slabs
 *       come whole, the usable limit is the largest multiple of {@code itemsPerSlab} not
 *       above it.
 *   <li><b>idle slab</b>: no item out or parked. {@code lowWater} idle slabs survive
 *       {@link #reclaim()}; beyond {@code highWater} idle slabs, a put that idles a slab
 *       returns it to the arena.
 * </ul>
 *
 * <h2>Get</h2>
 * <ol>
 *   <li>Poll, under the lock once: take an item from the fullest slab with a free one; else,
 *       when the pool may grow, reserve a slab and try the arena without waiting.
 *   <li>Before blocking: ask the {@link Reclaimer}s (magazine layers) to return idle
 *       parked items.
 *   <li>Wait ({@link WaitStrategy#NACK}) on one base event, a {@link GetWait}, that does not
 *       poll again: its registration re-checks under the lock, then queues on puts and
 *       registers a grow (reserved and forwarded to the arena, or queued at the limit) in
 *       the same acquisition. Whichever source claims the get first delivers; then the get
 *       adds the slab that came, or releases its reservation.
 * </ol>
 * {@link #getEvent()} is the same choice as a composable event:
 * {@code choose(put, withNack(grow))}, whose nack releases the reservation of a grow that lost.
 * <h2>Put</h2>
 * Validate, and CAS the item's record OUT → FREE (foreign, interior, already free or
 * parked in a layer: rejected, nothing changes); hand the item to the oldest live put
 * waiter, claiming its offer first; else free it, and if its slab is now idle beyond
 * {@code highWater}, return the slab to the arena. Once accepted, a put returns normally: a
 * failure to return the slab is counted ({@link PoolStats#slabReturnFailures()}) and logged.
 *
 * <h2>Concurrency</h2>
 * Thread-safe. One lock ({@link #lock}) guards the pool's state, which lives in
 * package-private classes that take no lock of their own: the slabs and the counts they
 * share ({@link SlabStock} over {@link SlabSet}), the hard limit's supply and its queued
 * grows ({@link GrowSupply}), the put waiters ({@link PutWaiters}) and the statistics
 * ({@link PoolCounts}). This class keeps the lock and the public API: each call changes that
 * state under the lock, then, after unlocking, completes the waiters it served and returns
 * detached slabs to the arena. The steps that call the arena without waiting (the poll,
 * priming, adding a grown slab) are {@link ArenaTraffic}; the get's waiting side (its
 * events, registrations and nacks) is {@link GetWaits}; both take this lock the same way.
 * The layer methods ({@link #park}, {@link #unpark}, {@link #parkOwned}) take no lock:
 * they find the record through {@link SlabDirectory}. Lock order: {@code package-info}.
 */
public final class Pool implements AutoCloseable {
    /** The most items one slab may hold; bounds a slab's heap metadata to about 5 bytes an item. */
    public static final int MAX_ITEMS_PER_SLAB = 1 << 16;
    /** System property: how often, in ms, waiting gets have the layers' idle parked items reclaimed. */
    public static final String RECLAIM_INTERVAL_PROPERTY = "slab4j.pool.reclaimIntervalMillis";
    /** The effective interval, in [1, 1000] ms, default 100: read once at class initialisation. */
    public static final long RECLAIM_INTERVAL_MILLIS = ReclaimTicker.readInterval(RECLAIM_INTERVAL_PROPERTY);

    final String name;
    private final Geometry g;
    private final Marks marks;
    private final WaitStrategy strategy;
    private final Arena arena;

    /** Guards every field below except the final references' own lock-free parts (see the class header). */
    final CountingLock lock = new CountingLock();
    private final ItemRecords records;
    private final PutWaiters putWaiters = new PutWaiters();
    private final GrowSupply supply;
    private final PoolCounts counts = new PoolCounts();
    private final SlabStock stock;
    private final Reclaimers reclaimers = new Reclaimers(this);
    private final ArenaTraffic traffic;
    private final GetWaits waits;
    private boolean closed;

    private Pool(String name, Geometry g, Marks marks, WaitStrategy strategy, Arena arena) {
        this.name = name;
        this.g = g;
        this.marks = marks;
        this.strategy = strategy;
        this.arena = arena;
        BaseEvent<Long> slabSpace = arena.allocEvent(g.slabBytes(), g.slabAlign());
        this.supply = new GrowSupply(g.itemsPerSlab(), marks.hardLimit(), slabSpace);
        SlabSet slabs = new SlabSet(g.itemsPerSlab(), g.slabBytes(), arena.base(), arena.size());
        this.records = new ItemRecords(name, g, slabs);
        this.stock = new SlabStock(name, g, marks, strategy, slabs, records, supply, putWaiters, counts);
        this.traffic = new ArenaTraffic(this, arena, g, strategy, stock, supply, putWaiters, counts);
        this.waits = new GetWaits(this, traffic, strategy, stock, putWaiters, supply, reclaimers, counts);
    }

    public static Builder builder(String name, long itemSize) {
        return new Builder(name, itemSize);
    }

    // ---------------------------------------------------------------------- get

    /**
     * Takes an item, waiting as long as it takes for a put or for arena space to grow. A slab
     * whose commit the OS refuses is waited out like missing space: the arena retries it
     * ({@link Arena}'s "Failed commits"), so a transient {@code ENOMEM} delays the get instead
     * of failing it.
     */
    public long get() throws InterruptedException {
        long address = traffic.getNow(false);
        return address != 0 ? address : waits.await(null);
    }

    /**
     * Takes an item, trying first and then waiting up to {@code timeout}; returns 0 when the
     * time runs out. A zero or negative timeout only tries (and counts no wait), and throws
     * what {@link #tryGet()} throws; with a positive one a refused commit is waited out, as in
     * {@link #get()}.
     */
    public long get(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        boolean mayWait = !timeout.isZero() && !timeout.isNegative();
        long address = traffic.getNow(!mayWait);
        if (address != 0 || !mayWait) {
            return address;
        }
        long got = waits.await(timeout);
        if (got == 0) {
            countFailure();
        }
        return got;
    }

    /**
     * Takes an item without waiting: a free one, or one from a slab the arena can give now; 0 when neither.
     *
     * @throws io.slab4j.nativemem.NativeMemoryException the OS refused to commit the new slab (nothing taken)
     */
    public long tryGet() {
        return traffic.getNow(true);
    }

    /**
     * The event of getting an item, for composing with other events (a timeout, another
     * pool, a channel). Its branches register on this pool and on the arena only while a
     * sync is in progress, and are withdrawn when the sync ends. A sync that queued here
     * counts as one wait in {@link PoolStats#waits()}, with its time.
     */
    public Event<Long> getEvent() {
        return waits.event();
    }

    // ---------------------------------------------------------------------- put

    /**
     * Returns an item. If a get is waiting, the item goes straight to the oldest waiter.
     *
     * @throws IllegalArgumentException the address is not an item of this pool, not the
     *                                  start of one, already free, or parked in a layer
     *                                  (a cache) over this pool; nothing changes
     * @throws IllegalStateException    the pool is closed
     */
    public void put(long address) {
        accept(address, false, "put");
    }

    /**
     * For a layer returning one item it holds (parked, or out when its checks are off), as
     * {@link #putAll} does for many.
     *
     * @throws IllegalArgumentException not an item of this pool, or free; nothing changes
     */
    public void putHeld(long address) {
        accept(address, true, "put");
    }

    private void accept(long address, boolean held, String call) {
        Waiter<Long> receiver;
        Slab leaving;
        lock.lock();
        try {
            checkOpen(call);
            receiver = stock.accept(address, held, call);
            leaving = stock.takeLeaving();
        } finally {
            lock.unlock();
        }
        if (receiver != null) {
            receiver.complete(address);
        }
        traffic.returnToArena(leaving);
    }

    // ------------------------------------------------ the layer side (PoolCache, BufferPool)

    /**
     * For a layer taking an item back to park it: the item's record goes OUT → PARKED (one
     * CAS, no lock). From then on the pool rejects a {@link #put} of it, and the layer owns it
     * until it hands it out ({@link #unpark}) or returns it ({@link #putAll}).
     *
     * @throws IllegalArgumentException not an item of this pool (foreign, interior, or its
     *                                  slab went back to the arena), already free, or already
     *                                  parked; nothing changes
     */
    public void park(long address) {
        records.park(address);
    }

    /** For a layer handing out an item it parked: PARKED → OUT (a plain release store, no lock, no CAS). */
    public void unpark(long address) {
        records.unpark(address);
    }

    /**
     * For a layer that itself guarantees a single return (a handle closed by one CAS):
     * records the item PARKED without the CAS, so a stray {@link #put} of it is still
     * rejected. The caller vouches the address is an item of this pool that is out.
     */
    public void parkOwned(long address) {
        records.parkOwned(address);
    }

    /**
     * Whether {@code address} is the start of an item of this pool that is out now (handed
     * out by a get and not put back; a layer running with its checks off holds its parked
     * items out too). No lock and no write: a layer that gives the pool's addresses to code
     * it does not trust checks one with this before keeping it. It cannot tell a second
     * return of an item a layer holds out from the first: that is the layer's guard.
     *
     * <p>{@code hint} is what the last call returned (null at first), an opaque reference to
     * the slab that held the last address checked. When the new address is in the same slab,
     * the check reads that slab alone, not the directory. Returns the hint to keep, or null
     * when the address is no item of this pool that is out. The hint may be kept in a plain
     * field and shared between threads (the slab's fields it reads are final or volatile); a
     * stale one costs a directory lookup, never a wrong answer.
     */
    public Object isOut(long address, Object hint) {
        if (hint instanceof Slab && records.isOutIn((Slab) hint, address)) {
            return hint;
        }
        Slab slab = records.slabFor(address);
        return slab != null && records.isOutIn(slab, address) ? slab : null;
    }

    /** The ownership records and their recent-slab table, for tests ({@code Record*Test}). */
    ItemRecords records() {
        return records;
    }

    /**
     * For a layer returning items it holds (parked, or out when its checks are off): all of
     * {@code addresses[0, count)} under one lock acquisition, each to the oldest waiting get
     * first. Every acceptable item is returned even past a bad one; then the first rejection
     * is thrown (with the others suppressed).
     *
     * @throws IllegalArgumentException {@code count} is not in {@code [0, addresses.length]}
     *                                  (nothing is returned); or some address was not an item
     *                                  of this pool held by a layer (the others were still returned)
     */
    public void putAll(long[] addresses, int count) {
        Objects.requireNonNull(addresses, "putAll(null, count): the addresses are null");
        if (count < 0 || count > addresses.length) {
            throw new IllegalArgumentException("putAll(addresses, " + count + "): count is not in [0, "
                    + addresses.length + "] (the array's length); nothing was returned to pool '" + name + "'");
        }
        Handoffs handoffs = null;
        Slab leaving;
        IllegalArgumentException bad = null;
        lock.lock();
        try {
            checkOpen("putAll");
            for (int i = 0; i < count; i++) {
                try {
                    Waiter<Long> receiver = stock.accept(addresses[i], true, "putAll");
                    if (receiver != null) {
                        handoffs = Handoffs.add(handoffs, receiver, addresses[i]);
                    }
                } catch (IllegalArgumentException e) {
                    bad = Failures.merge(bad, e);
                }
            }
            leaving = stock.takeLeaving();
        } finally {
            lock.unlock();
        }
        Handoffs.completeAll(handoffs);
        traffic.returnToArena(leaving);
        if (bad != null) {
            throw bad;
        }
    }

    /** Registers a layer whose idle parked items gets may reclaim (see {@link Reclaimer}). */
    public void addReclaimer(Reclaimer reclaimer) {
        Objects.requireNonNull(reclaimer, "reclaimer");
        lock.lock();
        try {
            checkOpen("addReclaimer");
            reclaimers.add(reclaimer);
        } finally {
            lock.unlock();
        }
    }

    /** Unregisters a layer (when it closes); does nothing if it was not registered. */
    public void removeReclaimer(Reclaimer reclaimer) {
        lock.lock();
        try {
            reclaimers.remove(reclaimer);
        } finally {
            lock.unlock();
        }
    }

    /** Has every layer return its idle parked items now (no lock held); returns how many came back. */
    long runReclaimers() {
        return reclaimers.reclaimIdle();
    }

    // --------------------------------------------------------------- slab supply

    /** Gives idle slabs beyond {@code lowWater} back to the arena; returns how many went. */
    public int reclaim() {
        int gone;
        Slab leaving;
        lock.lock();
        try {
            checkOpen("reclaim");
            gone = stock.detachIdleBeyondLowWater();
            leaving = stock.takeLeaving();
        } finally {
            lock.unlock();
        }
        traffic.returnToArena(leaving);
        return gone;
    }

    /**
     * Grows the pool, without waiting, until it holds at least {@code items} items or the
     * hard limit or the arena stops it; returns the items it holds.
     */
    public long prime(long items) {
        return traffic.prime(items);
    }

    private void countFailure() {
        lock.lock();
        try {
            counts.failed();
        } finally {
            lock.unlock();
        }
    }

    void checkOpen(String call) {
        if (closed) {
            throw new IllegalStateException(call + ": pool '" + name + "' is closed");
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Returns every slab to the arena. Refuses, loudly, while items are in use (held by
     * users or parked in caches), gets are waiting or grows are pending: closing then would
     * hand memory back that someone still holds.
     *
     * @throws IllegalStateException items in use, gets waiting or grows pending (nothing changes)
     */
    @Override
    public void close() {
        long parked = reclaimers.parked();
        Slab leaving;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            String refusal = stock.refusalToClose(parked);
            if (refusal != null) {
                throw new IllegalStateException(refusal);
            }
            closed = true;
            stock.detachAll();
            leaving = stock.takeLeaving();
            reclaimers.stop();
        } finally {
            lock.unlock();
        }
        traffic.returnToArena(leaving);
    }

    public boolean isClosed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------- queries

    public String name() {
        return name;
    }

    public long itemSize() {
        return g.itemSize();
    }

    public int itemsPerSlab() {
        return g.itemsPerSlab();
    }

    public long slabBytes() {
        return g.slabBytes();
    }

    public long hardLimit() {
        return supply.hardLimit();
    }

    public int lowWater() {
        return marks.lowWater();
    }

    public int highWater() {
        return marks.highWater();
    }

    public Arena arena() {
        return arena;
    }

    public WaitStrategy waitStrategy() {
        return strategy;
    }

    /**
     * True when some get is waiting for a put: read without the lock (a volatile read),
     * for caches that must not park items while a get waits. May be momentarily stale.
     */
    public boolean hasWaiters() {
        return putWaiters.any();
    }

    /** Gets waiting on this pool now, one each (a get waiting on a put and a grow counts once). */
    public int waiters() {
        lock.lock();
        try {
            return stock.waitingGets();
        } finally {
            lock.unlock();
        }
    }

    public PoolStats stats() {
        lock.lock();
        try {
            return stock.stats();
        } finally {
            lock.unlock();
        }
    }

    /** Lock acquisitions so far (for tests of the lock traffic of a call). */
    long lockAcquisitions() {
        lock.lock();
        try {
            return lock.acquisitions;
        } finally {
            lock.unlock();
        }
    }

    /** Checks slabs, records, lookup, counts and queues against each other; throws IllegalStateException on the first broken invariant. */
    public void checkInvariants() {
        lock.lock();
        try {
            stock.check();
            records.check();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "Pool['" + name + "', item " + g.itemSize() + " B, " + g.itemsPerSlab() + " a slab of " + g.slabBytes() + " B, "
                + strategy + "]";
    }

    /**
     * Configures a {@link Pool}. Defaults: alignment 16, the fewest arena quanta that hold
     * one item, no hard limit, low water 0, high water the larger of 1 and low water,
     * {@link WaitStrategy#NACK}. A builder can be reused: {@code build} never changes it.
     */
    public static final class Builder {
        private final String name;
        private final long itemSize;
        private int slabPages;
        private long align = 16;
        private long hardLimit = Long.MAX_VALUE;
        private int lowWater;
        private int highWater = -1;
        private WaitStrategy strategy = WaitStrategy.NACK;

        private Builder(String name, long itemSize) {
            this.name = Objects.requireNonNull(name, "name");
            this.itemSize = itemSize;
        }

        /** Arena quanta (pages) in a slab: the contiguous run one grow takes from the arena. */
        public Builder slabPages(int pages) {
            if (pages <= 0) { // 0 inside the builder means "not set": one slab holds at least one item
                throw new IllegalArgumentException("slabPages(" + pages + "): a slab is a positive number of pages");
            }
            this.slabPages = pages;
            return this;
        }

        /** Item alignment in bytes, a power of two (items start at multiples of it). */
        public Builder align(long bytes) {
            this.align = bytes;
            return this;
        }

        /** The most items the pool may make, counting items of pending grows. */
        public Builder hardLimit(long items) {
            this.hardLimit = items;
            return this;
        }

        /** Idle slabs kept by {@link Pool#reclaim()}; {@code build()} primes them. */
        public Builder lowWater(int slabs) {
            this.lowWater = slabs;
            return this;
        }

        /** Idle slabs kept when puts idle more; beyond it they go back to the arena. */
        public Builder highWater(int slabs) {
            if (slabs < 0) {
                throw new IllegalArgumentException("pool '" + name + "': high water " + slabs + " is negative");
            }
            this.highWater = slabs;
            return this;
        }

        public Builder waitStrategy(WaitStrategy strategy) {
            this.strategy = Objects.requireNonNull(strategy, "strategy");
            return this;
        }

        /**
         * Builds the pool over {@code arena} and primes {@code lowWater} slabs (the whole
         * hard limit for {@link WaitStrategy#LOW_WATER_PRIME}).
         *
         * @throws IllegalArgumentException a bad item size, alignment, slab size or limit
         * @throws IllegalStateException    the arena cannot give the slabs to prime now
         * @throws io.slab4j.nativemem.NativeMemoryException the OS refused to commit a slab to prime; in
         *         both cases the slabs primed before go back to the arena
         */
        public Pool build(Arena arena) {
            Objects.requireNonNull(arena, "arena");
            if (name.isEmpty()) {
                throw new IllegalArgumentException("pool name is empty");
            }
            Geometry g = Geometry.of(name, itemSize, align, slabPages, arena);
            Marks marks = Marks.of(name, g, hardLimit, lowWater, highWater, strategy);
            Pool pool = new Pool(name, g, marks, strategy, arena);
            long want = marks.primeItems();
            try {
                long have = pool.prime(want);
                if (have < want) {
                    throw new IllegalStateException("pool '" + name + "': the arena gave only " + have + " of the " + want
                            + " items to prime; " + arena.stats());
                }
            } catch (RuntimeException | Error e) { // too little space or a refused commit: the slabs primed go back with the pool nobody holds
                try {
                    pool.close();
                } catch (RuntimeException c) {
                    e.addSuppressed(c);
                }
                throw e;
            }
            return pool;
        }
    }
}

package io.slab4j.pool;

import io.slab4j.arena.Arena;
import io.slab4j.event.BaseEvent;
import io.slab4j.event.Event;
import io.slab4j.event.Events;
import io.slab4j.event.Registration;
import io.slab4j.event.WaitQueue;
import io.slab4j.event.Waiter;
import io.slab4j.nativemem.VirtualRegion;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A pool of fixed-size items carved from slabs of contiguous arena pages (after NetBSD
 * {@code pool(9)}), whose empty {@code get} waits on a put <em>or</em> a grow, whichever
 * comes first.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>item</b>: {@code itemSize} bytes at a {@code stride} (item size rounded up to
 *       the alignment) inside a slab. The pool never writes into items: bookkeeping is in
 *       {@link Slab} objects on the Java heap.
 *   <li><b>slab</b>: {@code slabPages} contiguous pages, one arena allocation (the
 *       multi-page grow), holding {@code itemsPerSlab} items.
 *   <li><b>made / pending</b>: items in the pool's slabs / items of grows waiting for
 *       arena space. The hard limit bounds {@code made + pending}, so concurrent grows
 *       never overshoot it. Since slabs come whole, the usable limit is the largest
 *       multiple of {@code itemsPerSlab} not above {@code hardLimit}.
 *   <li><b>idle slab</b>: no item in use. {@code lowWater} idle slabs survive
 *       {@link #reclaim()}; beyond {@code highWater} idle slabs, a put that idles a slab
 *       returns it to the arena (which decommits it).
 * </ul>
 *
 * <h2>Get</h2>
 * <ol>
 *   <li>Fast path, under the lock: take an item from the fullest slab with a free one.
 *   <li>Else ({@link WaitStrategy#NACK}) sync on {@code choose(put, withNack(grow))}:
 *       <ul>
 *         <li>put: a {@link PutEvent} registration; a {@code put} hands its item straight
 *             to the oldest one.
 *         <li>grow: a {@link GrowEvent} with a fresh {@link GrowTicket}. Under the hard
 *             limit it reserves {@code itemsPerSlab} pending items and forwards its
 *             registration to the arena's FIFO queue ({@code allocEvent(slabBytes)}); at
 *             the limit it queues in the pool until a pending grow is released or a slab
 *             goes back to the arena, then reserves and forwards.
 *       </ul>
 *   <li>Whichever fires first wins the sync; the other registration is withdrawn. If the
 *       put won, the grow's nack releases its reservation (and the oldest grow waiting for
 *       capacity gets it); nothing was taken from the arena. If the arena space won, the
 *       wrap turns it into a slab on the syncing thread, takes an item, and serves the
 *       pool's other put waiters from the new slab first.
 * </ol>
 * <h2>Put</h2>
 * Validate (foreign, interior, double free, closed: the pool is unchanged on rejection);
 * hand the item to the oldest live put waiter, claiming its offer first; else free it,
 * and if its slab is now idle beyond {@code highWater}, return the slab to the arena.
 *
 * <h2>Concurrency</h2>
 * Thread-safe. One {@link ReentrantLock} guards the slabs, both wait queues, the counts
 * and the statistics. Lock order: pool, then arena (a grow is forwarded to the arena under
 * the pool lock); the arena never calls back into the pool under its own lock, and
 * waiters are completed (unparked) outside both. User code never runs under the lock.
 */
public final class Pool implements AutoCloseable {
    final String name;
    private final long itemSize;
    private final long stride;
    /** log2(stride) when the stride is a power of two (a shift finds the item), else -1 (a division does). */
    private final int strideShift;
    final int itemsPerSlab;
    private final long slabBytes;
    private final long slabAlign;
    private final long hardLimit;
    private final int lowWater;
    private final int highWater;
    private final WaitStrategy strategy;
    private final Arena arena;
    private final BaseEvent<Long> slabSpace;
    private final PutEvent putEvent = new PutEvent(this);

    final ReentrantLock lock = new ReentrantLock();
    private final SlabSet slabs;
    private final WaitQueue<WaitQueue.Node<Long>> putWaiters = new WaitQueue<>();
    private final WaitQueue<GrowRequest> growWaiters = new WaitQueue<>();
    /**
     * {@code putWaiters.size()}, republished (volatile write) under the lock whenever the
     * queue changes, so {@link #hasWaiters()} can be read without the lock.
     */
    private volatile int waitingForPut;
    private long made;
    private long pending;
    private long inUse;
    private int idleSlabs;
    private boolean closed;
    private long requests;
    private long failures;
    private long releases;
    private long grows;
    private long shrinks;
    private long highMark;
    private long waits;
    private long waitNanos;

    private Pool(Builder b, Arena arena, long stride, int itemsPerSlab, long slabBytes) {
        this.name = b.name;
        this.itemSize = b.itemSize;
        this.stride = stride;
        this.strideShift = Long.bitCount(stride) == 1 ? Long.numberOfTrailingZeros(stride) : -1;
        this.itemsPerSlab = itemsPerSlab;
        this.slabBytes = slabBytes;
        this.slabAlign = Math.max(arena.quantum(), b.align);
        this.hardLimit = b.hardLimit;
        this.lowWater = b.lowWater;
        this.highWater = b.highWater;
        this.strategy = b.strategy;
        this.arena = arena;
        this.slabSpace = arena.allocEvent(slabBytes, slabAlign);
        this.slabs = new SlabSet(itemsPerSlab, slabBytes);
    }

    public static Builder builder(String name, long itemSize) {
        return new Builder(name, itemSize);
    }

    // ---------------------------------------------------------------------- get

    /** Takes an item, waiting as long as it takes for a put or for arena space to grow. */
    public long get() throws InterruptedException {
        long address = getNow();
        return address != 0 ? address : timedWait(getEvent());
    }

    /** Takes an item, waiting up to {@code timeout}; returns 0 when the time runs out. */
    public long get(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        long address = getNow();
        if (address != 0) {
            return address;
        }
        long got = timedWait(Events.choose(getEvent(), Events.timeout(timeout).wrap(signal -> 0L)));
        if (got == 0) {
            countFailure();
        }
        return got;
    }

    /** Takes an item without waiting: a free one, or one from a slab the arena can give now; 0 when neither. */
    public long tryGet() {
        long address = getNow();
        if (address == 0) {
            countFailure();
        }
        return address;
    }

    /** A free item, or one from a slab the arena gives now (when nobody queues for one); 0 when neither. */
    private long getNow() {
        long address = takeFast();
        if (address != 0 || strategy == WaitStrategy.LOW_WATER_PRIME) {
            return address;
        }
        GrowTicket ticket = new GrowTicket();
        Long grown = tryGrowNow(ticket);
        return grown == null ? 0 : growWith(ticket, grown);
    }

    /**
     * The event of getting an item, for composing with other events (a timeout, another
     * pool, a channel). Its branches register on this pool and on the arena only while a
     * sync is in progress, and are withdrawn when the sync ends.
     */
    public Event<Long> getEvent() {
        return switch (strategy) {
            case NACK -> Events.choose(putEvent, growBranch());
            case LOW_WATER_PRIME -> putEvent;
            case NAIVE, PENDING_GROW_COUNT -> Events.guard(() -> mayGrowNow() ? growBranch() : putEvent);
        };
    }

    /** A grow under a fresh ticket, whose nack releases the ticket's reservation. */
    private Event<Long> growBranch() {
        return Events.withNack(nack -> {
            GrowTicket ticket = new GrowTicket();
            nack.onNack(() -> release(ticket));
            return new GrowEvent(this, ticket).wrap(address -> growWith(ticket, address));
        });
    }

    private long timedWait(Event<Long> event) throws InterruptedException {
        long start = System.nanoTime();
        try {
            return event.sync();
        } finally {
            long waited = System.nanoTime() - start;
            lock.lock();
            try {
                waits++;
                waitNanos += waited;
            } finally {
                lock.unlock();
            }
        }
    }

    // ---------------------------------------------------------------------- put

    /**
     * Returns an item. If a get is waiting, the item goes straight to the oldest waiter.
     *
     * @throws IllegalArgumentException the address is not an item of this pool, not the
     *                                  start of one, or already free; nothing changes
     * @throws IllegalStateException    the pool is closed
     */
    public void put(long address) {
        Waiter<Long> receiver = null;
        Slab toArena = null;
        lock.lock();
        try {
            checkOpen("put");
            Slab slab = slabs.find(address);
            if (slab == null) {
                throw new IllegalArgumentException("put(" + hex(address) + "): address is not an item of pool '" + name + "'");
            }
            long offset = address - slab.base;
            long index = strideShift >= 0 ? offset >>> strideShift : offset / stride;
            if (index * stride != offset || index >= itemsPerSlab) {
                throw new IllegalArgumentException("put(" + hex(address) + "): address is not the start of an item of pool '"
                        + name + "' (item size " + itemSize + ", stride " + stride + ")");
            }
            if (!slab.isInUse((int) index)) {
                throw new IllegalArgumentException("put(" + hex(address) + "): item of pool '" + name + "' is already free (double free?)");
            }
            releases++;
            receiver = claimOldestPutWaiter();
            if (receiver != null) {
                requests++;
            } else {
                toArena = giveBack(slab, (int) index);
            }
        } finally {
            lock.unlock();
        }
        if (receiver != null) {
            receiver.complete(address);
        } else if (toArena != null) {
            arena.free(toArena.base, slabBytes);
        }
    }

    /** Under the lock: frees an item; returns its slab when that slab must now go back to the arena. */
    private Slab giveBack(Slab slab, int index) {
        int old = slab.freeCount();
        slab.give(index);
        slabs.moved(slab, old);
        inUse--;
        if (!slab.isIdle()) {
            return null;
        }
        idleSlabs++;
        boolean pendingGrowWantsSpace = strategy == WaitStrategy.PENDING_GROW_COUNT && pending > 0;
        if (idleSlabs > highWater || pendingGrowWantsSpace) {
            detach(slab);
            return slab;
        }
        return null;
    }

    // --------------------------------------------------------------- slab supply

    /** Gives idle slabs beyond {@code lowWater} back to the arena; returns how many went. */
    public int reclaim() {
        List<Slab> gone = new ArrayList<>();
        lock.lock();
        try {
            checkOpen("reclaim");
            Slab idle;
            while (idleSlabs > lowWater && (idle = slabs.anyIdle()) != null) {
                detach(idle);
                gone.add(idle);
            }
        } finally {
            lock.unlock();
        }
        for (Slab slab : gone) {
            arena.free(slab.base, slabBytes);
        }
        return gone.size();
    }

    /**
     * Grows the pool, without waiting, until it holds at least {@code items} items or the
     * hard limit or the arena stops it; returns the items it holds.
     */
    public long prime(long items) {
        while (true) {
            GrowTicket ticket = new GrowTicket();
            lock.lock();
            try {
                checkOpen("prime");
                if (made >= items || !canReserve()) {
                    return made;
                }
                reserve(ticket);
            } finally {
                lock.unlock();
            }
            long address = allocSlabOrRelease(ticket);
            if (address == 0) {
                lock.lock();
                try {
                    return made;
                } finally {
                    lock.unlock();
                }
            }
            addSlab(ticket, address, false);
        }
    }

    /** Under the lock: removes an idle slab from the pool (the caller frees it to the arena after unlocking). */
    private void detach(Slab slab) {
        slabs.remove(slab);
        idleSlabs--;
        made -= itemsPerSlab;
        shrinks++;
        serveGrowWaiters();
    }

    // ------------------------------------------------------------- event plumbing

    /** Under no lock: the fast path; 0 when the pool has no free item. */
    private long takeFast() {
        lock.lock();
        try {
            checkOpen("get");
            return take();
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: takes an item from the fullest slab with one free; 0 when none. */
    private long take() {
        Slab slab = slabs.fullestWithFree();
        if (slab == null) {
            return 0;
        }
        int old = slab.freeCount();
        if (old == itemsPerSlab) {
            idleSlabs--;
        }
        int index = slab.take();
        slabs.moved(slab, old);
        inUse++;
        requests++;
        highMark = Math.max(highMark, inUse);
        return slab.base + index * stride;
    }

    /** {@link PutEvent}'s poll. */
    Long pollItem() {
        long address = takeFast();
        return address == 0 ? null : address;
    }

    /** {@link PutEvent}'s registration: claim and take a free item, or queue for a put. */
    Registration registerForPut(Waiter<Long> waiter) {
        long address;
        lock.lock();
        try {
            checkOpen("get");
            if (slabs.fullestWithFree() == null) {
                WaitQueue.Node<Long> node = new WaitQueue.Node<>(waiter);
                putWaiters.addLast(node);
                publishWaiters();
                return () -> cancelPut(node);
            }
            if (!waiter.claim()) {
                return Registration.NONE;
            }
            address = take();
        } finally {
            lock.unlock();
        }
        waiter.complete(address);
        return Registration.NONE;
    }

    private void cancelPut(WaitQueue.Node<Long> node) {
        lock.lock();
        try {
            putWaiters.remove(node);
            publishWaiters();
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@link GrowEvent}'s poll: when the pool is empty, may grow, and the arena has a slab
     * now, reserve and take it; the caller (the wrap) turns it into a slab.
     */
    Long tryGrowNow(GrowTicket ticket) {
        lock.lock();
        try {
            checkOpen("get");
            if (slabs.fullestWithFree() != null || growWaiters.liveHead() != null || !canReserve()) {
                return null;
            }
            reserve(ticket);
        } finally {
            lock.unlock();
        }
        long address = allocSlabOrRelease(ticket);
        return address == 0 ? null : address;
    }

    /** {@link GrowEvent}'s registration: reserve and forward to the arena now, or queue for capacity. */
    Registration registerForGrow(GrowRequest request) {
        lock.lock();
        try {
            checkOpen("get");
            // a ticket still reserved is a re-registration after an abandoned claim (the sync
            // withdraws and registers again): it already holds its capacity, so it goes straight on
            boolean holdsCapacity = request.ticket.state == GrowTicket.State.RESERVED;
            if (holdsCapacity || (growWaiters.liveHead() == null && canReserve())) {
                forward(request);
            } else {
                growWaiters.addLast(request);
            }
        } finally {
            lock.unlock();
        }
        return () -> cancelGrow(request);
    }

    private void cancelGrow(GrowRequest request) {
        Registration inArena;
        lock.lock();
        try {
            growWaiters.remove(request);
            inArena = request.inArena;
            request.inArena = null;
        } finally {
            lock.unlock();
        }
        if (inArena != null) {
            inArena.cancel();
        }
    }

    /** Under the lock: reserve the request's ticket and register its waiter in the arena's queue. */
    private void forward(GrowRequest request) {
        if (request.ticket.state != GrowTicket.State.RESERVED) {
            reserve(request.ticket);
        }
        request.inArena = BaseEvent.forward(slabSpace, request.waiter());
    }

    /** Under the lock, after capacity came back: forward the oldest grows waiting for it. */
    private void serveGrowWaiters() {
        GrowRequest head;
        while (canReserve() && (head = growWaiters.liveHead()) != null) {
            growWaiters.remove(head);
            forward(head);
        }
    }

    /** The nack of a grow branch: give back its reservation, if it still holds one. */
    private void release(GrowTicket ticket) {
        lock.lock();
        try {
            if (ticket.state == GrowTicket.State.RESERVED) {
                ticket.state = GrowTicket.State.RELEASED;
                pending -= itemsPerSlab;
                serveGrowWaiters();
            }
        } finally {
            lock.unlock();
        }
    }

    /** The wrap of a won grow: make the slab, take an item for the syncing thread, serve other waiters from it. */
    long growWith(GrowTicket ticket, long address) {
        return addSlab(ticket, address, true);
    }

    private long addSlab(GrowTicket ticket, long address, boolean takeOne) {
        List<Waiter<Long>> receivers = null;
        List<Long> items = null;
        long mine = 0;
        lock.lock();
        try {
            if (ticket.state != GrowTicket.State.RESERVED) {
                throw new IllegalStateException("pool '" + name + "': grow ticket is " + ticket.state + ", expected RESERVED");
            }
            ticket.state = GrowTicket.State.CONSUMED;
            pending -= itemsPerSlab;
            made += itemsPerSlab;
            grows++;
            slabs.add(new Slab(address, itemsPerSlab));
            idleSlabs++;
            if (takeOne) {
                mine = take();
            }
            Waiter<Long> receiver;
            while (slabs.fullestWithFree() != null && (receiver = claimOldestPutWaiter()) != null) {
                if (receivers == null) {
                    receivers = new ArrayList<>();
                    items = new ArrayList<>();
                }
                receivers.add(receiver);
                items.add(take());
            }
        } finally {
            lock.unlock();
        }
        for (int i = 0; receivers != null && i < receivers.size(); i++) {
            receivers.get(i).complete(items.get(i));
        }
        return mine;
    }

    /** Asks the arena for a slab without waiting; on failure or error releases the reservation. */
    private long allocSlabOrRelease(GrowTicket ticket) {
        long address = 0;
        try {
            address = arena.tryAlloc(slabBytes, slabAlign);
        } finally {
            if (address == 0) {
                release(ticket);
            }
        }
        return address;
    }

    private boolean mayGrowNow() {
        lock.lock();
        try {
            return slabs.fullestWithFree() == null && canReserve();
        } finally {
            lock.unlock();
        }
    }

    private boolean canReserve() {
        return made + pending + itemsPerSlab <= hardLimit;
    }

    private void reserve(GrowTicket ticket) {
        ticket.state = GrowTicket.State.RESERVED;
        pending += itemsPerSlab;
    }

    private void countFailure() {
        lock.lock();
        try {
            failures++;
        } finally {
            lock.unlock();
        }
    }

    private void checkOpen(String call) {
        if (closed) {
            throw new IllegalStateException(call + ": pool '" + name + "' is closed");
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Returns every slab to the arena. Refuses, loudly, while items are in use or gets are
     * waiting: closing then would hand memory back that someone still holds.
     *
     * @throws IllegalStateException items in use, gets waiting or grows pending (nothing changes)
     */
    @Override
    public void close() {
        List<Slab> all;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            if (inUse > 0 || pending > 0 || !putWaiters.isEmpty() || !growWaiters.isEmpty()) {
                throw new IllegalStateException("close: pool '" + name + "' has " + inUse + " items in use, " + pending
                        + " items of pending grows and " + (putWaiters.size() + growWaiters.size())
                        + " waiting registrations; put every item back first");
            }
            closed = true;
            all = slabs.all();
            for (Slab slab : all) {
                slabs.remove(slab);
            }
            made = 0;
            idleSlabs = 0;
        } finally {
            lock.unlock();
        }
        for (Slab slab : all) {
            arena.free(slab.base, slabBytes);
        }
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
        return itemSize;
    }

    public int itemsPerSlab() {
        return itemsPerSlab;
    }

    public long slabBytes() {
        return slabBytes;
    }

    public Arena arena() {
        return arena;
    }

    public WaitStrategy waitStrategy() {
        return strategy;
    }

    /**
     * Under the lock: takes the oldest put waiter off the queue whose claim succeeds,
     * dropping those whose sync was already won elsewhere; null when none is left. The
     * caller must complete it (after unlocking).
     */
    private Waiter<Long> claimOldestPutWaiter() {
        WaitQueue.Node<Long> head;
        Waiter<Long> claimed = null;
        while (claimed == null && (head = putWaiters.liveHead()) != null) {
            putWaiters.remove(head);
            if (head.waiter().claim()) {
                claimed = head.waiter();
            }
        }
        publishWaiters();
        return claimed;
    }

    /** Under the lock: republishes the put-waiter count, writing the volatile only when it changed (a write is a fence). */
    private void publishWaiters() {
        int size = putWaiters.size();
        if (waitingForPut != size) {
            waitingForPut = size;
        }
    }

    /**
     * True when some get is waiting for a put: read without the lock (a volatile read),
     * for caches that must not park items while a get waits. May be momentarily stale.
     */
    public boolean hasWaiters() {
        return waitingForPut > 0;
    }

    /** Registrations waiting on this pool (for a put, or for capacity to grow). */
    public int waiters() {
        lock.lock();
        try {
            return putWaiters.size() + growWaiters.size();
        } finally {
            lock.unlock();
        }
    }

    public PoolStats stats() {
        lock.lock();
        try {
            return new PoolStats(name, itemSize, itemsPerSlab, requests, failures, releases, grows, shrinks,
                    slabs.slabs(), idleSlabs, inUse, pending, highMark, waits, waitNanos,
                    putWaiters.size() + growWaiters.size());
        } finally {
            lock.unlock();
        }
    }

    /** Checks slabs, lookup, counts and queues against each other; throws IllegalStateException on the first broken invariant. */
    public void checkInvariants() {
        lock.lock();
        try {
            long free = slabs.check(name);
            String broken = null;
            if (made != (long) slabs.slabs() * itemsPerSlab) {
                broken = "made " + made + " but " + slabs.slabs() + " slabs";
            } else if (free != made - inUse) {
                broken = free + " free items but made " + made + " - in use " + inUse;
            } else if (idleSlabs != slabs.idle()) {
                broken = "idle count " + idleSlabs + " but " + slabs.idle() + " idle slabs";
            } else if (made + pending > hardLimit) {
                broken = "made " + made + " + pending " + pending + " exceeds the hard limit " + hardLimit;
            } else if (pending < 0 || pending % itemsPerSlab != 0) {
                broken = "pending " + pending + " is not a whole number of slabs";
            } else if (free > 0 && putWaiters.liveHead() != null) {
                broken = free + " free items while gets wait for a put";
            }
            if (broken != null) {
                throw new IllegalStateException("pool '" + name + "' invariant broken: " + broken);
            }
            putWaiters.check("pool '" + name + "'");
            growWaiters.check("pool '" + name + "'");
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "Pool['" + name + "', item " + itemSize + " B, " + itemsPerSlab + " a slab of " + slabBytes + " B, " + strategy + "]";
    }

    static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }

    /** A grow registration: its ticket, and its forwarded registration in the arena once it has one. */
    static final class GrowRequest extends WaitQueue.Node<Long> {
        final GrowTicket ticket;
        /** Set under the pool lock when forwarded; cancelled when the branch loses. */
        Registration inArena;

        GrowRequest(Waiter<Long> waiter, GrowTicket ticket) {
            super(waiter);
            this.ticket = ticket;
        }
    }

    /**
     * Configures a {@link Pool}. Defaults: alignment 16, the fewest pages that hold one
     * item, no hard limit, low water 0, high water 1, {@link WaitStrategy#NACK}.
     */
    public static final class Builder {
        private final String name;
        private final long itemSize;
        private int slabPages;
        private long align = 16;
        private long hardLimit = Long.MAX_VALUE;
        private int lowWater;
        private int highWater = 1;
        private boolean highWaterSet;
        private WaitStrategy strategy = WaitStrategy.NACK;

        private Builder(String name, long itemSize) {
            this.name = Objects.requireNonNull(name, "name");
            this.itemSize = itemSize;
        }

        /** Pages in a slab: the contiguous run one grow takes from the arena. */
        public Builder slabPages(int pages) {
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
            this.highWater = slabs;
            this.highWaterSet = true;
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
         */
        public Pool build(Arena arena) {
            Objects.requireNonNull(arena, "arena");
            if (name.isEmpty()) {
                throw new IllegalArgumentException("pool name is empty");
            }
            if (itemSize <= 0) {
                throw new IllegalArgumentException("pool '" + name + "': item size " + itemSize + " is not positive");
            }
            if (align <= 0 || Long.bitCount(align) != 1) {
                throw new IllegalArgumentException("pool '" + name + "': alignment " + align + " is not a power of two");
            }
            long page = VirtualRegion.pageSize();
            long stride = (itemSize + align - 1) & -align;
            long pages = slabPages != 0 ? slabPages : Math.max(1, (stride + page - 1) / page);
            if (pages <= 0) {
                throw new IllegalArgumentException("pool '" + name + "': slab pages " + slabPages + " is not positive");
            }
            long slabBytes = pages * page;
            if (itemSize > slabBytes) {
                throw new IllegalArgumentException("pool '" + name + "': item size " + itemSize + " is larger than a slab of "
                        + pages + " pages (" + slabBytes + " bytes)");
            }
            if (slabBytes % arena.quantum() != 0) {
                throw new IllegalArgumentException("pool '" + name + "': a slab of " + slabBytes
                        + " bytes is not a multiple of the arena quantum " + arena.quantum());
            }
            long perSlab = Math.min(slabBytes / stride, Integer.MAX_VALUE);
            if (hardLimit < perSlab) {
                throw new IllegalArgumentException("pool '" + name + "': hard limit " + hardLimit
                        + " is below one slab of " + perSlab + " items");
            }
            if (lowWater < 0 || (long) lowWater * perSlab > hardLimit) {
                throw new IllegalArgumentException("pool '" + name + "': low water " + lowWater + " slabs of " + perSlab
                        + " items is not in [0, hard limit " + hardLimit + "]");
            }
            int high = highWaterSet ? highWater : Math.max(highWater, lowWater);
            if (high < lowWater) {
                throw new IllegalArgumentException("pool '" + name + "': high water " + high + " is below low water " + lowWater);
            }
            highWater = high;
            long want = lowWater * perSlab;
            if (strategy == WaitStrategy.LOW_WATER_PRIME) {
                if (hardLimit == Long.MAX_VALUE) {
                    throw new IllegalArgumentException("pool '" + name + "': LOW_WATER_PRIME primes to the hard limit; set one");
                }
                want = hardLimit / perSlab * perSlab;
                highWater = Integer.MAX_VALUE; // keep everything primed: no put returns a slab
            }
            Pool pool = new Pool(this, arena, stride, (int) perSlab, slabBytes);
            long have = pool.prime(want);
            if (have < want) {
                pool.close();
                throw new IllegalStateException("pool '" + name + "': the arena gave only " + have + " of the " + want
                        + " items to prime; " + arena.stats());
            }
            return pool;
        }
    }
}

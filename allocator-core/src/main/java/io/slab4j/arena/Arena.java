package io.slab4j.arena;

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
 * A vmem-style arena (Bonwick &amp; Adams, "Magazines and Vmem", USENIX 2001): hands out
 * spans of a fixed address range {@code [base, base + size)} in multiples of a quantum.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>quantum</b>: the unit of allocation, a power of two; sizes round up to it.
 *   <li><b>span</b>: an allocated run of quanta, freed with the address and size it was
 *       allocated with.
 *   <li><b>segment</b>: a boundary tag, free or allocated; segments tile the range
 *       ({@link SegmentTable}).
 *   <li><b>backing</b>: over a {@link VirtualRegion} a span is committed
 *       ({@code mprotect}) before it is handed out and decommitted ({@code madvise} +
 *       {@code mprotect(PROT_NONE)}) when it is freed, so resident memory follows
 *       allocation; the quantum is then a multiple of the page size. Over a plain
 *       address range nothing calls the OS (for tests and for managing ranges someone
 *       else maps).
 * </ul>
 *
 * <h2>Allocate ({@link #tryAlloc(long, long)})</h2>
 * <ol>
 *   <li>Validate size and alignment (nothing changes on a bad argument).
 *   <li>Under the lock: if waiters are queued, fail (newcomers do not overtake the
 *       queue, see Waits below); else pick a segment by the {@link Fit} policy
 *       and carve the span out of it.
 *   <li>Outside the lock: commit the span through the backing. If that fails, the span
 *       goes back and the {@code NativeMemoryException} propagates.
 * </ol>
 * <h2>Free ({@link #free})</h2>
 * <ol>
 *   <li>Under the lock: find the span by its start and check its size; mark it
 *       releasing (a second free of it now fails, and nobody can reuse it yet).
 *   <li>Outside the lock: decommit it.
 *   <li>Under the lock: mark it free, coalesce with free neighbours, then offer space to
 *       the waiters, oldest first.
 * </ol>
 *
 * <h2>Waits ({@link #allocEvent})</h2>
 * Registrations queue in a {@link WaitQueue}, strictly first come, first served, like a
 * fair lock. A free (or a waiter leaving the head) offers space to the oldest live
 * registration only; when that one does not fit, nobody behind it is served, and while
 * anyone is queued a newcomer ({@code tryAlloc}, the poll of an {@code allocEvent}) takes
 * no space either. So a large request at the head is never starved by a stream of small
 * ones (vmem wakes every waiter and lets them race, which the small ones win). The price
 * is head-of-line blocking: a small request that would fit waits behind a large one that
 * does not. Each registration is claimed before anything is carved for it, so nothing is
 * taken on behalf of a waiter who has left.
 *
 * <h2>Concurrency</h2>
 * All methods are thread-safe. One {@link ReentrantLock} guards the segment table, the
 * waiter queue and the counters; OS calls (commit, decommit) run outside it, on spans
 * the calling thread alone holds. {@link #stats()} and {@link #checkInvariants()} take
 * the lock and see a consistent state.
 */
public final class Arena {
    private final long base;
    private final long size;
    private final long quantum;
    private final int quantumShift;
    private final Fit fit;
    private final VirtualRegion region;

    /** Guards every field below. Not fair: the waiter queue gives fairness where it matters. */
    final ReentrantLock lock = new ReentrantLock();
    private final SegmentTable segments;
    private final WaitQueue<SpanRequest> waiters = new WaitQueue<>();
    private long allocations;
    private long frees;
    private long failures;

    private Arena(Builder b) {
        this.base = b.base;
        this.size = b.size;
        this.quantum = b.quantum;
        this.quantumShift = Long.numberOfTrailingZeros(b.quantum);
        this.fit = b.fit;
        this.region = b.region;
        this.segments = new SegmentTable((int) (size >>> quantumShift), base >>> quantumShift);
    }

    /** An arena over the whole of {@code region}; spans are committed when allocated and decommitted when freed. */
    public static Builder builder(VirtualRegion region) {
        Objects.requireNonNull(region, "region");
        if (!region.isOpen()) {
            throw new IllegalStateException("cannot build an arena over closed " + region);
        }
        return new Builder(region, region.address(), region.size());
    }

    /** An arena over a plain address range that it never commits, touches or maps (tests, ranges mapped elsewhere). */
    public static Builder builder(long base, long size) {
        return new Builder(null, base, size);
    }

    // ---------------------------------------------------------------- allocation

    /** Allocates {@code size} bytes (rounded up to the quantum) at quantum alignment; 0 when nothing fits now. */
    public long tryAlloc(long size) {
        return tryAlloc(size, quantum);
    }

    /**
     * Allocates {@code size} bytes (rounded up to the quantum) at an address that is a
     * multiple of {@code align}; returns the address, or 0 when no free segment fits or
     * other requests are already waiting for space. Never blocks.
     *
     * @throws IllegalArgumentException size ≤ 0 or larger than the arena; align not a
     *                                  power of two or below the quantum
     */
    public long tryAlloc(long size, long align) {
        return allocateNow(quantaFor(size, "tryAlloc"), alignQuanta(align, "tryAlloc"));
    }

    /** The non-waiting path of {@code tryAlloc} and of an {@link AllocEvent}'s poll: a committed span, or 0. */
    long allocateNow(int n, long alignQ) {
        checkRegionOpen();
        long address;
        lock.lock();
        try {
            address = allocateLocked(n, alignQ);
        } finally {
            lock.unlock();
        }
        if (address != 0) {
            commitOrUndo(address, n);
        }
        return address;
    }

    /** Under the lock: carve a span for a non-waiting request, or count a failure and return 0. */
    private long allocateLocked(int n, long alignQ) {
        int at = waiters.liveHead() != null ? SegmentTable.NONE : segments.allocate(n, alignQ, fit);
        if (at == SegmentTable.NONE) {
            failures++;
            return 0;
        }
        allocations++;
        return addressOf(at);
    }

    /** Commits a freshly carved span; on failure gives it back (serving waiters with it) and rethrows. */
    private void commitOrUndo(long address, int n) {
        if (region == null) {
            return;
        }
        try {
            region.commit(address - base, (long) n << quantumShift);
        } catch (RuntimeException e) {
            List<SpanRequest> served;
            lock.lock();
            try {
                allocations--;
                segments.free(quantumIndex(address), n, this::describe);
                served = serveLocked();
            } finally {
                lock.unlock();
            }
            handOver(served);
            throw e;
        }
    }

    // ---------------------------------------------------------------------- free

    /**
     * Returns a span: {@code address} and {@code size} as allocated (size rounds up to the
     * quantum as it did then). Coalesces it with free neighbours.
     *
     * @throws IllegalArgumentException the address is not the start of an allocated span
     *                                  (outside the arena, interior, never allocated, or
     *                                  already free) or the size differs; nothing changes
     */
    public void free(long address, long size) {
        int n = quantaFor(size, "free");
        if (address < base || address >= base + this.size || ((address - base) & (quantum - 1)) != 0) {
            throw new IllegalArgumentException("free(" + hex(address) + ", " + size + "): address is not a quantum-aligned address of "
                    + this);
        }
        int at = quantumIndex(address);
        List<SpanRequest> served;
        RuntimeException failure = null;
        if (region == null) {
            lock.lock();
            try {
                segments.free(at, n, this::describe);
                frees++;
                served = serveLocked();
            } finally {
                lock.unlock();
            }
        } else {
            int seg;
            lock.lock();
            try {
                seg = segments.beginRelease(at, n, this::describe);
            } finally {
                lock.unlock();
            }
            try {
                region.decommit(address - base, (long) n << quantumShift);
            } catch (RuntimeException e) {
                failure = e; // the span goes back all the same; waiters served from it must still be handed over
            }
            lock.lock();
            try {
                segments.finishRelease(seg);
                frees++;
                served = serveLocked();
            } finally {
                lock.unlock();
            }
        }
        handOver(served);
        if (failure != null) {
            throw failure;
        }
    }

    // --------------------------------------------------------------------- waits

    /**
     * An event enabled when a span of {@code size} bytes can be carved; syncing on it
     * yields the span's address (committed). Waiters are served first come, first served
     * (see Waits above); a registration withdrawn by a losing choice leaves no
     * trace and nothing is carved on its behalf.
     */
    public BaseEvent<Long> allocEvent(long size) {
        return allocEvent(size, quantum);
    }

    /** As {@link #allocEvent(long)}, at an address that is a multiple of {@code align}. */
    public BaseEvent<Long> allocEvent(long size, long align) {
        return new AllocEvent(this, quantaFor(size, "allocEvent"), alignQuanta(align, "allocEvent"));
    }

    /** Waits up to {@code timeout} for a span; returns its address, or 0 when the time runs out. */
    public long alloc(long size, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        Event<Long> expired = Events.timeout(timeout).wrap(signal -> 0L);
        return Events.choose(allocEvent(size), expired).sync();
    }

    /** Waits as long as it takes for a span; returns its address. */
    public long alloc(long size) throws InterruptedException {
        return allocEvent(size).sync();
    }

    /** Live registrations waiting for space (exact once every sync that registered has returned). */
    public int waiters() {
        lock.lock();
        try {
            return waiters.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The registration of an {@link AllocEvent}: re-checks under the lock; when the
     * queue is empty and a span fits, claims the offer and carves for it; else queues.
     */
    Registration registerFor(Waiter<Long> waiter, int n, long alignQ) {
        checkRegionOpen(); // a sync re-registers after a failed commit: over a closed region it must fail, not spin
        SpanRequest node = new SpanRequest(waiter, n, alignQ);
        lock.lock();
        try {
            if (waiters.liveHead() != null || !segments.canFit(n, alignQ)) {
                waiters.addLast(node);
                return () -> cancel(node);
            }
            if (!waiter.claim()) {
                return Registration.NONE;
            }
            carveFor(node);
        } finally {
            lock.unlock();
        }
        return handOver(node) ? Registration.NONE : () -> cancel(node);
    }

    private void cancel(SpanRequest node) {
        List<SpanRequest> served;
        lock.lock();
        try {
            waiters.remove(node);
            // The one who left may have been blocking the head of the queue. Serve even when
            // the node is already unlinked: another thread may have dropped it as stale
            // (liveHead) on a path that does not serve, leaving a fitting waiter behind it.
            served = serveLocked();
        } finally {
            lock.unlock();
        }
        handOver(served);
    }

    /**
     * Under the lock: serves the oldest live registrations while the oldest fits. Each is
     * claimed before anything is carved for it; a failed claim means its sync was won by
     * another branch, so it is dropped and the next one is tried.
     */
    private List<SpanRequest> serveLocked() {
        List<SpanRequest> served = null;
        SpanRequest head;
        while ((head = waiters.liveHead()) != null && segments.canFit(head.quanta, head.alignQuanta)) {
            waiters.remove(head);
            if (head.waiter().claim()) {
                carveFor(head);
                if (served == null) {
                    served = new ArrayList<>(2);
                }
                served.add(head);
            }
        }
        return served;
    }

    /** Under the lock, after a successful claim: carves the node's span (known to fit). */
    private void carveFor(SpanRequest node) {
        int at = segments.allocate(node.quanta, node.alignQuanta, fit);
        if (at == SegmentTable.NONE) {
            throw new IllegalStateException("arena invariant broken: a span that fitted could not be carved");
        }
        allocations++;
        node.address = addressOf(at);
    }

    /** Outside the lock: hands each served node its span. */
    private void handOver(List<SpanRequest> served) {
        if (served != null) {
            for (SpanRequest node : served) {
                handOver(node);
            }
        }
    }

    /**
     * Outside the lock: commits a carved span and completes its waiter; returns true. When
     * the commit fails, the span goes back, and the waiter returns unclaimed to the head
     * of the queue, still waiting (its timeout, if any, still runs); returns false.
     */
    private boolean handOver(SpanRequest node) {
        if (region != null) {
            try {
                region.commit(node.address - base, (long) node.quanta << quantumShift);
            } catch (RuntimeException e) {
                lock.lock();
                try {
                    allocations--;
                    segments.free(quantumIndex(node.address), node.quanta, this::describe);
                    node.waiter().abandon();
                    waiters.addFirst(node);
                } finally {
                    lock.unlock();
                }
                return false;
            }
        }
        node.waiter().complete(node.address);
        return true;
    }

    private void checkRegionOpen() {
        if (region != null && !region.isOpen()) {
            throw new IllegalStateException(this + ": its region is closed; nothing can be allocated from it");
        }
    }

    // ------------------------------------------------------------------- queries

    public long base() {
        return base;
    }

    public long size() {
        return size;
    }

    public long quantum() {
        return quantum;
    }

    public Fit fit() {
        return fit;
    }

    /** A consistent snapshot of the counters. */
    public ArenaStats stats() {
        lock.lock();
        try {
            long allocated = segments.allocatedQuanta() << quantumShift;
            return new ArenaStats(size, allocated, region == null ? 0 : allocated, size - allocated,
                    (long) segments.largestFree() << quantumShift, segments.spans(), segments.freeSegments(),
                    waiters.size(), allocations, frees, failures);
        } finally {
            lock.unlock();
        }
    }

    /** Checks the boundary tags, free lists and counters; throws IllegalStateException on the first broken invariant. */
    public void checkInvariants() {
        lock.lock();
        try {
            segments.check();
            waiters.check("arena");
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "Arena[" + hex(base) + ".." + hex(base + size) + ", quantum " + quantum + ", " + fit
                + (region == null ? ", plain range]" : ", over region]");
    }

    // ------------------------------------------------------------------ plumbing

    private int quantaFor(long bytes, String call) {
        if (bytes <= 0 || bytes > size) {
            throw new IllegalArgumentException(call + ": size " + bytes + " is not in [1, " + size + "], the arena's size");
        }
        return (int) ((bytes + quantum - 1) >>> quantumShift);
    }

    private long alignQuanta(long align, String call) {
        if (align < quantum || Long.bitCount(align) != 1) {
            throw new IllegalArgumentException(call + ": alignment " + align
                    + " is not a power of two at least the quantum (" + quantum + ")");
        }
        return align >>> quantumShift;
    }

    private long addressOf(int quantumIndex) {
        return base + ((long) quantumIndex << quantumShift);
    }

    private int quantumIndex(long address) {
        return (int) ((address - base) >>> quantumShift);
    }

    private String describe(long quantumIndex) {
        return hex(base + (quantumIndex << quantumShift));
    }

    static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }

    /** Configures an {@link Arena}: quantum (default: the page size over a region, 4096 over a plain range) and fit. */
    public static final class Builder {
        private final VirtualRegion region;
        private final long base;
        private final long size;
        private long quantum;
        private Fit fit = Fit.INSTANT;

        private Builder(VirtualRegion region, long base, long size) {
            this.region = region;
            this.base = base;
            this.size = size;
            this.quantum = region != null ? VirtualRegion.pageSize() : 4096;
        }

        /** The allocation unit in bytes: a power of two; over a region, a multiple of the page size. */
        public Builder quantum(long bytes) {
            this.quantum = bytes;
            return this;
        }

        public Builder fit(Fit fit) {
            this.fit = Objects.requireNonNull(fit, "fit");
            return this;
        }

        public Arena build() {
            if (quantum <= 0 || Long.bitCount(quantum) != 1) {
                throw new IllegalArgumentException("quantum " + quantum + " is not a power of two");
            }
            if (region != null && quantum % VirtualRegion.pageSize() != 0) {
                throw new IllegalArgumentException("quantum " + quantum + " over a region must be a multiple of the page size "
                        + VirtualRegion.pageSize() + " (spans are committed page by page)");
            }
            if (base <= 0 || (base & (quantum - 1)) != 0) {
                throw new IllegalArgumentException("base " + hex(base) + " is not a positive multiple of the quantum " + quantum
                        + " (0 is the 'no fit' sentinel)");
            }
            if (size <= 0 || (size & (quantum - 1)) != 0) {
                throw new IllegalArgumentException("size " + size + " is not a positive multiple of the quantum " + quantum);
            }
            if (base + size < base) {
                throw new IllegalArgumentException("range " + hex(base) + " + " + size + " overflows the address space");
            }
            if (size / quantum > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("size " + size + " holds " + size / quantum + " quanta of " + quantum
                        + "; at most " + Integer.MAX_VALUE + " are supported: use a larger quantum");
            }
            return new Arena(this);
        }
    }
}

package io.slab4j.arena;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Events;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;
import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A vmem-style arena (Bonwick &amp; Adams, "Magazines and Vmem", USENIX 2001): hands out
 * spans of a fixed address range {@code [base, base + size)} in multiples of a quantum.
 * The protocol it follows as an event source, and its lock order, are in
 * {@code package-info.java}.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>quantum</b>: the unit of allocation, a power of two; sizes round up to it.
 *   <li><b>span</b>: an allocated run of quanta, freed with the address and size it was
 *       allocated with; <b>segment</b>: a run of quanta, free or allocated, tiling the
 *       range; one tag word per quantum marks where segments start and end, so a free
 *       finds its span and its neighbours by arithmetic ({@link TagTable}).
 *   <li><b>backing</b>: what happens to the memory ({@link Backing}): over a
 *       {@link VirtualRegion}, commit chunks ({@link CommitChunks}) commit a span before
 *       it is handed out and release it when freed, so resident memory follows
 *       allocation; over a plain address range nothing calls the OS.
 *   <li><b>cap</b>: {@link Builder#maxCommitted}, the most bytes in allocated spans; a
 *       request beyond it waits (or fails, for {@code tryAlloc}) as when no space fits.
 * </ul>
 *
 * <h2>Allocate ({@link #tryAlloc(long, long)})</h2>
 * <ol>
 *   <li>Validate size and alignment: a request no aligned address of the range, or the
 *       cap, could ever hold is rejected (nothing changes).
 *   <li>Under the lock: place the span by the waiting order below and the {@link Fit}
 *       policy, and carve it.
 *   <li>Outside the lock: commit it. If that fails, the span goes back (one undo path)
 *       and the exception propagates.
 * </ol>
 * <h2>Free ({@link #free})</h2>
 * <ol>
 *   <li>Under the lock: find the span by its start, check its size, mark it releasing
 *       (a second free now fails, and nobody can reuse it yet).
 *   <li>Outside the lock: release its memory. A failure is counted
 *       ({@link ArenaStats#releaseFailures}) and logged, never thrown: once accepted, a
 *       free succeeds, and the pages stay committed until reused as they are, or released
 *       later: pages in a commit chunk that still holds a live span go with that chunk's
 *       last span (its decommit drops them); a whole free chunk whose decommit was refused
 *       goes then too, or by {@link #retryReleases}. Over
 *       a region closed meanwhile (its owner's close racing a trim) the release is moot,
 *       not failed: the memory went with the unmap; nothing is counted or logged.
 *   <li>Under the lock: mark it free, coalesce, serve waiters (below); outside the lock,
 *       commit and hand over their spans.
 * </ol>
 *
 * <h2>Waiting order ({@link #allocEvent}; DESIGN.md "Waiting order in the arena")</h2>
 * Registrations queue first come, first served. The oldest live one, the <em>head</em>,
 * is served as soon as it fits. A head that does not fit keeps a <em>window</em>: the
 * aligned run of its size holding the fewest allocated quanta, chosen once while it is
 * the head. Nobody else is carved from that window, so each free inside it brings the head
 * closer and a stream of small requests cannot starve it; but requests behind the head,
 * and newcomers ({@code tryAlloc}, polls), are served from free space outside the window,
 * which the head could not use before the window clears anyway. So one pinned page under
 * a large waiting request does not stall every small one. A head held back by the cap
 * holds everyone back (any carve would delay it), and with a cap, others are served only
 * while the cap keeps room for the head. Each registration is claimed before anything is
 * carved for it, so nothing is taken for a waiter who has left.
 *
 * <h2>Failed commits</h2>
 * A served waiter whose commit fails gets nothing and is not spun on: the span goes back,
 * its claim is abandoned, and until the next free, the next non-waiting call, the next
 * successful commit or a scheduled retry the arena queues registrations instead of serving
 * them, so the waiter keeps waiting (until its own timeout, if it has one) and is retried
 * once per such event, never in a loop of its own. The retry makes sure a waiter is tried
 * again when the OS recovers even if nothing else ever calls the arena: each failed commit
 * schedules one, 50 ms after the first failure, the delay doubling up to 1 s while commits
 * keep failing, on one shared daemon thread ({@code slab4j-commit-retry}) that exists only
 * while retries are due. A call that may wait does so too when the commit of its own first
 * try fails ({@code alloc} with no or a positive timeout, a sync of an {@link #allocEvent}):
 * it reads the failure as missing space and waits, retried as above (a poll of the event
 * reads it as not ready). A non-waiting caller ({@code tryAlloc}, {@code alloc} with a zero
 * or negative timeout) sees the exception. Every failure is counted
 * ({@link ArenaStats#commitFailures}) and logged as a warning with the OS's exception where it
 * happened, whoever's call it was, on the 1st, 2nd, 4th, 8th... failure (a lasting one must
 * not flood the log). A commit refused because the region closed meanwhile is no such
 * failure: not counted, not logged, and it pauses nothing. Over a closed region every call but {@code free} fails with
 * {@link IllegalStateException}, waiters included: the region's close releases every waiter
 * blocked at that moment ({@link VirtualRegion#onClose}), which then throws it.
 *
 * <h2>Concurrency</h2>
 * All methods are thread-safe. One {@link ReentrantLock} guards the tag table, the
 * waiter queue, the head's window and the counters ({@link ArenaCounts}); commits and
 * releases run outside it, on spans the calling thread alone holds ({@link Handover}: the
 * serve and hand-over path, the undo of a failed commit, the release of a freed span).
 * {@link #stats()} and {@link #checkInvariants()} take the lock and see a consistent state.
 *
 * <p>One read runs outside the lock: {@link #isAllocated} of a span shorter than
 * {@code 8192} quanta reads the span's head tag alone, a 16-bit word that a store never tears.
 * It is exact for the span's holder: the carve that wrote the word {@code ALLOCATED, n}
 * happened before the holder received the address, and nobody rewrites an allocated span's
 * head but its own free (neighbours' frees and carves write their own heads and feet and
 * the words inside free segments). For anyone else the read is a data race with the
 * locked writers, and the memory model lets it return any value written there that no
 * happens-before edge hides: never one older than a free the caller's thread knows of
 * (program order, or a lock, volatile or join from the freeing thread), since that free's
 * {@code RELEASING} write hides it. A word the race does return was that word's value at
 * a moment when the span was allocated, so the answer is one a locked read could have
 * given: between carve and commit a locked read sees {@code ALLOCATED} too. The tag
 * leaves are published by a plain store under the lock and never removed; a reader that
 * sees no leaf reads 0 (not allocated), which for the holder cannot happen, by the same
 * happens-before edge.
 */
public final class Arena {
    private static final System.Logger LOG = System.getLogger(Arena.class.getName());
    private static final int NONE = TagTable.NONE;

    private final ArenaGeometry geometry;
    private final long base;
    private final long size;
    private final long quantum;
    private final int quantumShift;
    private final Fit fit;
    private final Backing backing;
    private final long pageSize;
    /** The cap in quanta, and whether one was set (without one the cap is the range and never binds). */
    private final long maxQuanta;
    private final boolean capped;
    /**
     * Guards the tag table, the waiting order and the counts below, for this class and
     * for {@link Handover}'s locked steps. Not fair: the waiter queue gives fairness where it matters.
     */
    private final ReentrantLock lock = new ReentrantLock();
    private final TagTable segments;
    private final WaitingOrder order;
    private final ArenaCounts counts = new ArenaCounts();
    private final Handover handover;

    private Arena(ArenaGeometry g) {
        this.geometry = g;
        this.base = g.base();
        this.size = g.size();
        this.quantum = g.quantum();
        this.quantumShift = Long.numberOfTrailingZeros(g.quantum());
        this.fit = g.fit();
        this.backing = g.backing();
        this.pageSize = g.pageSize();
        this.maxQuanta = g.maxQuanta();
        this.capped = g.capped();
        this.segments = new TagTable((int) (size >>> quantumShift), base >>> quantumShift);
        this.order = new WaitingOrder(segments, fit, maxQuanta, capped, this::describe);
        this.handover = new Handover(this, lock, segments, order, backing, counts, base, quantumShift);
        backing.onClose(handover::releaseWaiters); // no free can serve a waiter once the region is gone
    }

    /** An arena over the whole of {@code region}; spans are committed when allocated and released when freed. */
    public static Builder builder(VirtualRegion region) {
        Objects.requireNonNull(region, "region");
        if (!region.isOpen()) {
            throw new IllegalStateException("cannot build an arena over closed " + region);
        }
        return new Builder(Pages.of(region), region.address(), region.size(), VirtualRegion.pageSize());
    }

    /** An arena over a plain address range that it never commits, touches or maps (tests, ranges mapped elsewhere). */
    public static Builder builder(long base, long size) {
        return new Builder(null, base, size, 0);
    }

    /** An arena over memory reached through {@code pages} (tests: page calls that fail on demand). */
    static Builder builder(Pages pages, long base, long size, int osPageSize) {
        return new Builder(Objects.requireNonNull(pages, "pages"), base, size, osPageSize);
    }

    // ---------------------------------------------------------------- allocation

    /** Allocates {@code size} bytes (rounded up to the quantum) at quantum alignment; 0 when nothing fits now. */
    public long tryAlloc(long size) {
        return tryAlloc(size, quantum);
    }

    /**
     * Allocates {@code size} bytes (rounded up to the quantum) at an address that is a
     * multiple of {@code align}; returns the address, or 0 when nothing may be carved now
     * (no fit, the cap, or the waiting order). Never blocks.
     *
     * @throws IllegalArgumentException size ≤ 0 or beyond the arena or its cap; align not a
     *                                  power of two, below the quantum, or such that no
     *                                  aligned address of the range has room for the size
     * @throws IllegalStateException    the region is closed
     * @throws io.slab4j.nativemem.NativeMemoryException the commit failed (nothing taken)
     */
    public long tryAlloc(long size, long align) {
        int n = quantaFor(size, "tryAlloc");
        return allocateNow(n, alignQuanta(align, n, "tryAlloc"));
    }

    /**
     * The first try of a call that waits when it gets nothing ({@link #alloc(long, Duration)}
     * with a positive timeout, and an {@link AllocEvent}'s poll step): as {@link #allocateNow},
     * but a commit the OS refused reads as no space instead of being thrown. The failure has
     * already been counted, serving paused and a retry scheduled ({@link Handover#commit}), so
     * the caller's registration queues and is tried again. Logged as a waiter's failed commit
     * is (the 1st, 2nd, 4th... failure).
     */
    long allocateBeforeWaiting(int n, long alignQ) {
        try {
            return allocateNow(n, alignQ);
        } catch (NativeMemoryException e) {
            return 0; // counted and logged where it failed (Handover.commit)
        }
    }

    /** The non-waiting path of {@code tryAlloc} and {@code alloc} with no time to wait: a committed span, or 0. */
    long allocateNow(int n, long alignQ) {
        checkOpen();
        if (handover.commitsFailing()) {
            handover.resumeServing(); // each call is one more try for waiters a failed commit left queued
        }
        int at;
        lock.lock();
        try {
            at = order.placeNewcomer(n, alignQ);
            if (at == NONE) {
                counts.failed();
                return 0;
            }
            handover.carvedLocked(at);
        } finally {
            lock.unlock();
        }
        long address = addressOf(at);
        handover.commit(address, n);
        return address;
    }

    // ---------------------------------------------------------------------- free

    /**
     * Returns a span: {@code address} and {@code size} as allocated (size rounds up to the
     * quantum as it did then). Coalesces it with free neighbours and serves waiters. Once
     * the span is accepted this returns normally: a failure to release its memory is
     * counted in {@link ArenaStats#releaseFailures} and logged, and its pages stay
     * committed (a span reused from them then reads old bytes rather than zeros). Over a
     * closed region the span is freed all the same, and since its memory is gone with the
     * region, nothing is counted or logged.
     *
     * @throws IllegalArgumentException the address is not the start of an allocated span
     *                                  (outside the arena, interior, never allocated, or
     *                                  already free) or the size differs; nothing changes
     */
    public void free(long address, long size) {
        int n = quantaFor(size, "free");
        if (address < base || address >= base + this.size || ((address - base) & (quantum - 1)) != 0) {
            throw new IllegalArgumentException("free(" + Hex.of(address) + ", " + size
                    + "): address is not a quantum-aligned address of " + this);
        }
        handover.free(address, size, quantumIndex(address), n);
    }

    /**
     * Tries again to decommit the free commit chunks whose decommit (the protection change
     * that makes them inaccessible) the OS refused before, each refusal counted once in
     * {@link ArenaStats#releaseFailures}, and returns the bytes it made inaccessible now
     * ({@link ArenaStats#accessible} falls by as much). Not retried: pages whose release the OS
     * refused inside a chunk that still holds a live span (they may be reused as they are by
     * then); they go with that chunk's last span. Near
     * {@code vm.max_map_count} the kernel refuses a protection change that would split a
     * mapping; once the neighbours of such memory are free too, the same change merges
     * mappings and is taken. A refusal now is not thrown, counted or logged again (that
     * memory stays as it is, for the next call). Cheap when nothing is pending (an uncontended
     * lock and an empty set); 0 over a plain range or a closed region. A layer above calls it when it gives
     * idle memory back (a {@code BufferPool}'s trim and decay do).
     */
    public long retryReleases() {
        return backing.retryReleases();
    }

    /**
     * Whether an allocated span of {@code size} bytes starts at {@code address}: what
     * {@link #free} would accept at some moment during the call. Changes nothing. A layer
     * that takes spans back from code it does not trust checks one before keeping it.
     *
     * <p>Spans below {@code 8192} quanta (32 MiB at 4 KiB quanta) are checked without the
     * lock, by one read of the span's head tag (class comment, "Concurrency"); longer ones,
     * whose length takes four tag words, under it. Either way the answer is exact for the
     * span's holder, and for any caller whose call happens after the span's free (the same
     * thread, or one that learnt of the free through a lock, a volatile or a join). A call
     * racing a free or an allocation at that address in another thread may see either
     * side of it, as a locked call could.
     */
    public boolean isAllocated(long address, long size) {
        if (size <= 0 || size > this.size || address < base || address >= base + this.size
                || ((address - base) & (quantum - 1)) != 0) {
            return false;
        }
        int n = (int) ((size + quantum - 1) >>> quantumShift);
        int at = quantumIndex(address);
        if (segments.isShortLength(n)) {
            return segments.isShortSpanUnlocked(at, n);
        }
        lock.lock();
        try {
            return segments.isSpan(at, n);
        } finally {
            lock.unlock();
        }
    }

    // --------------------------------------------------------------------- waits

    /**
     * An event enabled when a span of {@code size} bytes can be carved; syncing on it
     * yields the span's address (committed). Waiters are served by the waiting order of
     * the class comment; a registration withdrawn by a losing choice leaves no trace and
     * nothing is carved on its behalf.
     *
     * @throws IllegalArgumentException as {@link #tryAlloc(long, long)}: a request that can never be met
     */
    public BaseEvent<Long> allocEvent(long size) {
        return allocEvent(size, quantum);
    }

    /** As {@link #allocEvent(long)}, at an address that is a multiple of {@code align}. */
    public BaseEvent<Long> allocEvent(long size, long align) {
        int n = quantaFor(size, "allocEvent");
        return new AllocEvent(this, n, alignQuanta(align, n, "allocEvent"));
    }

    /**
     * Tries once, then waits up to {@code timeout} for a span; returns its address, or 0
     * when the time runs out. A zero or negative timeout only tries, so it never misses
     * space that is there, and throws what {@link #tryAlloc(long)} throws; with a positive
     * one, a commit the OS refuses is waited out like missing space (see "Failed commits").
     */
    public long alloc(long size, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        AllocEvent space = (AllocEvent) allocEvent(size);
        if (timeout.isNegative() || timeout.isZero()) {
            return allocateNow(space.quanta, space.alignQuanta);
        }
        long address = allocateBeforeWaiting(space.quanta, space.alignQuanta);
        if (address != 0) {
            return address;
        }
        return Events.choose(space, Events.timeout(timeout).wrap(signal -> 0L)).sync();
    }

    /** Waits as long as it takes for a span; returns its address. */
    public long alloc(long size) throws InterruptedException {
        return allocEvent(size).sync();
    }

    /** Live registrations waiting for space (exact once every sync that registered has returned). */
    public int waiters() {
        lock.lock();
        try {
            return order.size();
        } finally {
            lock.unlock();
        }
    }

    /** The registration of an {@link AllocEvent} ({@link Handover#registerFor}). */
    Registration registerFor(Waiter<Long> waiter, int n, long alignQ) {
        Runnable probe = registerProbe;
        if (probe != null) {
            probe.run();
        }
        // Checks the region is open under the lock (a sync re-registers after a failed commit:
        // over a closed region it must fail, not wait; and the close may come at any moment).
        return handover.registerFor(waiter, n, alignQ);
    }

    /** Test seam: runs before a registration takes the arena lock, where it checks the region is open. */
    volatile Runnable registerProbe;

    void checkOpen() {
        if (!backing.isOpen()) {
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

    /**
     * The page size a client sizes its spans by (a pool's slab is whole pages): the OS page
     * size over a region; over a plain range, which calls no OS, 4096 or the quantum if
     * larger. Needs no native call, so a plain-range arena works on any OS.
     */
    public long pageSize() {
        return pageSize;
    }

    /** The cap on bytes in allocated spans ({@link Builder#maxCommitted}); the arena's size when none was set. */
    public long maxCommitted() {
        return maxQuanta << quantumShift;
    }

    /** The commit chunk in bytes over a region (protections change in whole chunks); 0 over a plain range. */
    public long commitChunk() {
        return backing.chunkBytes();
    }

    /** A consistent snapshot of the counters. */
    public ArenaStats stats() {
        lock.lock();
        try {
            return counts.snapshot(size, segments, order, backing, quantumShift, maxCommitted());
        } finally {
            lock.unlock();
        }
    }

    /**
     * Checks the boundary tags, size-class bins, counters, the waiter queue, the cap and the
     * commit chunks (their counts against the spans when no span is being committed or
     * released); throws IllegalStateException on the first broken invariant.
     */
    public void checkInvariants() {
        lock.lock();
        try {
            segments.check();
            order.check();
            backing.check(handover.inFlight() == 0 ? segments : null, quantumShift);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "Arena[" + Hex.of(base) + ".." + Hex.of(base + size) + ", quantum " + quantum + ", " + fit
                + (backing.touchesMemory() ? ", over region]" : ", plain range]");
    }

    // ------------------------------------------------------------------ plumbing

    private int quantaFor(long bytes, String call) {
        return geometry.quantaFor(bytes, call, this);
    }

    private long alignQuanta(long align, int n, String call) {
        return geometry.alignQuanta(align, n, call, this);
    }

    private long addressOf(int quantumIndex) {
        return base + ((long) quantumIndex << quantumShift);
    }

    private int quantumIndex(long address) {
        return (int) ((address - base) >>> quantumShift);
    }

    /** A quantum index as its address, for messages. */
    String describe(long quantumIndex) {
        return Hex.of(base + (quantumIndex << quantumShift));
    }

    /**
     * Configures an {@link Arena}: quantum (default: the page size over a region, 4096 over
     * a plain range), fit, the cap on committed bytes and, over a region, the commit chunk.
     * {@link #build()} does not change the builder.
     */
    public static final class Builder {
        private final Pages pages;
        private final long base;
        private final long size;
        private final int osPageSize;
        private long quantum;
        private Fit fit = Fit.INSTANT;
        private long maxCommitted;
        private long commitChunk;
        private boolean prefault;
        private boolean hugePages;

        private Builder(Pages pages, long base, long size, int osPageSize) {
            this.pages = pages;
            this.base = base;
            this.size = size;
            this.osPageSize = osPageSize;
            this.quantum = pages != null ? osPageSize : 4096;
        }

        /**
         * The allocation unit in bytes: a power of two; over a region, a multiple of the page size,
         * and the region's address and size must be multiples of it. {@code VirtualRegion.reserve(bytes)}
         * aligns a region to the page only, so for a quantum above the page reserve it with
         * {@code VirtualRegion.reserve(bytes, quantum)}; {@code build()} refuses a region it does not
         * divide with an {@link IllegalArgumentException} saying so.
         */
        public Builder quantum(long bytes) {
            this.quantum = bytes;
            return this;
        }

        public Builder fit(Fit fit) {
            this.fit = Objects.requireNonNull(fit, "fit");
            return this;
        }

        /**
         * The most bytes the arena keeps in allocated spans (over a region: committed for
         * them), rounded down to the quantum: at least one quantum, at most the size.
         * Allocations beyond it wait, or fail for {@code tryAlloc}, exactly as when no
         * space fits; a request larger than the cap is rejected.
         */
        public Builder maxCommitted(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("maxCommitted " + bytes + " must be > 0");
            }
            this.maxCommitted = bytes;
            return this;
        }

        /**
         * Over a region, the granularity of protection changes: a power of two, a multiple
         * of the page size. The region then never holds more than {@code size / bytes}
         * mappings. Default: the larger of 64 KiB and {@code size / 8192}, rounded up to a
         * power of two.
         */
        public Builder commitChunk(long bytes) {
            if (bytes <= 0 || Long.bitCount(bytes) != 1) {
                throw new IllegalArgumentException("commitChunk " + bytes + " is not a power of two");
            }
            this.commitChunk = bytes;
            return this;
        }

        /**
         * Over a region, whether each span is faulted in when it is committed, so its first
         * writes take no page faults: one {@code madvise(MADV_POPULATE_WRITE)} call (Linux
         * 5.14+) per allocation, before the span is handed out, in place of one fault per page
         * at first touch; the span is then resident even where it is never written. It saves
         * the trap of each fault, not the kernel's allocating and zeroing of each page, which
         * with 4 KiB pages is most of the cost: for spans of 2 MiB and more, {@link #hugePages}
         * saves far more. Resident memory still falls when spans are freed. Where the kernel lacks the call it does
         * nothing (pages fill on first touch, as without; logged once); a prefault that fails
         * never fails the allocation. Default: false. Over a plain range, true is rejected at
         * {@link #build()}.
         */
        public Builder prefault(boolean enabled) {
            this.prefault = enabled;
            return this;
        }

        /**
         * Over a region, whether spans of at least a transparent huge page
         * ({@link VirtualRegion#hugePageSize()}: 2 MiB on x86-64) are backed by huge pages:
         * every whole, {@code hugePageSize()}-aligned run inside such a span is advised
         * {@code MADV_HUGEPAGE} when the span is committed and {@code MADV_NOHUGEPAGE} when it
         * is freed, and the rest of the range is advised {@code MADV_NOHUGEPAGE} at build, so no
         * smaller span ever gets (and bloats into) a huge page, even with THP set to
         * {@code always}. A span has such a run only if it holds an aligned one: allocate a
         * 2 MiB span at 2 MiB alignment ({@code tryAlloc(size, VirtualRegion.hugePageSize())})
         * for it to be one huge page; reserve the region with
         * {@code VirtualRegion.reserve(bytes, VirtualRegion.hugePageSize())} so that commit
         * chunks end on huge-page boundaries too. Combine with {@link #prefault} to take the whole span
         * in one go; alone, a huge page is taken at the first touch of its run. Huge pages
         * still go back on free. Where the kernel has none (THP absent or {@code never}) it
         * does nothing; advice that fails never fails an allocation or a free. Default:
         * false. Over a plain range, true is rejected at {@link #build()}.
         */
        public Builder hugePages(boolean enabled) {
            this.hugePages = enabled;
            return this;
        }

        /** Validates the configuration (bad values name themselves) and builds the arena. */
        public Arena build() {
            CommitChunks.Advice advice = new CommitChunks.Advice(prefault, hugePages,
                    hugePages && pages != null ? VirtualRegion.hugePageSize() : 0, base);
            return new Arena(ArenaGeometry.of(pages, base, size, osPageSize, quantum, fit, maxCommitted, commitChunk,
                    advice));
        }
    }
}

package io.slab4j.buffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.ToLongFunction;
import io.slab4j.arena.Arena;
import io.slab4j.event.Event;
import io.slab4j.nativemem.VirtualRegion;

/**
 * Buffers above the largest size class: page-rounded spans straight from the arena, kept
 * committed after close and reused for the next acquire of the same page count, up to a high
 * water mark, so a repeated 1 MiB acquire + close pays no {@code mprotect}/{@code madvise}.
 *
 * <h2>Terms and invariants</h2>
 * <ul>
 *   <li><b>stripe</b>: one of {@code stripes.length} (a power of two, see {@link #stripeCount})
 *       independent caches, each under its own lock. Each thread is given a <b>home</b> stripe
 *       when it first uses the buffer pool (round robin, so two threads get different ones); it
 *       acquires through it, and a handle's close returns to the stripe the handle was counted
 *       in (its {@code Supply}), so one thread's acquire + close takes no lock another thread
 *       takes as well.
 *   <li><b>cached span</b>: closed, still allocated from the arena and committed, idle since
 *       {@code idleSince[i]}: the number of decay passes the pool had run when it was closed
 *       (a counter read instead of the clock, which would cost a {@code nanoTime} a close).
 *       A stripe caches at most {@link #MAX_CACHED_SPANS} spans and
 *       {@code maxStripeBytes} bytes; a close beyond that frees to the arena. So at most
 *       {@code stripes.length * maxStripeBytes} bytes are cached in all (see the constructor).
 *   <li>An acquire tries its home stripe's cache, then every other stripe's (a span of the
 *       size is reused wherever it is cached), then the arena, then evicts cached spans of
 *       every stripe while the arena has no room.
 *   <li>A close frees to the arena instead of caching whenever an acquire of the buffer pool
 *       is blocked. Every arena waiter is such an acquire (the arena is the buffer pool's own,
 *       and only its blocked acquires wait on it, each counted in {@code owner.waiters()} from
 *       before it registers until after it leaves), so cached memory never starves a waiter.
 *       The close reads the count under the stripe's lock, after having taken it: an acquire
 *       that began waiting and then evicted (its make-room pass takes every stripe's lock)
 *       either ran its eviction before this close's critical section (then its count is seen
 *       here) or after it (then it evicts what this close cached).
 *   <li>Spans idle longer than the pool's decay time go back on a decay pass: pass {@code e}
 *       frees the spans stamped {@code e - 2} or earlier, closed before the pass before it, so
 *       idle for at least one period (passes are at least {@code idleDecay} apart) and at most
 *       about two. {@link #trim()} frees all of them now.
 *   <li><b>parked span</b>: in front of its cache, each stripe has a one-span <b>hot slot</b>
 *       ({@code hot}): a close that finds it empty leaves its span there without taking the
 *       stripe's lock, and the next acquire of that size through the stripe takes it back the
 *       same way, so one thread's alternating acquire and close of a large buffer takes no lock
 *       at all. A parked span stays counted in {@code inUse} and {@code inUseBytes} (so
 *       parking and taking back change no counter); the stats subtract it, and count it as
 *       cached. Only spans of at most {@code maxStripeBytes} park, so a stripe holds at most
 *       {@code 2 * maxStripeBytes} idle: its cache and one parked span.
 *   <li>Conservation: per stripe, {@code inUse} counts the spans handed out through it and not
 *       yet released, plus its parked span; the sum over stripes of {@code inUse} less the
 *       parked spans is the number of large buffers open.
 * </ul>
 *
 * <h2>Concurrency</h2>
 * Thread-safe. Each stripe's monitor guards its cache arrays and its two in-use counters. The
 * arena is called with no stripe lock held, and no two stripe locks are ever held at once, so
 * a free that serves arena waiters never runs under one.
 *
 * <p>The hot slot is one long changed only by atomic read-modify-writes: 0 (empty), a parked
 * span ({@link #park}: its page offset in the region and its length, always positive), or
 * {@link #SEALED} (the pool closed). A close parks by CAS 0 → x; an acquire, a reclaimer
 * (trim, make-room, decay, the other stripes' acquires) takes by CAS x → 0; the pool's close
 * seals by getAndSet. These RMWs of one word are totally ordered, each reading the value the
 * previous one wrote, so a parked span is taken by exactly one later winner, which owns it; a
 * loser owns nothing. The park is a volatile write and the winning take a volatile read of it,
 * so the closing holder's writes to the buffer happen-before the next holder's use, and the
 * stripe's counters need no change (they are read and written under the monitor only). A
 * close that parks while an acquire of the buffer pool waits takes the span out again and
 * frees it ({@link Stripe#release}): its park precedes its read of {@code owner.waiters()},
 * and a waiter counts itself before its last try evicts (which takes every parked span), so
 * one of the two sees the other, as for a size class's hot slot ({@link ClassTally}).
 *
 * <h2>Raw marks</h2>
 * A raw release ({@link BufferPool#releaseRaw}) passes an address back from code the pool
 * does not trust, and the arena alone cannot tell whose a span is: a slab of the same length
 * at a stale address looks the same to it, and two racing releases of one span both find it
 * allocated. So a large span handed to a {@link RawHolder} is marked, one byte for its first
 * page ({@code rawOut}): set by a release store before {@code hold} is called (the span is
 * the acquirer's alone then, and the holder receives the address after the store), cleared
 * by the release's CAS 1 → 0, which only one of racing releases wins; the loser is refused
 * before anything is counted. A release first checks that the arena has a span of the
 * token's size there ({@link Arena#isAllocated}), so a mark cannot pass a span of another
 * size. Marks are cleared too when {@code hold} throws and when the leak detector returns a
 * raw span. A handle's span and a slab are never marked, and the next raw holder of a span
 * marks it only after the span came back through the stripe's lock, hot slot or the arena,
 * each a happens-before edge from the clearing. Not caught: a stale release of a span
 * another raw holder now holds with the same size (the holder's guard, {@link BufferPool#releaseRaw}).
 *
 * <p>Layout: every acquire and release of a raw span writes its mark, so two threads working
 * on neighbouring spans must not write one cache line (one byte a page put the marks of two
 * 128 KiB spans 32 bytes apart, and the first page's mark beside the array's length, which
 * every other mark access reads: 31 → 123 ns per Netty allocate + release at t=2, 128 KiB and
 * 1 MiB alike). So a page's mark takes {@code 1 << markShift} bytes, enough that the marks of
 * two spans (at least {@code minSpanPages} apart) lie {@value #MARK_SPACING} bytes apart or
 * more (two cache lines: x86 fetches lines in adjacent pairs), and each leaf has
 * {@value #MARK_SPACING} bytes of padding at both ends. A leaf is 64 KiB of marks; at the
 * default classes (spans from 17 pages) a page takes 8 bytes, a leaf covers 8192 pages
 * (32 MiB at 4 KiB pages): 0.2 % of the range it covers, made only where raw spans go. A
 * page's mark takes at most 16 bytes (0.4 %), so with classes that end below 28 KiB the
 * shortest spans' marks can be closer than that.
 */
final class LargeSpans {
    /** Spans a stripe caches at most. */
    static final int MAX_CACHED_SPANS = 32;
    /** A stripe may cache at least this many bytes (when the pool's high water mark allows it). */
    static final long MIN_STRIPE_BYTES = 2L << 20;
    /** A hot slot's value once the pool closed: never a parked span (those are positive). */
    static final long SEALED = -1L;
    private static final VarHandle HOT;
    private static final VarHandle MARK = MethodHandles.arrayElementVarHandle(byte[].class);
    /** Bytes between the marks of any two spans, and padding at each end of a leaf (class comment, "Layout"). */
    static final int MARK_SPACING = 128;
    /** Log2 of the most bytes a page's mark takes (see {@link #markShift}). */
    static final int MAX_MARK_SHIFT = 4;
    /** Bytes of marks in a leaf (2^16); a leaf is made on first use. */
    static final int RAW_LEAF_BYTES_SHIFT = 16;

    static {
        try {
            HOT = MethodHandles.lookup().findVarHandle(Stripe.class, "hot", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final BufferPool owner;
    private final Arena arena;
    private final Stripe[] stripes;
    private final long maxStripeBytes;
    /** The huge page size when spans of that size or more are placed on huge-page boundaries, else 0. */
    private final long hugeAlign;
    /** The arena's first byte: parked spans are stored as page offsets from it. */
    private final long base;
    private final int pageShift;
    /**
     * A mark a page of the region ({@code 1 << markShift} bytes, the first of which is used): 1 at
     * the first page of a large span that went to a {@link RawHolder} and has not come back,
     * else 0; leaves made when a raw hold first reaches their range. See "Raw marks" and
     * "Layout" in the class comment.
     */
    private final AtomicReferenceArray<byte[]> rawOut;
    /** Log2 of the bytes a page's mark takes (class comment, "Layout"). */
    private final int markShift;
    /** Log2 of the pages a leaf covers: {@code RAW_LEAF_BYTES_SHIFT - markShift}. */
    private final int leafShift;

    /**
     * @param maxCachedBytes the cache's high water mark; each of the stripes may cache
     *                       {@code max(maxCachedBytes / stripes, min(maxCachedBytes, MIN_STRIPE_BYTES))}
     * @param hugeAlign      0, or the huge page size: spans at least that long are first tried
     *                       at that alignment (so the arena's huge-page advice covers whole pages
     *                       of them), and anywhere when no aligned space is free
     * @param minSpanPages   the pages of the shortest span this may be asked for (at least 1):
     *                       sets how far apart the raw marks are (class comment, "Layout")
     */
    LargeSpans(BufferPool owner, Arena arena, long maxCachedBytes, int stripeCount, long hugeAlign, long minSpanPages) {
        if (Integer.bitCount(stripeCount) != 1) {
            throw new IllegalArgumentException("large spans: stripe count " + stripeCount + " is not a power of two");
        }
        this.owner = owner;
        this.arena = arena;
        this.hugeAlign = hugeAlign;
        this.base = arena.base();
        this.pageShift = Integer.numberOfTrailingZeros(VirtualRegion.pageSize());
        this.maxStripeBytes = Math.max(maxCachedBytes / stripeCount, Math.min(maxCachedBytes, MIN_STRIPE_BYTES));
        this.markShift = markShift(minSpanPages);
        this.leafShift = RAW_LEAF_BYTES_SHIFT - markShift;
        long pages = arena.size() >>> pageShift;
        this.rawOut = new AtomicReferenceArray<>((int) ((pages + (1L << leafShift) - 1) >>> leafShift));
        this.stripes = new Stripe[stripeCount];
        for (int i = 0; i < stripeCount; i++) {
            stripes[i] = new Stripe();
        }
    }

    // ------------------------------------------------------------- raw marks

    /**
     * Log2 of the bytes a page's mark takes so that marks of spans {@code minSpanPages} apart
     * lie {@link #MARK_SPACING} bytes apart: 0 for spans of 128 pages and more, 3 (8 bytes) for
     * the default classes' 17; at most {@link #MAX_MARK_SHIFT}, so the marks never take more
     * than 16 bytes a page (0.4 % of the range they cover) and spans shorter than 8 pages (a
     * pool whose classes end below 28 KiB) may share a cache line pair with a neighbour's.
     */
    static int markShift(long minSpanPages) {
        if (minSpanPages < 1) {
            throw new IllegalArgumentException("large spans: a shortest span of " + minSpanPages + " pages");
        }
        long perPage = (MARK_SPACING + minSpanPages - 1) / minSpanPages;
        return Math.min(MAX_MARK_SHIFT, 64 - Long.numberOfLeadingZeros(perPage - 1)); // ceil(log2(perPage)), 0 for 1
    }

    /** The leaf index of the raw mark of the page at {@code address}. */
    private int rawLeaf(long address) {
        return (int) ((address - base) >>> (pageShift + leafShift));
    }

    /** The index of the mark of the page at {@code address} in its leaf, past the leading padding. */
    private int rawSlot(long address) {
        return MARK_SPACING + ((int) (((address - base) >>> pageShift) & ((1L << leafShift) - 1)) << markShift);
    }

    /** The bytes a page's mark takes (for tests). */
    int markBytes() {
        return 1 << markShift;
    }

    /** Marks the span at {@code address} raw-held; its holder has it exclusively, so a plain release store (no atomic) suffices. */
    void markRawOut(long address) {
        int i = rawLeaf(address);
        byte[] leaf = rawOut.get(i);
        if (leaf == null) {
            leaf = new byte[MARK_SPACING + (1 << RAW_LEAF_BYTES_SHIFT) + MARK_SPACING];
            if (!rawOut.compareAndSet(i, null, leaf)) {
                leaf = rawOut.get(i);
            }
        }
        MARK.setRelease(leaf, rawSlot(address), (byte) 1);
    }

    /** Whether the span at {@code address} is marked raw-held. */
    boolean isRawOut(long address) {
        byte[] leaf = rawOut.get(rawLeaf(address));
        return leaf != null && (byte) MARK.getAcquire(leaf, rawSlot(address)) == 1;
    }

    /** Unmarks the span at {@code address} if it is marked: true for exactly one of racing callers, false when it was not marked. */
    boolean claimRawOut(long address) {
        byte[] leaf = rawOut.get(rawLeaf(address));
        return leaf != null && MARK.compareAndSet(leaf, rawSlot(address), (byte) 1, (byte) 0);
    }

    /** Unmarks the span at {@code address} (its holder never got it, or leaked it). */
    void clearRawOut(long address) {
        byte[] leaf = rawOut.get(rawLeaf(address));
        if (leaf != null) {
            MARK.setRelease(leaf, rawSlot(address), (byte) 0);
        }
    }

    /**
     * Spans marked raw-held now, a scan of every leaf: for tests, which compare it with the
     * large buffers open once nothing runs (a scan racing acquires and releases is no snapshot,
     * so {@link #checkInvariants}, which may run at any time, does not).
     */
    long rawOutCount() {
        long n = 0;
        for (int i = 0; i < rawOut.length(); i++) {
            byte[] leaf = rawOut.get(i);
            if (leaf != null) {
                for (int k = 0; k < leaf.length; k++) {
                    n += (byte) MARK.getAcquire(leaf, k);
                }
            }
        }
        return n;
    }

    /** The stripe count for this machine: the processor count rounded up to a power of two, in [2, 8]. */
    static int stripeCount() {
        int n = Runtime.getRuntime().availableProcessors();
        int pow = Integer.highestOneBit(Math.max(1, n - 1)) << 1;
        return Math.min(8, Math.max(2, pow));
    }

    /** A parked span's hot-slot value: its page offset in the high half, its length (below 2^31) in the low; positive. */
    long park(long address, long bytes) {
        return ((address - base) >>> pageShift) << 32 | bytes;
    }

    /** The address of the parked span {@code x}. */
    long addressOf(long x) {
        return base + ((x >>> 32) << pageShift);
    }

    /** The length of the parked span {@code x}. */
    static long bytesOf(long x) {
        return x & 0xFFFF_FFFFL;
    }

    /** The home stripe for the {@code i}-th thread to use the pool. */
    Stripe stripe(int i) {
        return stripes[i & (stripes.length - 1)];
    }

    /**
     * A cached span of exactly {@code bytes} (home first, then the other stripes), else arena
     * space now (evicting cached spans if that makes room), else 0. The span is counted in
     * {@code home}.
     */
    long tryTake(long bytes, Stripe home) {
        long address = home.pollHot(bytes);
        if (address != 0 || (address = home.takeCached(bytes, true)) != 0) {
            return address;
        }
        for (Stripe s : stripes) {
            if (s != home && ((address = s.takeCached(bytes, false)) != 0 || (address = s.moveHot(bytes)) != 0)) {
                home.taken(bytes);
                return address;
            }
        }
        address = allocNow(bytes);
        while (address == 0 && evictOne()) {
            address = allocNow(bytes);
        }
        if (address != 0) {
            home.taken(bytes);
        }
        return address;
    }

    /** Arena space now: on a huge-page boundary first when the span holds a huge page, else anywhere; 0 when there is none. */
    private long allocNow(long bytes) {
        if (hugeAlign != 0 && bytes >= hugeAlign) {
            long address = arena.tryAlloc(bytes, hugeAlign);
            if (address != 0) {
                return address;
            }
        }
        return arena.tryAlloc(bytes);
    }

    /** The wait for arena space of {@code bytes} (anywhere: a waiter takes the first fit, aligned or not); the caller counts the span with {@link Stripe#taken} once it has it. */
    Event<Long> takeEvent(long bytes) {
        return arena.allocEvent(bytes);
    }

    /**
     * Frees one cached span (the oldest of the first stripe that has one) to the arena; false
     * when none is cached. Parked spans are left to the buffer pool's make-room pass ({@link #trim}).
     */
    boolean evictOne() {
        for (Stripe s : stripes) {
            if (s.evictOldest(Long.MAX_VALUE, false)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Decay pass {@code epoch}: frees the cached spans stamped {@code epoch - 2} or earlier, and
     * each parked span the previous pass found parked too (so idle, like a cached one, for
     * between one and about two periods; a span taken and parked again in between looks the
     * same and goes back early, which costs its next acquire a fresh span, nothing more).
     */
    void decay(int epoch) {
        long cutoff = epoch - 2L;
        for (Stripe s : stripes) {
            s.decayHot();
            while (s.evictOldest(cutoff, true)) {
                // one span a pass, none under the lock
            }
        }
    }

    void trim() {
        for (Stripe s : stripes) {
            s.freeHot();
            while (s.evictOldest(Long.MAX_VALUE, false)) {
                // one span a pass, none under the lock
            }
        }
    }

    long buffersInUse() {
        return sum(s -> s.inUse - s.parkedCount());
    }

    long bytesInUse() {
        return sum(s -> s.inUseBytes - bytesOf(s.parked()));
    }

    /** Bytes of idle spans: cached and parked. */
    long cachedBytes() {
        return sum(s -> s.cachedBytes + bytesOf(s.parked()));
    }

    /** Idle spans: cached and parked. */
    int cachedSpans() {
        return (int) sum(s -> s.count + s.parkedCount());
    }

    /** The sum of one stripe counter over every stripe, each read under its stripe's lock. */
    private long sum(ToLongFunction<Stripe> counter) {
        long n = 0;
        for (Stripe s : stripes) {
            synchronized (s) {
                n += counter.applyAsLong(s);
            }
        }
        return n;
    }

    int stripes() {
        return stripes.length;
    }

    /** Stripes whose hot slot holds a span now, for tests. */
    int parkedSpans() {
        return (int) sum(Stripe::parkedCount);
    }

    long maxStripeBytes() {
        return maxStripeBytes;
    }

    void checkInvariants() {
        for (int k = 0; k < stripes.length; k++) {
            stripes[k].check(k);
        }
    }

    /** Seals the hot slots and forgets cached and parked spans (the region is about to be unmapped). */
    void close() {
        for (Stripe s : stripes) {
            long x = (long) HOT.getAndSet(s, SEALED);
            synchronized (s) {
                if (x > 0) {
                    s.countOut(bytesOf(x));
                }
                s.count = 0;
                s.cachedBytes = 0;
            }
        }
    }

    /**
     * One stripe: a cache of spans, oldest first, and the spans handed out through it (their
     * handles' {@link Sized} supply names it, so their close comes back here). Fields guarded
     * by this object's monitor.
     */
    final class Stripe extends LeadingPad {
        private final long[] addresses = new long[MAX_CACHED_SPANS];
        private final long[] sizes = new long[MAX_CACHED_SPANS];
        private final long[] idleSince = new long[MAX_CACHED_SPANS];
        private long cachedBytes;
        private long inUse;
        private long inUseBytes;
        /** Spans cached, in [0, MAX_CACHED_SPANS]; a long so that it sits with the other written fields, before the padding. */
        private long count;
        /** The hot slot: 0, a parked span ({@link #park}) or {@link #SEALED}; changed only by atomic RMWs (see the class comment). */
        @SuppressWarnings("FieldMayBeFinal")
        private long hot;
        /** The hot slot's value the last decay pass saw; guarded by this. */
        private long hotSeen;
        /**
         * Padding: the stripes sit in one array, so a collection may copy them next to each
         * other; {@link LeadingPad} in front and 96 bytes after the written fields keep one
         * stripe's counters off the cache lines of the next (two threads on two stripes must
         * not share a line). The monitor word is in the header, which the padding cannot move:
         * it is taken once per large acquire and close, by the stripe's threads.
         */
        @SuppressWarnings("unused")
        private long p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11;

        Stripe() {
        }

        /** A cached span of exactly {@code bytes}, newest first, or 0; counted here when {@code count} is set. */
        synchronized long takeCached(long bytes, boolean countHere) {
            for (int i = (int) count - 1; i >= 0; i--) {
                if (sizes[i] == bytes) {
                    long address = addresses[i];
                    removeAt(i);
                    if (countHere) {
                        inUse++;
                        inUseBytes += bytes;
                    }
                    return address;
                }
            }
            return 0;
        }

        /** Counts out a parked span of {@code bytes} that someone other than this stripe's acquire took from the hot slot. */
        private synchronized void countOut(long bytes) {
            inUse--;
            inUseBytes -= bytes;
        }

        /** Counts a span of {@code bytes} handed out through this stripe. */
        synchronized void taken(long bytes) {
            inUse++;
            inUseBytes += bytes;
        }

        /** The stripe's acquire: the parked span if it is {@code bytes} long and this CAS wins it, else 0. */
        long pollHot(long bytes) {
            long x = (long) HOT.getAcquire(this);
            return x > 0 && bytesOf(x) == bytes && HOT.compareAndSet(this, x, 0L) ? addressOf(x) : 0;
        }

        /** Another stripe's acquire: the parked span if it is {@code bytes} long, counted out of this stripe (the caller counts it in its own), else 0. */
        long moveHot(long bytes) {
            long address = pollHot(bytes);
            if (address != 0) {
                countOut(bytes);
            }
            return address;
        }

        /** Any thread: takes the parked span (0 when there is none, or the slot is sealed). */
        private long takeHot() {
            long x;
            while ((x = (long) HOT.getVolatile(this)) > 0) {
                if (HOT.compareAndSet(this, x, 0L)) {
                    return x;
                }
            }
            return 0;
        }

        /** The parked span now (0 when there is none), racy: for stats and checks. */
        long parked() {
            long x = (long) HOT.getVolatile(this);
            return x > 0 ? x : 0;
        }

        /** 1 when a span is parked now, else 0 (racy, as {@link #parked}). */
        long parkedCount() {
            return parked() != 0 ? 1 : 0;
        }

        /** Frees the parked span to the arena, counted out of this stripe; false when there was none. */
        boolean freeHot() {
            long x = takeHot();
            if (x == 0) {
                return false;
            }
            freeUnparked(x);
            return true;
        }

        /** The parked span {@code x}, just taken from the hot slot by a reclaimer: counted out of this stripe and freed to the arena. */
        private void freeUnparked(long x) {
            countOut(bytesOf(x));
            freeToArena(addressOf(x), bytesOf(x));
        }

        /** A decay pass: frees the parked span if the previous pass saw the same one parked (see {@link LargeSpans#decay}). */
        void decayHot() {
            long x = parked();
            boolean stale;
            synchronized (this) {
                stale = x != 0 && x == hotSeen;
                hotSeen = stale ? 0 : x;
            }
            if (stale && HOT.compareAndSet(this, x, 0L)) {
                freeUnparked(x);
            }
        }

        /**
         * A span of {@code capacity} bytes counted here is closed: parked when the hot slot is
         * empty and no acquire waits, else cached or freed under the lock.
         */
        void release(long address, long capacity) {
            if (capacity <= maxStripeBytes && (long) HOT.getOpaque(this) == 0 && HOT.compareAndSet(this, 0L, park(address, capacity))) {
                if (owner.waiters() > 0) { // read after the park: see the class comment
                    long x = takeHot(); // 0 when the waiter's eviction took it first
                    if (x != 0) {
                        releaseLocked(addressOf(x), bytesOf(x));
                    }
                }
                return;
            }
            releaseLocked(address, capacity);
        }

        /** {@link #release} past the hot slot: counted out, then cached, or freed when the cache is full or an acquire waits. */
        private void releaseLocked(long address, long capacity) {
            synchronized (this) {
                inUse--;
                inUseBytes -= capacity;
                if (owner.isClosed()) {
                    return;
                }
                // read under the lock: see the class comment (why every arena waiter is counted here)
                if (owner.waiters() == 0 && count < MAX_CACHED_SPANS && cachedBytes + capacity <= maxStripeBytes) {
                    int at = (int) count;
                    addresses[at] = address;
                    sizes[at] = capacity;
                    idleSince[at] = owner.decayEpoch(); // under the lock: stamps stay in order
                    count++;
                    cachedBytes += capacity;
                    return;
                }
            }
            freeToArena(address, capacity);
        }

        /** Frees a span counted out of this stripe; nothing to do once the pool has closed (its region is unmapped). */
        private void freeToArena(long address, long capacity) {
            try {
                arena.free(address, capacity);
            } catch (IllegalStateException e) {
                if (!owner.isClosed()) {
                    throw e; // the region closes only with the pool
                }
            }
        }

        /**
         * Frees this stripe's oldest cached span to the arena if it is
         * stamped {@code cutoff} or earlier (or whatever its stamp, unless {@code byAge}); false
         * when none was freed.
         */
        boolean evictOldest(long cutoff, boolean byAge) {
            long address;
            long size;
            synchronized (this) {
                if (count == 0 || (byAge && idleSince[0] > cutoff)) {
                    return false;
                }
                address = addresses[0];
                size = sizes[0];
                removeAt(0);
            }
            arena.free(address, size);
            return true;
        }

        /** Guarded by this. Keeps the arrays oldest first. */
        private void removeAt(int i) {
            cachedBytes -= sizes[i];
            int tail = (int) count - i - 1;
            System.arraycopy(addresses, i + 1, addresses, i, tail);
            System.arraycopy(sizes, i + 1, sizes, i, tail);
            System.arraycopy(idleSince, i + 1, idleSince, i, tail);
            count--;
        }

        synchronized void check(int k) {
            long x = (long) HOT.getVolatile(this);
            if (x != 0 && x != SEALED && (x < 0 || bytesOf(x) == 0 || (bytesOf(x) & ((1L << pageShift) - 1)) != 0
                    || bytesOf(x) > maxStripeBytes || inUse < 1 || inUseBytes < bytesOf(x))) {
                throw new IllegalStateException("large spans, stripe " + k + ": hot slot " + Long.toHexString(x) + " is not a parked span"
                        + " of whole pages up to " + maxStripeBytes + " bytes counted in use (in use " + inUse + ", " + inUseBytes + " bytes)");
            }
            long sum = 0;
            for (int i = 0; i < count; i++) {
                sum += sizes[i];
                if (i > 0 && idleSince[i] - idleSince[i - 1] < 0) {
                    throw new IllegalStateException("large spans: stripe " + k + "'s cache is not oldest first at " + i);
                }
            }
            if (sum != cachedBytes || cachedBytes > maxStripeBytes || inUse < 0 || inUseBytes < 0) {
                throw new IllegalStateException("large spans, stripe " + k + ": invariant broken: cached " + cachedBytes
                        + " (sum " + sum + ", max " + maxStripeBytes + "), in use " + inUse + " (" + inUseBytes + " bytes)");
            }
        }

        /** The supply of handles of {@code bytes} counted in this stripe. */
        Sized sized(int bytes) {
            return new Sized(this, bytes);
        }

        @Override
        public String toString() {
            return "large spans stripe";
        }
    }

    /**
     * The {@link Supply} of large buffers of one size counted in one stripe. Immutable; a
     * thread keeps the last one it used ({@link ThreadState#large}), so a repeated acquire of
     * one size makes no new one.
     */
    final class Sized extends Supply {
        final Stripe stripe;

        Sized(Stripe stripe, int bytes) {
            super(LargeSpans.this.owner, bytes);
            this.stripe = stripe;
        }

        @Override
        boolean mayHold(long address) {
            // a span of this size allocated in the arena starts there (one read of its head tag, without the
            // arena's lock, below 32 MiB at 4 KiB quanta: Arena.isAllocated says what a racing read may see),
            // and it went to a raw holder and has not come back (a slab or a handle's span there has no mark)
            return isRawOut(address) && arena.isAllocated(address, capacity);
        }

        @Override
        void heldRaw(long address) {
            markRawOut(address);
        }

        @Override
        boolean takeBackRaw(long address) {
            return arena.isAllocated(address, capacity) && claimRawOut(address);
        }

        @Override
        void heldRawUndone(long address) {
            clearRawOut(address);
        }

        @Override
        void release(long address, int capacity, boolean fromCleaner) {
            if (fromCleaner) {
                clearRawOut(address); // a leaked raw hold (a handle's span has no mark: clearing it changes nothing)
            }
            stripe.release(address, capacity);
        }

        @Override
        public String toString() {
            return "large spans of " + capacity + " bytes";
        }
    }
}

package io.slab4j.buffer;

import io.slab4j.arena.Arena;
import io.slab4j.event.Event;
import io.slab4j.event.Events;
import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * An off-heap buffer pool for servers: one reserved {@link VirtualRegion}, one {@link Arena}
 * over it, a {@link SizeClass} (pool + magazines) per size class and {@link LargeSpans} for
 * requests above the largest class. See {@code package-info} for the whole design.
 *
 * <h2>Acquire</h2>
 * <ol>
 *   <li>Validate: {@code 0 < size <= reservation} (and at most the largest int page multiple),
 *       pool open.
 *   <li>Pick the smallest class {@code >= size} (one table load, by granule: 16 bytes for the default classes), else the large path with the
 *       size rounded up to pages.
 *   <li>Try now: magazines / pool / a grow the arena can give now; large: the span parked in
 *       the thread's home stripe (one CAS, no lock) or a cached span of the same page count,
 *       else arena space now. When that fails, make room (evict cached large
 *       spans, drain every class's magazines, return idle slabs of every class) and try once
 *       more; a blocked acquire tries once more after it counts as a waiter.
 *   <li>Else ({@code acquire} with time left) sync on {@code choose(class pool's getEvent(),
 *       pool closing, timeout)}; large: {@code choose(arena.allocEvent(bytes), closing,
 *       timeout)}. The class pool's event is itself {@code choose(put, withNack(grow))}: a
 *       close of a buffer of the class or arena space, whichever first, the loser withdrawn.
 *   <li>Hand out a fresh {@link PooledBuffer}: zero it if configured, watch it if sampled; or,
 *       for the raw API, give the memory to the caller's {@link RawHolder} with its supply as
 *       the token (a {@link RawWatch} that watches the holder, if sampled).
 * </ol>
 * Waiters of one class queue FIFO in their pool; large waiters FIFO in the arena. While anyone
 * waits, closes bypass magazines and caches and give idle slabs back, so parked memory never
 * starves a waiter of another class.
 *
 * <h2>Memory that shrinks</h2>
 * {@link #trim()} returns idle memory now: the magazines of every thread outside a pool call
 * (the caller's, idle and exited threads'; see {@code PoolCache.drain()}), the depot, idle
 * slabs of every class, every cached large span. Without
 * calls to {@code trim()}, the same happens on its own once per {@code idleDecay} (default
 * {@link #DEFAULT_IDLE_DECAY}): one acquire in {@value #DECAY_CHECK_INTERVAL} on average
 * looks at the clock (chosen by the thread's own random sequence, see {@link #POINT_GAP}), and
 * the first to find the period over runs the pass (one CAS elects it); large spans go back once idle for between one and two
 * passes ({@code decayEpoch} counts them, see {@link LargeSpans}). So idle memory goes back
 * within about two periods of going idle, as long as the pool is used at all; no background
 * thread is needed.
 *
 * <h2>The fast path</h2>
 * An acquire finds the calling thread's {@link ClassTally} of the class (in a small array by
 * thread id and class, see {@code byThread}; else through its {@link ThreadState}, one
 * {@code ThreadLocal} lookup), which holds the thread's {@code PoolCache.Local}, and takes an
 * item through it; the close of a handle on the thread
 * that acquired it goes back through the same tally with no lookup at all, into the tally's
 * one-item hot slot when it is empty (so an alternating acquire and close never reach the
 * cache: see {@link ClassTally}). Counting in use is a
 * release store to the thread's own tally, not a shared atomic; the leak and decay samples
 * wait for the tally's count to reach its next sample point ({@link #POINT_GAP}). Atomic
 * instructions left: the acquire's and the close's CAS on the tally's hot slot (or the
 * cache's own), and the handle's one CAS.
 *
 * <h2>Concurrency</h2>
 * Thread-safe. {@code closed} is a volatile field set once by CAS (which elects the closing
 * thread); {@code waiting} counts blocked acquires (atomically incremented before the sync,
 * decremented after); both are fields of this object, not atomic wrappers, because every
 * acquire and close reads them and a wrapper is one more dependent load;
 * {@code leaks} is a {@link LongAdder}; {@code lastDecay} an {@link AtomicLong} claimed by
 * CAS, {@code decayEpoch} an {@link AtomicInteger} bumped by the elected pass; a zeroing pool
 * counts the acquires inside their zeroing in {@code zeroing}, so that {@link #close()} unmaps
 * only once none is (the argument is at the field); {@code local}
 * holds state that only its thread touches (see {@link ThreadState}, {@link ClassTally}). Layers below lock themselves; this class holds no lock while calling them.
 */
public final class BufferPool implements AutoCloseable {
    /**
     * {@link LeakDetection#SAMPLED} watches one acquire in this many. A watched acquire
     * captures its stack and registers a {@code Cleaner} action, a few microseconds, and
     * slows the acquires around it more than its own share: at one in 4096 it showed in the
     * 99.9th percentile of an acquire+close (2.9 µs against 0.37 µs with leak detection off,
     * bench/RESULTS.md round 5), and on round 8's noisier machine it still did at one in 16384
     * (p99.9 4.6–7.3 µs against 0.49–0.50 µs with leak detection off, and 0.44–0.54 µs at one
     * in 65536, two forks each). A leak repeated on every request is still found within the
     * first few hundred thousand requests.
     */
    public static final int LEAK_SAMPLE_INTERVAL = 65536;
    public static final Duration DEFAULT_IDLE_DECAY = Duration.ofSeconds(10);
    public static final long DEFAULT_RESERVE = 1L << 30;
    /**
     * The largest reservation {@link Builder#reserve} accepts: 4 TiB, 2^30 pages of 4 KiB (the
     * arena numbers its quanta with an {@code int}, and the pool's arena uses the page as its quantum).
     */
    public static final long MAX_RESERVE = 1L << 42;
    /** Thread slots of the tally cache when the classes allow: the threads that use one pool at once rarely number more. */
    static final int MAX_THREAD_SLOTS = 256;
    /** The tally cache's size bound in entries (4 bytes each with compressed references): 256 slots of up to 64 classes. */
    static final int BY_THREAD_ENTRIES = 16384;
    /** One acquire in this many, on average, reads the clock for the decay pass: the mean gap between sample points. */
    static final int DECAY_CHECK_INTERVAL = 64;
    /**
     * Sample points, the acquires that read the decay clock and may be watched, are a random
     * subset of each thread's acquires (per class, and for large spans): every acquire is one
     * with probability {@code 1 / DECAY_CHECK_INTERVAL}, independently of the others, drawn
     * as geometric gaps, so that the fast path only counts down to the next point instead of
     * drawing a random number per acquire. This is {@code ln(1 - 1/DECAY_CHECK_INTERVAL)}, the
     * divisor of the inverse-transform draw ({@link #nextGap}).
     */
    private static final double POINT_GAP = Math.log1p(-1.0 / DECAY_CHECK_INTERVAL);
    private static final VarHandle CLOSED;
    private static final VarHandle WAITING;
    private static final VarHandle ZEROING = MethodHandles.arrayElementVarHandle(long[].class);
    /** What the internal acquire returns when a {@link RawHolder} took the memory (never handed to a caller). */
    private static final PooledBuffer HELD = new PooledBuffer(1L, null);
    /** Stripes of {@link #zeroing}: thread ids spread over them, so two threads rarely count on one line. */
    static final int ZEROING_STRIPES = 16;
    /** Longs from one stripe of {@link #zeroing} to the next: 128 bytes, two cache lines. */
    private static final int ZEROING_STRIDE = 16;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            CLOSED = lookup.findVarHandle(BufferPool.class, "closed", boolean.class);
            WAITING = lookup.findVarHandle(BufferPool.class, "waiting", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    /** Sizes up to this many bytes find their class by table (see {@code classAt}). */
    static final int LOOKUP_LIMIT = 256 * 1024;

    private final String name;
    private final VirtualRegion region;
    /**
     * The region's first byte and size, copied for {@link #releaseRaw}'s one-compare range
     * check: {@code address - regionBase <= regionSize - capacity}, compared unsigned, holds
     * exactly when {@code regionBase <= address} and {@code address + capacity <= regionBase +
     * regionSize} (an address below the base wraps to a huge unsigned difference).
     */
    private final long regionBase;
    private final long regionSize;
    private final Arena arena;
    private final int[] sizes;
    private final SizeClass[] classes;
    private final LargeSpans large;
    /**
     * Size → class index, by granule of {@code 1 << lookupShift} bytes: {@code classAt[(size - 1)
     * >> lookupShift]} is the smallest class {@code >=} the granule's first size, and that is the
     * class of every size in the granule, because every class the table covers is a multiple of
     * the granule (see {@link #lookupShift}). One load, no step after it: on the fast path the
     * class index feeds the tally's address and so the hot slot's atomic, and every load in
     * that chain is latency the atomic waits out. Covers sizes up to {@link #lookupMax}; above
     * that, a binary search.
     */
    private final short[] classAt;
    /**
     * log2 of the table's granule: the largest power of two, at most 16, that divides every
     * class size up to {@link #LOOKUP_LIMIT} (4 for the default classes, all multiples of 16).
     */
    private final int lookupShift;
    /**
     * Largest size {@code classAt} answers: the largest class, capped at {@link #LOOKUP_LIMIT}
     * scaled down with the granule, so the table has at most {@code LOOKUP_LIMIT / 16} entries
     * whatever the classes.
     */
    private final int lookupMax;
    /** The calling thread's tallies, stripe and random sequence for this pool. */
    private final ThreadLocal<ThreadState> local = new ThreadLocal<>();
    /**
     * A direct-mapped cache of the threads' tallies, by thread id and class: entry
     * {@code (id & (threadSlots - 1)) * classes + c} holds the {@link ClassTally} of class
     * {@code c} of a thread whose id maps to that slot, or null. An acquire trusts an entry only
     * when the tally's (final) {@code thread} is the caller, so plain racy reads and writes are
     * sound: a tally is made and installed by its own thread only, a caller that finds its own
     * reads what it wrote itself, and one that finds another's (whose final field it sees as
     * constructed, JLS 17.5) takes the {@code ThreadLocal} path. A thread installs its tally
     * when the entry is empty or holds an exited thread's; of two live threads that map to one
     * slot the first keeps it and the second uses the {@code ThreadLocal} each time (no writes
     * per call). Exited threads' tallies are dropped by {@link #trim()} and the decay pass, so
     * the array keeps no dead thread's objects for longer than that. Why: from the caller's
     * thread object this is two dependent loads to the tally where {@code ThreadLocal.get} and
     * the state's table are six, and an acquire's loads are a chain that the processor cannot
     * overlap with the previous call's atomic instructions.
     */
    private final ClassTally[] byThread;
    /**
     * The same cache for the threads' {@link ThreadState}s, which a large-span acquire needs:
     * slot {@code id & (threadSlots - 1)}, the same rules as {@link #byThread}'s (a state is made
     * and installed by its own thread only, and trusted only when its final {@code thread} is the
     * caller).
     */
    private final ThreadState[] statesByThread;
    /** Thread slots of {@link #byThread}, a power of two; fewer when there are many classes, so the array stays near {@value #BY_THREAD_ENTRIES} entries. */
    private final int threadSlots;
    /** Home stripes are handed out round robin. */
    private final AtomicInteger nextStripe = new AtomicInteger();
    private final long maxCommitted;
    private final long maxBuffer;
    private final boolean zero;
    /**
     * A zeroing pool's acquires inside their zeroing, striped by thread id (stripe
     * {@code id % ZEROING_STRIPES} at index {@code stripe * ZEROING_STRIDE}); null without
     * zeroing, the only acquire step that writes pool memory. An acquire adds one to its stripe
     * (an atomic add), then reads {@code closed}, zeroes only if it is still false, and
     * subtracts one; {@link #close()} sets {@code closed} and, before it unmaps, waits for every
     * stripe to read 0. All four are volatile accesses, so they are in one total order: an
     * acquire whose add comes after close's read of its stripe reads {@code closed} after close
     * set it (and refuses), and one whose add comes before is waited for. So no zeroing writes to
     * an unmapped region (which would crash the JVM, not throw).
     */
    private final long[] zeroing;
    /**
     * A sample point is watched when a fresh random number has these bits all zero: none for
     * {@code ALL} (whose every acquire is a point, see {@link #nextGap}), the low
     * {@code log2(LEAK_SAMPLE_INTERVAL / DECAY_CHECK_INTERVAL)} for {@code SAMPLED}, so that an
     * acquire is watched with probability {@code 1 / LEAK_SAMPLE_INTERVAL}, independently of
     * the others; every bit for {@code OFF} (the xorshift sequence never yields 0).
     */
    private final int pointWatchMask;
    /** {@code ALL}: every acquire is a sample point. */
    private final boolean everyAcquire;
    private final long decayNanos;
    final ViewRegistry views = new ViewRegistry();
    private final ClosingEvent closing = new ClosingEvent();
    /** Set once, by the CAS that elects the closing thread (VarHandle); read on every acquire and close. */
    @SuppressWarnings("FieldMayBeFinal")
    private volatile boolean closed;
    /** The thread that won {@link #close()}'s CAS; read by a second close, which waits for it unless it is that thread. */
    private volatile Thread closer;
    /** Counted down when the winning close has finished, so that every close returns only after the pool is closed. */
    private final CountDownLatch closeDone = new CountDownLatch(1);
    /** Blocked acquires now; changed by atomic adds (VarHandle). A field of its own rather than an AtomicInteger: one load less on every close. */
    @SuppressWarnings("FieldMayBeFinal")
    private volatile int waiting;
    private final LongAdder leaks = new LongAdder();
    /** Acquires handed to the leak detector (for tests and the effective-configuration check). */
    private final LongAdder watched = new LongAdder();
    private final AtomicLong lastDecay;
    /** Decay passes run so far: the large-span cache stamps a closed span with it instead of reading the clock. */
    private final AtomicInteger decayEpoch = new AtomicInteger();

    private BufferPool(Builder b, VirtualRegion region) {
        this.name = b.name;
        this.region = region;
        this.regionBase = region.address();
        this.regionSize = region.size();
        Arena.Builder arenaBuilder = b.arenaOver.apply(region).prefault(b.prefault).hugePages(b.hugePages);
        if (b.commitChunk != 0) {
            arenaBuilder.commitChunk(b.commitChunk);
        }
        if (b.maxCommitted != 0) {
            arenaBuilder.maxCommitted(b.maxCommitted);
        }
        this.arena = arenaBuilder.build();
        this.sizes = b.sizeClasses.clone();
        this.classes = new SizeClass[sizes.length];
        this.threadSlots = Math.max(1, Math.min(MAX_THREAD_SLOTS, Integer.highestOneBit(BY_THREAD_ENTRIES / sizes.length)));
        this.byThread = new ClassTally[threadSlots * sizes.length];
        this.statesByThread = new ThreadState[threadSlots];
        for (int i = 0; i < sizes.length; i++) {
            classes[i] = new SizeClass(this, name, sizes[i], arena, b.magazines);
        }
        long huge = b.hugePages ? VirtualRegion.hugePageSize() : 0;
        this.large = new LargeSpans(this, arena, Math.max(VirtualRegion.pageSize(), region.size() / 16), LargeSpans.stripeCount(),
                huge > VirtualRegion.pageSize() ? huge : 0, pageRound(sizes[sizes.length - 1] + 1L) / VirtualRegion.pageSize());
        this.lookupShift = granuleShift(sizes);
        this.lookupMax = sizes.length <= Short.MAX_VALUE ? Math.min(sizes[sizes.length - 1], LOOKUP_LIMIT >> (4 - lookupShift)) : 0;
        this.classAt = new short[(lookupMax + (1 << lookupShift) - 1) >> lookupShift];
        for (int g = 0, c = 0; g < classAt.length; g++) {
            while (sizes[c] < (g << lookupShift) + 1) {
                c++;
            }
            classAt[g] = (short) c;
        }
        this.maxCommitted = b.maxCommitted;
        long page = VirtualRegion.pageSize();
        long cap = b.maxCommitted != 0 ? b.maxCommitted / page * page : region.size();
        this.maxBuffer = Math.min(cap, Integer.MAX_VALUE / page * page);
        this.zero = b.zeroOnAcquire;
        this.zeroing = zero ? new long[ZEROING_STRIPES * ZEROING_STRIDE] : null;
        this.pointWatchMask = switch (b.leakDetection) {
            case ALL -> 0;
            case SAMPLED -> LEAK_SAMPLE_INTERVAL / DECAY_CHECK_INTERVAL - 1;
            case OFF -> -1;
        };
        this.everyAcquire = b.leakDetection == LeakDetection.ALL;
        this.decayNanos = saturatedNanos(b.idleDecay);
        this.lastDecay = new AtomicLong(System.nanoTime());
    }

    /** {@code d} in nanoseconds, or {@code Long.MAX_VALUE} (never, in practice) when it does not fit a long. */
    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    // ------------------------------------------------------------------ acquire

    /**
     * A buffer of at least {@code size} bytes, waiting as long as it takes.
     *
     * <p>Interrupts: an acquire that finds memory at once returns it and leaves the interrupt
     * flag as it was. One that has to wait and is interrupted (before or during the wait)
     * withdraws its wait, takes nothing, and throws {@link InterruptedException} naming the
     * call and the pool, with the flag cleared. When the pool closes under a wait the call
     * throws {@link IllegalStateException} instead, and an interrupt that arrived meanwhile is
     * kept in the flag: it is never lost.
     *
     * <p>When the OS refuses to commit memory ({@code mprotect} fails with {@code ENOMEM}),
     * the acquire waits it out like a full pool: the commit is retried (from 50 ms, backing off
     * to 1 s), and a close of a buffer may serve it first. The failure is logged where it
     * happened (the 1st, 2nd, 4th... failure) and counted in
     * {@link BufferPoolStats#commitFailures()} (each refused try, its retries included); it is
     * not a {@link SizeClassStats#failures() failure} of the class, which counts acquires that
     * returned no buffer. The calls that do not wait throw {@link NativeMemoryException} instead.
     */
    public PooledBuffer acquire(int size) throws InterruptedException {
        PooledBuffer b = tryTakeBeforeWaiting(size, "acquire", null);
        return b != null ? b : await(size, null, null, "acquire");
    }

    /**
     * As {@link #acquire(int)}, waiting up to {@code timeout}; null when it runs out. A zero or
     * negative timeout never waits, so it returns null at once and keeps the interrupt flag.
     */
    public PooledBuffer acquire(int size, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "acquire(size, null): the timeout is null");
        return acquire(size, timeout, null, "acquire");
    }

    /** {@code holder} null: a handle; else the holder holds the memory and the result is {@link #HELD}. */
    private PooledBuffer acquire(int size, Duration timeout, RawHolder holder, String what) throws InterruptedException {
        boolean mayWait = !timeout.isZero() && !timeout.isNegative();
        PooledBuffer b = mayWait ? tryTakeBeforeWaiting(size, what, holder) : tryTake(size, what, holder);
        if (b == null) {
            b = mayWait ? await(size, timeout, holder, what) : null;
            if (b == null) {
                missed(size);
            }
        }
        return b;
    }

    /**
     * A buffer of at least {@code size} bytes if one can be had now, else null; never waits.
     * "Now" is what the pool holds at the call: space another acquire has just carved out of
     * the arena and is still committing, or a buffer being closed at the same moment, may not
     * count yet, so a null here under load does not prove the pool stays full; a waiting
     * {@link #acquire(int, Duration)} is served by those events.
     *
     * @throws NativeMemoryException the OS refused to commit the memory (nothing taken; the pool is unchanged)
     */
    public PooledBuffer tryAcquire(int size) {
        PooledBuffer b = tryTake(size, "tryAcquire", null);
        if (b == null) {
            missed(size);
        }
        return b;
    }

    // -------------------------------------------------------- raw (no handle)

    /**
     * As {@link #tryAcquire(int)}, but without a handle: when the pool has memory now,
     * {@code holder.hold(address, capacity, token)} is called once and this returns true; else
     * false (nothing called). The expert API for adapters that keep their own exactly-once
     * guard: read {@link RawHolder}'s contract first. Counted, sampled by the leak detector
     * (the holder is what it watches), zeroed and refused after close exactly as a handle's
     * acquire.
     *
     * @throws IllegalArgumentException {@code size} out of range, or {@code holder} null
     * @throws IllegalStateException the pool is closed
     */
    public boolean tryAcquireRaw(int size, RawHolder holder) {
        PooledBuffer b = tryTake(size, "tryAcquireRaw", checkHolder(holder, "tryAcquireRaw(size, null)"));
        if (b == null) {
            missed(size);
        }
        return b != null;
    }

    /**
     * As {@link #acquire(int, Duration)}, but without a handle (see
     * {@link #tryAcquireRaw}): true once {@code holder} holds the memory, false when
     * {@code timeout} ran out first.
     */
    public boolean acquireRaw(int size, Duration timeout, RawHolder holder) throws InterruptedException {
        Objects.requireNonNull(timeout, "acquireRaw(size, null, holder): the timeout is null");
        return acquire(size, timeout, checkHolder(holder, "acquireRaw(size, timeout, null)"), "acquireRaw") != null;
    }

    /** {@code call}: the call as written with its null holder, for the message. */
    private static RawHolder checkHolder(RawHolder holder, String call) {
        if (holder == null) {
            throw new IllegalArgumentException(call + ": a RawHolder is needed");
        }
        return holder;
    }

    /**
     * Gives back memory a {@link RawHolder} got from {@link #tryAcquireRaw} or
     * {@link #acquireRaw}: {@code token} and {@code address} as {@code hold} received them,
     * {@code holder} the object that received them. Exactly once per acquire: the caller's
     * guard (see {@link RawHolder}). Never throws for a pool closed meanwhile (the memory went
     * with the pool), like {@link PooledBuffer#close()}.
     *
     * @throws IllegalArgumentException {@code holder} is null, {@code token} is not one this
     *     pool handed out, {@code capacity} bytes at {@code address} are not inside the pool's
     *     region, or {@code address} is not the start of memory of the token's size that is out:
     *     for a size class, the start of one of its items that was handed out and not yet given
     *     back (an address inside an item, or one free in the pool, is refused); for a large
     *     span, the start of a span of its size that went to a raw holder and has not come back
     *     (one free in the arena or kept by the pool for reuse, or memory since given to a slab,
     *     to a handle or to a span of another size, is refused; of two racing releases of one
     *     span, one is refused). Nothing is released then: the memory stays where it is. These
     *     checks cannot tell the right release from a second release of an item the pool still
     *     keeps for reuse in a thread's cache, or from the release of another out item of the
     *     same class or of a span of the same size another raw holder holds: that is the
     *     holder's guard.
     */
    public void releaseRaw(RawHolder holder, Object token, long address) {
        if (token instanceof ClassTally && ((ClassTally) token).owner == this && holder != null
                && inRegion(address, ((ClassTally) token).capacity) && ((ClassTally) token).mayHold(address)) {
            ((ClassTally) token).release(address, false); // the fast path: a size class, not watched
        } else {
            releaseRawSlow(holder, token, address);
        }
    }

    private void releaseRawSlow(RawHolder holder, Object token, long address) {
        checkHolder(holder, "releaseRaw(null, token, address)");
        Supply supply = supplyOf(token, "releaseRaw");
        checkInRegion(supply, address, "releaseRaw(holder, token, ");
        if (!closed && !supply.takeBackRaw(address)) {
            throw notHeld(supply, address, "releaseRaw(holder, token, ");
        }
        giveBack(holder, supply, token, address);
    }

    /** Returns raw-held memory: disarms the watch of a sampled acquire first, then releases to the supply. */
    private static void giveBack(RawHolder holder, Supply supply, Object token, long address) {
        if (token instanceof RawWatch) {
            ((RawWatch) token).watch.disarm();
            // The watch is on the holder: it must stay strongly reachable until the watch is
            // disarmed, or the cleaner could find it unreachable and return the memory too.
            Reference.reachabilityFence(holder);
        }
        supply.release(address, supply.capacity, false);
    }

    /**
     * A direct {@code ByteBuffer} over memory held through a {@link RawHolder} ({@code holder},
     * {@code token} and {@code address} as {@code hold} received them): position 0, limit and
     * capacity the held capacity, big-endian, a new object on every call. Unlike a handle's
     * views it is never detached: the holder must not use it after its release. The view keeps
     * {@code holder} reachable (as a handle's views keep the handle), so the leak detector
     * never returns memory that a live view still reaches.
     *
     * @throws IllegalArgumentException {@code holder} is null, {@code token} is not one this
     *     pool handed out, {@code address} is not in the pool's region, or it is not the start
     *     of memory of the token's size that is out (as {@link #releaseRaw} checks it)
     * @throws IllegalStateException the pool is closed
     */
    public ByteBuffer rawView(RawHolder holder, Object token, long address) {
        checkHolder(holder, "rawView(null, token, address)");
        Supply supply = supplyOf(token, "rawView");
        checkInRegion(supply, address, "rawView(holder, token, ");
        checkOpen("rawView");
        checkHeld(supply, address, "rawView(holder, token, ");
        return DirectViews.view(address, supply.capacity, holder);
    }

    /** {@code capacity} bytes at {@code address} lie inside the region (one unsigned compare, see {@link #regionBase}). */
    private boolean inRegion(long address, int capacity) {
        return Long.compareUnsigned(address - regionBase, regionSize - capacity) <= 0;
    }

    /** {@code supply.capacity} bytes at {@code address} lie inside the region; else IllegalArgumentException naming {@code call}. */
    private void checkInRegion(Supply supply, long address, String call) {
        if (!inRegion(address, supply.capacity)) {
            throw new IllegalArgumentException(call + io.slab4j.arena.Hex.of(address) + "): " + supply.capacity
                    + " bytes there are not inside buffer pool '" + name + "' (" + io.slab4j.arena.Hex.of(regionBase) + " + "
                    + regionSize + ")");
        }
    }

    /**
     * {@code address} may be memory {@code supply} handed out ({@link Supply#mayHold}); else
     * IllegalArgumentException naming {@code call}. Skipped once the pool is closed: a release
     * then does nothing (the memory went with the pool) and must not throw.
     */
    private void checkHeld(Supply supply, long address, String call) {
        if (!closed && !supply.mayHold(address)) {
            throw notHeld(supply, address, call);
        }
    }

    private IllegalArgumentException notHeld(Supply supply, long address, String call) {
        return new IllegalArgumentException(call + io.slab4j.arena.Hex.of(address) + "): not the start of "
                + (supply instanceof ClassTally ? "a " + supply.capacity + "-byte item" : "a " + supply.capacity
                        + "-byte large span held raw")
                + " of buffer pool '" + name + "' that is out (an interior or foreign address, or one already"
                + " back in the pool); nothing was released");
    }

    /** The supply behind a raw token of this pool; else IllegalArgumentException. */
    private Supply supplyOf(Object token, String what) {
        Supply supply = token instanceof RawWatch ? ((RawWatch) token).supply : token instanceof Supply ? (Supply) token : null;
        if (supply == null || supply.owner != this) {
            throw new IllegalArgumentException(what + ": " + token + " is not a token of buffer pool '" + name
                    + "' (expected what RawHolder.hold received from it)");
        }
        return supply;
    }

    /**
     * {@code holder} takes the memory; if it throws anything (also a checked exception thrown
     * sneakily, which {@code hold} does not declare), the memory goes back and the throwable goes
     * on unchanged (a precise rethrow: javac knows the try block throws nothing checked).
     */
    private static PooledBuffer hold(RawHolder holder, long address, Supply supply, Object token) {
        supply.heldRaw(address);
        try {
            holder.hold(address, supply.capacity, token);
        } catch (Throwable e) {
            supply.heldRawUndone(address);
            giveBack(holder, supply, token, address);
            throw e;
        }
        return HELD;
    }

    /** A fresh handle no caller has seen gives its memory (and its leak watch, if sampled) to {@code holder}. */
    private static PooledBuffer handOver(PooledBuffer fresh, RawHolder holder) {
        long address = fresh.rawAddress(); // not address(): a close meanwhile must not throw here (the handle path returns such a handle too)
        Supply supply = fresh.supply();
        boolean watched = fresh.giveUpFresh();
        return hold(holder, address, supply, watched ? RawWatch.on(holder, supply, address) : supply);
    }

    /** The token of a raw acquire the leak detector watches: its supply and the watch on the holder. */
    static final class RawWatch {
        final Supply supply;
        final LeakWatch watch;

        RawWatch(Supply supply, LeakWatch watch) {
            this.supply = supply;
            this.watch = watch;
        }

        /** The token of a sampled raw acquire: the leak detector watches {@code holder}. */
        static RawWatch on(RawHolder holder, Supply supply, long address) {
            return new RawWatch(supply, LeakWatch.watch(holder, supply, address, supply.capacity));
        }

        @Override
        public String toString() {
            return "RawWatch[" + supply + "]";
        }
    }

    /**
     * A call that raced the pool's close may meet a lower layer the close has closed already (a
     * size class's cache or pool, the arena): its refusal names objects the caller never saw, so
     * it becomes this pool's own closed error (the refusal as its cause). Anything else, and this
     * pool's own closed errors, pass unchanged. Caught only around the calls into the layers
     * below, never on the fast path (a hot-slot hit calls none), where a handler costs inlining.
     */
    private RuntimeException closedOr(IllegalStateException e, String what) {
        return closed && !(e instanceof PoolClosedException) ? closedError(what, e) : e;
    }

    /** An acquire of {@code size} (validated) returned null: one failure of its class (large spans have no class figures). */
    private void missed(int size) {
        int c = classIndex(size); // not classOf: a miss because the pool closed meanwhile must not throw
        if (c >= 0) {
            classes[c].missed();
        }
    }

    /** The fast path: a size class whose magazines have an item; everything else is a separate (cold) method, so this one stays small enough to inline. */
    private PooledBuffer tryTake(int size, String what, RawHolder holder) {
        int c = classOf(size, what);
        if (c < 0) {
            return tryTakeLarge(size, mineFast(), what, holder);
        }
        Thread self = Thread.currentThread();
        int i = slot(self) * classes.length + c;
        ClassTally t = byThread[i];
        if (t == null || t.thread != self) {
            t = tallySlow(self, i, c, what);
        }
        long address = t.pollHot();
        if (address == 0 && (address = tryTakeBelow(t, what)) == 0) {
            return null;
        }
        return handOut(t, address, t.taken() ? t : null, what, holder);
    }

    /**
     * A try of an acquire that waits when it gets nothing: as {@link #tryTake}, but a commit the
     * OS refused reads as no memory, so the acquire waits; the arena has counted the failure,
     * paused serving and scheduled a retry, so the wait is served once the OS recovers (or by a
     * close). The arena logs the 1st, 2nd, 4th... failure.
     */
    private PooledBuffer tryTakeBeforeWaiting(int size, String what, RawHolder holder) {
        try {
            return tryTake(size, what, holder);
        } catch (NativeMemoryException e) {
            return null; // counted and logged by the arena where the commit failed
        }
    }

    /** The hot slot was empty: the class's cache and pool, then make room and try once more; 0 when that fails too. */
    private long tryTakeBelow(ClassTally t, String what) {
        try {
            long address = t.sizeClass.tryTake(t);
            if (address == 0) {
                makeRoom();
                address = t.sizeClass.tryTake(t);
            }
            return address;
        } catch (IllegalStateException e) {
            throw closedOr(e, what);
        }
    }

    private PooledBuffer tryTakeLarge(int size, ThreadState me, String what, RawHolder holder) {
        long bytes = pageRound(size);
        long address;
        try {
            address = large.tryTake(bytes, me.stripe);
            if (address == 0) {
                makeRoom();
                address = large.tryTake(bytes, me.stripe);
            }
        } catch (IllegalStateException e) {
            throw closedOr(e, what);
        }
        return address != 0 ? handOut(me.large((int) bytes), address, me.tick() ? me : null, what, holder) : null;
    }

    /** The calling thread's state for this pool, made on its first acquire. */
    private ThreadState mine() {
        ThreadState me = local.get();
        return me != null ? me : register();
    }

    /** The calling thread's state through {@link #statesByThread}, else the {@code ThreadLocal} (installing it when the slot is free). */
    private ThreadState mineFast() {
        Thread self = Thread.currentThread();
        int slot = slot(self);
        ThreadState s = statesByThread[slot];
        if (s != null && s.thread == self) {
            return s;
        }
        ThreadState me = mine();
        if (vacant(statesByThread[slot], s0 -> s0.thread)) {
            statesByThread[slot] = me;
        }
        return me;
    }

    /** The thread slot of {@code t} in {@link #byThread} and {@link #statesByThread}. */
    private int slot(Thread t) {
        return (int) t.getId() & (threadSlots - 1);
    }

    /** The install rule of both caches: an entry may be taken when it is empty or its thread has exited. */
    private static <T> boolean vacant(T entry, Function<T, Thread> thread) {
        return entry == null || !thread.apply(entry).isAlive();
    }

    /** Drops the entries of exited threads from one of the caches. */
    private static <T> void dropExited(T[] entries, Function<T, Thread> thread) {
        for (int i = 0; i < entries.length; i++) {
            T e = entries[i];
            if (e != null && !thread.apply(e).isAlive()) {
                entries[i] = null; // a racing install by a live thread may be lost: it installs again on its next call
            }
        }
    }

    /** The caller's tally of class {@code c} when entry {@code i} of {@link #byThread} is someone else's or empty; installs it when the entry is free. */
    private ClassTally tallySlow(Thread self, int i, int c, String what) {
        ClassTally t;
        try {
            t = mine().tally(c, classes[c]);
        } catch (IllegalStateException e) {
            throw closedOr(e, what); // the class's cache closed before this thread's first acquire of it
        }
        if (vacant(byThread[i], t0 -> t0.thread)) {
            byThread[i] = t;
        }
        return t;
    }

    /** Drops exited threads' tallies from {@link #byThread} (their classes fold their counts). */
    private void forgetExited() {
        dropExited(byThread, t -> t.thread);
        dropExited(statesByThread, s -> s.thread);
    }

    /** The thread whose state is in {@code t}'s slot of the state cache now, or null; for tests. */
    Thread stateThreadInSlotOf(Thread t) {
        ThreadState s = statesByThread[slot(t)];
        return s != null ? s.thread : null;
    }

    /** {@code t}'s tally of the class of {@code size} when the tally cache holds it, else null; for tests. */
    ClassTally tallyOf(Thread t, int size) {
        int c = classIndex(size);
        if (c < 0) {
            return null; // a large span: no class
        }
        ClassTally s = byThread[slot(t) * classes.length + c];
        return s != null && s.thread == t ? s : null;
    }

    /** The size class of {@code size}, or null above the largest class; for tests. */
    SizeClass sizeClassOf(int size) {
        int c = classIndex(size);
        return c >= 0 ? classes[c] : null;
    }

    /** Thread slots of the tally cache, for tests. */
    int threadSlots() {
        return threadSlots;
    }

    /** The thread whose tally of the class of {@code size} is in {@code t}'s slot of the tally cache now, or null; for tests. */
    Thread threadInSlotOf(Thread t, int size) {
        int c = classOf(size, "threadInSlotOf");
        ClassTally s = byThread[slot(t) * classes.length + c];
        return s != null ? s.thread : null;
    }

    /** Tallies in the tally cache now, for tests. */
    int talliesByThread() {
        int n = 0;
        for (ClassTally t : byThread) {
            n += t != null ? 1 : 0;
        }
        return n;
    }

    private ThreadState register() {
        ThreadState me = new ThreadState(this, Thread.currentThread(), classes.length, large.stripe(nextStripe.getAndIncrement()),
                ThreadLocalRandom.current().nextInt());
        local.set(me);
        return me;
    }

    private PooledBuffer await(int size, Duration timeout, RawHolder holder, String what) throws InterruptedException {
        try {
            return awaitTake(size, timeout, holder, what);
        } catch (IllegalStateException e) {
            throw closedOr(e, what); // a class pool or the arena closed under the sync
        } catch (InterruptedException e) {
            // The wait was withdrawn and took nothing; say which call of which pool it was.
            InterruptedException named = new InterruptedException(
                    what + "(" + size + "): interrupted while waiting in buffer pool '" + name + "'; nothing was taken");
            named.initCause(e);
            throw named;
        }
    }

    private PooledBuffer awaitTake(int size, Duration timeout, RawHolder holder, String what) throws InterruptedException {
        int c = classOf(size, what);
        long bytes = c >= 0 ? sizes[c] : pageRound(size);
        Event<Long> take = c >= 0 ? classes[c].takeEvent() : large.takeEvent(bytes);
        Event<Long> event = timeout == null ? Events.choose(take, closing)
                : Events.choose(take, closing, Events.timeout(timeout).wrap(signal -> 0L));
        long address = 0;
        PooledBuffer now;
        WAITING.getAndAdd(this, 1);
        try {
            // Closes park nothing from here on (they see a waiter); what was parked between the
            // caller's first try and now goes back by this second try's makeRoom. A raw holder
            // is not called in here: its hold() is the caller's code, and one that closed the
            // pool would wait for this very acquire to stop counting as a waiter. So the second
            // try takes a handle, which the holder gets below.
            now = tryTakeBeforeWaiting(size, what, null);
            if (now == null) {
                address = event.sync();
            }
        } finally {
            WAITING.getAndAdd(this, -1);
        }
        if (now != null) {
            return holder == null ? now : handOver(now, holder);
        }
        if (address == 0) {
            if (closed) {
                throw closedError(what);
            }
            return null;
        }
        ThreadState me = mine();
        if (c >= 0) {
            ClassTally t = me.tally(c, classes[c]);
            return handOut(t, address, t.taken() ? t : null, what, holder);
        }
        me.stripe.taken(bytes);
        return handOut(me.large((int) bytes), address, me.tick() ? me : null, what, holder);
    }

    /** {@code point}: the acquiring thread's {@link SampleClock} when this acquire is a sample point (its tally's, or its state's for a large span), else null. */
    private PooledBuffer handOut(Supply supply, long address, SampleClock point, String what, RawHolder holder) {
        if (zero) {
            zeroUnlessClosed(supply, address, what);
        } else if (closed) {
            throw refuse(supply, address, what);
        }
        if (point != null) {
            return handOutSampled(supply, address, point, holder);
        }
        return holder == null ? new PooledBuffer(address, supply) : hold(holder, address, supply, supply);
    }

    /** Zeroes the buffer at {@code address} unless the pool has closed (then refuses it), counted in {@link #zeroing} so that close waits for the zeroing before it unmaps. */
    private void zeroUnlessClosed(Supply supply, long address, String what) {
        int at = ((int) Thread.currentThread().getId() & (ZEROING_STRIPES - 1)) * ZEROING_STRIDE;
        ZEROING.getAndAdd(zeroing, at, 1L);
        boolean open = !closed;
        try {
            if (open) {
                DirectViews.zero(address, supply.capacity);
            }
        } finally {
            ZEROING.getAndAdd(zeroing, at, -1L);
        }
        if (!open) {
            throw refuse(supply, address, what);
        }
    }

    /** Close: waits until no acquire is inside its zeroing (see {@link #zeroing}); each is a memset of one buffer. */
    private void awaitZeroing() {
        if (zeroing == null) {
            return;
        }
        for (int at = 0; at < zeroing.length; at += ZEROING_STRIDE) {
            for (int spins = 0; (long) ZEROING.getVolatile(zeroing, at) != 0; spins++) {
                if (spins < 100) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield(); // a large span's zeroing can take milliseconds
                }
            }
        }
    }

    /** A sample point (see {@link #POINT_GAP}): the next one is scheduled, the decay clock read, and the acquire watched when the draw says so. */
    private PooledBuffer handOutSampled(Supply supply, long address, SampleClock point, RawHolder holder) {
        point.rewind(nextGap(point.nextRandom()));
        boolean watch = (point.nextRandom() & pointWatchMask) == 0;
        if (watch) {
            watched.increment();
        }
        try {
            maybeDecay();
        } catch (Error e) { // a VM error inside the pass (its frames on a deep stack, say): the memory goes back before it propagates
            supply.release(address, supply.capacity, false);
            throw e;
        }
        if (holder != null) {
            return hold(holder, address, supply, watch ? RawWatch.on(holder, supply, address) : supply);
        }
        return watch ? PooledBuffer.watched(address, supply) : new PooledBuffer(address, supply);
    }

    /**
     * Acquires from one sample point to the next, at least 1: geometric with mean
     * {@value #DECAY_CHECK_INTERVAL} (by inverse transform from the high 24 bits of {@code r}),
     * or 1 for {@code ALL}. At most about 1 060 (u = 2^-24).
     */
    int nextGap(int r) {
        if (everyAcquire) {
            return 1;
        }
        double u = ((r >>> 8) + 1) * 0x1.0p-24; // (0, 1]
        return 1 + (int) (Math.log(u) / POINT_GAP);
    }

    /** The pool closed while an acquire held {@code address}: it goes back, and the acquire fails. */
    private IllegalStateException refuse(Supply supply, long address, String what) {
        supply.release(address, supply.capacity, false);
        return closedError(what);
    }

    /** The class index for {@code size}, or -1 for the large path; validates. */
    private int classOf(int size, String what) {
        if (size <= 0 || size > maxBuffer) {
            throw badSize(size, what);
        }
        if (closed) {
            throw closedError(what);
        }
        return classIndex(size);
    }

    /** The class index for a valid {@code size}, or -1 for the large path. */
    private int classIndex(int size) {
        if (size > lookupMax) {
            return classAbove(size);
        }
        return classAt[(size - 1) >> lookupShift];
    }

    /** {@link #lookupShift} for ascending {@code sizes}: the trailing zero bits every class up to {@link #LOOKUP_LIMIT} has, at most 4. */
    static int granuleShift(int[] sizes) {
        int bits = 0;
        for (int size : sizes) {
            if (size <= LOOKUP_LIMIT) {
                bits |= size;
            }
        }
        return Math.min(4, Integer.numberOfTrailingZeros(bits)); // no class up to the limit: 32 zeros, so 4, and the table answers class 0 throughout
    }

    /** {@link #classOf} above the table: a binary search, or -1 for the large path. */
    private int classAbove(int size) {
        int i = Arrays.binarySearch(sizes, size);
        if (i >= 0) {
            return i;
        }
        i = -i - 1;
        return i < sizes.length ? i : -1;
    }

    private IllegalArgumentException badSize(int size, String what) {
        return new IllegalArgumentException(what + "(" + size + "): size is not in [1, " + maxBuffer + "] (buffer pool '"
                + name + "' reserves " + region.size() + " bytes" + (maxCommitted != 0 ? ", commits at most " + maxCommitted : "")
                + "; a buffer above the largest size class takes whole pages of " + VirtualRegion.pageSize() + " bytes)");
    }

    private static long pageRound(long size) {
        long page = VirtualRegion.pageSize();
        return (size + page - 1) / page * page;
    }

    /**
     * An acquire found no space: give the arena what is idle — cached large spans, the items
     * parked in magazines of every class (the caller's, and those of threads outside a pool
     * call), and then every idle slab — so memory parked in one class never starves another
     * class or a large request (DESIGN.md: parked memory never starves a waiter).
     */
    private void makeRoom() {
        large.trim();
        for (SizeClass k : classes) {
            k.trim();
        }
    }

    // ------------------------------------------------------------------ shrink

    /**
     * Returns idle memory now: magazines of threads outside a pool call, the depot, idle slabs,
     * cached large spans; and free commit chunks whose protection change the OS refused before
     * (see {@link io.slab4j.arena.Arena#retryReleases}) are offered to it again.
     */
    public void trim() {
        checkOpen("trim");
        try {
            for (SizeClass k : classes) {
                k.trim();
            }
            large.trim();
            arena.retryReleases();
            forgetExited();
        } catch (IllegalStateException e) {
            throw closedOr(e, "trim");
        }
    }

    /**
     * At a sample point: the decay pass when a decay period has gone by since the last. Throws
     * no exception (see the catch); an {@link Error} it passes on, and its caller gives the
     * acquire's memory back first.
     */
    private void maybeDecay() {
        long now = System.nanoTime();
        long last = lastDecay.get();
        if (now - last < decayNanos || !lastDecay.compareAndSet(last, now) || closed) {
            return;
        }
        try {
            Runnable probe = decayProbe;
            if (probe != null) {
                probe.run();
            }
            for (SizeClass k : classes) {
                k.trim();
            }
            large.decay(decayEpoch.incrementAndGet());
            arena.retryReleases();
            forgetExited();
        } catch (RuntimeException e) {
            // The acquire that runs the pass holds its memory already (and has counted it), so
            // the pass must not fail it: that memory would be lost. The layers below already
            // swallow and count the OS's refusals; what reaches here is a bug, logged, and the
            // next pass (a decay period on) tries again. Nothing to say when the pool closed under it.
            if (!closed) {
                System.getLogger(BufferPool.class.getName()).log(System.Logger.Level.WARNING, "buffer pool '" + name
                        + "': an idle-memory decay pass failed; the acquire that ran it went on, and the next pass tries again", e);
            }
        }
    }

    /** Tests only: run at the start of every decay pass, to make one fail; null in production. Written and read by the test's own acquiring thread. */
    Runnable decayProbe;
    /** Tests only: run inside the winning close, before the MXBean is unregistered, to hold it there; null in production. Set before close starts. */
    volatile Runnable closeProbe;

    // ------------------------------------------------------------- bookkeeping

    /** Decay passes so far (see {@link LargeSpans}: the idle stamp of a cached span). */
    int decayEpoch() {
        return decayEpoch.get();
    }

    /** Acquires blocked now. */
    int waiters() {
        return waiting;
    }

    void leaked(int capacity) {
        leaks.increment();
    }

    long watched() {
        return watched.sum();
    }

    /** For tests: the tallies class {@code c} keeps (one per thread that used it and is not yet seen terminated). */
    int tallies(int c) {
        return classes[c].tallies();
    }

    /** For tests: whether class {@code c}'s cache runs its put checks (see {@link SizeClass}). */
    boolean cacheChecks(int c) {
        return classes[c].cacheChecks();
    }

    /** For tests: the large-span cache. */
    LargeSpans largeSpans() {
        return large;
    }

    public String name() {
        return name;
    }

    /** For tests: the region's first byte and the arena's own figures. */
    long regionAddress() {
        return region.address();
    }

    io.slab4j.arena.ArenaStats arenaStats() {
        return arena.stats();
    }

    /** For tests: large spans marked raw-held ({@link LargeSpans}' raw marks); exact only while nothing runs. */
    long rawLargeMarks() {
        return large.rawOutCount();
    }

    /** For tests: the arena's commit chunk in bytes ({@link Builder#commitChunk}). */
    long arenaCommitChunk() {
        return arena.commitChunk();
    }

    /** The size classes, ascending (a copy). */
    public int[] sizeClasses() {
        return sizes.clone();
    }

    public boolean isClosed() {
        return closed;
    }

    public BufferPoolStats stats() {
        List<SizeClassStats> perClass = new ArrayList<>(classes.length);
        long used = large.bytesInUse();
        long count = large.buffersInUse();
        for (SizeClass k : classes) {
            SizeClassStats s = k.stats();
            perClass.add(s);
            used += s.buffersInUse() * s.size();
            count += s.buffersInUse();
        }
        io.slab4j.arena.ArenaStats a = arena.stats();
        // closed: the region is unmapped, or (buffers were open) emptied and kept reserved with its protections as they
        // were, so that a stale access reads zeros: nothing is resident, but the chunks stay mapped read-write
        long committed = closed ? 0 : a.committed();
        long accessible = region.isOpen() ? a.accessible() : 0;
        return new BufferPoolStats(name, region.size(), committed, maxCommitted, used, count, waiting,
                leaks.sum(), large.buffersInUse(), large.cachedBytes(), perClass, accessible, a.commitFailures());
    }

    /** Checks the arena, every class's pool and cache, and the large-span cache; throws IllegalStateException on the first broken invariant. */
    public void checkInvariants() {
        arena.checkInvariants();
        for (SizeClass k : classes) {
            k.checkInvariants();
        }
        large.checkInvariants();
        long committed = arena.stats().committed();
        if (committed > region.size()) {
            throw new IllegalStateException("buffer pool '" + name + "': committed " + committed + " > reserved " + region.size());
        }
    }

    // ------------------------------------------------------------------- close

    /**
     * Closes the pool: wakes blocked acquires (they throw {@code IllegalStateException}),
     * detaches the views of buffers still open and reports them (WARNING), unregisters the
     * MXBean and unmaps the region. Buffers still open stay closed-looking: their accessors
     * throw, their {@code close()} does nothing. When buffers are still open the region is
     * not unmapped but emptied ({@code madvise(MADV_DONTNEED)}: its memory goes back to the OS)
     * and left reserved for good, so an access the pool cannot refuse (a {@code ByteBuffer}
     * the caller derived from a view, a raw {@link PooledBuffer#address()}, a Netty buffer's
     * NIO buffers) reads zeros instead of faulting and killing the JVM, and no later mapping
     * can appear under it. Idempotent: a second close, on any thread but the first's, returns once the
     * first has finished.
     */
    @Override
    public void close() {
        if (!CLOSED.compareAndSet(this, false, true)) {
            awaitClose();
            return;
        }
        closer = Thread.currentThread();
        List<Runnable> warnings = new ArrayList<>(2);
        try {
            closeNow(warnings);
        } finally {
            closeDone.countDown();
        }
        // Logged only now, after the close is done: a log handler is the caller's code, and one
        // that closes the pool again on another thread and waits for it would otherwise wait for
        // this close, which waits for the handler.
        for (Runnable w : warnings) {
            w.run();
        }
    }

    /**
     * A second close: returns once the first has finished (its MXBean unregistered, its region
     * released), so that whoever closes a pool may rely on that, however many close it. A close
     * from inside the first (a log handler of its warning, say) returns at once; an interrupt
     * does not cut the wait short, and is kept.
     */
    private void awaitClose() {
        if (closer == Thread.currentThread()) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                closeDone.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** The close itself; its warnings go to {@code warnings}, which {@link #close()} logs once every close may return. */
    private void closeNow(List<Runnable> warnings) {
        closing.fire();
        while (waiting > 0) {
            Thread.onSpinWait(); // woken waiters are leaving their syncs
        }
        int withViews = views.detachAll();
        BufferPoolStats last = stats();
        boolean open = last.buffersInUse() > 0;
        if (open) {
            String message = "buffer pool '" + name + "' closed with " + last.buffersInUse() + " buffers (" + last.usedBytes()
                    + " bytes) still open; the views of " + withViews + " of them were detached, and the region's memory goes back"
                    + " to the OS but its " + region.size() + " bytes of address space stay reserved (not unmapped), so that a"
                    + " stale access reads zeros instead of crashing";
            warnings.add(() -> System.getLogger(BufferPool.class.getName()).log(System.Logger.Level.WARNING, message));
        }
        for (SizeClass k : classes) {
            open |= !k.close(); // refused: an item is still out, which the snapshot may have missed (an acquire racing the CAS)
        }
        large.close();
        open |= large.buffersInUse() > 0; // counted under the stripes' locks, which a racing take held before or after
        Runnable probe = closeProbe;
        if (probe != null) {
            probe.run();
        }
        Management.unregister(name);
        awaitZeroing(); // an acquire that read closed as false before it was set may still be zeroing
        if (open) {
            retire(warnings);
        } else {
            region.close();
        }
    }

    /** Close with buffers still open: empties the region and keeps it reserved, never unmapped (see {@link #close()}). */
    private void retire(List<Runnable> warnings) {
        try {
            region.release(0, region.size());
        } catch (RuntimeException e) { // the memory stays resident; still nothing is unmapped under the open buffers
            warnings.add(() -> System.getLogger(BufferPool.class.getName()).log(System.Logger.Level.WARNING, "buffer pool '" + name
                    + "': releasing the memory of its closed region failed; it stays resident", e));
        }
    }

    private void checkOpen(String what) {
        if (closed) {
            throw closedError(what);
        }
    }

    private IllegalStateException closedError(String what) {
        return closedError(what, null);
    }

    private IllegalStateException closedError(String what, Throwable cause) {
        return new PoolClosedException(what + ": buffer pool '" + name + "' is closed", cause);
    }

    /** This pool's refusal of a call because it is closed (an {@link IllegalStateException} to callers; the type only marks it for {@link #closedOr}). */
    private static final class PoolClosedException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        PoolClosedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    @Override
    public String toString() {
        return "BufferPool[" + name + ", " + region.size() + " bytes reserved, " + sizes.length + " size classes"
                + (closed ? ", closed]" : "]");
    }

    /**
     * Configures a {@link BufferPool}. Defaults: name {@code "buffers"}, 1 GiB reserved, no
     * committed cap, {@link SizeClasses#DEFAULT}, magazines on, no zeroing,
     * {@link LeakDetection#SAMPLED}, idle decay {@link #DEFAULT_IDLE_DECAY}, no prefault, no huge
     * pages, the arena's default commit chunk. Setters reject bad values at once (IllegalArgumentException naming them) and leave
     * the builder unchanged; {@link #build()} checks values against each other and never
     * changes the builder.
     */
    public static final class Builder {
        private String name = "buffers";
        private long reserve = DEFAULT_RESERVE;
        private long maxCommitted;
        private int[] sizeClasses = SizeClasses.DEFAULT.clone();
        private boolean magazines = true;
        private boolean zeroOnAcquire;
        private LeakDetection leakDetection = LeakDetection.SAMPLED;
        private Duration idleDecay = DEFAULT_IDLE_DECAY;
        private boolean prefault;
        private boolean hugePages;
        private long commitChunk;
        /** Test seam: how the pool's arena is built over its region (tests inject failing commits). */
        Function<VirtualRegion, Arena.Builder> arenaOver = Arena::builder;

        private Builder() {
        }

        /** The pool's name: in messages, logs and the MXBean's {@code name=} key; not empty. */
        public Builder name(String name) {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("name(" + (name == null ? "null" : "\"\"") + "): a buffer pool needs a name");
            }
            this.name = name;
            return this;
        }

        /** Address space to reserve, rounded up to pages: the hard cap on everything the pool hands out. */
        public Builder reserve(long bytes) {
            if (bytes <= 0 || bytes > MAX_RESERVE) {
                throw new IllegalArgumentException("reserve(" + bytes + "): the reservation must be in [1, " + MAX_RESERVE
                        + "] bytes (4 TiB, 2^42: the arena numbers pages of 4 KiB with an int)");
            }
            this.reserve = bytes;
            return this;
        }

        /**
         * A cap on committed memory, at most the reservation (checked by {@link #build()}): the
         * bytes of live slabs and of open and cached large spans ({@link BufferPoolStats#committedBytes()}),
         * which bounds resident memory. An acquire that would commit beyond it waits (or finds
         * nothing, for {@code tryAcquire}) as at a full reservation. Protections change in whole
         * commit chunks, so the bytes mapped read-write ({@link BufferPoolStats#accessibleBytes()},
         * the kernel's commit charge) can exceed it while freed pages inside a live chunk are
         * released; with {@link #commitChunk} at the page size it cannot.
         */
        public Builder maxCommitted(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("maxCommitted(" + bytes + "): the cap must be positive");
            }
            this.maxCommitted = bytes;
            return this;
        }

        /** Item sizes of the size classes: positive, strictly ascending; requests above the last are page spans. */
        public Builder sizeClasses(int... sizes) {
            this.sizeClasses = SizeClasses.validate(sizes);
            return this;
        }

        /** Per-thread magazines in front of each class's pool (default true). */
        public Builder magazines(boolean on) {
            this.magazines = on;
            return this;
        }

        /** Zero every buffer before handing it out (default false). */
        public Builder zeroOnAcquire(boolean on) {
            this.zeroOnAcquire = on;
            return this;
        }

        public Builder leakDetection(LeakDetection mode) {
            if (mode == null) {
                throw new IllegalArgumentException("leakDetection(null): choose OFF, SAMPLED or ALL");
            }
            this.leakDetection = mode;
            return this;
        }

        /** How long memory stays idle before it goes back on its own (see the class comment); positive. */
        public Builder idleDecay(Duration period) {
            if (period == null || period.isZero() || period.isNegative()) {
                throw new IllegalArgumentException("idleDecay(" + period + "): the period must be positive");
            }
            this.idleDecay = period;
            return this;
        }

        /**
         * Fault in the memory of every slab and large span when the arena commits it, so the
         * first writes to a fresh slab take no page faults ({@link Arena.Builder#prefault}:
         * one {@code madvise(MADV_POPULATE_WRITE)} per grow; nothing where the kernel lacks
         * it). Costs resident memory for slab parts never written. Default false.
         */
        public Builder prefault(boolean on) {
            this.prefault = on;
            return this;
        }

        /**
         * Back large buffers of a huge page or more with transparent huge pages
         * ({@link Arena.Builder#hugePages}): the region is reserved aligned to
         * {@link VirtualRegion#hugePageSize()} and such spans are allocated at that alignment,
         * so each whole huge page inside one is a single page-table entry and a single fault
         * (with {@link #prefault}, none). Smaller buffers and slabs keep small pages; freed and
         * decayed spans still go back to the OS. The placement can cost capacity: a span put on
         * a boundary leaves the hole below it to smaller buffers, so on a reservation of a few
         * huge pages a large buffer that would fit unaligned may find no room (it is then placed
         * anywhere there is space, but aligned neighbours may have split that space). Where the
         * kernel offers no huge pages ({@code hugePageSize() == 0}) it does nothing. Default
         * false.
         */
        public Builder hugePages(boolean on) {
            this.hugePages = on;
            return this;
        }

        /**
         * The granularity, in bytes, at which the pool's memory is made accessible and
         * inaccessible ({@link Arena.Builder#commitChunk}): a power of two, a multiple of
         * {@link VirtualRegion#pageSize()}. A chunk stays mapped read-write while any slab or
         * large span in it is live (the pages freed inside it are still released, so resident
         * memory follows {@link BufferPoolStats#committedBytes()} either way), so
         * {@link BufferPoolStats#accessibleBytes()}, what the kernel charges under
         * {@code vm.overcommit_memory=2}, can exceed {@link #maxCommitted}. With the page size,
         * protections follow the committed bytes exactly and {@code maxCommitted} bounds that
         * charge too; the price is more mappings, up to {@code reservation / bytes} (Linux counts
         * them against {@code vm.max_map_count}, 65530 by default, for the whole process; a
         * commit refused for that is a commit failure, {@link BufferPoolStats#commitFailures()},
         * and the acquire waits as at a full cap). Default: the larger of 64 KiB and
         * 1/8192 of the reservation.
         */
        public Builder commitChunk(long bytes) {
            long page = VirtualRegion.pageSize();
            if (bytes <= 0 || Long.bitCount(bytes) != 1 || bytes % page != 0) {
                throw new IllegalArgumentException("commitChunk(" + bytes + "): the chunk must be a power of two and a multiple of the "
                        + page + "-byte page");
            }
            this.commitChunk = bytes;
            return this;
        }

        /**
         * Reserves the region and builds the pool, registering its MXBean.
         *
         * @throws IllegalArgumentException the committed cap exceeds the reservation, a slab of
         *                                  the largest class does not fit the reservation, the
         *                                  commit chunk exceeds the reservation, or a pool of this
         *                                  name is open
         */
        public BufferPool build() {
            long page = VirtualRegion.pageSize();
            long reserved = (reserve + page - 1) / page * page;
            if (maxCommitted > reserved) {
                throw new IllegalArgumentException("maxCommitted(" + maxCommitted + ") exceeds the reservation of " + reserved
                        + " bytes");
            }
            long slab = SizeClasses.slabBytes(sizeClasses[sizeClasses.length - 1]);
            long cap = maxCommitted != 0 ? maxCommitted : reserved;
            if (slab > cap) {
                throw new IllegalArgumentException("size class " + sizeClasses[sizeClasses.length - 1] + " needs slabs of " + slab
                        + " bytes, more than the " + (maxCommitted != 0 ? "committed cap maxCommitted(" + maxCommitted + ")"
                        : "reservation of " + reserved + " bytes"));
            }
            if (commitChunk > reserved) {
                throw new IllegalArgumentException("commitChunk(" + commitChunk + ") exceeds the reservation of " + reserved
                        + " bytes");
            }
            Management.checkFree(name);
            long huge = hugePages ? VirtualRegion.hugePageSize() : 0;
            VirtualRegion region = huge > page ? VirtualRegion.reserve(reserved, huge) : VirtualRegion.reserve(reserved);
            try {
                BufferPool pool = new BufferPool(this, region);
                Management.register(pool);
                return pool;
            } catch (RuntimeException | Error e) {
                region.close();
                throw e;
            }
        }
    }
}

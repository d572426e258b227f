package io.slab4j.buffer;

import io.slab4j.cache.PoolCache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One thread's count of the buffers of one {@link SizeClass} it acquired and closed, its
 * {@link PoolCache.Local} on the class's magazines, and the {@link Supply} of the handles it
 * acquired: so an acquire and a close by the same thread find the class and the thread's
 * magazines without any lookup (a close by another thread goes through the cache's own lookup
 * of the closing thread's magazines).
 *
 * <h2>Invariant</h2>
 * {@code taken} counts this thread's acquires of the class; {@code released} the closes of
 * those handles <em>by this same thread</em>. A close by any other thread (or by the leak
 * detector) is counted in the class's {@code releasedElsewhere} instead. So the class's
 * buffers in use are {@code folded + sum(taken - released) - releasedElsewhere}, exact when no
 * acquire or close is in flight ({@link SizeClass#buffersInUse()}).
 *
 * <h2>Concurrency</h2>
 * {@code taken}, {@code released} and {@code seed} have one writer, {@code thread}, which writes them with
 * release stores (a plain {@code mov} on x86: no atomic instruction on the fast path); readers
 * ({@code stats()}) use acquire loads. A close on another thread never writes them. Once the
 * thread has terminated, its counts are final, and a reader that saw {@code !isAlive()} sees
 * them (thread termination synchronizes-with that observation, JLS 17.4.4), so
 * {@link SizeClass} may fold them into a plain total and forget the tally.
 *
 * <h2>The hot slot</h2>
 * {@code hot} parks at most one item of the class for {@code thread}, in front of its
 * magazines: a close by {@code thread} that finds it empty leaves the item there, and its next
 * acquire takes it back, so an alternating acquire/close touches this object and the handle
 * only (an exchange and a CAS on the slot, and the handle's CAS), not the cache. Its states:
 * <pre>
 *   EMPTY (0) ──thread's close: CAS 0 → x──▶ x ──thread's acquire (exchange with 0), or a reclaimer: CAS x → 0──▶ EMPTY
 *   any ──the class's close: getAndSet SEALED──▶ SEALED   (final; also the initial state without magazines)
 * </pre>
 * Every change but one is an atomic read-modify-write of the one word, so the changes form one
 * modification order in which each reads the value just before it; the one plain (volatile)
 * write is the owner's re-seal in {@link #pollHot}, which writes SEALED over the 0 its own
 * exchange left, when no other thread can have changed it but to SEALED. So an item put there by the
 * CAS 0 → x is taken by exactly one later successful RMW, whose caller then owns it, and a
 * failed CAS owns nothing (the argument of {@code ThreadMagazines}' hot slot, whose protocol
 * this is). The filling CAS is a volatile write and the winning RMW a volatile read of it, so
 * the closing holder's writes to the buffer happen-before whatever the taker does next.
 * Reclaimers are {@link SizeClass}'s trim, decay and make-room passes (they take every tally's
 * item), the fold of an exited thread's tally, and the class's close (it seals). A close that
 * parks here while an acquire waits takes the item out again and returns it: the fill's CAS
 * precedes its read of the pool's waiter count, and a waiting acquire counts itself before its
 * last try reclaims, so one of the two sees the other (see {@link SizeClass#unparkForWaiters}).
 * The item stays OUT in the pool's ownership record while here, as in the class's magazines
 * (the cache runs without put checks, see {@link SizeClass}).
 */
final class ClassTally extends Supply implements SampleClock {
    private static final VarHandle TAKEN;
    private static final VarHandle RELEASED;
    private static final VarHandle HOT;
    /** The hot slot's value once sealed (the pool closed, or magazines are off); never an item address. */
    static final long SEALED = -1L;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            TAKEN = lookup.findVarHandle(ClassTally.class, "taken", long.class);
            RELEASED = lookup.findVarHandle(ClassTally.class, "released", long.class);
            HOT = lookup.findVarHandle(ClassTally.class, "hot", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final SizeClass sizeClass;
    /** The only writer of the counters. */
    final Thread thread;
    /** {@code thread}'s own handle on the class's magazines (null when they are off): only {@code thread} calls it. */
    final PoolCache.Local local;
    /**
     * The slab of the last address a raw release of this class checked ({@link SizeClass#isOut}),
     * opaque here. Plain: written by whichever thread checks, a stale or racing value costs a
     * directory lookup only (see {@code Pool.isOut(long, Object)}).
     */
    Object slabHint;
    /** Written by {@code thread} only (release store), read by anyone (acquire load). */
    private long taken;
    /** Written by {@code thread} only (release store), read by anyone (acquire load). */
    private long released;
    /** Xorshift state of the acquires' sampling, never 0; {@code thread} only. A long, so that it sits with the counters before the padding. */
    private long seed;
    /** The value of {@code taken} at the next sample point ({@link SampleClock}); {@code thread} only. A long for the same reason. */
    private long nextPoint;
    /** The hot slot: 0, one item {@code thread} parked, or {@link #SEALED}; written only by atomic RMWs (see the class comment). */
    @SuppressWarnings("FieldMayBeFinal")
    private long hot;
    /**
     * Padding: a class's tallies sit in one list, so a collection may copy them next to each
     * other; {@link LeadingPad} in front and these 96 bytes after the written fields keep two
     * threads' counters off one cache line pair.
     */
    @SuppressWarnings("unused")
    private long p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11;

    ClassTally(SizeClass sizeClass, Thread thread) {
        super(sizeClass.owner, sizeClass.size);
        this.sizeClass = sizeClass;
        this.thread = thread;
        this.local = sizeClass.local();
        this.seed = ThreadLocalRandom.current().nextInt() | 1; // its own sequence: not the same points in every class and pool of one thread
        this.nextPoint = sizeClass.owner.nextGap(nextRandom()); // a drawn gap, not 1: a new thread's first acquire is no likelier a point than any other
        this.hot = local != null ? 0 : SEALED; // no magazines: nothing is parked per thread, not even here
    }

    // ------------------------------------------------------------ the hot slot

    /**
     * The owner's acquire: takes the parked item (the exchange's caller owns it); 0 when the slot
     * is empty or sealed, or a reclaimer took the item first. One exchange, not a load and a
     * CAS on what it read: nothing before the atomic depends on the slot's value, so it issues as
     * soon as this tally's address is known. A sealed slot reads SEALED and is sealed again at
     * once; in between it reads 0, which no other thread can change but to SEALED (only the
     * owner fills the slot, and it is here; reclaimers take items, and 0 is none; a sealer
     * writes SEALED), so the write back overwrites nothing and the seal stays final for every
     * purpose: no item is ever parked in a sealed slot.
     */
    long pollHot() {
        long x = (long) HOT.getAndSet(this, 0L);
        if (x == SEALED) {
            HOT.setVolatile(this, SEALED);
            return 0;
        }
        return x;
    }

    /** The owner's close: parks {@code address} when the slot is empty; false when it is full or sealed. */
    boolean offerHot(long address) {
        return (long) HOT.getOpaque(this) == 0 && HOT.compareAndSet(this, 0L, address);
    }

    /** Any thread: takes the parked item, leaving the slot empty (a sealed slot stays sealed); 0 when there is none. */
    long takeHot() {
        long x;
        while ((x = (long) HOT.getVolatile(this)) != 0 && x != SEALED) {
            if (HOT.compareAndSet(this, x, 0L)) {
                return x;
            }
        }
        return 0;
    }

    /** Any thread: seals the slot for good and returns the item it held, or 0. */
    long sealHot() {
        long x = (long) HOT.getAndSet(this, SEALED);
        return x != SEALED ? x : 0;
    }

    /** The slot's value now (0, an item, or {@link #SEALED}), racy: for checks. */
    long peekHot() {
        return (long) HOT.getOpaque(this);
    }

    @Override
    public void rewind(int gap) {
        nextPoint = taken + gap;
    }

    @Override
    public int nextRandom() {
        int x = SampleClock.xorshift((int) seed);
        seed = x;
        return x;
    }

    /**
     * The owner thread: one more acquire handed out; true when it is a sample point (see
     * {@link SampleClock}). The count is the clock, so an acquire writes one field for both;
     * kept here rather than in the thread's {@link ThreadState} so that an acquire writes one
     * object, whose line it writes anyway.
     */
    boolean taken() {
        long n = taken + 1;
        TAKEN.setRelease(this, n);
        return n == nextPoint;
    }

    @Override
    boolean mayHold(long address) {
        return sizeClass.isOut(address, this);
    }

    @Override
    void release(long address, int capacity, boolean fromCleaner) {
        release(address, fromCleaner);
    }

    /** As {@link #release(long, int, boolean)}; the handle's close calls this one directly. */
    void release(long address, boolean fromCleaner) {
        if (!fromCleaner && Thread.currentThread() == thread) {
            RELEASED.setRelease(this, released + 1);
            if (!offerHot(address)) {
                sizeClass.giveBack(address, local);
            } else if (owner.waiters() > 0) { // the supply's owner: one load fewer than through the class
                sizeClass.unparkForWaiters(this); // an acquire waits: nothing may stay parked here
            }
        } else {
            releaseElsewhere(address, fromCleaner);
        }
    }

    /** A close by another thread, or the leak detector's return. */
    private void releaseElsewhere(long address, boolean fromCleaner) {
        sizeClass.releasedElsewhere();
        if (fromCleaner) {
            sizeClass.giveBackFromCleaner(address);
        } else {
            sizeClass.giveBack(address, null);
        }
    }

    /** This thread's buffers of the class not yet closed by it (released read first: never above the truth by a racing pair). */
    long open() {
        long r = (long) RELEASED.getAcquire(this);
        return (long) TAKEN.getAcquire(this) - r;
    }

    @Override
    public String toString() {
        return sizeClass + " as used by " + thread.getName();
    }
}

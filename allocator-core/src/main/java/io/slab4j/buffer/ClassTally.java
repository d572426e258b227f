package io.slab4j.buffer;

import io.slab4j.cache.PoolCache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

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
 */
final class ClassTally extends Supply {
    private static final VarHandle TAKEN;
    private static final VarHandle RELEASED;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            TAKEN = lookup.findVarHandle(ClassTally.class, "taken", long.class);
            RELEASED = lookup.findVarHandle(ClassTally.class, "released", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final SizeClass sizeClass;
    /** The only writer of the counters. */
    final Thread thread;
    /** {@code thread}'s own handle on the class's magazines (null when they are off): only {@code thread} calls it. */
    final PoolCache.Local local;
    /** Written by {@code thread} only (release store), read by anyone (acquire load). */
    private long taken;
    /** Written by {@code thread} only (release store), read by anyone (acquire load). */
    private long released;
    /** Xorshift state of the acquires' sampling, never 0; {@code thread} only. A long, so that it sits with the counters before the padding. */
    private long seed;
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
        this.seed = (thread.getId() * 0x9E3779B97F4A7C15L) | 1;
    }

    /**
     * The next number of a xorshift32 sequence (Marsaglia 2003), which picks the acquires
     * watched by the leak detector and those that look at the decay clock; {@code thread}
     * only. Kept here rather than in the thread's {@link ThreadState} so that an acquire
     * writes one object, whose line it writes anyway.
     */
    int nextRandom() {
        int x = (int) seed;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        seed = x;
        return x;
    }

    /** The owner thread: one more acquire handed out. */
    void taken() {
        TAKEN.setRelease(this, taken + 1);
    }

    @Override
    void release(long address, int capacity, boolean fromCleaner) {
        release(address, fromCleaner);
    }

    /** As {@link #release(long, int, boolean)}; the handle's close calls this one directly. */
    void release(long address, boolean fromCleaner) {
        if (!fromCleaner && Thread.currentThread() == thread) {
            RELEASED.setRelease(this, released + 1);
            sizeClass.giveBack(address, local);
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

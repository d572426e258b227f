package io.slab4j.buffer;

/**
 * What one thread keeps for one {@link BufferPool}, found through the pool's
 * {@code ThreadLocal} by a large-span acquire, and by a class acquire whose tally is not in the
 * pool's tally cache (see {@code BufferPool.byThread}): its {@link ClassTally} of each size class it has used
 * (made on first use), its home stripe of the {@link LargeSpans}, and the
 * {@link SampleClock} of its large-span acquires (a size class's acquires use their
 * {@link ClassTally}'s, so that a class acquire writes nothing here). Padded in front
 * ({@link LeadingPad}): read on every acquire, so no other thread's written fields may share
 * its lines.
 *
 * <h2>Concurrency</h2>
 * Owner thread only: nothing here is read or written by another thread, except the tallies
 * (see {@link ClassTally}) and the stripe (thread-safe itself). No correctness depends on this
 * object or its {@code ThreadLocal} entry being collected: an exited thread's tallies are folded
 * by their size class once the thread is seen dead.
 */
final class ThreadState extends LeadingPad implements SampleClock {
    final Thread thread;
    final LargeSpans.Stripe stripe;
    private final ClassTally[] tallies;
    /** The last large-span supply used, or null. */
    private LargeSpans.Sized lastLarge;
    /** Xorshift state, never 0. */
    private int seed;
    /** Large-span acquires until the next sample point. */
    private int countdown;

    /** {@code owner} draws the first sample point's gap, as for every later one (so a new thread's first acquire is no likelier a point). */
    ThreadState(BufferPool owner, Thread thread, int classes, LargeSpans.Stripe stripe, int seed) {
        this.thread = thread;
        this.tallies = new ClassTally[classes];
        this.stripe = stripe;
        this.seed = seed != 0 ? seed : 0x9E3779B9;
        this.countdown = owner.nextGap(nextRandom());
    }

    /** This thread's tally of class {@code c}, registering one with the class on first use. */
    ClassTally tally(int c, SizeClass k) {
        ClassTally t = tallies[c];
        return t != null ? t : register(c, k);
    }

    private ClassTally register(int c, SizeClass k) {
        ClassTally t = new ClassTally(k, thread); // throws the cache's refusal once the pool closed: the caller names its call
        k.register(t);
        tallies[c] = t;
        return t;
    }

    /** The supply of large buffers of {@code bytes} in this thread's stripe (the last one again when the size repeats). */
    LargeSpans.Sized large(int bytes) {
        LargeSpans.Sized s = lastLarge;
        if (s == null || s.capacity != bytes) {
            s = stripe.sized(bytes);
            lastLarge = s;
        }
        return s;
    }

    /** A large-span acquire: true when this one is a sample point (see {@link SampleClock}). */
    boolean tick() {
        return --countdown == 0;
    }

    @Override
    public void rewind(int gap) {
        countdown = gap;
    }

    /** The next number of this thread's xorshift32 sequence, as {@link ClassTally#nextRandom}. */
    @Override
    public int nextRandom() {
        int x = SampleClock.xorshift(seed);
        seed = x;
        return x;
    }
}

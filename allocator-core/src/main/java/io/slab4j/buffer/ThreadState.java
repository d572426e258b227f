package io.slab4j.buffer;

/**
 * What one thread keeps for one {@link BufferPool}, found through the pool's
 * {@code ThreadLocal} once per acquire: its {@link ClassTally} of each size class it has used
 * (made on first use), its home stripe of the {@link LargeSpans}, and a private random
 * sequence that picks the acquires watched by the leak detector and those that look at the
 * decay clock.
 *
 * <h2>Concurrency</h2>
 * Owner thread only: nothing here is read or written by another thread, except the tallies
 * (see {@link ClassTally}) and the stripe (thread-safe itself). No correctness depends on this
 * object or its {@code ThreadLocal} entry being collected: an exited thread's tallies are folded
 * by their size class once the thread is seen dead.
 */
final class ThreadState {
    final Thread thread;
    final LargeSpans.Stripe stripe;
    private final ClassTally[] tallies;
    /** The last large-span supply used, or null. */
    private LargeSpans.Sized lastLarge;
    /** Xorshift state, never 0. */
    private int seed;

    ThreadState(Thread thread, int classes, LargeSpans.Stripe stripe, int seed) {
        this.thread = thread;
        this.tallies = new ClassTally[classes];
        this.stripe = stripe;
        this.seed = seed != 0 ? seed : 0x9E3779B9;
    }

    /** This thread's tally of class {@code c}, registering one with the class on first use. */
    ClassTally tally(int c, SizeClass k) {
        ClassTally t = tallies[c];
        return t != null ? t : register(c, k);
    }

    private ClassTally register(int c, SizeClass k) {
        ClassTally t;
        try {
            t = new ClassTally(k, thread);
        } catch (IllegalStateException cacheClosed) {
            throw new IllegalStateException("acquire: buffer pool '" + k.owner.name() + "' is closed", cacheClosed);
        }
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

    /** The next number of a xorshift32 sequence (Marsaglia 2003): uniform enough to sample by its bits. */
    int nextRandom() {
        int x = seed;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        seed = x;
        return x;
    }
}

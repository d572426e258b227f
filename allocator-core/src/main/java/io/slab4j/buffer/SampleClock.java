package io.slab4j.buffer;

/**
 * One thread's schedule of sample points, the acquires that look at the decay clock and may be
 * watched by the leak detector: a {@link ClassTally} for its class's acquires, a
 * {@link ThreadState} for large spans. The fast path only counts (a tally's
 * {@code taken()}, which it does anyway; a thread state's {@code tick()});
 * at a point, {@code BufferPool} draws the next gap and the watch decision from
 * {@link #nextRandom()} and sets it with {@link #rewind}. Owner thread only.
 */
interface SampleClock {
    /** The next number of the owner's xorshift32 sequence (Marsaglia 2003): never 0. */
    int nextRandom();

    /** The next sample point is {@code gap} (at least 1) acquires from now. */
    void rewind(int gap);

    /** One step of xorshift32 (shifts 13, 17, 5): the number after {@code x}, never 0 when {@code x} is not. */
    static int xorshift(int x) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return x;
    }
}

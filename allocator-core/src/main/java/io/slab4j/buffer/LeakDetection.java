package io.slab4j.buffer;

/**
 * How a {@link BufferPool} watches for buffers that become unreachable without
 * {@link PooledBuffer#close()}. A watched buffer that leaks is reported through
 * {@link System.Logger} (logger {@code io.slab4j.buffer.BufferPool}, level WARNING) with the
 * stack of its acquire, counted in {@link BufferPoolStats#leaksDetected()}, and its memory
 * goes back to the pool. An unwatched leak is never seen and its memory stays lost until
 * the pool closes. Watching is a safety net (a {@link java.lang.ref.Cleaner}), never the
 * way memory is meant to come back.
 */
public enum LeakDetection {
    /** No buffer is watched. */
    OFF,
    /**
     * One acquire in {@value BufferPool#LEAK_SAMPLE_INTERVAL} (chosen at random per acquire, by
     * a per-thread random sequence, so every call site is eventually sampled) is watched: a
     * watch costs a stack capture and a cleaner registration (about a microsecond and 800 bytes
     * of heap), so on average well under a byte and a nanosecond an acquire, and the watched
     * acquires (about 0.025%) stay out of the 99.9th percentile. The default.
     */
    SAMPLED,
    /** Every acquire is watched (a stack capture and a cleaner registration each: for tests and debugging). */
    ALL
}

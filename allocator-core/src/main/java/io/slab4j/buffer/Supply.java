package io.slab4j.buffer;

/**
 * Where the memory of a {@link PooledBuffer} comes from and goes back to: a
 * {@link SizeClass} or the {@link LargeSpans}. A handle keeps its supply so that its
 * {@code close()} returns the memory without a lookup.
 *
 * <p>Concurrency: implementations are thread-safe; {@link #release} is called exactly once
 * per acquired address (the handle's CAS guarantees it), from any thread.
 */
abstract class Supply {
    final BufferPool owner;

    Supply(BufferPool owner) {
        this.owner = owner;
    }

    /**
     * Takes back memory handed out by this supply. {@code fromCleaner}: the leak detector's
     * thread, which must not park memory in its own per-thread magazines.
     */
    abstract void release(long address, int capacity, boolean fromCleaner);
}

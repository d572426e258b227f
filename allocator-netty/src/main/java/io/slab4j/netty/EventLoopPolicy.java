package io.slab4j.netty;

/**
 * What a {@link SlabByteBufAllocator} does when a new direct buffer is asked for on an
 * event-loop thread and its pool has no buffer of that size free (the cap is reached). An
 * event loop never waits: a wait there would stall every channel of the loop, and the memory
 * it waits for may only come back through that very loop.
 */
public enum EventLoopPolicy {
    /** Throw {@link BufferPoolExhaustedException} at once (the default). */
    FAIL,
    /**
     * Hand out one of Netty's unpooled direct buffers instead (memory outside the pool's cap,
     * counted in {@link SlabByteBufAllocatorMetric#fallbacks()}). Only new buffers fall back: a
     * slab4j buffer that must grow on an event loop at the cap still fails, since growth never
     * leaves slab4j memory.
     */
    FALLBACK_UNPOOLED
}

package io.slab4j.netty;

import io.netty.buffer.ByteBufAllocatorMetric;
import io.slab4j.buffer.BufferPoolStats;

/**
 * Live figures of a {@link SlabByteBufAllocator}, read on each call (nothing is cached): the
 * two Netty asks for ({@link #usedDirectMemory()}, {@link #usedHeapMemory()}, which Netty's own
 * metrics code and Micrometer's Netty binder read) and slab4j's own.
 *
 * <p>Direct figures come from the pool's {@link BufferPoolStats}, so they cover every holder
 * of the pool, not only this allocator's buffers. Thread-safe.
 */
public final class SlabByteBufAllocatorMetric implements ByteBufAllocatorMetric {
    private final SlabByteBufAllocator alloc;

    SlabByteBufAllocatorMetric(SlabByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    /** Bytes of the unpooled heap buffers this allocator made that are not yet released. */
    @Override
    public long usedHeapMemory() {
        return alloc.heapBytes();
    }

    /** Capacity of the pool's open buffers ({@link BufferPoolStats#usedBytes()}). */
    @Override
    public long usedDirectMemory() {
        return poolStats().usedBytes();
    }

    /** Bytes the pool has committed now: open buffers, free items of its slabs, cached spans. */
    public long committedDirectMemory() {
        return poolStats().committedBytes();
    }

    /** The pool's hard cap (its reservation). */
    public long reservedDirectMemory() {
        return poolStats().reservedBytes();
    }

    /** A snapshot of the pool. */
    public BufferPoolStats poolStats() {
        return alloc.pool().stats();
    }

    /** Allocations that found the pool at its cap and threw {@link BufferPoolExhaustedException}. */
    public long exhausted() {
        return alloc.exhaustedCount();
    }

    /** Event-loop allocations that found the pool at its cap and got an unpooled buffer ({@link EventLoopPolicy#FALLBACK_UNPOOLED}). */
    public long fallbacks() {
        return alloc.fallbackCount();
    }

    @Override
    public String toString() {
        BufferPoolStats s = poolStats();
        return "SlabByteBufAllocatorMetric(pool: '" + s.name() + "', usedDirectMemory: " + s.usedBytes() + ", buffersInUse: "
                + s.buffersInUse() + ", committed: " + s.committedBytes() + ", reserved: " + s.reservedBytes()
                + ", usedHeapMemory: " + usedHeapMemory() + ", exhausted: " + exhausted() + ", fallbacks: " + fallbacks() + ')';
    }
}

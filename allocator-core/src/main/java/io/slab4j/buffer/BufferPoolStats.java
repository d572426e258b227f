package io.slab4j.buffer;

import java.util.List;

/**
 * A snapshot of a {@link BufferPool}. Each figure is read consistently from its own layer
 * (the arena under its lock, each pool under its lock); figures of different layers may be
 * from slightly different moments while other threads acquire and close.
 *
 * @param name              the pool's name
 * @param reservedBytes     address space reserved (the hard cap)
 * @param committedBytes    bytes committed in the region now (slabs, open and cached large spans)
 * @param maxCommittedBytes the configured cap on committed memory, or 0 when none was set
 * @param usedBytes         capacity of the buffers open now
 * @param buffersInUse      buffers open now
 * @param waiters           acquires blocked now, one each
 * @param leaksDetected     watched buffers found unreachable without close (their memory went back)
 * @param largeBuffersInUse open buffers above the largest size class
 * @param cachedLargeBytes  bytes of closed large spans kept committed for reuse
 * @param sizeClasses       per size class, ascending
 */
public record BufferPoolStats(
        String name,
        long reservedBytes,
        long committedBytes,
        long maxCommittedBytes,
        long usedBytes,
        long buffersInUse,
        int waiters,
        long leaksDetected,
        long largeBuffersInUse,
        long cachedLargeBytes,
        List<SizeClassStats> sizeClasses) {

    public BufferPoolStats {
        sizeClasses = List.copyOf(sizeClasses);
    }
}

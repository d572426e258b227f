package io.slab4j.buffer;

import java.util.List;

/**
 * A snapshot of a {@link BufferPool}. Each figure is read consistently from its own layer
 * (the arena under its lock, each pool under its lock); figures of different layers may be
 * from slightly different moments while other threads acquire and close.
 *
 * @param name              the pool's name
 * @param reservedBytes     address space reserved (the hard cap)
 * @param committedBytes    bytes committed in the region now (slabs, open and cached large spans):
 *                          what may be resident, and what {@code maxCommitted} caps
 * @param maxCommittedBytes the configured cap on committed memory, or 0 when none was set
 * @param usedBytes         capacity of the buffers open now
 * @param buffersInUse      buffers open now
 * @param waiters           acquires blocked now, one each
 * @param leaksDetected     watched buffers found unreachable without close (their memory went back)
 * @param largeBuffersInUse open buffers above the largest size class
 * @param cachedLargeBytes  bytes of closed large spans kept committed for reuse
 * @param sizeClasses       per size class, ascending
 * @param accessibleBytes   bytes of the region mapped read-write: protections change in whole
 *                          commit chunks (see {@code Arena.Builder.commitChunk}), so a chunk stays
 *                          read-write while any span in it is live, the pages of the spans freed
 *                          in it released. At least {@code committedBytes}, and not capped by
 *                          {@code maxCommitted}: this is what Linux charges against its commit
 *                          limit ({@code Committed_AS}, which matters under
 *                          {@code vm.overcommit_memory=2}), while resident memory follows
 *                          {@code committedBytes}. After a close with buffers still open the
 *                          region stays reserved with its protections (so a stale access reads
 *                          zeros), its memory released: committed 0, accessible as it was; after a
 *                          clean close both are 0
 * @param commitFailures    commits the operating system refused (the acquire that needed one threw
 *                          {@code NativeMemoryException}, or its wait went on), since the pool was
 *                          built; such an acquire is no failure of its class
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
        List<SizeClassStats> sizeClasses,
        long accessibleBytes,
        long commitFailures) {

    public BufferPoolStats {
        sizeClasses = List.copyOf(sizeClasses);
    }

    /**
     * The snapshot as it was before {@code accessibleBytes} and {@code commitFailures}: both
     * read as if nothing but the committed bytes were mapped and nothing was ever refused.
     */
    public BufferPoolStats(String name, long reservedBytes, long committedBytes, long maxCommittedBytes, long usedBytes,
                           long buffersInUse, int waiters, long leaksDetected, long largeBuffersInUse,
                           long cachedLargeBytes, List<SizeClassStats> sizeClasses) {
        this(name, reservedBytes, committedBytes, maxCommittedBytes, usedBytes, buffersInUse, waiters, leaksDetected,
                largeBuffersInUse, cachedLargeBytes, sizeClasses, committedBytes, 0);
    }
}

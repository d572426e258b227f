package io.slab4j.buffer;

import io.slab4j.arena.FailingCommits;

/**
 * Test seams of {@link BufferPool} for tests outside this package (the Netty adapter's, through
 * the core's test jar): the builder's package-private hooks, set from here.
 */
public final class PoolSeams {
    private PoolSeams() {
    }

    /** {@code b}, building its pool's arena through {@code seam}, whose commits fail on demand. */
    public static BufferPool.Builder failingCommits(BufferPool.Builder b, FailingCommits seam) {
        b.arenaOver = seam::arenaOver;
        return b;
    }
}

package io.slab4j.buffer;

/**
 * The JMX view of a {@link BufferPool}, registered as
 * {@code io.slab4j:type=BufferPool,name=<name>} while the pool is open. Attributes as in
 * {@link BufferPoolStats}; per size class figures as arrays indexed like
 * {@link #getSizeClasses()}.
 */
public interface BufferPoolMXBean {
    long getReservedBytes();

    long getCommittedBytes();

    long getUsedBytes();

    long getBuffersInUse();

    int getWaiters();

    long getLeaksDetected();

    /** Bytes of the region mapped read-write, in whole commit chunks (see {@link BufferPoolStats#accessibleBytes()}). */
    long getAccessibleBytes();

    /** Commits the operating system refused (see {@link BufferPoolStats#commitFailures()}). */
    long getCommitFailures();

    /** The size classes, ascending. */
    int[] getSizeClasses();

    /** Open buffers per size class. */
    long[] getSizeClassBuffersInUse();

    /** Committed slab bytes per size class. */
    long[] getSizeClassCommittedBytes();

    /** Returns idle memory now, as {@link BufferPool#trim()}. */
    void trim();
}

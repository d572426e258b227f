package io.slab4j.buffer;

/**
 * The figures of one size class of a {@link BufferPool}, from its pool (see
 * {@code io.slab4j.pool.PoolStats}).
 *
 * @param size          the class's item size in bytes (a buffer's capacity)
 * @param buffersInUse  buffers of this class open now
 * @param slabs         slabs the class's pool holds (committed memory: {@code slabs * slabBytes});
 *                      0 once the buffer pool is closed (its region is unmapped)
 * @param idleSlabs     slabs with no item in use or parked in a magazine (0 once closed)
 * @param slabBytes     bytes in one slab
 * @param requests      items the pool handed out (magazine hits are not counted: they never reach the pool)
 * @param failures      acquires of this class that returned no buffer: one per {@code tryAcquire}
 *                      miss and per timed-out {@code acquire(size, timeout)}, however often the
 *                      acquire tried its pool
 * @param waits         pool gets that had to wait
 * @param waiters       registrations waiting in the pool now
 */
public record SizeClassStats(int size, long buffersInUse, int slabs, int idleSlabs, long slabBytes, long requests,
                             long failures, long waits, int waiters) {

    /** Bytes of this class's slabs. */
    public long committedBytes() {
        return (long) slabs * slabBytes;
    }
}

package io.slab4j.pool;

/**
 * A layer that parks items of a {@link Pool} (a {@code PoolCache}, a {@code BufferPool}) and
 * can give them back on the pool's request, so parked memory never starves a get that waits
 * on the pool (as NetBSD's pool drains its {@code pool_cache}, pool_cache(9)).
 *
 * <p>The pool calls {@link #reclaimIdle()} on the getting thread just before a get blocks,
 * and every {@link Pool#RECLAIM_INTERVAL_MILLIS} ms on the shared reclaim thread while gets
 * wait. Both methods may be called from any thread, concurrently with the layer's own calls,
 * with no pool lock held; they must not block (beyond short locks of the layer) and must not
 * throw.
 */
public interface Reclaimer {
    /**
     * Returns to the pool now the items parked where no thread is using them: the
     * magazines of threads that are not inside a call of the layer (idle or exited) and
     * the layer's shared stock. Returns how many items went back.
     */
    long reclaimIdle();

    /** Items the layer holds parked now (an estimate: other threads may be changing it), for messages. */
    long parked();
}

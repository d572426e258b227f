package io.slab4j.pool;

/**
 * A consistent snapshot of a {@link Pool}, in the manner of NetBSD's {@code vmstat -m}.
 *
 * @param name          the pool's name
 * @param itemSize      bytes an item (as requested)
 * @param itemsPerSlab  items in one slab
 * @param requests      successful gets (any form)
 * @param failures      gets that returned 0: {@code tryGet} with nothing free and no grow, timeouts
 * @param releases      puts
 * @param grows         slabs taken from the arena
 * @param shrinks       slabs returned to the arena
 * @param slabs         slabs held now
 * @param idleSlabs     slabs with no item in use
 * @param itemsInUse    items handed out and not yet put back
 * @param pendingItems  items of grows waiting for arena space (they count against the hard limit)
 * @param highMark      the most items ever in use at once
 * @param waits         gets that had to wait (queued on the pool): blocking gets, and syncs on
 *                      {@link Pool#getEvent()}, once per sync (a sync that chose it among
 *                      other pools' events counts in each pool it queued on); a get that only
 *                      tried, such as {@code get(Duration.ZERO)}, or a sync that another event
 *                      served at once, is not a wait
 * @param waitNanos     total time those gets waited
 * @param waiters       gets waiting now, one each (a get waiting on a put and a grow counts once)
 * @param slabReturnFailures slabs whose return to the arena failed after a put had accepted
 *                      the item that idled them (logged; the put still succeeded)
 */
public record PoolStats(
        String name,
        long itemSize,
        int itemsPerSlab,
        long requests,
        long failures,
        long releases,
        long grows,
        long shrinks,
        int slabs,
        int idleSlabs,
        long itemsInUse,
        long pendingItems,
        long highMark,
        long waits,
        long waitNanos,
        int waiters,
        long slabReturnFailures) {
}

package io.slab4j.pool;

/**
 * A snapshot of a {@link PoolCache}. The depot's numbers are consistent with each other
 * (read under its lock); the per-thread counters of live threads are each exact at some
 * moment during the call, not all at one moment.
 *
 * <p>Every get is exactly one of {@code hits}, {@code depotGets} or {@code misses}; every
 * accepted put is exactly one of {@code puts}, {@code poolPuts} or {@code waiterPuts}.
 *
 * @param pool             the pool's name
 * @param magazineSize     items a magazine holds
 * @param depotLimit       full magazines the depot may hold
 * @param hits             gets served from the calling thread's own magazines
 * @param depotGets        gets that exchanged an empty magazine for a full one at the depot
 * @param misses           gets that went to the pool (whether or not it had an item)
 * @param puts             puts kept in the calling thread's magazines
 * @param depotPuts        exchanges of a full magazine for an empty one at the depot
 * @param overflows        full magazines returned to the pool because the depot was at its limit
 * @param poolPuts         puts of addresses this cache did not hand out, sent to the pool to validate
 * @param waiterPuts       puts sent straight to the pool because a get was waiting there
 * @param threads          threads holding magazines now (registered, not yet reclaimed)
 * @param reclaimedThreads exited threads whose magazines the cache took back
 * @param reclaimedItems   items those magazines returned to the pool
 * @param fullMagazines    full magazines in the depot now
 * @param emptyMagazines   empty magazines in the depot now
 * @param magazinesMade    magazines the depot allocated (threads' own two are not counted)
 */
public record PoolCacheStats(
        String pool,
        int magazineSize,
        int depotLimit,
        long hits,
        long depotGets,
        long misses,
        long puts,
        long depotPuts,
        long overflows,
        long poolPuts,
        long waiterPuts,
        int threads,
        long reclaimedThreads,
        long reclaimedItems,
        int fullMagazines,
        int emptyMagazines,
        long magazinesMade) {

    /** Items parked in the depot now. */
    public long parkedInDepot() {
        return (long) fullMagazines * magazineSize;
    }
}

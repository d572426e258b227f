package io.slab4j.cache;

/**
 * A snapshot of a {@link PoolCache}. The depot's numbers are consistent with each other
 * (read under its lock); the per-thread counters of live threads are each exact at some
 * moment during the call, not all at one moment.
 *
 * <p>Every get is exactly one of {@code hits}, {@code depotGets} or {@code misses}; every
 * accepted put is exactly one of {@code puts}, {@code waiterPuts} or a bypass.
 *
 * @param pool           the pool's name
 * @param magazineSize   items a magazine holds
 * @param depotLimit     full magazines the depot may hold
 * @param hits           gets served from the calling thread's own magazines
 * @param depotGets      gets that exchanged an empty magazine for a full one at the depot
 * @param misses         gets that went to the pool (whether or not it had an item)
 * @param puts           puts kept in the calling thread's magazines (possibly after a depot exchange)
 * @param depotPuts      exchanges of a full magazine for an empty one at the depot
 * @param overflows      full magazines returned to the pool because the depot was at its limit
 * @param waiterPuts     puts sent straight to the pool because a get was waiting there
 * @param bypasses       calls that went straight to the pool because a reclaimer held the
 *                       thread's magazines at that moment (gets among them also count as misses)
 * @param threads        threads holding magazines now (registered, not yet swept or retired)
 * @param exitedThreads  exited threads whose holders a sweep retired
 * @param reclaims       reclaim passes that returned idle parked items to the pool (drains,
 *                       reclaims of idle magazines, and the sweeps of exited threads that a
 *                       thread's registration runs)
 * @param reclaimedItems items those passes returned (idle or exited threads' magazines, the depot)
 * @param fullMagazines  full magazines in the depot now
 * @param emptyMagazines empty magazines in the depot now
 * @param magazinesMade  magazines the depot allocated (threads' own two are not counted)
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
        long waiterPuts,
        long bypasses,
        int threads,
        long exitedThreads,
        long reclaims,
        long reclaimedItems,
        int fullMagazines,
        int emptyMagazines,
        long magazinesMade) {

    /** Items parked in the depot now. */
    public long parkedInDepot() {
        return (long) fullMagazines * magazineSize;
    }
}

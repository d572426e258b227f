package io.slab4j.pool;

/**
 * What a {@link Pool#get()} that finds the pool empty waits for. The seed of slab4j
 * weighed four cures for a pool whose grow sleeps in a scarce arena; the losers are kept
 * so the bench tool can show why they lose.
 */
public enum WaitStrategy {
    /**
     * Under the hard limit, wait for arena space only (as NetBSD's pool did): an item put
     * back meanwhile does not wake the waiter, which can then sleep forever in a
     * fragmented arena. Reproduces the bug.
     */
    NAIVE,
    /**
     * Make every item up front ({@code build()} primes the pool to its hard limit), then
     * wait for puts only. Never hangs, but holds the whole limit's memory from the start.
     */
    LOW_WATER_PRIME,
    /**
     * Wait for arena space as {@link #NAIVE} does, but while a grow is pending, a slab that
     * a put leaves idle goes back to the arena at once, even below low water, so the pending
     * grow may find the space. Helps only when an item's slab empties; churns commit and
     * decommit.
     */
    PENDING_GROW_COUNT,
    /**
     * Wait for either a put or arena space, whichever comes first; the loser is withdrawn,
     * and a grow that lost releases its reservation (in {@link Pool#getEvent()}, by the grow
     * branch's nack). The default.
     */
    NACK
}

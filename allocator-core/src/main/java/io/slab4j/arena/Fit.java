package io.slab4j.arena;

/**
 * How an {@link Arena} chooses among the free segments that could hold a request
 * (vmem, Bonwick &amp; Adams 2001, section 4.4).
 */
public enum Fit {
    /**
     * Take the head of the smallest power-of-two free list whose every segment is large
     * enough: constant time, no search. Only when that finds nothing is the one list
     * that may hold a fit (sizes in {@code [2^k, 2^(k+1))} for {@code 2^k <= size})
     * searched, so a request fails only when no free segment can hold it.
     */
    INSTANT,
    /** The smallest free segment that fits: searches the lists from the request's size class up. */
    BEST,
    /**
     * The first fit at or after the segment following the last allocation, in address
     * order, wrapping once: spreads allocations over the range (good for identifiers,
     * poor for fragmentation).
     */
    NEXT
}

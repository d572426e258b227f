package io.slab4j.arena;

/**
 * A consistent snapshot of an {@link Arena}, taken under its lock. Sizes are in bytes.
 *
 * @param reserved        bytes the arena manages (its whole range)
 * @param allocated       bytes in allocated spans (including spans being committed or released)
 * @param committed       bytes committed for allocated spans over a region (what may be resident);
 *                        0 for a plain range
 * @param free            bytes in free segments ({@code reserved - allocated})
 * @param largestFree     bytes in the largest free segment
 * @param spans           allocated spans
 * @param freeSegments    free segments (never two adjacent: they coalesce)
 * @param waiters         registrations waiting for space
 * @param allocations     successful allocations since creation
 * @param frees           frees since creation
 * @param failures        allocation attempts that found no fit (non-waiting attempts and polls)
 * @param accessible      bytes in commit chunks protected read-write, freed spans' released pages
 *                        included (≥ {@code committed}; costs address space, not memory); 0 for a
 *                        plain range
 * @param maxCommitted    the cap on allocated bytes ({@link Arena.Builder#maxCommitted}); the
 *                        reservation when none was set
 * @param commitFailures  commits that failed (the span went back; the caller saw the exception, or
 *                        a served waiter kept waiting); a commit refused because the region was
 *                        closed is not counted
 * @param releaseFailures frees whose release or decommit failed (counted and logged; the span's
 *                        pages stayed committed); a release over a closed region is not counted:
 *                        its memory went with the region
 */
public record ArenaStats(
        long reserved,
        long allocated,
        long committed,
        long free,
        long largestFree,
        long spans,
        long freeSegments,
        int waiters,
        long allocations,
        long frees,
        long failures,
        long accessible,
        long maxCommitted,
        long commitFailures,
        long releaseFailures) {

    /** The snapshot as it was before commit chunks and the cap: no accessible chunks, no cap, no failures. */
    public ArenaStats(long reserved, long allocated, long committed, long free, long largestFree, long spans,
                      long freeSegments, int waiters, long allocations, long frees, long failures) {
        this(reserved, allocated, committed, free, largestFree, spans, freeSegments, waiters, allocations, frees,
                failures, 0, reserved, 0, 0);
    }
}

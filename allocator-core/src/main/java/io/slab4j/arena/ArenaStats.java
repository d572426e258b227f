package io.slab4j.arena;

/**
 * A consistent snapshot of an {@link Arena}, taken under its lock. Sizes are in bytes.
 *
 * @param reserved        bytes the arena manages (its whole range)
 * @param allocated       bytes in allocated spans (including spans being committed or released)
 * @param committed       bytes made accessible through the region; 0 for a plain range
 * @param free            bytes in free segments ({@code reserved - allocated})
 * @param largestFree     bytes in the largest free segment
 * @param spans           allocated spans
 * @param freeSegments    free segments (never two adjacent: they coalesce)
 * @param waiters         registrations waiting for space
 * @param allocations     successful allocations since creation
 * @param frees           frees since creation
 * @param failures        allocation attempts that found no fit (non-waiting attempts and polls)
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
        long failures) {
}

package io.slab4j.arena;

/**
 * The counters of an {@link Arena} and the assembly of its {@link ArenaStats}.
 *
 * <p>Terms: an <b>allocation</b> is a carve that stands (a carve whose commit fails is
 * taken back, {@link #uncarved}); a <b>failure</b> is a non-waiting call that found nothing
 * it could carve; commit and release failures are OS calls that failed (a call a closed
 * region refused is none: its memory is gone, and the OS refused nothing).
 *
 * <p>Not thread-safe: every field is written and read under the arena's lock.
 */
final class ArenaCounts {
    private long allocations;
    private long frees;
    private long failures;
    private long commitFailures;
    private long releaseFailures;

    void carved() {
        allocations++;
    }

    /** A carve whose commit failed is not an allocation. */
    void uncarved() {
        allocations--;
    }

    void freed() {
        frees++;
    }

    void failed() {
        failures++;
    }

    /** Counts a failed commit; returns the count so far. */
    long commitFailed() {
        return ++commitFailures;
    }

    /** Counts a failed release; returns the count so far. */
    long releaseFailed() {
        return ++releaseFailures;
    }

    /** Under the arena lock: a consistent snapshot of the arena's state and counters. */
    ArenaStats snapshot(long size, TagTable segments, WaitingOrder order, Backing backing, int quantumShift,
                        long maxCommitted) {
        long allocated = segments.allocatedQuanta() << quantumShift;
        return new ArenaStats(size, allocated, backing.touchesMemory() ? allocated : 0, size - allocated,
                (long) segments.largestFree() << quantumShift, segments.spans(), segments.freeSegments(),
                order.size(), allocations, frees, failures, backing.accessibleBytes(), maxCommitted,
                commitFailures, releaseFailures);
    }
}

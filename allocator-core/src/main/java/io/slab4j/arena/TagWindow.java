package io.slab4j.arena;

import java.util.Arrays;

/**
 * The two calls a {@link TagTable} offers the arena's waiting order for a blocked head
 * ({@link WaitingOrder}, DESIGN.md "Waiting order in the arena"): where the head's
 * <em>window</em> goes ({@link #leastOccupiedWindow}) and how others are carved only
 * outside it ({@link #allocateOutside}).
 *
 * <ul>
 *   <li><b>window</b>: the aligned run of the head's size holding the fewest allocated
 *       (or releasing) quanta, the lowest such start on a tie. As a function of the start
 *       the count is linear between breakpoints: a start at a free segment's start, an
 *       end at a free segment's end, and the two ends of the range. So the least count
 *       over aligned starts is at the aligned start just below or just above a
 *       breakpoint; those are the candidates. One walk head to head gives the prefix
 *       sums; each candidate costs two binary searches. Paid once per blocked head
 *       (O(segments log segments)).
 *   <li><b>outside</b>: a free segment's first aligned place for n quanta that ends at or
 *       before the window's start, else its first aligned place at or after the window's
 *       end. The bins are searched from {@code classOf(n)} up, newest entry first, stale
 *       entries dropped as met ({@link SizeBins#keep}); {@code BEST} takes the smallest
 *       segment of the first class that has such a place (every segment of a higher class
 *       is longer), the others the first place found.
 * </ul>
 *
 * <p>Not thread-safe: owned by one {@link TagTable}, called under the arena's lock.
 */
final class TagWindow {
    private static final int NONE = TagTable.NONE;

    private final TagTable table;
    private final Tags tags;
    private final SizeBins bins;

    TagWindow(TagTable table, Tags tags, SizeBins bins) {
        this.table = table;
        this.tags = tags;
        this.bins = bins;
    }

    /** As {@link TagTable#allocate}, but only from free space outside {@code [lo, hi)}; the start or NONE. */
    int allocateOutside(int n, long alignQ, Fit fit, int lo, int hi) {
        for (int c = bins.nonEmptyFrom(SizeBins.classOf(n)); c != NONE; c = bins.nonEmptyFrom(c + 1)) {
            int found = NONE;
            int foundAt = NONE;
            int foundLength = Integer.MAX_VALUE;
            int[] entries = bins.entries(c);
            for (int i = bins.size(c) - 1; i >= 0; i--) {
                int s = entries[i];
                if (!bins.keep(c, i)) {
                    continue;
                }
                int length = tags.length(s, tags.word(s));
                if (length >= foundLength) {
                    continue;
                }
                int at = placeOutside(s, length, n, alignQ, lo, hi);
                if (at != NONE) {
                    found = s;
                    foundAt = at;
                    foundLength = length;
                    if (fit != Fit.BEST || length == n) {
                        break;
                    }
                }
            }
            if (found != NONE) {
                table.carve(found, foundLength, foundAt, n);
                return foundAt;
            }
        }
        return NONE;
    }

    /** Where n aligned quanta fit in free segment {@code [s, s + length)} without touching {@code [lo, hi)}; NONE if nowhere. */
    private int placeOutside(int s, int length, int n, long alignQ, int lo, int hi) {
        long e = (long) s + length;
        long left = table.alignedStart(s, alignQ);
        if (left + n <= Math.min(e, lo)) {
            return (int) left;
        }
        long right = table.alignedStart(Math.max(s, hi), alignQ);
        return right + n <= e ? (int) right : NONE;
    }

    /**
     * The start of the aligned window of n quanta with the fewest allocated quanta (lowest
     * on a tie). The arena has checked that some aligned window fits the range (so the
     * first aligned start, or the last, is a candidate that fits).
     */
    int leastOccupiedWindow(int n, long alignQ) {
        int quanta = table.quanta();
        int count = 0;
        for (int p = 0; p < quanta; count++) {
            p += tags.length(p, tags.word(p));
        }
        int[] starts = new int[count + 1];
        long[] allocatedBefore = new long[count + 1];
        int[] freeStarts = new int[count];
        int[] freeEnds = new int[count];
        int i = 0;
        int frees = 0;
        long allocated = 0;
        for (int p = 0; p < quanta; i++) {
            int w = tags.word(p);
            int length = tags.length(p, w);
            starts[i] = p;
            allocatedBefore[i] = allocated;
            if (Tags.kind(w) == Tags.FREE_HEAD) {
                freeStarts[frees] = p;
                freeEnds[frees++] = p + length;
            } else {
                allocated += length;
            }
            p += length;
        }
        starts[count] = quanta;
        allocatedBefore[count] = allocated;
        long[] candidates = new long[2 + 4 * frees];
        int k = 0;
        candidates[k++] = table.alignedStart(0, alignQ);
        candidates[k++] = alignedDown(quanta - (long) n, alignQ);
        for (int f = 0; f < frees; f++) {
            for (long b : new long[] {freeStarts[f], freeEnds[f] - (long) n}) {
                candidates[k++] = alignedDown(b, alignQ);
                candidates[k++] = b < 0 ? -1 : table.alignedStart((int) b, alignQ);
            }
        }
        int best = -1;
        long bestCount = Long.MAX_VALUE;
        for (long c : candidates) {
            if (c < 0 || c + n > quanta) {
                continue;
            }
            long occupied = allocatedIn((int) c, n, starts, allocatedBefore);
            if (occupied < bestCount || (occupied == bestCount && c < best)) {
                best = (int) c;
                bestCount = occupied;
            }
        }
        return best;
    }

    private static long allocatedIn(int from, int n, int[] starts, long[] allocatedBefore) {
        return allocatedUpTo(from + n, starts, allocatedBefore) - allocatedUpTo(from, starts, allocatedBefore);
    }

    /** Allocated quanta in {@code [0, pos)}, from the prefix sums of one walk in address order. */
    private static long allocatedUpTo(int pos, int[] starts, long[] allocatedBefore) {
        int i = Arrays.binarySearch(starts, pos);
        if (i >= 0) {
            return allocatedBefore[i];
        }
        int seg = -i - 2; // the segment holding pos
        boolean isAllocated = allocatedBefore[seg + 1] != allocatedBefore[seg];
        return allocatedBefore[seg] + (isAllocated ? pos - starts[seg] : 0);
    }

    /** The largest aligned quantum index at or below offset (may be negative). */
    private long alignedDown(long offset, long alignQ) {
        return offset - ((table.baseQuanta() + offset) & (alignQ - 1));
    }
}

package io.slab4j.arena;

import org.agrona.collections.Int2IntHashMap;

import java.util.Arrays;

/**
 * The arena's previous layout, kept in the bench module so {@link TableBench} measures it
 * beside {@link TagTable} (which the {@link Arena} now runs on) in one run; nothing in the
 * library uses it. Its NEXT fit places spans exactly as TagTable's does.
 *
 * <p>The boundary tags of an arena: segments that tile {@code [0, quanta)}, each
 * free or allocated, in the style of vmem (Bonwick &amp; Adams 2001). All positions and
 * lengths are in quanta; the arena converts to addresses.
 *
 * <pre>
 *   address order:  [ alloc 0..3 ][ free 4..9 ][ alloc 10..10 ][ free 11..15 ]
 *   free lists:     list[k] holds free segments of length in [2^k, 2^(k+1))
 *                   list[2] = {4..9 (6)}   list[2] = {11..15 (5)}   nonEmpty bit 2 set
 *   allocated map:  start -> segment id  {0 -> a, 10 -> c}
 * </pre>
 *
 * <p>Segments are ids into one primitive array, eight ints a segment laid side by side
 * (32 bytes; touching a segment is one cache miss), plus the map entry of an allocated
 * one: no per-span objects, so metadata grows by a few dozen bytes a span. Unused ids
 * are chained through {@code addrNext}.
 *
 * <p>For the arena's waiting order it also found the window of a blocked head
 * ({@link #leastOccupiedWindow}) and carved others only outside it ({@link #allocateOutside}).
 *
 * <p>Allocate: pick a free segment (by {@link Fit}), unlink it from its free list, split
 * off a free remainder on the left (alignment) and on the right, mark the rest
 * allocated. Free: look the start up in the map, check the length, mark it free, merge
 * with a free left and a free right neighbour, link the result into its list.
 *
 * <p>Invariants ({@link #check}): segments tile the range in address order; no two
 * adjacent segments are free; each free segment is on exactly the list of its size class
 * and the non-empty mask agrees; the map holds exactly the allocated starts; counters
 * agree with the segments.
 *
 * <p>Not thread-safe: one benchmark thread drives it.
 */
final class SegmentTable {
    static final int NONE = -1;
    private static final int UNUSED = 0;
    private static final int FREE = 1;
    private static final int ALLOCATED = 2;
    /** Allocated, removed from the map, being decommitted outside the lock; not yet free. */
    private static final int RELEASING = 3;

    /** Field offsets within a segment's {@code FIELDS} ints of {@link #tags}. */
    private static final int START = 0;
    private static final int LENGTH = 1;
    private static final int ADDR_PREV = 2;
    private static final int ADDR_NEXT = 3;
    private static final int LIST_PREV = 4;
    private static final int LIST_NEXT = 5;
    private static final int STATE = 6;
    private static final int SHIFT = 3;
    private static final int FIELDS = 1 << SHIFT;
    private static final int LISTS = 32;

    private final int quanta;
    /** Absolute address of quantum 0 divided by the quantum: alignment is of addresses, not offsets. */
    private final long baseQuanta;

    /**
     * Every segment's fields side by side, {@code FIELDS} ints a segment (32 bytes: two to a
     * cache line), so touching a segment costs one cache miss, not one an array.
     */
    private int[] tags;
    private int unusedIds = NONE;
    private int highestId;

    private final int[] listHead = new int[LISTS];
    private int nonEmpty;
    private final Int2IntHashMap allocatedByStart = new Int2IntHashMap(NONE);
    /** Segment holding (or ending at) {@code rotorPosition}, where NEXT fit resumes its search. */
    private int rotor;
    /** The end of the previous NEXT-fit allocation, in quanta. */
    private int rotorPosition;
    /** Segment that starts at quantum 0: the head of address order. */
    private int first;

    private int freeSegments;
    private long allocatedQuanta;

    SegmentTable(int quanta, long baseQuanta) {
        this.quanta = quanta;
        this.baseQuanta = baseQuanta;
        tags = new int[64 << SHIFT];
        Arrays.fill(listHead, NONE);
        int whole = newId();
        put(whole, START, 0);
        put(whole, LENGTH, quanta);
        put(whole, ADDR_PREV, NONE);
        put(whole, ADDR_NEXT, NONE);
        put(whole, STATE, FREE);
        freeSegments = 1;
        listInsert(whole);
        rotor = whole;
        first = whole;
    }

    // ---------------------------------------------------------------- allocation

    /**
     * Allocates {@code n} quanta whose absolute address is a multiple of {@code alignQ}
     * quanta (a power of two). Returns the start, or {@link #NONE} when nothing fits.
     */
    int allocate(int n, long alignQ, Fit fit) {
        if (fit == Fit.NEXT) {
            return nextFit(n, alignQ);
        }
        int seg = fit == Fit.BEST || alignQ != 1 ? searchLists(n, alignQ, fit == Fit.BEST) : instantFit(n);
        if (seg == NONE) {
            return NONE;
        }
        int at = alignedStart(start(seg), alignQ);
        carve(seg, at, n);
        return at;
    }

    /** Head of the first list whose every member holds n; else first fit in n's own list. */
    private int instantFit(int n) {
        int k = ceilLog2(n);
        int candidates = k >= LISTS ? 0 : nonEmpty & (-1 << k);
        if (candidates != 0) {
            return listHead[Integer.numberOfTrailingZeros(candidates)];
        }
        int own = floorLog2(n);
        for (int s = listHead[own]; s != NONE; s = listNext(s)) {
            if (length(s) >= n) {
                return s;
            }
        }
        return NONE;
    }

    /**
     * Lists from n's size class up; in each, the first (or, for best fit, the smallest)
     * segment that holds n at the alignment. A fit in a lower list is smaller than any
     * in a higher one, so the first list with a fit holds the best fit.
     */
    private int searchLists(int n, long alignQ, boolean best) {
        int candidates = nonEmpty & (-1 << floorLog2(n));
        while (candidates != 0) {
            int k = Integer.numberOfTrailingZeros(candidates);
            candidates &= candidates - 1;
            int found = NONE;
            for (int s = listHead[k]; s != NONE; s = listNext(s)) {
                if (fits(s, n, alignQ) && (found == NONE || length(s) < length(found))) {
                    found = s;
                    if (!best || length(s) == n) {
                        break;
                    }
                }
            }
            if (found != NONE) {
                return found;
            }
        }
        return NONE;
    }

    /**
     * First fit at or after {@code rotorPosition} (the end of the previous allocation), in
     * address order, wrapping once; carves it and moves the rotor past it.
     */
    private int nextFit(int n, long alignQ) {
        int s = rotor;
        int at = fitFrom(s, Math.max(rotorPosition, start(s)), n, alignQ);
        while (at == NONE) {
            s = addrNext(s) == NONE ? first : addrNext(s);
            at = fitFrom(s, start(s), n, alignQ);
            if (s == rotor) {
                break; // wrapped once: the rotor's segment was tried whole
            }
        }
        if (at == NONE) {
            return NONE;
        }
        rotor = carve(s, at, n);
        rotorPosition = at + n;
        return at;
    }

    /** Where n quanta fit in free segment seg at or after {@code from}; NONE if not free or no fit. */
    private int fitFrom(int seg, int from, int n, long alignQ) {
        if (state(seg) != FREE) {
            return NONE;
        }
        long at = alignedStart(from, alignQ);
        return at + n <= (long) start(seg) + length(seg) ? (int) at : NONE;
    }

    private boolean fits(int seg, int n, long alignQ) {
        long at = alignedStart(start(seg), alignQ);
        return at + n <= (long) start(seg) + length(seg);
    }

    private int alignedStart(int offset, long alignQ) {
        long misalignment = (baseQuanta + offset) & (alignQ - 1);
        long at = misalignment == 0 ? offset : offset + alignQ - misalignment;
        return (int) Math.min(at, Integer.MAX_VALUE);
    }

    /** Turns [at, at+n) of free segment seg into an allocated segment; returns its id. */
    private int carve(int seg, int at, int n) {
        listRemove(seg);
        freeSegments--;
        int segStart = start(seg);
        int segEnd = segStart + length(seg);
        if (at > segStart) {
            int left = newId();
            put(left, START, segStart);
            put(left, LENGTH, at - segStart);
            put(left, STATE, FREE);
            linkBefore(left, seg);
            listInsert(left);
            freeSegments++;
        }
        if (at + n < segEnd) {
            int right = newId();
            put(right, START, at + n);
            put(right, LENGTH, segEnd - (at + n));
            put(right, STATE, FREE);
            linkAfter(right, seg);
            listInsert(right);
            freeSegments++;
        }
        put(seg, START, at);
        put(seg, LENGTH, n);
        put(seg, STATE, ALLOCATED);
        allocatedByStart.put(at, seg);
        allocatedQuanta += n;
        return seg;
    }

    /**
     * As {@link #allocate}, but only from free space outside {@code [lo, hi)} (the window
     * kept for a blocked head; see {@link Arena}): first fit over the lists from n's size
     * class up, or the smallest such fit for {@link Fit#BEST}. Returns the start or NONE.
     */
    int allocateOutside(int n, long alignQ, Fit fit, int lo, int hi) {
        int candidates = nonEmpty & (-1 << floorLog2(n));
        int found = NONE;
        int foundAt = NONE;
        while (candidates != 0 && (found == NONE || fit == Fit.BEST)) {
            int k = Integer.numberOfTrailingZeros(candidates);
            candidates &= candidates - 1;
            for (int s = listHead[k]; s != NONE; s = listNext(s)) {
                int at = placeOutside(s, n, alignQ, lo, hi);
                if (at != NONE && (found == NONE || length(s) < length(found))) {
                    found = s;
                    foundAt = at;
                    if (fit != Fit.BEST || length(s) == n) {
                        break;
                    }
                }
            }
        }
        if (found == NONE) {
            return NONE;
        }
        carve(found, foundAt, n);
        return foundAt;
    }

    /** Where n aligned quanta fit in free segment seg without touching [lo, hi); NONE if nowhere. */
    private int placeOutside(int seg, int n, long alignQ, int lo, int hi) {
        int s = start(seg);
        long e = (long) s + length(seg);
        long left = alignedStart(s, alignQ);
        if (left + n <= Math.min(e, lo)) {
            return (int) left;
        }
        long right = alignedStart(Math.max(s, hi), alignQ);
        return right + n <= e ? (int) right : NONE;
    }

    /**
     * The start of the aligned window of n quanta that holds the fewest allocated quanta
     * (the lowest such start on a tie): where a blocked head will fit soonest. Candidates
     * are the windows that start or end at a free segment's edge (where the count changes
     * slope) and the first aligned window; cost O(segments log segments), paid once per
     * blocked head. The arena has checked that some aligned window fits the range.
     */
    int leastOccupiedWindow(int n, long alignQ) {
        int count = 0;
        for (int s = first; s != NONE; s = addrNext(s)) {
            count++;
        }
        int[] starts = new int[count + 1];
        long[] allocatedBefore = new long[count + 1];
        int[] freeStarts = new int[count];
        int[] freeEnds = new int[count];
        int i = 0;
        int frees = 0;
        long allocated = 0;
        for (int s = first; s != NONE; s = addrNext(s), i++) {
            starts[i] = start(s);
            allocatedBefore[i] = allocated;
            if (state(s) == FREE) {
                freeStarts[frees] = start(s);
                freeEnds[frees++] = start(s) + length(s);
            } else {
                allocated += length(s);
            }
        }
        starts[count] = quanta;
        allocatedBefore[count] = allocated;
        int best = alignedStart(0, alignQ);
        long bestCount = allocatedIn(best, n, starts, allocatedBefore);
        for (int f = 0; f < frees; f++) {
            long[] candidates = {alignedStart(freeStarts[f], alignQ), alignedDown(freeEnds[f] - n, alignQ)};
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
        }
        return best;
    }

    private static long allocatedIn(int from, int n, int[] starts, long[] allocatedBefore) {
        return allocatedUpTo(from + n, starts, allocatedBefore) - allocatedUpTo(from, starts, allocatedBefore);
    }

    /** Allocated quanta in [0, pos), from the prefix sums of one address-order walk. */
    private static long allocatedUpTo(int pos, int[] starts, long[] allocatedBefore) {
        int i = java.util.Arrays.binarySearch(starts, pos);
        if (i >= 0) {
            return allocatedBefore[i];
        }
        int seg = -i - 2; // the segment containing pos
        boolean isAllocated = allocatedBefore[seg + 1] != allocatedBefore[seg];
        return allocatedBefore[seg] + (isAllocated ? pos - starts[seg] : 0);
    }

    /** The largest aligned quantum index at or below offset (may be negative). */
    private long alignedDown(long offset, long alignQ) {
        return offset - ((baseQuanta + offset) & (alignQ - 1));
    }

    /** Calls {@code visitor} with the start and length of every allocated span (releasing ones included), in address order. */
    void forEachSpan(SpanVisitor visitor) {
        for (int s = first; s != NONE; s = addrNext(s)) {
            if (state(s) == ALLOCATED || state(s) == RELEASING) {
                visitor.visit(start(s), length(s));
            }
        }
    }

    /** Receives spans from {@link #forEachSpan}. */
    @FunctionalInterface
    interface SpanVisitor {
        void visit(int start, int length);
    }

    // ---------------------------------------------------------------------- free

    /**
     * Looks up the allocated span starting at {@code at} of {@code n} quanta, and marks it
     * {@code RELEASING}: no longer freeable, not yet reusable. Throws without changing
     * anything when there is no such span.
     */
    int beginRelease(int at, int n, LongToString describe) {
        int seg = allocatedByStart.remove(at); // one probe; put back on the error path below
        if (seg == NONE) {
            throw new IllegalArgumentException(describeNotAllocated(at, describe));
        }
        if (length(seg) != n) {
            allocatedByStart.put(at, seg);
            throw new IllegalArgumentException("free(" + describe.apply(at) + ", " + n
                    + " quanta): the span at that address has " + length(seg)
                    + " quanta; free with the size it was allocated with");
        }
        put(seg, STATE, RELEASING);
        return seg;
    }

    /** Returns a released segment to the free lists, merging with free neighbours. */
    void finishRelease(int seg) {
        allocatedQuanta -= length(seg);
        put(seg, STATE, FREE);
        int prev = addrPrev(seg);
        if (prev != NONE && state(prev) == FREE) {
            listRemove(prev);
            freeSegments--;
            put(prev, LENGTH, length(prev) + length(seg));
            unlinkAndRelease(seg, prev);
            seg = prev;
        }
        int next = addrNext(seg);
        if (next != NONE && state(next) == FREE) {
            listRemove(next);
            freeSegments--;
            put(seg, LENGTH, length(seg) + length(next));
            unlinkAndRelease(next, seg);
        }
        listInsert(seg);
        freeSegments++;
    }

    /** Frees the span starting at {@code at} of {@code n} quanta in one step. */
    void free(int at, int n, LongToString describe) {
        finishRelease(beginRelease(at, n, describe));
    }

    private String describeNotAllocated(int at, LongToString describe) {
        String what = "free(" + describe.apply(at) + "): ";
        if (at < 0 || at >= quanta) {
            return what + "address is outside the arena";
        }
        for (int s = first; s != NONE; s = addrNext(s)) {
            if (at >= start(s) && at < start(s) + length(s)) {
                return switch (state(s)) {
                    case FREE -> what + "address is not allocated (it lies in a free segment: double free?)";
                    case RELEASING -> what + "span is already being freed (double free?)";
                    default -> what + "address is inside the span allocated at "
                            + describe.apply(start(s)) + ", not at its start";
                };
            }
        }
        return what + "address is not allocated";
    }

    // ------------------------------------------------------------------- queries

    /** True when a request of n quanta at the alignment would be satisfied now (the fit policy finds one iff any fits). */
    boolean canFit(int n, long alignQ) {
        return searchLists(n, alignQ, false) != NONE;
    }

    long allocatedQuanta() {
        return allocatedQuanta;
    }

    int spans() {
        return allocatedByStart.size();
    }

    int freeSegments() {
        return freeSegments;
    }

    int largestFree() {
        if (nonEmpty == 0) {
            return 0;
        }
        int k = 31 - Integer.numberOfLeadingZeros(nonEmpty);
        int largest = 0;
        for (int s = listHead[k]; s != NONE; s = listNext(s)) {
            largest = Math.max(largest, length(s));
        }
        return largest;
    }

    // ----------------------------------------------------------------- invariants

    /** Checks every invariant in the class comment; throws IllegalStateException naming the first broken one. */
    void check() {
        int s = first;
        if (addrPrev(s) != NONE) {
            throw broken("the first segment has a predecessor");
        }
        int expectedStart = 0;
        int frees = 0;
        int allocs = 0;
        long allocQ = 0;
        int prev = NONE;
        boolean prevFree = false;
        while (s != NONE) {
            if (state(s) != FREE && state(s) != ALLOCATED && state(s) != RELEASING) {
                throw broken("segment " + s + " is unused but linked");
            }
            if (start(s) != expectedStart) {
                throw broken("segment " + s + " starts at " + start(s) + ", expected " + expectedStart);
            }
            if (length(s) <= 0) {
                throw broken("segment " + s + " has length " + length(s));
            }
            if (addrPrev(s) != prev) {
                throw broken("segment " + s + " has a wrong address-order back link");
            }
            boolean isFree = state(s) == FREE;
            if (isFree && prevFree) {
                throw broken("adjacent free segments end at " + start(s));
            }
            if (isFree) {
                frees++;
            } else {
                allocQ += length(s);
                if (state(s) == ALLOCATED) {
                    allocs++;
                    if (allocatedByStart.get(start(s)) != s) {
                        throw broken("allocated segment at " + start(s) + " is missing from the map");
                    }
                }
            }
            expectedStart += length(s);
            prevFree = isFree;
            prev = s;
            s = addrNext(s);
        }
        if (expectedStart != quanta) {
            throw broken("segments cover " + expectedStart + " of " + quanta + " quanta");
        }
        if (frees != freeSegments) {
            throw broken("free segment count " + freeSegments + " but " + frees + " found");
        }
        if (allocs != allocatedByStart.size()) {
            throw broken("map holds " + allocatedByStart.size() + " starts but " + allocs + " allocated segments found");
        }
        if (allocQ != allocatedQuanta) {
            throw broken("allocated quanta " + allocatedQuanta + " but segments hold " + allocQ);
        }
        int listed = 0;
        for (int k = 0; k < LISTS; k++) {
            if ((listHead[k] != NONE) != ((nonEmpty & (1 << k)) != 0)) {
                throw broken("non-empty mask disagrees with list " + k);
            }
            int p = NONE;
            for (int f = listHead[k]; f != NONE; f = listNext(f)) {
                if (state(f) != FREE) {
                    throw broken("segment " + f + " on free list " + k + " is not free");
                }
                if (floorLog2(length(f)) != k) {
                    throw broken("segment of length " + length(f) + " on list " + k);
                }
                if (listPrev(f) != p) {
                    throw broken("free list " + k + " has a wrong back link");
                }
                listed++;
                p = f;
                if (listed > frees) {
                    throw broken("free list " + k + " is cyclic or holds more than the free segments");
                }
            }
        }
        if (listed != frees) {
            throw broken("free lists hold " + listed + " segments but " + frees + " are free");
        }
    }

    /** The exception for a broken invariant; messages are built only when one breaks. */
    private static IllegalStateException broken(String message) {
        return new IllegalStateException("arena invariant broken: " + message);
    }

    // ------------------------------------------------------------------ plumbing

    private void listInsert(int seg) {
        int k = floorLog2(length(seg));
        int head = listHead[k];
        put(seg, LIST_PREV, NONE);
        put(seg, LIST_NEXT, head);
        if (head != NONE) {
            put(head, LIST_PREV, seg);
        }
        listHead[k] = seg;
        nonEmpty |= 1 << k;
    }

    private void listRemove(int seg) {
        int k = floorLog2(length(seg));
        int p = listPrev(seg);
        int n = listNext(seg);
        if (p == NONE) {
            listHead[k] = n;
            if (n == NONE) {
                nonEmpty &= ~(1 << k);
            }
        } else {
            put(p, LIST_NEXT, n);
        }
        if (n != NONE) {
            put(n, LIST_PREV, p);
        }
    }

    private void linkBefore(int seg, int before) {
        int p = addrPrev(before);
        put(seg, ADDR_PREV, p);
        put(seg, ADDR_NEXT, before);
        put(before, ADDR_PREV, seg);
        if (p != NONE) {
            put(p, ADDR_NEXT, seg);
        } else {
            first = seg;
        }
    }

    private void linkAfter(int seg, int after) {
        int n = addrNext(after);
        put(seg, ADDR_NEXT, n);
        put(seg, ADDR_PREV, after);
        put(after, ADDR_NEXT, seg);
        if (n != NONE) {
            put(n, ADDR_PREV, seg);
        }
    }

    /** Unlinks seg from address order and recycles its id; survivor takes over the NEXT-fit rotor. */
    private void unlinkAndRelease(int seg, int survivor) {
        int p = addrPrev(seg);
        int n = addrNext(seg);
        if (p != NONE) {
            put(p, ADDR_NEXT, n);
        } else {
            first = n;
        }
        if (n != NONE) {
            put(n, ADDR_PREV, p);
        }
        if (rotor == seg) {
            rotor = survivor;
        }
        put(seg, STATE, UNUSED);
        put(seg, ADDR_NEXT, unusedIds);
        unusedIds = seg;
    }

    private int newId() {
        if (unusedIds != NONE) {
            int id = unusedIds;
            unusedIds = addrNext(id);
            return id;
        }
        if (highestId == tags.length >>> SHIFT) {
            tags = Arrays.copyOf(tags, tags.length * 2);
        }
        return highestId++;
    }

    // --------------------------------------------------------- field accessors

    private int start(int s) {
        return tags[(s << SHIFT) + START];
    }

    private int length(int s) {
        return tags[(s << SHIFT) + LENGTH];
    }

    private int addrPrev(int s) {
        return tags[(s << SHIFT) + ADDR_PREV];
    }

    private int addrNext(int s) {
        return tags[(s << SHIFT) + ADDR_NEXT];
    }

    private int listPrev(int s) {
        return tags[(s << SHIFT) + LIST_PREV];
    }

    private int listNext(int s) {
        return tags[(s << SHIFT) + LIST_NEXT];
    }

    private int state(int s) {
        return tags[(s << SHIFT) + STATE];
    }

    private void put(int s, int field, int value) {
        tags[(s << SHIFT) + field] = value;
    }

    static int floorLog2(int n) {
        return 31 - Integer.numberOfLeadingZeros(n);
    }

    static int ceilLog2(int n) {
        return n == 1 ? 0 : 32 - Integer.numberOfLeadingZeros(n - 1);
    }

    /** Renders a quantum index as an address for messages. */
    @FunctionalInterface
    interface LongToString {
        String apply(long quantumIndex);
    }
}

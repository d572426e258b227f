package io.slab4j.arena;

import org.agrona.collections.Int2IntHashMap;

import java.util.Arrays;

/**
 * The boundary tags of an {@link Arena}: segments that tile {@code [0, quanta)}, each
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
 * <p>Segments are ids into parallel primitive arrays (about 25 bytes a segment, plus the
 * map entry of an allocated one), so a million live spans cost tens of megabytes and no
 * per-span objects. Unused ids are chained through {@code addrNext}.
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
 * <p>Not thread-safe: the owning {@link Arena} calls it under its lock.
 */
final class SegmentTable {
    static final int NONE = -1;
    private static final byte UNUSED = 0;
    private static final byte FREE = 1;
    private static final byte ALLOCATED = 2;
    /** Allocated, removed from the map, being decommitted outside the lock; not yet free. */
    private static final byte RELEASING = 3;
    private static final int LISTS = 32;

    private final int quanta;
    /** Absolute address of quantum 0 divided by the quantum: alignment is of addresses, not offsets. */
    private final long baseQuanta;

    private int[] start;
    private int[] length;
    private int[] addrPrev;
    private int[] addrNext;
    private int[] listPrev;
    private int[] listNext;
    private byte[] state;
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
        int capacity = 64;
        start = new int[capacity];
        length = new int[capacity];
        addrPrev = new int[capacity];
        addrNext = new int[capacity];
        listPrev = new int[capacity];
        listNext = new int[capacity];
        state = new byte[capacity];
        Arrays.fill(listHead, NONE);
        int whole = newId();
        start[whole] = 0;
        length[whole] = quanta;
        addrPrev[whole] = NONE;
        addrNext[whole] = NONE;
        state[whole] = FREE;
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
        int at = alignedStart(start[seg], alignQ);
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
        for (int s = listHead[own]; s != NONE; s = listNext[s]) {
            if (length[s] >= n) {
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
            for (int s = listHead[k]; s != NONE; s = listNext[s]) {
                if (fits(s, n, alignQ) && (found == NONE || length[s] < length[found])) {
                    found = s;
                    if (!best || length[s] == n) {
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
        int at = fitFrom(s, Math.max(rotorPosition, start[s]), n, alignQ);
        while (at == NONE) {
            s = addrNext[s] == NONE ? first : addrNext[s];
            at = fitFrom(s, start[s], n, alignQ);
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
        if (state[seg] != FREE) {
            return NONE;
        }
        long at = alignedStart(from, alignQ);
        return at + n <= (long) start[seg] + length[seg] ? (int) at : NONE;
    }

    private boolean fits(int seg, int n, long alignQ) {
        long at = alignedStart(start[seg], alignQ);
        return at + n <= (long) start[seg] + length[seg];
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
        int segStart = start[seg];
        int segEnd = segStart + length[seg];
        if (at > segStart) {
            int left = newId();
            start[left] = segStart;
            length[left] = at - segStart;
            state[left] = FREE;
            linkBefore(left, seg);
            listInsert(left);
            freeSegments++;
        }
        if (at + n < segEnd) {
            int right = newId();
            start[right] = at + n;
            length[right] = segEnd - (at + n);
            state[right] = FREE;
            linkAfter(right, seg);
            listInsert(right);
            freeSegments++;
        }
        start[seg] = at;
        length[seg] = n;
        state[seg] = ALLOCATED;
        allocatedByStart.put(at, seg);
        allocatedQuanta += n;
        return seg;
    }

    // ---------------------------------------------------------------------- free

    /**
     * Looks up the allocated span starting at {@code at} of {@code n} quanta, and marks it
     * {@code RELEASING}: no longer freeable, not yet reusable. Throws without changing
     * anything when there is no such span.
     */
    int beginRelease(int at, int n, LongToString describe) {
        int seg = allocatedByStart.get(at);
        if (seg == NONE) {
            throw new IllegalArgumentException(describeNotAllocated(at, describe));
        }
        if (length[seg] != n) {
            throw new IllegalArgumentException("free(" + describe.apply(at) + ", " + n
                    + " quanta): the span at that address has " + length[seg]
                    + " quanta; free with the size it was allocated with");
        }
        allocatedByStart.remove(at);
        state[seg] = RELEASING;
        return seg;
    }

    /** Returns a released segment to the free lists, merging with free neighbours. */
    void finishRelease(int seg) {
        allocatedQuanta -= length[seg];
        state[seg] = FREE;
        int prev = addrPrev[seg];
        if (prev != NONE && state[prev] == FREE) {
            listRemove(prev);
            freeSegments--;
            length[prev] += length[seg];
            unlinkAndRelease(seg, prev);
            seg = prev;
        }
        int next = addrNext[seg];
        if (next != NONE && state[next] == FREE) {
            listRemove(next);
            freeSegments--;
            length[seg] += length[next];
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
        for (int s = first; s != NONE; s = addrNext[s]) {
            if (at >= start[s] && at < start[s] + length[s]) {
                return switch (state[s]) {
                    case FREE -> what + "address is not allocated (it lies in a free segment: double free?)";
                    case RELEASING -> what + "span is already being freed (double free?)";
                    default -> what + "address is inside the span allocated at "
                            + describe.apply(start[s]) + ", not at its start";
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
        for (int s = listHead[k]; s != NONE; s = listNext[s]) {
            largest = Math.max(largest, length[s]);
        }
        return largest;
    }

    // ----------------------------------------------------------------- invariants

    /** Checks every invariant in the class comment; throws IllegalStateException naming the first broken one. */
    void check() {
        int s = first;
        require(addrPrev[s] == NONE, "the first segment has a predecessor");
        int expectedStart = 0;
        int frees = 0;
        int allocs = 0;
        long allocQ = 0;
        int prev = NONE;
        boolean prevFree = false;
        while (s != NONE) {
            require(state[s] == FREE || state[s] == ALLOCATED || state[s] == RELEASING, "segment " + s + " is unused but linked");
            require(start[s] == expectedStart, "segment " + s + " starts at " + start[s] + ", expected " + expectedStart);
            require(length[s] > 0, "segment " + s + " has length " + length[s]);
            require(addrPrev[s] == prev, "segment " + s + " has a wrong address-order back link");
            boolean isFree = state[s] == FREE;
            require(!(isFree && prevFree), "adjacent free segments end at " + start[s]);
            if (isFree) {
                frees++;
            } else {
                allocQ += length[s];
                if (state[s] == ALLOCATED) {
                    allocs++;
                    require(allocatedByStart.get(start[s]) == s, "allocated segment at " + start[s] + " is missing from the map");
                }
            }
            expectedStart += length[s];
            prevFree = isFree;
            prev = s;
            s = addrNext[s];
        }
        require(expectedStart == quanta, "segments cover " + expectedStart + " of " + quanta + " quanta");
        require(frees == freeSegments, "free segment count " + freeSegments + " but " + frees + " found");
        require(allocs == allocatedByStart.size(), "map holds " + allocatedByStart.size() + " starts but " + allocs + " allocated segments found");
        require(allocQ == allocatedQuanta, "allocated quanta " + allocatedQuanta + " but segments hold " + allocQ);
        int listed = 0;
        for (int k = 0; k < LISTS; k++) {
            require((listHead[k] != NONE) == ((nonEmpty & (1 << k)) != 0), "non-empty mask disagrees with list " + k);
            int p = NONE;
            for (int f = listHead[k]; f != NONE; f = listNext[f]) {
                require(state[f] == FREE, "segment " + f + " on free list " + k + " is not free");
                require(floorLog2(length[f]) == k, "segment of length " + length[f] + " on list " + k);
                require(listPrev[f] == p, "free list " + k + " has a wrong back link");
                listed++;
                p = f;
                require(listed <= frees, "free list " + k + " is cyclic or holds more than the free segments");
            }
        }
        require(listed == frees, "free lists hold " + listed + " segments but " + frees + " are free");
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalStateException("arena invariant broken: " + message);
        }
    }

    // ------------------------------------------------------------------ plumbing

    private void listInsert(int seg) {
        int k = floorLog2(length[seg]);
        int head = listHead[k];
        listPrev[seg] = NONE;
        listNext[seg] = head;
        if (head != NONE) {
            listPrev[head] = seg;
        }
        listHead[k] = seg;
        nonEmpty |= 1 << k;
    }

    private void listRemove(int seg) {
        int k = floorLog2(length[seg]);
        int p = listPrev[seg];
        int n = listNext[seg];
        if (p == NONE) {
            listHead[k] = n;
            if (n == NONE) {
                nonEmpty &= ~(1 << k);
            }
        } else {
            listNext[p] = n;
        }
        if (n != NONE) {
            listPrev[n] = p;
        }
    }

    private void linkBefore(int seg, int before) {
        int p = addrPrev[before];
        addrPrev[seg] = p;
        addrNext[seg] = before;
        addrPrev[before] = seg;
        if (p != NONE) {
            addrNext[p] = seg;
        } else {
            first = seg;
        }
    }

    private void linkAfter(int seg, int after) {
        int n = addrNext[after];
        addrNext[seg] = n;
        addrPrev[seg] = after;
        addrNext[after] = seg;
        if (n != NONE) {
            addrPrev[n] = seg;
        }
    }

    /** Unlinks seg from address order and recycles its id; survivor takes over the NEXT-fit rotor. */
    private void unlinkAndRelease(int seg, int survivor) {
        int p = addrPrev[seg];
        int n = addrNext[seg];
        if (p != NONE) {
            addrNext[p] = n;
        } else {
            first = n;
        }
        if (n != NONE) {
            addrPrev[n] = p;
        }
        if (rotor == seg) {
            rotor = survivor;
        }
        state[seg] = UNUSED;
        addrNext[seg] = unusedIds;
        unusedIds = seg;
    }

    private int newId() {
        if (unusedIds != NONE) {
            int id = unusedIds;
            unusedIds = addrNext[id];
            return id;
        }
        if (highestId == state.length) {
            int capacity = state.length * 2;
            start = Arrays.copyOf(start, capacity);
            length = Arrays.copyOf(length, capacity);
            addrPrev = Arrays.copyOf(addrPrev, capacity);
            addrNext = Arrays.copyOf(addrNext, capacity);
            listPrev = Arrays.copyOf(listPrev, capacity);
            listNext = Arrays.copyOf(listNext, capacity);
            state = Arrays.copyOf(state, capacity);
        }
        return highestId++;
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

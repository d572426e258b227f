package io.slab4j.arena;

/**
 * The boundary tags of an {@link Arena} as one tag word per quantum: segments that tile
 * {@code [0, quanta)}, each free, allocated or releasing, whose neighbours are found by
 * arithmetic on the position, not by a map. It replaced the arena's previous layout
 * ({@code SegmentTable}: segment records, free lists and a map of span starts, now kept in
 * the bench module for comparison) with the same calls, exceptions and messages.
 * Positions and lengths are in quanta.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>tag</b>: the 16-bit word of a quantum ({@link Tags}): a segment's head holds
 *       its kind and length; a free segment's foot holds its length too; a length of 8192
 *       quanta or more lives in three EXT words beside the head (and foot); every other
 *       word is 0.
 *   <li><b>segment</b>: a maximal run between tags: free, allocated (a live span) or
 *       releasing (a span being decommitted outside the lock: not freeable, not reusable).
 *   <li><b>class, bin</b>: TLSF size classes of free segments and their LIFO bins of starts
 *       ({@link SizeBins}).
 * </ul>
 *
 * <h2>Layout</h2>
 * <pre>
 *   quantum:  0    1    2    3    4    5    6    7    8    9    10   11
 *   segment:  [ alloc 0..2  ][ free 3..7              ][a 8][ free 9..11 ]
 *   tag:      A3   0    0    H5   0    0    0    F5   A1   H3   0    F3
 *             A = ALLOCATED head, H = FREE_HEAD, F = FREE_FOOT, digit = length
 *   free of 8..8:  left neighbour's foot is tag[8 - 1] = F5 -&gt; it starts at 7 - 5 + 1 = 3;
 *                  right neighbour's head is tag[8 + 1] = H3.  Result: H9 at 3, F9 at 11.
 *   bins:     class 5 = {3}, class 3 = {9}; bitmap bits 3 and 5 set
 * </pre>
 * <h2>Cache lines</h2>
 * Thirty-two tags share a 64-byte line, and all a pair needs is found by arithmetic. A
 * churn pair (free a random span, allocate another) <em>reads</em> at most two cold lines,
 * both addressed by the free's own arguments, so they are fetched in parallel (one miss
 * latency), and nothing cold after them:
 * <ol>
 *   <li>the freed span's head {@code tag[at]}: the one miss a random free must pay (it
 *       proves that a span starts there); its left neighbour's foot {@code tag[at - 1]} is
 *       on the same line 31 times in 32;
 *   <li>its right neighbour's head {@code tag[at + n]}: the same line when the span does
 *       not cross a line boundary, else the next line.
 * </ol>
 * Allocation reads no cold line: the bitmaps, live counts and bin tops are a few hot
 * lines; whether the top entry is stale is in a small hot set, not in the segment's tag
 * ({@link SizeBins}); and in an exact class (below 128 quanta) the class is the length.
 * So the rest of a pair only <em>writes</em> cold lines, which retire without waiting
 * for them: the carved head (LIFO: often a line freed a moment ago), the old foot or the
 * remainder's head and foot when the span ends or splits the segment, and for each free
 * neighbour absorbed, the far end of the merged segment. The leaf directory and the
 * leaves' headers (read by bounds checks) are one line per 2^16 quanta, and stay cached.
 * There is no map probe, no record elsewhere and no list neighbour to unlink.
 *
 * <h2>Allocate ({@link #allocate})</h2>
 * <ol>
 *   <li>{@code INSTANT}: the first non-empty class from {@code goodClass(n + align - 1)}
 *       (two bitmap scans) gives a segment that surely fits; take its bin's newest valid
 *       entry. Only if there is none, search the classes below it for a fit, newest first.
 *   <li>{@code BEST}: from {@code classOf(n)} up, the first class holding a fit holds the
 *       best; search its bin for the smallest fit (stopping at the class's minimum).
 *   <li>{@code NEXT}: walk segments in address order from the rotor (head to head by
 *       length), first fit at or after the end of the previous NEXT allocation, wrapping
 *       once (as the previous layout did).
 *   <li>Carve: rewrite the free segment's tags as left remainder (alignment), span,
 *       right remainder; clear its old foot if it now lies inside the span (and, for a
 *       long segment, its old EXT words); add the remainders to their bins; the carved
 *       segment's bin entry is popped (INSTANT) or goes stale.
 * </ol>
 * <h2>Free ({@link #beginRelease}, {@link #finishRelease}, {@link #free})</h2>
 * <ol>
 *   <li>Read the tag at the start: it must be an ALLOCATED head of the given length
 *       (else throw, changing nothing); retag it RELEASING ({@link #free}, in one step,
 *       goes straight on).
 *   <li>Finish: if {@code tag[at - 1]} is free, absorb the left neighbour (its start from
 *       its foot); if {@code tag[at + n]} is a free head, absorb the right one; clear the
 *       tags that became interior; write the head and foot of the result and add it to
 *       its bin. An absorbed neighbour only lowers its class's live count.
 * </ol>
 *
 * <h2>Invariants ({@link #check})</h2>
 * Heads tile the range (each head's length leads to the next head); a long segment's
 * EXT words are where its tags say; every other non-tag word is 0; a free segment of two or more quanta has a foot equal to its head; no two
 * adjacent segments are free; the bins' invariants hold and every free segment is in its
 * class's bin; counters (free segments, spans, allocated quanta) agree with the tags;
 * the NEXT rotor is a head.
 *
 * <h2>Memory</h2>
 * 2 bytes a quantum of the range that has held a tag (leaves of 128 KiB, allocated on
 * first write), a directory of 4 bytes per 65536 quanta, bins of at most
 * {@code live + live / 8 + 8} ints a class, and 8 bytes a slot of the small stale set. No
 * per-span object, no map. A 1 GiB range at 4 KiB quanta needs at most 512 KiB; an empty
 * 64 GiB one two leaves (256 KiB), growing to at most 32 MiB only as far as tags are
 * written.
 *
 * <p>Not thread-safe: the owning {@link Arena} calls it under its lock. Sources: TLSF
 * (Masmano et al. 2004) for classes and tags; vmem (Bonwick &amp; Adams 2001) for the
 * fits and the arena; jemalloc's extent radix tree for neighbours by page arithmetic.
 */
final class TagTable {
    static final int NONE = -1;

    private final int quanta;
    /** Absolute address of quantum 0 divided by the quantum: alignment is of addresses, not offsets. */
    private final long baseQuanta;
    private final Tags tags;
    private final SizeBins bins;
    private final TagSearch search;
    private final TagWindow window;

    private int freeSegments;
    private int spans;
    private long allocatedQuanta;

    TagTable(int quanta, long baseQuanta) {
        this(quanta, baseQuanta, Tags.LEAF_SHIFT);
    }

    /** With leaves of 2^leafShift quanta: tests use small ones so small ranges cross leaves. */
    TagTable(int quanta, long baseQuanta, int leafShift) {
        this(quanta, baseQuanta, leafShift, Tags.HUGE);
    }

    /** With leaves of 2^leafShift quanta and lengths from {@code longLength} up in EXT words ({@link Tags}): tests reach both in small ranges. */
    TagTable(int quanta, long baseQuanta, int leafShift, int longLength) {
        if (quanta <= 0) {
            throw new IllegalArgumentException("quanta " + quanta + " is not positive");
        }
        this.quanta = quanta;
        this.baseQuanta = baseQuanta;
        this.tags = new Tags(quanta, leafShift, longLength);
        this.bins = new SizeBins(tags);
        this.search = new TagSearch(this, tags, bins);
        this.window = new TagWindow(this, tags, bins);
        writeFree(0, quanta);
    }

    // ---------------------------------------------------------------- allocation

    /**
     * Allocates {@code n} quanta whose absolute address is a multiple of {@code alignQ}
     * quanta (a power of two). Returns the start, or {@link #NONE} when nothing fits.
     */
    int allocate(int n, long alignQ, Fit fit) {
        if (fit == Fit.NEXT) {
            return search.nextFit(n, alignQ);
        }
        long found = fit == Fit.BEST ? search.bestFit(n, alignQ) : search.goodFit(n, alignQ, true);
        if (found == NONE) {
            return NONE;
        }
        int seg = (int) found;
        int at = alignedStart(seg, alignQ);
        carve(seg, (int) (found >>> 32), at, n, fit != Fit.BEST);
        return at;
    }

    /** True when a request of n quanta at the alignment would be satisfied now (every fit policy finds one iff any fits). */
    boolean canFit(int n, long alignQ) {
        return search.goodFit(n, alignQ, false) != NONE;
    }

    int alignedStart(int offset, long alignQ) {
        long misalignment = (baseQuanta + offset) & (alignQ - 1);
        long at = misalignment == 0 ? offset : offset + alignQ - misalignment;
        return (int) Math.min(at, Integer.MAX_VALUE);
    }

    /** Whether free segment {@code [start, start + length)} holds n quanta at the alignment, from {@code from} on. */
    boolean fits(int start, int length, int from, int n, long alignQ) {
        long at = alignedStart(from, alignQ);
        return at + n <= (long) start + length;
    }

    /**
     * Turns {@code [at, at + n)} of free segment {@code [seg, seg + length)} into an
     * allocated span: left remainder, span, right remainder.
     */
    void carve(int seg, int length, int at, int n) {
        carve(seg, length, at, n, false);
    }

    /** As {@link #carve(int, int, int, int)}; {@code taken}: the segment's bin entry was popped by {@link SizeBins#take}. */
    private void carve(int seg, int length, int at, int n, boolean taken) {
        if (taken) {
            bins.removeTaken(length);
        } else {
            bins.remove(seg, length);
        }
        freeSegments--;
        int end = seg + length;
        int spanEnd = at + n;
        if (tags.isLong(length)) {
            tags.clearHead(seg, length); // its EXT words may fall anywhere in the new tags
            if (spanEnd == end || !tags.isLong(end - spanEnd)) {
                tags.clearFoot(end - 1, length); // else the long right remainder rewrites foot and EXT words in place
            }
        } else if (spanEnd == end && n > 1) {
            tags.clearFoot(end - 1, length); // the old foot is now inside the span
        }
        if (at > seg) {
            writeFree(seg, at - seg);
        }
        tags.head(at, Tags.ALLOCATED, n);
        if (spanEnd < end) {
            writeFree(spanEnd, end - spanEnd);
        }
        search.carved(seg, at);
        allocatedQuanta += n;
        spans++;
    }

    /**
     * As {@link #allocate}, but only from free space outside {@code [lo, hi)} (the window
     * kept for a blocked head, {@link TagWindow}). Returns the start or NONE.
     */
    int allocateOutside(int n, long alignQ, Fit fit, int lo, int hi) {
        return window.allocateOutside(n, alignQ, fit, lo, hi);
    }

    /** The start of the aligned window of n quanta holding the fewest allocated quanta ({@link TagWindow}). */
    int leastOccupiedWindow(int n, long alignQ) {
        return window.leastOccupiedWindow(n, alignQ);
    }

    /** Writes the head and foot of a new free segment and adds it to its bin. */
    private void writeFree(int start, int length) {
        tags.head(start, Tags.FREE_HEAD, length);
        if (length > 1) {
            tags.foot(start + length - 1, length);
        }
        bins.add(start, length);
        freeSegments++;
    }

    // ---------------------------------------------------------------------- free

    /**
     * Checks that an allocated span of {@code n} quanta starts at {@code at} and marks it
     * releasing: no longer freeable, not yet reusable. Returns the handle for
     * {@link #finishRelease} (the start). Throws without changing anything when there is
     * no such span.
     */
    int beginRelease(int at, int n, LongToString describe) {
        checkSpan(at, n, describe);
        tags.retag(at, Tags.RELEASING);
        spans--;
        return at;
    }

    /** Whether a span of {@code n} quanta keeps its length in its head tag alone (not in EXT words). */
    boolean isShortLength(int n) {
        return !tags.isLong(n);
    }

    /**
     * {@link #isSpan} for a short length ({@link #isShortLength}), safe to call without the
     * lock: it reads one tag word, so it never sees a torn length nor throws on an
     * inconsistent one. What a racing read may return is in {@link Arena}'s class comment.
     */
    boolean isShortSpanUnlocked(int at, int n) {
        int w = at < 0 || at >= quanta ? 0 : tags.word(at);
        return w == (n << Tags.KIND_BITS | Tags.ALLOCATED);
    }

    /** Whether an allocated span of {@code n} quanta starts at {@code at} (what {@link #free} would accept). */
    boolean isSpan(int at, int n) {
        int w = at < 0 || at >= quanta ? 0 : tags.word(at);
        return Tags.kind(w) == Tags.ALLOCATED && tags.length(at, w) == n;
    }

    /** Throws, changing nothing, unless an allocated span of {@code n} quanta starts at {@code at}. */
    private void checkSpan(int at, int n, LongToString describe) {
        int w = at < 0 || at >= quanta ? 0 : tags.word(at);
        if (Tags.kind(w) != Tags.ALLOCATED) {
            throw new IllegalArgumentException(describeNotAllocated(at, w, describe));
        }
        int length = tags.length(at, w);
        if (length != n) {
            throw new IllegalArgumentException("free(" + describe.apply(at) + ", " + n
                    + " quanta): the span at that address has " + length
                    + " quanta; free with the size it was allocated with");
        }
    }

    /** Returns a released span to the free set, absorbing free neighbours. */
    void finishRelease(int at) {
        int w = tags.word(at);
        if (Tags.kind(w) != Tags.RELEASING) {
            throw new IllegalStateException("arena invariant broken: finishRelease(" + at + ") of a span that is not releasing");
        }
        release(at, tags.length(at, w));
    }

    /** Frees the span starting at {@code at} of {@code n} quanta in one step (no releasing state in between). */
    void free(int at, int n, LongToString describe) {
        checkSpan(at, n, describe);
        spans--;
        release(at, n);
    }

    /** Makes the span (allocated or releasing) of {@code n} quanta at {@code at} free, absorbing free neighbours. */
    private void release(int at, int n) {
        allocatedQuanta -= n;
        int start = at;
        int end = at + n;
        if (at > 0) {
            int left = tags.word(at - 1);
            if (Tags.isFree(left)) {
                int leftLength = tags.length(at - 1, left);
                bins.remove(at - leftLength, leftLength);
                freeSegments--;
                tags.clearFoot(at - 1, leftLength);
                tags.clearHead(at, n);
                start = at - leftLength;
                search.absorbed(at, start);
            }
        }
        if (end < quanta) {
            int right = tags.word(end);
            if (Tags.kind(right) == Tags.FREE_HEAD) {
                int rightLength = tags.length(end, right);
                bins.remove(end, rightLength);
                freeSegments--;
                tags.clearHead(end, rightLength);
                search.absorbed(end, start);
                end += rightLength;
            }
        }
        writeFree(start, end - start);
    }

    private String describeNotAllocated(int at, int w, LongToString describe) {
        String what = "free(" + describe.apply(at) + "): ";
        if (at < 0 || at >= quanta) {
            return what + "address is outside the arena";
        }
        int head = Tags.isHead(w) ? at : tags.previousTagged(at); // interior words are 0: the head is the nearest tag
        int kind = Tags.kind(w) == Tags.FREE_FOOT ? Tags.FREE_FOOT : head < 0 ? Tags.NONE : Tags.kind(tags.word(head));
        return switch (kind) {
            case Tags.FREE_HEAD, Tags.FREE_FOOT -> what + "address is not allocated (it lies in a free segment: double free?)";
            case Tags.RELEASING -> what + "span is already being freed (double free?)";
            case Tags.ALLOCATED -> what + "address is inside the span allocated at " + describe.apply(head) + ", not at its start";
            default -> what + "address is not allocated";
        };
    }

    // ------------------------------------------------------------------- queries

    long allocatedQuanta() {
        return allocatedQuanta;
    }

    int spans() {
        return spans;
    }

    int freeSegments() {
        return freeSegments;
    }

    int largestFree() {
        return search.largestFree();
    }

    int quanta() {
        return quanta;
    }

    long baseQuanta() {
        return baseQuanta;
    }

    /** Calls {@code visitor} with the start and length of every allocated span (releasing ones included), in address order. */
    void forEachSpan(SpanVisitor visitor) {
        for (int p = 0; p < quanta; ) {
            int w = tags.word(p);
            int length = tags.length(p, w);
            if (Tags.kind(w) == Tags.ALLOCATED || Tags.kind(w) == Tags.RELEASING) {
                visitor.visit(p, length);
            }
            p += length;
        }
    }

    /** Receives spans from {@link #forEachSpan}. */
    @FunctionalInterface
    interface SpanVisitor {
        void visit(int start, int length);
    }

    /** Bytes of metadata now allocated: tag leaves and directory, bins (not object headers). */
    long metadataBytes() {
        return tags.bytes() + bins.bytes();
    }

    // ----------------------------------------------------------------- invariants

    /** Checks every invariant in the class comment; throws IllegalStateException naming the first broken one. */
    void check() {
        new TagCheck(tags, bins, quanta).run(freeSegments, spans, allocatedQuanta, search.rotor());
    }

    /** Renders a quantum index as an address for messages. */
    @FunctionalInterface
    interface LongToString {
        String apply(long quantumIndex);
    }
}

package io.slab4j.arena;

/**
 * The three fit policies of a {@link TagTable} over its {@link Tags} and {@link SizeBins}
 * (vmem, Bonwick &amp; Adams 2001, section 4.4; good fit after TLSF, Masmano et al. 2004),
 * and the NEXT-fit rotor.
 *
 * <ul>
 *   <li>{@link #goodFit}: any segment of a class at or above
 *       {@code goodClass(n + align - 1)} holds the request wherever it starts, so the
 *       newest valid entry of the first such non-empty class is taken in O(1), without
 *       reading its tag for an exact class. Only when
 *       there is none are the classes from {@code classOf(n)} below it searched, newest
 *       entry first, so the search fails only when nothing fits. Used for INSTANT and
 *       for {@code canFit}.
 *   <li>{@link #bestFit}: from {@code classOf(n)} up, the first class that holds a fit
 *       holds the smallest one (every length in a higher class is larger); its bin is
 *       searched for the smallest, stopping early at the smallest length that could fit.
 *   <li>{@link #nextFit}: first fit at or after {@code rotorPosition} (the end of the
 *       previous NEXT allocation) in address order, walking head to head, wrapping once.
 *       The rotor is a segment start and follows merges (as the previous layout's rotor
 *       segment did, so NEXT fit places spans as it did).
 * </ul>
 *
 * <p>Invariant: {@link #rotor} is the start of a segment. Not thread-safe: owned by one
 * {@link TagTable}, called under the arena's lock.
 */
final class TagSearch {
    private static final int NONE = TagTable.NONE;

    private final TagTable table;
    private final Tags tags;
    private final SizeBins bins;
    /** Start of the segment holding (or ending at) {@code rotorPosition}, where NEXT fit resumes. */
    private int rotor;
    /** The end of the previous NEXT-fit allocation. */
    private int rotorPosition;

    TagSearch(TagTable table, Tags tags, SizeBins bins) {
        this.table = table;
        this.tags = tags;
        this.bins = bins;
    }

    /**
     * A free segment that holds n quanta at the alignment, as {@link #found}, or NONE;
     * {@code take}: its entry is popped for carving ({@link SizeBins#removeTaken}). From the first class that surely fits,
     * an exact class's segment is handed out without reading its tag.
     */
    long goodFit(int n, long alignQ, boolean take) {
        int sure = SizeBins.goodClass(alignQ == 1 ? n : n + alignQ - 1);
        int c = bins.nonEmptyFrom(sure);
        if (c != NONE) {
            int s = take ? bins.take(c) : bins.top(c);
            return found(s, SizeBins.exact(c) ? c : length(s));
        }
        for (c = bins.nonEmptyFrom(SizeBins.classOf(n)); c != NONE && c < sure; c = bins.nonEmptyFrom(c + 1)) {
            int[] entries = bins.entries(c);
            for (int i = bins.size(c) - 1; i >= 0; i--) {
                int s = entries[i];
                if (bins.keep(c, i)) {
                    int length = SizeBins.exact(c) ? c : length(s);
                    if (table.fits(s, length, s, n, alignQ)) {
                        if (take) {
                            bins.takeAt(c, i);
                        }
                        return found(s, length);
                    }
                }
            }
        }
        return NONE;
    }

    /**
     * The smallest free segment that holds n quanta at the alignment, as {@link #found}, or
     * NONE. In an exact class every member has the class's length, so the newest that fits
     * is a best fit and no tag is read.
     */
    long bestFit(int n, long alignQ) {
        for (int c = bins.nonEmptyFrom(SizeBins.classOf(n)); c != NONE; c = bins.nonEmptyFrom(c + 1)) {
            boolean exact = SizeBins.exact(c);
            long floor = Math.max(n, SizeBins.minOf(c));
            int best = NONE;
            int bestLength = Integer.MAX_VALUE;
            int[] entries = bins.entries(c);
            for (int i = bins.size(c) - 1; i >= 0; i--) {
                int s = entries[i];
                if (!bins.keep(c, i)) {
                    continue;
                }
                int length = exact ? c : length(s);
                if (length < bestLength && table.fits(s, length, s, n, alignQ)) {
                    best = s;
                    bestLength = length;
                    if (length == floor) {
                        break;
                    }
                }
            }
            if (best != NONE) {
                return found(best, bestLength);
            }
        }
        return NONE;
    }

    /** A found segment: its start in the low 32 bits, its length in the high ones (both non-negative, so never NONE). */
    static long found(int start, int length) {
        return (long) length << 32 | start;
    }

    /** First fit from the rotor in address order, wrapping once; carves it and moves the rotor past it. */
    int nextFit(int n, long alignQ) {
        int s = rotor;
        int w = tags.word(s);
        int at = fitFrom(s, w, Math.max(rotorPosition, s), n, alignQ);
        while (at == NONE) {
            int next = s + tags.length(s, w);
            s = next >= table.quanta() ? 0 : next;
            w = tags.word(s);
            at = fitFrom(s, w, s, n, alignQ);
            if (s == rotor) {
                break; // wrapped once: the rotor's segment was tried whole
            }
        }
        if (at == NONE) {
            return NONE;
        }
        table.carve(s, tags.length(s, w), at, n);
        rotor = at;
        rotorPosition = at + n;
        return at;
    }

    /** Where n quanta fit in the segment at s (whose word is w) from {@code from} on; NONE if it is not free or too small. */
    private int fitFrom(int s, int w, int from, int n, long alignQ) {
        if (Tags.kind(w) != Tags.FREE_HEAD) {
            return NONE;
        }
        return table.fits(s, tags.length(s, w), from, n, alignQ) ? table.alignedStart(from, alignQ) : NONE;
    }

    /** The largest free segment's length: the longest in the highest non-empty class. */
    int largestFree() {
        int c = bins.highest();
        if (c == NONE) {
            return 0;
        }
        int largest = 0;
        int[] entries = bins.entries(c);
        for (int i = bins.size(c) - 1; i >= 0; i--) {
            int s = entries[i];
            if (bins.keep(c, i)) {
                largest = Math.max(largest, length(s));
            }
        }
        return largest;
    }

    /** Free segment {@code seg} was carved with the span at {@code at}: a rotor there follows the span. */
    void carved(int seg, int at) {
        if (rotor == seg) {
            rotor = at;
        }
    }

    /** The segment starting at {@code gone} was absorbed into the one starting at {@code survivor}. */
    void absorbed(int gone, int survivor) {
        if (rotor == gone) {
            rotor = survivor;
        }
    }

    int rotor() {
        return rotor;
    }

    private int length(int s) {
        return tags.length(s, tags.word(s));
    }
}

package io.slab4j.arena;

/**
 * The tag words of a {@link TagTable}: one {@code short} per quantum, in lazily allocated
 * leaves, so a segment's neighbours are found by arithmetic ({@code at - 1},
 * {@code at + n}), as in the boundary tags of TLSF (Masmano et al. 2004) and the page-keyed
 * radix tree jemalloc uses for its extents.
 *
 * <h2>A word</h2>
 * <pre>
 *   bit 15 ............. 3   2 1 0
 *       [ field (13 bits) ][ kind ]
 *
 *   kind  NONE       0  not the head of a segment, nor a free one's foot (the whole word is 0)
 *         FREE_HEAD  1  first quantum of a free segment (also its foot when the length is 1)
 *         FREE_FOOT  2  last quantum of a free segment of two or more quanta
 *         ALLOCATED  3  first quantum of an allocated span (spans have no foot tag)
 *         RELEASING  4  first quantum of a span leaving the allocated set, not yet free
 *         EXT        5  one of the three words that hold a long length (below)
 *   field: the length in quanta, when below {@code longLength} (2^13 = 8192 by default)
 * </pre>
 * Every other word is 0, so a word alone says whether a quantum starts a span: a free at
 * an interior, a foot or an EXT address reads NONE, FREE_FOOT or EXT and is rejected.
 *
 * <h2>Long lengths</h2>
 * A segment of {@code longLength} quanta or more has field 0 in its head (and foot), and
 * its length in the three EXT words next to the tag, inside the segment: after a head
 * ({@code q + 1 .. q + 3}), before a foot ({@code q - 1 .. q - 3}), 13 bits each, low
 * first. A long segment has at least 8 quanta, so head, foot and their EXT words never
 * overlap. Whoever clears or overwrites a long tag knows its length and clears its EXT
 * words with it ({@link #clearHead}, {@link #clearFoot}), so a stale EXT word never stays.
 *
 * <h2>Leaves</h2>
 * <pre>
 *   leaves[q &gt;&gt;&gt; 16]  -&gt;  short[65536] (128 KiB, 256 MiB of range at 4 KiB quanta)  or null
 *   word(q) = leaves[q &gt;&gt;&gt; 16][q &amp; 65535], or 0 when the leaf is null
 * </pre>
 * A leaf is allocated the first time a nonzero word is written into it and then kept:
 * metadata is at most 2 bytes a quantum of the range that has ever held a tag.
 *
 * <p>Not thread-safe: owned by one {@link TagTable}, called under the arena's lock, but
 * for {@link #word}, which {@link Arena#isAllocated} also calls without it (the argument is
 * in {@link Arena}'s class comment): every word is one {@code short} store, and a leaf,
 * once published, is never removed.
 */
final class Tags {
    static final int NONE = 0;
    static final int FREE_HEAD = 1;
    static final int FREE_FOOT = 2;
    static final int ALLOCATED = 3;
    static final int RELEASING = 4;
    static final int EXT = 5;
    static final int KIND_BITS = 3;
    private static final int KIND_MASK = (1 << KIND_BITS) - 1;
    private static final int FIELD_BITS = 16 - KIND_BITS;
    private static final int FIELD_MASK = (1 << FIELD_BITS) - 1;
    /** Lengths from here up are kept in EXT words, by default. */
    static final int HUGE = 1 << FIELD_BITS;

    /** Leaves of 2^16 words (few enough that their headers, read by every bounds check, stay cached); tests pass smaller ones to cross leaf boundaries in small ranges. */
    static final int LEAF_SHIFT = 16;

    private final int quanta;
    private final int leafShift;
    private final int leafMask;
    /** Lengths from here up go to EXT words: {@link #HUGE}; tests pass smaller ones (at least 8) to reach them in small ranges. */
    private final int longLength;
    /** Written only by {@link #set}; a null leaf reads as all zero. */
    private final short[][] leaves;
    private int leafCount;

    Tags(int quanta, int leafShift) {
        this(quanta, leafShift, HUGE);
    }

    Tags(int quanta, int leafShift, int longLength) {
        if (longLength < 8 || longLength > HUGE) {
            throw new IllegalArgumentException("longLength " + longLength + " is not in [8, " + HUGE + "]");
        }
        this.quanta = quanta;
        this.leafShift = leafShift;
        this.leafMask = (1 << leafShift) - 1;
        this.longLength = longLength;
        this.leaves = new short[(int) (((long) quanta + leafMask) >>> leafShift)][];
    }

    static int kind(int word) {
        return word & KIND_MASK;
    }

    static boolean isFree(int word) {
        int k = word & KIND_MASK;
        return k == FREE_HEAD || k == FREE_FOOT;
    }

    static boolean isHead(int word) {
        int k = word & KIND_MASK;
        return k == FREE_HEAD || k == ALLOCATED || k == RELEASING;
    }

    /** Whether a segment of {@code length} quanta keeps its length in EXT words. */
    boolean isLong(int length) {
        return length >= longLength;
    }

    int word(int q) {
        short[] leaf = leaves[q >>> leafShift];
        return leaf == null ? 0 : leaf[q & leafMask] & 0xFFFF;
    }

    /** The length a head or foot word at {@code q} records ({@code word == word(q)}). */
    int length(int q, int word) {
        int field = word >>> KIND_BITS;
        if (field != 0) {
            return field;
        }
        int step = kind(word) == FREE_FOOT ? -1 : 1;
        long length = 0;
        for (int i = 3; i >= 1; i--) {
            int ext = word(q + i * step);
            if (kind(ext) != EXT) {
                throw new IllegalStateException("arena invariant broken: the tag at quantum " + q + " says long, but quantum "
                        + (q + i * step) + " holds word " + ext + ", not a length");
            }
            length = length << FIELD_BITS | (ext >>> KIND_BITS);
        }
        return (int) length;
    }

    /** Writes the head of a segment of {@code length} quanta at {@code q} (the words after it must be free to take EXT words). */
    void head(int q, int kind, int length) {
        if (isLong(length)) {
            set(q, kind);
            putLength(q, 1, length);
        } else {
            set(q, length << KIND_BITS | kind);
        }
    }

    /** Writes the foot of a free segment of {@code length} (at least 2) quanta at {@code q}. */
    void foot(int q, int length) {
        if (isLong(length)) {
            set(q, FREE_FOOT);
            putLength(q, -1, length);
        } else {
            set(q, length << KIND_BITS | FREE_FOOT);
        }
    }

    private void putLength(int q, int step, int length) {
        for (int i = 1; i <= 3; i++) {
            set(q + i * step, ((length >>> ((i - 1) * FIELD_BITS)) & FIELD_MASK) << KIND_BITS | EXT);
        }
    }

    /** Changes the kind of the head at {@code q}, keeping its length. */
    void retag(int q, int kind) {
        set(q, (word(q) & ~KIND_MASK) | kind);
    }

    /** Clears the head at {@code q} of a segment of {@code length} quanta, with its EXT words. */
    void clearHead(int q, int length) {
        clear(q);
        if (isLong(length)) {
            clear(q + 1);
            clear(q + 2);
            clear(q + 3);
        }
    }

    /** Clears the foot at {@code q} of a free segment of {@code length} quanta, with its EXT words. */
    void clearFoot(int q, int length) {
        clear(q);
        if (isLong(length)) {
            clear(q - 1);
            clear(q - 2);
            clear(q - 3);
        }
    }

    private void clear(int q) {
        short[] leaf = leaves[q >>> leafShift];
        if (leaf != null) {
            leaf[q & leafMask] = 0;
        }
    }

    private void set(int q, int word) {
        short[] leaf = leaves[q >>> leafShift];
        if (leaf == null) {
            int first = q & ~leafMask;
            leaf = new short[Math.min(1 << leafShift, quanta - first)];
            leaves[q >>> leafShift] = leaf;
            leafCount++;
        }
        leaf[q & leafMask] = (short) word;
    }

    /** The first quantum in {@code [from, to)} whose word is not 0, or {@code to}; skips absent leaves. */
    int nextTagged(int from, int to) {
        int q = from;
        while (q < to) {
            short[] leaf = leaves[q >>> leafShift];
            int leafEnd = (int) Math.min(to, ((long) (q >>> leafShift) + 1) << leafShift);
            if (leaf != null) {
                for (; q < leafEnd; q++) {
                    if (leaf[q & leafMask] != 0) {
                        return q;
                    }
                }
            }
            q = leafEnd;
        }
        return to;
    }

    /** The last quantum in {@code [0, q]} that holds a head or a foot (not an EXT word), or -1; skips absent leaves. */
    int previousTagged(int q) {
        while (q >= 0) {
            short[] leaf = leaves[q >>> leafShift];
            int leafStart = q & ~leafMask;
            if (leaf != null) {
                for (; q >= leafStart; q--) {
                    int w = leaf[q & leafMask];
                    if (w != 0 && kind(w) != EXT) {
                        return q;
                    }
                }
            }
            q = leafStart - 1;
        }
        return -1;
    }

    /** Bytes of tag storage now allocated (leaves and directory, not object headers). */
    long bytes() {
        long leafBytes = 0;
        for (short[] leaf : leaves) {
            if (leaf != null) {
                leafBytes += 2L * leaf.length;
            }
        }
        return leafBytes + 4L * leaves.length;
    }

    int leaves() {
        return leafCount;
    }
}

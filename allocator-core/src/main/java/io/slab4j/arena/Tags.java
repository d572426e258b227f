package io.slab4j.arena;

/**
 * The tag words of a {@link TagTable}: one {@code int} per quantum, in lazily allocated
 * leaves, so a segment's neighbours are found by arithmetic ({@code at - 1},
 * {@code at + n}), as in the boundary tags of TLSF (Masmano et al. 2004) and the page-keyed
 * radix tree jemalloc uses for its extents.
 *
 * <h2>A word</h2>
 * <pre>
 *   bit 31 ............................ 3   2 1 0
 *       [ length in quanta (29 bits)     ][ kind ]
 *
 *   kind  NONE       0  not the head of a segment, nor a free one's foot (the whole word is 0)
 *         FREE_HEAD  1  first quantum of a free segment (also its foot when the length is 1)
 *         FREE_FOOT  2  last quantum of a free segment of two or more quanta
 *         ALLOCATED  3  first quantum of an allocated span (spans have no foot tag)
 *         RELEASING  4  first quantum of a span leaving the allocated set, not yet free
 * </pre>
 * Every other word is 0, so a word alone says whether a quantum starts a span: a free at
 * an interior or a foot address reads NONE or FREE_FOOT and is rejected.
 *
 * <h2>Huge segments</h2>
 * A length of 2^29 quanta or more (2 TiB at 4 KiB quanta) does not fit the 29-bit field;
 * such a segment's head (and foot) hold length 0 and its length lives in a table of at
 * most {@link #HUGE_MAX} entries keyed by start: three such segments already fill the
 * 2^31 - 1 quanta an arena may have. An entry is live while the word at its start is a
 * head of length 0; a head written there replaces it, dead ones are dropped on insert.
 *
 * <h2>Leaves</h2>
 * <pre>
 *   leaves[q &gt;&gt;&gt; 16]  -&gt;  int[65536] (256 KiB, 256 MiB of range at 4 KiB quanta)  or null
 *   word(q) = leaves[q &gt;&gt;&gt; 16][q &amp; 65535], or 0 when the leaf is null
 * </pre>
 * A leaf is allocated the first time a nonzero word is written into it and then kept:
 * metadata is at most 4 bytes a quantum of the range that has ever held a tag.
 *
 * <p>Not thread-safe: owned by one {@link TagTable}, called under the arena's lock.
 */
final class Tags {
    static final int NONE = 0;
    static final int FREE_HEAD = 1;
    static final int FREE_FOOT = 2;
    static final int ALLOCATED = 3;
    static final int RELEASING = 4;
    private static final int KIND_BITS = 3;
    private static final int KIND_MASK = (1 << KIND_BITS) - 1;
    /** Lengths from here up are kept in the huge table. */
    static final int HUGE = 1 << (32 - KIND_BITS);
    static final int HUGE_MAX = 4;

    /** Leaves of 2^16 words (few enough that their headers, read by every bounds check, stay cached); tests pass smaller ones to cross leaf boundaries in small ranges. */
    static final int LEAF_SHIFT = 16;

    private final int quanta;
    private final int leafShift;
    private final int leafMask;
    /** Written only by {@link #set}; a null leaf reads as all zero. */
    private final int[][] leaves;
    private int leafCount;

    /** Starts and lengths of huge segments; {@code hugeCount} entries, some of them maybe dead. */
    private final int[] hugeStart = new int[HUGE_MAX];
    private final int[] hugeLength = new int[HUGE_MAX];
    private int hugeCount;

    Tags(int quanta, int leafShift) {
        this.quanta = quanta;
        this.leafShift = leafShift;
        this.leafMask = (1 << leafShift) - 1;
        this.leaves = new int[(int) (((long) quanta + leafMask) >>> leafShift)][];
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

    int word(int q) {
        int[] leaf = leaves[q >>> leafShift];
        return leaf == null ? 0 : leaf[q & leafMask];
    }

    /** The length a head or foot word at {@code q} records ({@code word == word(q)}). */
    int length(int q, int word) {
        int field = word >>> KIND_BITS;
        return field != 0 ? field : hugeLength(q, word);
    }

    /** Writes the head of a segment of {@code length} quanta at {@code q}. */
    void head(int q, int kind, int length) {
        if (length >= HUGE) {
            set(q, kind);
            putHuge(q, length);
        } else {
            set(q, length << KIND_BITS | kind);
        }
    }

    /** Writes the foot of a free segment of {@code length} (at least 2) quanta at {@code q}. */
    void foot(int q, int length) {
        set(q, length >= HUGE ? FREE_FOOT : length << KIND_BITS | FREE_FOOT);
    }

    /** Changes the kind of the head at {@code q}, keeping its length. */
    void retag(int q, int kind) {
        set(q, (word(q) & ~KIND_MASK) | kind);
    }

    void clear(int q) {
        int[] leaf = leaves[q >>> leafShift];
        if (leaf != null) {
            leaf[q & leafMask] = 0;
        }
    }

    private void set(int q, int word) {
        int[] leaf = leaves[q >>> leafShift];
        if (leaf == null) {
            int first = q & ~leafMask;
            leaf = new int[Math.min(1 << leafShift, quanta - first)];
            leaves[q >>> leafShift] = leaf;
            leafCount++;
        }
        leaf[q & leafMask] = word;
    }

    /** The first quantum in {@code [from, to)} whose word is not 0, or {@code to}; skips absent leaves. */
    int nextTagged(int from, int to) {
        int q = from;
        while (q < to) {
            int[] leaf = leaves[q >>> leafShift];
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

    /** The last quantum in {@code [0, q]} whose word is not 0, or -1; skips absent leaves. */
    int previousTagged(int q) {
        while (q >= 0) {
            int[] leaf = leaves[q >>> leafShift];
            int leafStart = q & ~leafMask;
            if (leaf != null) {
                for (; q >= leafStart; q--) {
                    if (leaf[q & leafMask] != 0) {
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
        for (int[] leaf : leaves) {
            if (leaf != null) {
                leafBytes += 4L * leaf.length;
            }
        }
        return leafBytes + 4L * leaves.length;
    }

    int leaves() {
        return leafCount;
    }

    // ------------------------------------------------------------- huge lengths

    private boolean hugeLive(int i) {
        int w = word(hugeStart[i]);
        return isHead(w) && (w >>> KIND_BITS) == 0;
    }

    private int hugeLength(int q, int word) {
        boolean foot = kind(word) == FREE_FOOT;
        for (int i = 0; i < hugeCount; i++) {
            if (hugeLive(i) && (foot ? hugeStart[i] + (hugeLength[i] - 1) == q : hugeStart[i] == q)) {
                return hugeLength[i];
            }
        }
        throw new IllegalStateException("arena invariant broken: the tag at quantum " + q + " says huge, but no huge segment "
                + (foot ? "ends" : "starts") + " there");
    }

    private void putHuge(int q, int length) {
        int kept = 0;
        for (int i = 0; i < hugeCount; i++) {
            if (hugeStart[i] != q && hugeLive(i)) {
                hugeStart[kept] = hugeStart[i];
                hugeLength[kept] = hugeLength[i];
                kept++;
            }
        }
        if (kept == HUGE_MAX) {
            throw new IllegalStateException("arena invariant broken: more than " + HUGE_MAX + " huge segments");
        }
        hugeStart[kept] = q;
        hugeLength[kept] = length;
        hugeCount = kept + 1;
    }

    /** Live huge entries, for the invariant check. */
    int hugeSegments() {
        int live = 0;
        for (int i = 0; i < hugeCount; i++) {
            if (hugeLive(i)) {
                live++;
            }
        }
        return live;
    }
}

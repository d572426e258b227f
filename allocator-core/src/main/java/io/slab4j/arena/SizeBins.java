package io.slab4j.arena;

import org.agrona.collections.LongHashSet;

import java.util.Arrays;

/**
 * The free segments of a {@link TagTable} by size class, after TLSF (Masmano et al.,
 * "TLSF: a New Dynamic Memory Allocator for Real-Time Systems", ECRTS 2004): eight classes
 * per power of two, a two-level bitmap of the classes that hold a free segment, and one
 * LIFO bin of segment starts per class.
 *
 * <h2>Classes</h2>
 * <pre>
 *   length 1..127:  class = length                          (one length a class: 127 classes)
 *   length &gt;= 128:  f = floor(log2 length), s = the 3 bits below the top one
 *                   class = 128 + 8 (f - 7) + s,  lengths [(8 + s) 2^(f-3), (9 + s) 2^(f-3))
 *   e.g. 128-143 -&gt; 128, 144-159 -&gt; 129, ..., 240-255 -&gt; 135, 256-287 -&gt; 136, ...; 2^31 - 1 -&gt; 319
 *   groups[g]: bit s set  iff  class 8g + s holds a free segment;  groupMask: bit g iff groups[g] != 0
 * </pre>
 * Every member of a class above {@code classOf(n)} holds n quanta, so the first
 * non-empty class from {@link #goodClass(long)} is a good fit, found with two
 * count-trailing-zeros and no search. Below 128 quanta a class is one length, so a best
 * fit there is any member: the common sizes never need a bin searched.
 *
 * <h2>Lazy deletion</h2>
 * A bin is a stack of starts. A segment that stops being free (carved, or merged into a
 * neighbour) is not searched for in its bin: if its entry is the newest of the bin it is
 * popped, in a short bin (at most 32 entries, a scan of two hot lines) it is
 * found and removed, else the entry goes <em>stale</em> and its key {@code (start, class)} joins a
 * small hash set of stale entries. So removing a segment touches no other segment, and
 * whether an entry is valid is known from the set (a few hot lines), not by reading the
 * segment's tag: {@link #take} hands out a segment without a read of its (cold) line, and
 * for the exact classes the caller knows its length too, so carving it only writes that
 * line. Stale entries are dropped when met at the top or by a search, all of a class at
 * once when its live count reaches 0, and by a compaction when a bin's stale entries
 * pass an eighth of its live ones plus a slack; a segment freed again at the start and
 * class of a stale entry revives that entry instead of pushing a second one. So a bin
 * holds at most {@code live + live / 8 + SLACK} entries, each start at most once, and the
 * stale set stays small enough to stay cached (a compaction scans the bin, at most nine
 * entries for each stale one it drops).
 *
 * <h2>Lookups skipped</h2>
 * Two hints keep the set out of the common paths. A class's <em>clean height</em>: an
 * entry goes stale below the top, so every stale entry lies below the height the bin had
 * then, and entries pushed since (the ones LIFO reuse takes) are valid without a lookup.
 * And a small direct-mapped cache of <em>fresh</em> keys, ones with no stale entry (a
 * popped or pushed entry's; a key leaves when its entry goes stale), so a segment freed
 * again where it was just taken is pushed without a lookup for a stale entry to revive;
 * nor is one whose start is clear in its class's 64-bit filter of stale starts (reset when
 * the bin is compacted or emptied).
 *
 * <p>Invariants ({@link TagTable#check}): {@code live[c]} is the number of free segments
 * of class c; class c's bitmap bit is set iff {@code live[c] > 0}; every free segment has
 * exactly one entry in the bin of its class, and it is not stale; every other entry is
 * stale, once in the set; an empty class has an empty bin.
 *
 * <p>Not thread-safe: owned by one {@link TagTable}, called under the arena's lock.
 */
final class SizeBins {
    static final int CLASSES = 320;
    /** Lengths below this have a class each. */
    private static final int EXACT = 128;
    static final int NONE = -1;
    /** Stale entries a bin may hold beyond an eighth of its live ones before it is compacted. */
    private static final int SLACK = 8;
    /** Bins of at most this many entries (two cache lines) remove a segment's entry at once, found by a scan, instead of marking it stale. */
    private static final int SCAN = 32;
    /** Slots of the fresh-key cache (a power of two; 512 bytes). */
    private static final int FRESH = 64;

    private final Tags tags;
    private final int[][] bins = new int[CLASSES][];
    private final int[] size = new int[CLASSES];
    private final int[] live = new int[CLASSES];
    private final int[] groups = new int[(CLASSES + 7) >>> 3];
    private long groupMask;
    /** Keys {@code start << 9 | class} of the stale entries; {@code stale} is its size (0 skips every lookup). */
    private final LongHashSet staleKeys = new LongHashSet();
    private int stale;
    /** Per class, the clean height: every stale entry of class c lies below index {@code clean[c]} (at most {@code size[c]}), so entries from there up are valid without a lookup. */
    private final int[] clean = new int[CLASSES];
    /** Direct-mapped keys known to have no stale entry (-1: none), so adding such a segment needs no lookup; a key leaves when its entry goes stale. */
    private final long[] fresh = new long[FRESH];
    /** Per class, a 64-bit filter of its stale entries' starts ({@link #filterBit}): a start whose bit is clear has no stale entry; cleared when the bin is clean. */
    private final long[] filter = new long[CLASSES];

    SizeBins(Tags tags) {
        this.tags = tags;
        Arrays.fill(bins, new int[0]);
        Arrays.fill(fresh, -1L);
    }

    static int classOf(int length) {
        if (length < EXACT) {
            return length;
        }
        int f = 31 - Integer.numberOfLeadingZeros(length);
        return EXACT + ((f - 7) << 3) + ((length >>> (f - 3)) & 7);
    }

    /** The smallest length of class c. */
    static long minOf(int c) {
        if (c < EXACT) {
            return c;
        }
        int f = ((c - EXACT) >>> 3) + 7;
        return (long) (8 + ((c - EXACT) & 7)) << (f - 3);
    }

    /** The first class every member of which holds {@code n} quanta; {@link #CLASSES} when none can. */
    static int goodClass(long n) {
        if (n > Integer.MAX_VALUE) {
            return CLASSES;
        }
        int c = classOf((int) n);
        return minOf(c) == n ? c : c + 1;
    }

    /** The first class at or above c that holds a free segment, or {@link #NONE}. */
    int nonEmptyFrom(int c) {
        if (c >= CLASSES) {
            return NONE;
        }
        int g = c >>> 3;
        int bits = groups[g] & (-1 << (c & 7));
        if (bits == 0) {
            long above = g + 1 < 64 ? groupMask & (-1L << (g + 1)) : 0;
            if (above == 0) {
                return NONE;
            }
            g = Long.numberOfTrailingZeros(above);
            bits = groups[g];
        }
        return (g << 3) + Integer.numberOfTrailingZeros(bits);
    }

    /** The highest class that holds a free segment, or {@link #NONE}. */
    int highest() {
        if (groupMask == 0) {
            return NONE;
        }
        int g = 63 - Long.numberOfLeadingZeros(groupMask);
        return (g << 3) + 31 - Integer.numberOfLeadingZeros(groups[g]);
    }

    /** Whether lengths of class c are all c (the classes below 128), so an entry's length needs no tag read. */
    static boolean exact(int c) {
        return c < EXACT;
    }

    /** Records a new free segment at {@code start} of {@code length} quanta. */
    void add(int start, int length) {
        int c = classOf(length);
        long k = key(start, c);
        int slot = slot(k);
        if (size[c] == live[c] || fresh[slot] == k || (filter[c] & filterBit(start)) == 0 || !staleKeys.remove(k)) { // no stale entry of the bin, or none of the key: no lookup
            int[] bin = bins[c];
            int top = size[c];
            if (top == bin.length) {
                bin = grow(c);
            }
            bin[top] = start;
            size[c] = top + 1;
        } else {
            stale--; // its stale entry is valid again
        }
        fresh[slot] = k;
        if (live[c]++ == 0) {
            groups[c >>> 3] |= 1 << (c & 7);
            groupMask |= 1L << (c >>> 3);
        }
    }

    /**
     * Records that the free segment at {@code start} of {@code length} quanta stopped being
     * free: its entry is popped if it is the newest of its bin (the top is one hot line),
     * else it goes stale.
     */
    void remove(int start, int length) {
        int c = classOf(length);
        if (--live[c] == 0) {
            emptied(c);
        } else if (bins[c][size[c] - 1] == start) {
            popped(c);
        } else if (size[c] <= SCAN) {
            removeBelowTop(c, start);
        } else {
            markStale(c, start);
        }
    }

    /** Class c's full bin doubles. */
    private int[] grow(int c) {
        int[] bin = Arrays.copyOf(bins[c], Math.max(8, size[c] * 2));
        bins[c] = bin;
        return bin;
    }

    /** The entry of valid {@code start}, below the top of class c's long bin, goes stale; the bin is compacted when it holds too many. */
    private void markStale(int c, int start) {
        {
            long k = key(start, c);
            staleKeys.add(k);
            stale++;
            filter[c] |= filterBit(start);
            int slot = slot(k);
            if (fresh[slot] == k) {
                fresh[slot] = -1L;
            }
            clean[c] = Math.max(clean[c], size[c] - 1); // the entry lies below the top
            if (size[c] - live[c] > (live[c] >>> 3) + SLACK) { // the bin's stale entries
                compact(c);
            }
        }
    }

    /**
     * Removes the entry of valid {@code start} from class c's short bin, which holds it
     * below the top: the entries above it move down one, keeping their order (stale ones
     * stay below the clean height).
     */
    private void removeBelowTop(int c, int start) {
        int[] bin = bins[c];
        int n = size[c] - 1;
        int j = n - 1;
        while (bin[j] != start) { // there, once: the segment is free in this class
            j--;
        }
        System.arraycopy(bin, j + 1, bin, j, n - j);
        size[c] = n;
        clean[c] = Math.min(clean[c], n);
        long k = key(start, c);
        fresh[slot(k)] = k;
    }

    /** Records that the segment whose entry {@link #take} popped, of {@code length} quanta, stopped being free. */
    void removeTaken(int length) {
        int c = classOf(length);
        if (--live[c] == 0) {
            emptied(c);
        }
    }

    /** Class c's last free segment went: its bin (stale entries only) empties and its bits clear. */
    private void emptied(int c) {
        dropAll(c);
        groups[c >>> 3] &= ~(1 << (c & 7));
        if (groups[c >>> 3] == 0) {
            groupMask &= ~(1L << (c >>> 3));
        }
    }

    /**
     * The newest valid entry of non-empty class c, dropping the stale ones above it. The
     * entry stays: the caller carves the segment, which makes it stale.
     */
    int top(int c) {
        int[] bin = bins[c];
        int i = size[c];
        while (true) {
            int start = bin[--i]; // live[c] > 0, so a valid entry lies below
            if (i >= clean[c] || !isStale(start, c)) {
                size[c] = i + 1;
                clean[c] = Math.min(clean[c], i + 1);
                return start;
            }
            staleKeys.remove(key(start, c));
            stale--;
        }
    }

    /** As {@link #top}, and pops the entry: the caller carves that segment now and records it with {@link #removeTaken}. */
    int take(int c) {
        int start = top(c);
        popped(c);
        return start;
    }

    /** Pops class c's top entry, a valid one: its key has no stale entry (a start is in a bin at most once). */
    private void popped(int c) {
        int top = --size[c];
        fresh[slot(key(bins[c][top], c))] = key(bins[c][top], c);
        clean[c] = Math.min(clean[c], top);
    }

    /** Entries of class c, {@code [0, size(c))}, newest last, for a search with {@link #keep}. */
    int[] entries(int c) {
        return bins[c];
    }

    /**
     * True when entry i of class c is valid; otherwise drops it (the newest entry takes its
     * place, so a search going down from the top has seen that one already) and returns false.
     */
    boolean keep(int c, int i) {
        int[] bin = bins[c];
        if (i >= clean[c] || !isStale(bin[i], c)) {
            return true;
        }
        staleKeys.remove(key(bin[i], c));
        stale--;
        bin[i] = bin[--size[c]]; // below the clean height still: i < clean[c]
        clean[c] = Math.min(clean[c], size[c]);
        return false;
    }

    /** Pops valid entry i of class c (the newest takes its place): the caller carves that segment now and records it with {@link #removeTaken}. */
    void takeAt(int c, int i) {
        int[] bin = bins[c];
        long k = key(bin[i], c);
        fresh[slot(k)] = k;
        bin[i] = bin[--size[c]]; // an entry that may be stale moves down, so stays below the clean height
        clean[c] = Math.min(clean[c], size[c]);
    }

    /** Drops the stale entries of class c. */
    private void compact(int c) {
        int[] bin = bins[c];
        int kept = 0;
        int i = 0;
        for (int drop = size[c] - live[c]; drop > 0; i++) { // stale entries all lie below the clean height
            int start = bin[i];
            if (staleKeys.remove(key(start, c))) {
                stale--;
                drop--;
            } else {
                bin[kept++] = start;
            }
        }
        System.arraycopy(bin, i, bin, kept, size[c] - i);
        size[c] = kept + size[c] - i;
        clean[c] = 0;
        filter[c] = 0;
        if (staleKeys.capacity() > 64 * (stale + 64)) {
            staleKeys.compact(); // a burst (a prefill's frees) grew it; a sparse set spreads over cold lines
        }
    }

    /** Empties the bin of class c, whose last free segment just went: every entry left is stale. */
    private void dropAll(int c) {
        int[] bin = bins[c];
        for (int i = 0, n = size[c]; i < n && stale != 0; i++) {
            if (staleKeys.remove(key(bin[i], c))) {
                stale--;
            }
        }
        size[c] = 0;
        clean[c] = 0;
        filter[c] = 0;
    }

    /**
     * Whether entry {@code start} of class c is stale. A bin holds one entry per live
     * segment and one per stale entry, so a bin with as many entries as live segments has
     * none stale and needs no lookup (the common case: two hot ints).
     */
    boolean isStale(int start, int c) {
        return size[c] != live[c] && staleKeys.contains(key(start, c));
    }

    /** Stale entries over all bins (the set's size, kept beside it). */
    int stale() {
        return stale;
    }

    int staleKeys() {
        return staleKeys.size();
    }

    private static long key(int start, int c) {
        return (long) start << 9 | c;
    }

    /** Bit of {@code start} in a class's stale filter. */
    private static long filterBit(int start) {
        return 1L << ((start * 0x9E3779B9) >>> 26);
    }

    private static int slot(long key) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> 58);
    }

    /**
     * The lookup hints against the stale set: null when every stale entry of each class
     * lies below its clean height and no fresh key is stale, else what is broken.
     */
    String checkHints() {
        for (int c = 0; c < CLASSES; c++) {
            if (clean[c] < 0 || clean[c] > size[c]) {
                return "class " + c + " has clean height " + clean[c] + " outside [0, " + size[c] + "]";
            }
            for (int i = clean[c]; i < size[c]; i++) {
                if (staleKeys.contains(key(bins[c][i], c))) {
                    return "entry " + bins[c][i] + " of class " + c + " is stale at index " + i + ", above the clean height " + clean[c];
                }
            }
            for (int i = 0; i < size[c]; i++) {
                if ((filter[c] & filterBit(bins[c][i])) == 0 && staleKeys.contains(key(bins[c][i], c))) {
                    return "stale entry " + bins[c][i] + " of class " + c + " is missing from the class's filter";
                }
            }
        }
        for (long k : fresh) {
            if (k != -1L && staleKeys.contains(k)) {
                return "key of start " + (k >>> 9) + " and class " + (k & 511) + " is held fresh but is stale";
            }
        }
        return null;
    }

    int live(int c) {
        return live[c];
    }

    int size(int c) {
        return size[c];
    }

    boolean marked(int c) {
        return (groups[c >>> 3] & (1 << (c & 7))) != 0 && (groupMask & (1L << (c >>> 3))) != 0;
    }

    boolean groupMaskAgrees() {
        for (int g = 0; g < groups.length; g++) {
            if ((groups[g] != 0) != ((groupMask & (1L << g)) != 0)) {
                return false;
            }
        }
        return true;
    }

    /** Bytes of bin storage now allocated (entries and the per-class arrays). */
    long bytes() {
        long b = 4L * (size.length + live.length + groups.length) + 4L * bins.length;
        for (int[] bin : bins) {
            b += 4L * bin.length;
        }
        return b + 8L * staleKeys.capacity();
    }
}

package io.slab4j.buffer;

import io.slab4j.nativemem.VirtualRegion;

import java.util.Arrays;

/**
 * The size classes of a {@link BufferPool}: the default table, validation of a custom one, and
 * the slab size of a class.
 *
 * <h2>The default table (44 classes, 16 B to 64 KiB)</h2>
 * <pre>
 *   16 B steps up to 128:        16 32 48 64 80 96 112 128
 *   then 4 classes per doubling: 160 192 224 256 | 320 384 448 512 | ... | 40960 49152 57344 65536
 *   (class k of doubling [2^n, 2^(n+1)): 2^n + k * 2^(n-2), k = 1..4)
 * </pre>
 * Internal fragmentation (bytes of class not asked for, over bytes of class handed out) is at
 * most 20% in the geometric part (a request one byte above a class, {@code 1/(4+1)}) and at
 * most 50% only for requests of 1 to 15 bytes; measured in {@code SizeClassesTest}: 5.5% over
 * the 180,226 allocations of {@code perl-textproc.trace.gz} (94% of them at most 64 B, where
 * 16-byte steps matter most) and 9.8% over a log-uniform distribution of 1 B to 64 KiB, against
 * 10.9% / 17.8% for 2 classes per doubling and 25.2% / 27.6% for powers of two. 4 per doubling
 * halves the waste of 2 per doubling for twice the classes; 8 per doubling would save only a
 * further 4 to 5 points for 80 classes, each holding at least one slab once used.
 *
 * <p>Stateless; thread-safe.
 */
final class SizeClasses {
    static final int[] DEFAULT = defaults();

    private SizeClasses() {
    }

    private static int[] defaults() {
        int[] t = new int[44];
        int n = 0;
        for (int s = 16; s <= 128; s += 16) {
            t[n++] = s;
        }
        for (int base = 128; base < 65536; base *= 2) {
            for (int k = 1; k <= 4; k++) {
                t[n++] = base + k * (base / 4);
            }
        }
        return Arrays.copyOf(t, n);
    }

    /** A copy of {@code sizes}, checked: not empty, every size positive, strictly ascending. */
    static int[] validate(int... sizes) {
        if (sizes == null || sizes.length == 0) {
            throw new IllegalArgumentException("sizeClasses(" + Arrays.toString(sizes) + "): at least one size class is needed");
        }
        int[] copy = sizes.clone();
        for (int i = 0; i < copy.length; i++) {
            if (copy[i] <= 0) {
                throw new IllegalArgumentException("sizeClasses(" + Arrays.toString(copy) + "): size " + copy[i] + " at index " + i
                        + " is not positive");
            }
            if (i > 0 && copy[i] <= copy[i - 1]) {
                throw new IllegalArgumentException("sizeClasses(" + Arrays.toString(copy) + "): size " + copy[i] + " at index " + i
                        + " is not above the previous size " + copy[i - 1] + " (sizes must be strictly ascending)");
            }
        }
        return copy;
    }

    /** Item stride in a slab: the size rounded up to 16 bytes. */
    static long stride(int size) {
        return (size + 15L) & -16L;
    }

    /** Bytes in one slab of class {@code size}: at least 8 items and 16 KiB, rounded up to pages. */
    static long slabBytes(int size) {
        long page = VirtualRegion.pageSize();
        long bytes = Math.max(SizeClass.MIN_SLAB_BYTES, stride(size) * SizeClass.MIN_ITEMS_PER_SLAB);
        return (bytes + page - 1) / page * page;
    }
}

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
 * most 20% in the geometric part (a request one byte above a class: {@code 1/(4+1)}), about
 * half that on average; below 128 B the 16-byte steps match the pools' 16-byte item
 * alignment, so finer classes there would save no memory. {@code SizeClassesTest} measures
 * 1, 2, 4 and 8 classes per doubling on log-uniform and uniform synthetic sizes and on the
 * recorded {@code perl-textproc} trace and prints the table: 4 per doubling about halves the
 * waste of 2 per doubling, and 8 per doubling would save about half again for nearly twice
 * the classes (each holds at least one slab once used), so 4 it is.
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

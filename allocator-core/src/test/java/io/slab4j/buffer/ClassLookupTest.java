package io.slab4j.buffer;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The size → class table answers with one load, so it must be exact for every class set a
 * builder accepts, not only for classes in multiples of 16: each size gets the smallest class
 * that holds it, checked against a linear scan at every size up to past the largest class.
 */
class ClassLookupTest {
    private static final int[][] SETS = {
            SizeClasses.DEFAULT,
            {24, 40, 100, 1000, 5000},      // granule 4 bytes (100 = 4 · 25)
            {1, 2, 3, 7, 64},               // granule 1 byte
            {8, 24, 4096},                  // granule 8 bytes
            {17, 300_000},                  // a class above the table's limit
            {48, 256 * 1024, 256 * 1024 + 16, 1 << 20}, // classes on both sides of the limit
            {512 * 1024, 1 << 20},          // every class above the limit
    };

    @Test
    void everySizeGetsTheSmallestClassThatHoldsIt() {
        int n = 0;
        for (int[] sizes : SETS) {
            try (BufferPool pool = BufferPool.builder().name("lookup-" + n++).reserve(64L << 20).sizeClasses(sizes).build()) {
                int last = sizes[sizes.length - 1];
                for (int size = 1; size <= last + 1; size++) {
                    int want = -1;
                    for (int s : sizes) {
                        if (s >= size) {
                            want = s;
                            break;
                        }
                    }
                    SizeClass got = pool.sizeClassOf(size);
                    if (want < 0) {
                        assertNull(got, "size " + size + " is above every class of " + java.util.Arrays.toString(sizes));
                    } else {
                        assertEquals(want, got.size, "class of size " + size + " in " + java.util.Arrays.toString(sizes));
                    }
                }
            }
        }
    }

    @Test
    void theGranuleIsTheLargestPowerOfTwoUpTo16DividingTheCoveredClasses() {
        assertEquals(4, BufferPool.granuleShift(SizeClasses.DEFAULT));
        assertEquals(2, BufferPool.granuleShift(new int[] {24, 40, 100, 1000, 5000}));
        assertEquals(0, BufferPool.granuleShift(new int[] {1, 2, 3, 7, 64}));
        assertEquals(3, BufferPool.granuleShift(new int[] {8, 24, 4096}));
        assertEquals(4, BufferPool.granuleShift(new int[] {512 * 1024, 1 << 20}), "no class in the table's range: 16");
        assertEquals(4, BufferPool.granuleShift(new int[] {48, 256 * 1024, 256 * 1024 + 8}), "a class above the limit does not count");
    }
}

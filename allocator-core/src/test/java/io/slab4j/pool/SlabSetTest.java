package io.slab4j.pool;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/** The address-to-slab lookup against a linear scan, with slab sizes that are not powers of two. */
class SlabSetTest {

    @Test
    void findAgreesWithAScanForAdjacentAndScatteredSlabs() {
        for (long pages : new long[] {1, 3, 5, 7, 64}) {
            long slabBytes = pages * 4096;
            SlabSet set = new SlabSet(4, slabBytes, 0x6000_0000L, 1L << 30);
            List<Slab> slabs = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(pages);
            long base = 0x7000_0000L + 4096L * random.nextInt(16);
            for (int i = 0; i < 40; i++) {
                Slab slab = new Slab(base, 4);
                set.add(slab);
                slabs.add(slab);
                base += slabBytes + (random.nextBoolean() ? 0 : 4096L * random.nextInt(3)); // adjacent or a small gap
            }
            for (long a = 0x7000_0000L - slabBytes; a < base + slabBytes; a += 512) {
                Slab expected = null;
                for (Slab s : slabs) {
                    if (a >= s.base && a < s.base + slabBytes) {
                        expected = s;
                    }
                }
                assertSame(expected, set.find(a), "address 0x" + Long.toHexString(a) + " with slabs of " + pages + " pages");
            }
            set.remove(slabs.get(3));
            assertNull(set.find(slabs.get(3).base));
            assertSame(slabs.get(4), set.find(slabs.get(4).base));
            assertEquals(39, set.slabs());
        }
    }
}

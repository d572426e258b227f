package io.slab4j.arena;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Deterministic cases of {@link TagTable} that random runs reach rarely: lazy deletion, huge lengths, metadata size. */
class TagTableTest {
    private static String describe(long q) {
        return "q" + q;
    }

    @Test
    void sizeClassesTileTheLengths() {
        assertEquals(1, SizeBins.classOf(1));
        assertEquals(127, SizeBins.classOf(127));
        assertEquals(128, SizeBins.classOf(128));
        assertEquals(128, SizeBins.classOf(143));
        assertEquals(129, SizeBins.classOf(144));
        assertEquals(136, SizeBins.classOf(256));
        assertEquals(SizeBins.CLASSES - 1, SizeBins.classOf(Integer.MAX_VALUE));
        for (int c = 1; c < SizeBins.CLASSES - 1; c++) {
            long min = SizeBins.minOf(c);
            long next = SizeBins.minOf(c + 1);
            assertTrue(min < next, "class " + c);
            assertEquals(c, SizeBins.classOf((int) min), "smallest length of class " + c);
            assertEquals(c, SizeBins.classOf((int) (next - 1)), "largest length of class " + c);
        }
        assertEquals(33, SizeBins.goodClass(33));
        assertEquals(128, SizeBins.goodClass(128));
        assertEquals(129, SizeBins.goodClass(129));
        assertEquals(SizeBins.CLASSES, SizeBins.goodClass(1L << 40));
    }

    /**
     * A bin entry goes stale when its segment is carved; here the quantum it names later
     * becomes the foot of a free segment of the same class. The entry must be skipped (a
     * foot is not a head), not taken for a segment starting there.
     */
    @Test
    void staleEntryOverAFreeFootIsSkipped() {
        TagTable t = new TagTable(32, 3); // quantum q has absolute index q + 3
        for (int q = 0; q < 32; q++) {
            assertEquals(q, t.allocate(1, 1, Fit.INSTANT));
        }
        for (int q = 20; q < 24; q++) {
            t.free(q, 1, TagTableTest::describe); // [20, 24): class 4
        }
        for (int q = 4; q < 8; q++) {
            t.free(q, 1, TagTableTest::describe); // [4, 8): class 4, entry 4 on top
        }
        assertEquals(5, t.allocate(3, 8, Fit.INSTANT), "absolute 8 is offset 5: [4, 8) splits into [4, 5) free and [5, 8)");
        for (int q = 3; q >= 1; q--) {
            t.free(q, 1, TagTableTest::describe); // [1, 5): class 4, its foot at 4 where the stale entry points
        }
        t.check();
        // [1, 5) cannot hold 3 at absolute alignment 8; read as a head, the foot at 4 would claim [4, 8).
        assertEquals(21, t.allocate(3, 8, Fit.INSTANT));
        t.check();
        assertEquals(2, t.freeSegments(), "[1, 5) and [20, 21)");
    }

    /** Long lengths (in EXT words, {@link Tags}) up to the largest range: heads, feet, merges and bad frees among them. */
    @Test
    void hugeSegments() {
        TagTable t = new TagTable(Integer.MAX_VALUE, 0);
        t.check();
        assertEquals(Integer.MAX_VALUE, t.largestFree());
        int big = (1 << 29) + 5; // long (EXT words, field bits above the first 26 too), and 2 big beats the tail
        int a = t.allocate(big, 1, Fit.INSTANT);
        int b = t.allocate(big, 1, Fit.BEST);
        int c = t.allocate(10, 1, Fit.NEXT);
        t.check();
        assertEquals(Integer.MAX_VALUE - 2L * big - 10, t.largestFree());
        assertEquals("free(q" + (a + 7) + "): address is inside the span allocated at q" + a + ", not at its start",
                assertThrows(IllegalArgumentException.class, () -> t.free(a + 7, 1, TagTableTest::describe)).getMessage());
        assertEquals("free(q" + (Integer.MAX_VALUE - 1) + "): address is not allocated (it lies in a free segment: double free?)",
                assertThrows(IllegalArgumentException.class,
                        () -> t.free(Integer.MAX_VALUE - 1, 1, TagTableTest::describe)).getMessage());
        int handle = t.beginRelease(a, big, TagTableTest::describe);
        t.check();
        t.finishRelease(handle);
        t.free(b, big, TagTableTest::describe); // merges with a's hole on the left
        t.check();
        assertEquals(2L * big, t.largestFree());
        t.free(c, 10, TagTableTest::describe);
        t.check();
        assertEquals(1, t.freeSegments());
        assertEquals(Integer.MAX_VALUE, t.largestFree());
    }

    /** Leaves are allocated where tags are written: a 64 GiB reservation at 4 KiB quanta starts with two. */
    @Test
    void metadataFollowsTheTags() {
        int quanta = (int) ((64L << 30) / 4096);
        TagTable t = new TagTable(quanta, 1L << 28);
        long empty = t.metadataBytes();
        System.out.printf("TagTableTest: 64 GiB at 4 KiB quanta (%d quanta): %d bytes of metadata when empty%n", quanta, empty);
        long leaf = 2L << Tags.LEAF_SHIFT;
        assertTrue(empty <= 2 * leaf + (64 << 10), "an empty 64 GiB table holds " + empty + " bytes: more than its head's and foot's leaves");
        for (int i = 0; i < 1000; i++) {
            t.allocate(1 + i % 64, 1, Fit.INSTANT);
        }
        t.check();
        assertTrue(t.metadataBytes() < empty + (64 << 10), "1000 spans in the first leaf: " + t.metadataBytes());
    }
}

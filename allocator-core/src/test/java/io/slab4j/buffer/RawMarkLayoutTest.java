package io.slab4j.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.slab4j.nativemem.VirtualRegion;
import org.junit.jupiter.api.Test;

/**
 * The raw marks' layout ({@link LargeSpans}, "Layout"): the marks of any two large spans lie
 * at least {@link LargeSpans#MARK_SPACING} bytes apart, so two threads acquiring and releasing
 * neighbouring spans never write one cache line pair (one byte a page made that 4× slower at
 * two threads, measured through the Netty adapter: bench/RESULTS.md), at the least memory that
 * takes.
 */
class RawMarkLayoutTest {

    @Test
    void marksOfTheShortestSpansLieASpacingApartAndNoFurther() {
        for (long pages = 1; pages <= 300; pages++) {
            int shift = LargeSpans.markShift(pages);
            assertTrue((pages << shift) >= LargeSpans.MARK_SPACING || shift == LargeSpans.MAX_MARK_SHIFT,
                    pages + " pages, shift " + shift + ": too close");
            assertTrue(shift == 0 || (pages << (shift - 1)) < LargeSpans.MARK_SPACING, pages + " pages, shift " + shift + ": wider than needed");
            assertTrue(shift <= LargeSpans.MAX_MARK_SHIFT, pages + " pages, shift " + shift + ": more than 16 bytes a page");
        }
        assertEquals(4, LargeSpans.markShift(1), "capped: 16 bytes a page");
        assertEquals(4, LargeSpans.markShift(8));
        assertEquals(4, LargeSpans.markShift(7));
        assertEquals(3, LargeSpans.markShift(17));
        assertEquals(0, LargeSpans.markShift(128));
        assertThrows(IllegalArgumentException.class, () -> LargeSpans.markShift(0));
    }

    @Test
    void thePoolSpacesMarksForItsLargestClass() {
        long page = VirtualRegion.pageSize();
        try (BufferPool p = BufferPool.builder().name("mark-layout-default").reserve(64L << 20).build()) {
            long shortest = (65536 + page) / page; // the default classes end at 64 KiB
            assertEquals(1 << LargeSpans.markShift(shortest), p.largeSpans().markBytes());
            assertTrue(shortest * p.largeSpans().markBytes() >= LargeSpans.MARK_SPACING);
        }
        try (BufferPool p = BufferPool.builder().name("mark-layout-small").reserve(64L << 20).sizeClasses(64, 256).build()) {
            assertEquals(16, p.largeSpans().markBytes(), "spans from one page: a mark takes the most, 16 bytes");
        }
    }
}

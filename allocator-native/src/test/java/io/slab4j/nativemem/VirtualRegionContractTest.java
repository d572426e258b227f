package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The boundary of {@link VirtualRegion}: which arguments and states it rejects, with what
 * message, and that a rejected call changes nothing. No memory is touched here.
 */
class VirtualRegionContractTest {

    private static final int PAGES = 16;

    private final long page = VirtualRegion.pageSize();
    private VirtualRegion region;

    @BeforeEach
    void reserve() {
        region = VirtualRegion.reserve(PAGES * page);
    }

    @AfterEach
    void close() {
        region.close();
    }

    /** commit or decommit, chosen by name so one test covers both. */
    private interface RangeCall {
        void apply(long offset, long length);
    }

    private RangeCall call(String name) {
        return switch (name) {
            case "commit" -> region::commit;
            case "decommit" -> region::decommit;
            case "release" -> region::release;
            case "prefault" -> region::prefault;
            case "adviseHugePages" -> region::adviseHugePages;
            case "adviseNoHugePages" -> region::adviseNoHugePages;
            default -> throw new IllegalArgumentException(name);
        };
    }

    @Test
    void pageSizeIsAPowerOfTwoOfAtLeast4096() {
        int size = VirtualRegion.pageSize();
        assertTrue(size >= 4096, "page size " + size);
        assertEquals(1, Integer.bitCount(size), "page size " + size + " is a power of two");
    }

    @Test
    void reserveRoundsUpToWholePages() {
        try (VirtualRegion one = VirtualRegion.reserve(1); VirtualRegion more = VirtualRegion.reserve(page + 1)) {
            assertEquals(page, one.size());
            assertEquals(2 * page, more.size());
            assertEquals(0, one.address() % page);
            assertEquals(0, more.address() % page);
            assertTrue(one.isOpen());
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0, -1, Long.MIN_VALUE})
    void reserveRejectsNonPositiveSizes(long bytes) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VirtualRegion.reserve(bytes));
        assertEquals("reserve(" + bytes + "): bytes must be > 0", e.getMessage());
    }

    @Test
    void reserveRejectsASizeThatCannotBeRoundedUpToAPage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VirtualRegion.reserve(Long.MAX_VALUE));
        assertTrue(e.getMessage().startsWith("reserve(" + Long.MAX_VALUE + "): bytes must be at most "),
                e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"commit", "decommit", "release", "prefault", "adviseHugePages", "adviseNoHugePages"})
    void rejectsAnUnalignedOffset(String name) {
        String message = rejected(name, 1, page);
        assertTrue(message.startsWith(name + "(offset=0x1, length=" + VirtualRegion.hex(page) + ") on region "),
                message);
        assertTrue(message.endsWith(": offset 0x1 is not a multiple of the page size "
                + VirtualRegion.hex(page) + " (" + page + ")"), message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"commit", "decommit", "release", "prefault", "adviseHugePages", "adviseNoHugePages"})
    void rejectsAnUnalignedLength(String name) {
        String message = rejected(name, page, page + 8);
        assertTrue(message.endsWith(": length " + VirtualRegion.hex(page + 8)
                + " is not a multiple of the page size " + VirtualRegion.hex(page) + " (" + page + ")"), message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"commit", "decommit", "release", "prefault", "adviseHugePages", "adviseNoHugePages"})
    void rejectsAnEmptyOrNegativeLength(String name) {
        assertTrue(rejected(name, 0, 0).endsWith(": length 0x0 must be > 0"));
        assertTrue(rejected(name, 0, -page).endsWith(": length " + VirtualRegion.hex(-page) + " must be > 0"));
        assertTrue(rejected(name, 0, Long.MIN_VALUE).endsWith(": length -0x8000000000000000 must be > 0"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"commit", "decommit", "release", "prefault", "adviseHugePages", "adviseNoHugePages"})
    void rejectsANegativeOffset(String name) {
        String message = rejected(name, -page, page);
        assertTrue(message.startsWith(name + "(offset=" + VirtualRegion.hex(-page) + ", "), message);
        assertTrue(message.endsWith(": offset " + VirtualRegion.hex(-page) + " must be >= 0"), message);
    }

    @ParameterizedTest
    @ValueSource(strings = {"commit", "decommit", "release", "prefault", "adviseHugePages", "adviseNoHugePages"})
    void rejectsARangeBeyondTheRegion(String name) {
        long size = region.size();
        long hugeAligned = Long.MAX_VALUE & -page;
        long[][] ranges = {
            {size, page},                // starts at the end
            {size - page, 2 * page},     // runs one page past the end
            {0, size + page},            // longer than the region
            {page, hugeAligned},         // offset + length overflows a long
            {hugeAligned, page},         // starts far beyond the end
        };
        for (long[] range : ranges) {
            String message = rejected(name, range[0], range[1]);
            assertTrue(message.startsWith(name + "(offset=" + VirtualRegion.hex(range[0])
                    + ", length=" + VirtualRegion.hex(range[1]) + ") on region "
                    + VirtualRegion.hex(region.address()) + " of " + size + " bytes: "), message);
            assertTrue(message.endsWith(" exceeds the region size " + VirtualRegion.hex(size)
                    + "; the range must lie within [0x0, " + VirtualRegion.hex(size) + ")"), message);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"commit", "decommit", "release", "adviseHugePages", "adviseNoHugePages"})
    void acceptsTheWholeRegionAndItsLastPage(String name) {
        call(name).apply(0, region.size());
        call(name).apply(region.size() - page, page);
    }

    @Test
    void aRejectedCallLeavesTheRegionUsable() {
        assertThrows(IllegalArgumentException.class, () -> region.commit(1, page));
        assertThrows(IllegalArgumentException.class, () -> region.decommit(0, region.size() + page));
        assertTrue(region.isOpen());
        region.commit(0, region.size());
        region.decommit(0, region.size());
    }

    @ParameterizedTest
    @ValueSource(strings = {"commit", "decommit", "release", "prefault", "adviseHugePages", "adviseNoHugePages"})
    void rejectsEveryCallAfterClose(String name) {
        region.close();
        assertFalse(region.isOpen());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> call(name).apply(0, page));
        assertEquals(name + "(offset=0x0, length=" + VirtualRegion.hex(page) + "): region "
                + VirtualRegion.hex(region.address()) + " of " + region.size() + " bytes is closed", e.getMessage());
        // Closed wins over bad arguments: after close, every call is a state error.
        assertThrows(IllegalStateException.class, () -> call(name).apply(1, 1));
    }

    @Test
    void closeIsIdempotent() {
        region.close();
        region.close();
        assertFalse(region.isOpen());
    }

    @Test
    void toStringNamesRangeSizeAndState() {
        String open = region.toString();
        assertEquals("VirtualRegion[" + VirtualRegion.hex(region.address()) + ".."
                + VirtualRegion.hex(region.address() + region.size()) + ", " + region.size() + " bytes ("
                + PAGES + " pages of " + page + "), open]", open);
        region.close();
        assertTrue(region.toString().endsWith(", closed]"), region.toString());
    }

    private String rejected(String name, long offset, long length) {
        return assertThrows(IllegalArgumentException.class, () -> call(name).apply(offset, length)).getMessage();
    }
}

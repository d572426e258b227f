package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link VirtualRegion#reserve(long, long)}: the address is aligned, the size rounds up as
 * for {@link VirtualRegion#reserve(long)}, the excess reserved for the alignment is unmapped
 * again, and bad alignments are rejected by name.
 */
class VirtualRegionAlignedReserveTest {

    private static final long MIB = 1L << 20;
    private final long page = VirtualRegion.pageSize();

    @ParameterizedTest
    @ValueSource(longs = {1L << 12, 1L << 16, 2L << 20, 1L << 30})
    void theAddressIsAMultipleOfTheAlignmentAndTheSizeRoundsUpToPages(long alignment) {
        long wanted = Math.max(alignment, page);
        try (VirtualRegion region = VirtualRegion.reserve(3 * page + 1, wanted)) {
            assertEquals(0, region.address() % wanted, VirtualRegion.hex(region.address()) + " % " + wanted);
            assertEquals(4 * page, region.size());
            region.commit(0, region.size());
            RawMemory.putLong(region, region.size() - Long.BYTES, 7);
            assertEquals(7, RawMemory.getLong(region, region.size() - Long.BYTES));
        }
    }

    /** The excess (up to the alignment) is unmapped: 1 GiB of slack would show in the mapped total. */
    @Test
    void theExcessIsUnmappedAndOnlyTheRegionStaysReserved() {
        long before = ProcSelf.mappedBytes();
        try (VirtualRegion region = VirtualRegion.reserve(2 * MIB, 1L << 30)) {
            long grown = ProcSelf.mappedBytes() - before;
            assertTrue(grown < 256 * MIB, "the process mapped " + grown + " bytes more for a 2 MiB region");
            assertTrue(ProcSelf.mappingsWithin(region.address(), region.address() + region.size()).stream()
                    .allMatch(m -> m.perms().equals("---p")), "reserved, nothing committed");
            assertEquals(region.size(), ProcSelf.mappingsWithin(region.address(), region.address() + region.size())
                    .stream().mapToLong(m -> Math.min(m.end(), region.address() + region.size())
                            - Math.max(m.start(), region.address())).sum(), "the whole region is mapped");
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {0, -4096, 3 * 4096, 2048, Long.MIN_VALUE})
    void rejectsAnAlignmentThatIsNotAPowerOfTwoAtLeastThePageSize(long alignment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VirtualRegion.reserve(page, alignment));
        assertEquals("reserve(" + page + ", " + alignment + "): alignment " + alignment
                + " must be a power of two at least the page size " + page, e.getMessage());
    }

    @Test
    void rejectsBadSizes() {
        assertEquals("reserve(0, 4096): bytes must be > 0", assertThrows(IllegalArgumentException.class,
                () -> VirtualRegion.reserve(0, 4096)).getMessage());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> VirtualRegion.reserve(Long.MAX_VALUE - (1L << 30), 1L << 30));
        assertTrue(e.getMessage().contains("leave room for the alignment"), e.getMessage());
    }
}

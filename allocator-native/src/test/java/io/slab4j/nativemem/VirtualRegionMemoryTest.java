package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What {@link VirtualRegion} does to the process, observed through {@code /proc/self}:
 * a reservation takes address space and no memory, a touched commit raises the resident
 * set, a decommit lowers it and zeroes the pages, close unmaps, and a failed reservation
 * leaves nothing behind.
 */
class VirtualRegionMemoryTest {

    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;

    @Test
    void commitTouchDecommitMovesTheResidentSetAndZeroesThePages() {
        int pageSize = VirtualRegion.pageSize();
        VirtualRegion region = VirtualRegion.reserve(64 * GIB);
        try {
            assertEquals(64 * GIB, region.size());
            assertEquals(0, ProcSelf.residentBytesWithin(region.address(), end(region)),
                    "a reservation commits nothing");

            long length = 16 * MIB;
            long offset = (region.size() / 2) & -pageSize;
            long pages = length / pageSize;
            region.commit(offset, length);
            assertPermissions(region, offset, length, "rw-p");

            long beforeTouch = ProcSelf.residentBytes();
            for (long page = 0; page < pages; page++) {
                long pageOffset = offset + page * pageSize;
                RawMemory.putLong(region, pageOffset, pattern(page));
                RawMemory.putLong(region, pageOffset + pageSize - Long.BYTES, ~pattern(page));
            }
            long afterTouch = ProcSelf.residentBytes();
            for (long page = 0; page < pages; page++) {
                long pageOffset = offset + page * pageSize;
                assertEquals(pattern(page), RawMemory.getLong(region, pageOffset), "first long of page " + page);
                assertEquals(~pattern(page), RawMemory.getLong(region, pageOffset + pageSize - Long.BYTES),
                        "last long of page " + page);
            }
            assertEquals(length, ProcSelf.residentBytesWithin(region.address(), end(region)),
                    "every committed page was touched, no other page of the region");
            assertTrue(afterTouch - beforeTouch >= 12 * MIB,
                    "resident set rose by " + (afterTouch - beforeTouch) + " bytes while touching " + length);

            long beforeDecommit = ProcSelf.residentBytes();
            region.decommit(offset, length);
            long afterDecommit = ProcSelf.residentBytes();
            assertEquals(0, ProcSelf.residentBytesWithin(region.address(), end(region)),
                    "decommit gave every page back");
            assertPermissions(region, offset, length, "---p");
            assertTrue(beforeDecommit - afterDecommit >= 12 * MIB,
                    "resident set fell by " + (beforeDecommit - afterDecommit) + " bytes on decommit of " + length);
            System.out.printf("VirtualRegion RSS: %d MiB before touch, %d MiB after touching %d MiB,"
                            + " %d MiB before decommit, %d MiB after%n",
                    beforeTouch / MIB, afterTouch / MIB, length / MIB, beforeDecommit / MIB, afterDecommit / MIB);

            region.commit(offset, length);
            for (long page = 0; page < pages; page++) {
                long pageOffset = offset + page * pageSize;
                assertEquals(0, RawMemory.getLong(region, pageOffset), "first long of recommitted page " + page);
                assertEquals(0, RawMemory.getLong(region, pageOffset + pageSize - Long.BYTES),
                        "last long of recommitted page " + page);
            }
        } finally {
            region.close();
        }
        assertFalse(region.isOpen());
        assertTrue(ProcSelf.mappingsWithin(region.address(), end(region)).stream()
                        .noneMatch(m -> m.start() == region.address() && m.end() == end(region)),
                "the reservation is unmapped after close");
    }

    /**
     * release gives pages back like decommit (the resident set falls, the next touch reads
     * zeros) but keeps the range accessible and splits no mapping: the committed range
     * stays one rw-p mapping, which is what lets the arena free spans inside a commit chunk
     * without raising the process's mapping count.
     */
    @Test
    void releaseDropsThePagesButKeepsTheProtectionAndTheMapping() {
        int pageSize = VirtualRegion.pageSize();
        try (VirtualRegion region = VirtualRegion.reserve(64 * MIB)) {
            long length = 8 * MIB;
            region.commit(0, length);
            long pages = length / pageSize;
            for (long page = 0; page < pages; page++) {
                RawMemory.putLong(region, page * pageSize, pattern(page));
            }
            assertEquals(length, ProcSelf.residentBytesWithin(region.address(), end(region)));
            // every other page: 1024 holes, none of which may split the mapping
            for (long page = 0; page < pages; page += 2) {
                region.release(page * pageSize, pageSize);
            }
            assertEquals(length / 2, ProcSelf.residentBytesWithin(region.address(), end(region)),
                    "release gave back exactly the released pages");
            assertPermissions(region, 0, length, "rw-p");
            assertEquals(2, ProcSelf.mappingsWithin(region.address(), end(region)).size(),
                    "one committed and one reserved mapping: release split nothing");
            for (long page = 0; page < pages; page++) {
                long expected = page % 2 == 0 ? 0 : pattern(page);
                assertEquals(expected, RawMemory.getLong(region, page * pageSize), "page " + page);
            }
        }
    }

    @Test
    void reserveMapsOneInaccessibleRangeAndCloseUnmapsIt() {
        VirtualRegion region = VirtualRegion.reserve(GIB + 1);
        long pageSize = VirtualRegion.pageSize();
        assertEquals(GIB + pageSize, region.size(), "rounded up to whole pages");
        assertEquals(0, region.address() % pageSize, "page aligned");
        List<ProcSelf.Mapping> mapped = ProcSelf.mappingsWithin(region.address(), end(region));
        assertEquals(1, mapped.size(), mapped::toString);
        assertEquals(region.address(), mapped.get(0).start());
        assertEquals(end(region), mapped.get(0).end());
        assertEquals("---p", mapped.get(0).perms());

        region.close();
        assertTrue(ProcSelf.mappingsWithin(region.address(), end(region)).stream()
                        .noneMatch(m -> m.start() == region.address() && m.end() == end(region)),
                "the reservation is unmapped after close");
    }

    @Test
    void reservingMoreThanTheAddressSpaceFailsWithEnomemAndMapsNothing() {
        long before = ProcSelf.mappedBytes();
        for (int attempt = 0; attempt < 10; attempt++) {
            NativeMemoryException e = assertThrows(NativeMemoryException.class, () -> VirtualRegion.reserve(1L << 62));
            assertEquals("mmap", e.call());
            assertEquals(12, e.errno());
            assertEquals("ENOMEM", e.errnoName());
            assertEquals("mmap(addr=0x0, length=0x4000000000000000, prot=PROT_NONE,"
                    + " flags=MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, fd=-1, offset=0x0)"
                    + " failed: ENOMEM (12): Cannot allocate memory", e.getMessage());
        }
        long after = ProcSelf.mappedBytes();
        // A leak would be 2^62 bytes per attempt; other JVM threads map a few MiB at most.
        assertTrue(after - before < GIB, "mapped bytes grew by " + (after - before));
    }

    private static void assertPermissions(VirtualRegion region, long offset, long length, String perms) {
        long start = region.address() + offset;
        List<ProcSelf.Mapping> mapped = ProcSelf.mappingsWithin(start, start + length);
        assertEquals(1, mapped.size(), mapped::toString);
        assertEquals(perms, mapped.get(0).perms());
    }

    private static long end(VirtualRegion region) {
        return region.address() + region.size();
    }

    private static long pattern(long page) {
        return 0x5eed_0000_0000_0000L | page;
    }
}

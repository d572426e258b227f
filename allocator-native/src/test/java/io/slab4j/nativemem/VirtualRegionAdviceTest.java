package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The optional advice of {@link VirtualRegion}, checked on the memory itself through
 * {@code /proc/self/smaps}: prefault makes a committed range resident at once (and
 * release and decommit still give it back), huge-page advice lets transparent huge pages
 * back aligned runs and sets or clears the mapping flag, and an advice the kernel does not
 * know is a {@code false}, not an error.
 */
class VirtualRegionAdviceTest {

    private static final long MIB = 1L << 20;

    private final long page = VirtualRegion.pageSize();

    @Test
    void prefaultMakesACommittedRangeResidentAndReleaseAndDecommitStillGiveItBack() {
        try (VirtualRegion region = VirtualRegion.reserve(64 * MIB)) {
            long offset = 16 * MIB;
            long length = 8 * MIB;
            region.commit(offset, length);
            assertEquals(0, resident(region), "commit alone makes nothing resident");

            assertEquals(kernelAtLeast(5, 14), region.prefault(offset, length),
                    "MADV_POPULATE_WRITE exists from Linux 5.14 on; os.version " + System.getProperty("os.version"));
            assumeTrue(kernelAtLeast(5, 14), "no MADV_POPULATE_WRITE on this kernel");
            assertEquals(length, resident(region), "every page of the committed range is resident, no other");
            for (long p = 0; p < length / page; p += 97) {
                assertEquals(0, RawMemory.getLong(region, offset + p * page), "a prefaulted page reads zeros");
            }

            RawMemory.putLong(region, offset, 0x5EED);
            assertTrue(region.prefault(offset, length), "prefault of resident pages is harmless");
            assertEquals(0x5EED, RawMemory.getLong(region, offset), "prefault leaves present pages as they are");

            region.release(offset, length / 2);
            assertEquals(length / 2, resident(region), "release still gives prefaulted pages back");
            region.decommit(offset, length);
            assertEquals(0, resident(region), "decommit still gives prefaulted pages back");

            region.commit(offset, length);
            assertEquals(0, resident(region), "a plain commit after decommit prefaults nothing");
            assertEquals(0, RawMemory.getLong(region, offset), "and the old contents are gone");
        }
    }

    @Test
    void prefaultOfARangeThatIsNotCommittedFailsAndChangesNothing() {
        assumeTrue(kernelAtLeast(5, 14), "no MADV_POPULATE_WRITE on this kernel");
        try (VirtualRegion region = VirtualRegion.reserve(16 * page)) {
            region.commit(0, 4 * page);
            NativeMemoryException e = assertThrows(NativeMemoryException.class, () -> region.prefault(0, 8 * page));
            assertEquals("madvise", e.call());
            assertTrue(e.errno() == 22 || e.errno() == 14 || e.errno() == 12, "EINVAL, EFAULT or ENOMEM, not " + e.getMessage());
            assertTrue(e.getMessage().contains("advice=MADV_POPULATE_WRITE"), e.getMessage());
            assertFalse(LinuxMemory.POPULATE_WRITE.refused(), "a failure on a bad range is not the kernel refusing the advice");
            assertEquals(List.of("rw-p", "---p"), ProcSelf.mappingsWithin(region.address(), end(region)).stream()
                    .map(ProcSelf.Mapping::perms).toList(), "no protection changed");
            assertTrue(region.prefault(0, 4 * page), "the region is still usable");
        }
    }

    /**
     * What an old kernel does with MADV_POPULATE_WRITE, shown with an advice value no kernel
     * knows: the probe's EINVAL becomes false, is remembered, and is not asked again.
     */
    @Test
    void anAdviceTheKernelDoesNotKnowIsRefusedQuietlyAndOnce() {
        try (VirtualRegion region = VirtualRegion.reserve(4 * page)) {
            region.commit(0, 4 * page);
            LinuxMemory.Advice unknown = new LinuxMemory.Advice(0x7ead, "MADV_UNKNOWN", "nothing happens");
            assertFalse(unknown.refused());
            assertFalse(unknown.apply(region.address(), 4 * page), "EINVAL is an answer, not an error");
            assertTrue(unknown.refused(), "and it is remembered");
            // An unmapped address would fail with ENOMEM if a syscall were made: none is.
            assertFalse(unknown.apply(0x1000, page), "later calls return false without asking the kernel");
        }
    }

    @Test
    void hugePageSizeIsZeroOrAPowerOfTwoAboveThePageSize() {
        long huge = VirtualRegion.hugePageSize();
        assertTrue(huge == 0 || (Long.bitCount(huge) == 1 && huge > page), "hugePageSize " + huge);
    }

    /**
     * Huge-page advice on an aligned, committed run makes its prefault (or first touch) map
     * huge pages; decommit gives them back. The advice is a mapping flag: it splits the
     * mapping at the range's ends, and undoing it where the neighbours say the same merges
     * them again.
     */
    @Test
    void hugePageAdviceMapsHugePagesOnAlignedRunsAndIsAMappingFlag() {
        long huge = VirtualRegion.hugePageSize();
        assumeTrue(huge > 0, "no transparent huge pages on this machine");
        assumeTrue(kernelAtLeast(5, 14), "no MADV_POPULATE_WRITE on this kernel");
        try (VirtualRegion region = VirtualRegion.reserve(8 * huge)) {
            long offset = alignUp(region.address() + huge, huge) - region.address();
            long length = 2 * huge;
            assertTrue(region.adviseNoHugePages(0, region.size()));
            assertEquals(1, ProcSelf.mappingsWithin(region.address(), end(region)).size());
            assertTrue(region.adviseHugePages(offset, length));
            List<String> flags = ProcSelf.vmFlagsWithin(region.address(), end(region));
            assertEquals(3, flags.size(), "advice on the middle splits the mapping in three: " + flags);
            assertTrue(hasFlag(flags.get(0), "nh") && hasFlag(flags.get(1), "hg") && hasFlag(flags.get(2), "nh"),
                    "nohugepage, hugepage, nohugepage: " + flags);

            region.commit(offset, length);
            assertTrue(region.prefault(offset, length));
            assertEquals(length, resident(region));
            long hugeBytes = ProcSelf.hugePageBytesWithin(region.address(), end(region));
            assertTrue(hugeBytes >= huge, "at least one of the two aligned runs is one huge page (the kernel may"
                    + " fall back to small pages when it finds no free huge page): " + hugeBytes + " bytes");
            System.out.printf("huge-page advice: %d of %d bytes in huge pages%n", hugeBytes, length);

            region.decommit(offset, length);
            assertEquals(0, resident(region), "decommit gives huge pages back");
            assertEquals(0, ProcSelf.hugePageBytesWithin(region.address(), end(region)));

            assertTrue(region.adviseNoHugePages(offset, length));
            flags = ProcSelf.vmFlagsWithin(region.address(), end(region));
            assertEquals(1, flags.size(), "equal flags again: the kernel merged the mapping back: " + flags);
        }
    }

    /** Without huge-page advice (THP set to madvise), a prefaulted range stays in small pages. */
    @Test
    void withoutAdviceAndThpOnMadviseNoHugePagesAppear() throws Exception {
        assumeTrue(kernelAtLeast(5, 14), "no MADV_POPULATE_WRITE on this kernel");
        String mode = java.nio.file.Files.readString(java.nio.file.Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
        assumeTrue(mode.contains("[madvise]"), "THP mode is not madvise: " + mode.trim());
        long huge = VirtualRegion.hugePageSize();
        try (VirtualRegion region = VirtualRegion.reserve(8 * huge)) {
            long offset = alignUp(region.address() + huge, huge) - region.address();
            region.commit(offset, 2 * huge);
            assertTrue(region.prefault(offset, 2 * huge));
            assertEquals(2 * huge, resident(region));
            assertEquals(0, ProcSelf.hugePageBytesWithin(region.address(), end(region)));
        }
    }

    private static boolean hasFlag(String flags, String flag) {
        return List.of(flags.split(" ")).contains(flag);
    }

    private static long resident(VirtualRegion region) {
        return ProcSelf.residentBytesWithin(region.address(), end(region));
    }

    private static long end(VirtualRegion region) {
        return region.address() + region.size();
    }

    private static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    /** Whether {@code os.version} (e.g. "6.18.44-fc") is at least major.minor. */
    static boolean kernelAtLeast(int major, int minor) {
        String[] parts = System.getProperty("os.version").split("[.-]");
        int ma = Integer.parseInt(parts[0]);
        int mi = parts.length > 1 ? Integer.parseInt(parts[1].replaceAll("\\D.*", "")) : 0;
        return ma > major || (ma == major && mi >= minor);
    }
}

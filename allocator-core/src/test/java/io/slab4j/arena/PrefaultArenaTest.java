package io.slab4j.arena;

import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.ProcMaps;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The arena's grow advice over a real region ({@link Arena.Builder#prefault},
 * {@link Arena.Builder#hugePages}), checked on the kernel's own view in
 * {@code /proc/self/smaps}: a prefaulted span is resident as soon as it is handed out, huge
 * pages back aligned spans of a huge page or more and nothing smaller, and a free still gives
 * everything back.
 */
class PrefaultArenaTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final long MIB = 1L << 20;

    @Test
    void aPrefaultedSpanIsResidentWhenHandedOutAndNotAfterItsFree() {
        assumeTrue(ProcMaps.populateWriteExists(), "no MADV_POPULATE_WRITE on this kernel");
        try (VirtualRegion region = VirtualRegion.reserve(64 * MIB)) {
            Arena arena = Arena.builder(region).prefault(true).build();
            long span = arena.tryAlloc(MIB);
            assertEquals(MIB, resident(region), "the whole span, nothing else, is resident before any touch");
            assertEquals(0, new UnsafeBuffer(span, (int) MIB).getLong((int) (MIB - 8)), "and reads zeros");
            arena.free(span, MIB);
            assertEquals(0, resident(region), "the free gave the prefaulted pages back");
            arena.checkInvariants();
        }
    }

    /** The control: without the option nothing is resident until touched, so the test above can fail. */
    @Test
    void withoutPrefaultASpanIsResidentOnlyWhereTouched() {
        try (VirtualRegion region = VirtualRegion.reserve(64 * MIB)) {
            Arena arena = Arena.builder(region).build();
            long span = arena.tryAlloc(MIB);
            assertEquals(0, resident(region));
            new UnsafeBuffer(span, (int) MIB).putLong(0, 1);
            assertEquals(PAGE, resident(region));
            arena.free(span, MIB);
            assertEquals(0, resident(region));
        }
    }

    /**
     * A span carved in a chunk that stays accessible (another span holds it) was only
     * released on its last free, not decommitted: it is prefaulted again all the same, and
     * only it, not the rest of the chunk.
     */
    @Test
    void aSpanInsideALiveChunkIsPrefaultedOnEveryCommit() {
        assumeTrue(ProcMaps.populateWriteExists(), "no MADV_POPULATE_WRITE on this kernel");
        try (VirtualRegion region = VirtualRegion.reserve(16 * MIB)) {
            Arena arena = Arena.builder(region).commitChunk(64 * PAGE).fit(Fit.BEST).prefault(true).build();
            long holder = arena.tryAlloc(PAGE);
            long span = arena.tryAlloc(4 * PAGE);
            assertEquals(5 * PAGE, resident(region));
            arena.free(span, 4 * PAGE);
            assertEquals(PAGE, resident(region), "released inside the live chunk");
            assertEquals(64 * PAGE, ProcMaps.readWriteBytesWithin(region.address(), region.address() + region.size()),
                    "the chunk stayed accessible");
            long again = arena.tryAlloc(4 * PAGE);
            assertEquals(5 * PAGE, resident(region), "prefaulted again, the rest of the chunk not");
            arena.free(again, 4 * PAGE);
            arena.free(holder, PAGE);
            assertEquals(0, resident(region));
            arena.checkInvariants();
        }
    }

    /**
     * Huge pages with prefault: an aligned span of one huge page is one huge page as soon as
     * it is handed out; a small span next to it gets small pages only; freeing gives both back
     * and the advice splits no mapping for good.
     */
    @Test
    void anAlignedHugeSpanIsOneHugePageAndSmallSpansAreNot() {
        long huge = hugePagesAvailable();
        assumeTrue(ProcMaps.populateWriteExists(), "no MADV_POPULATE_WRITE on this kernel");
        try (VirtualRegion region = VirtualRegion.reserve(16 * huge)) {
            Arena arena = Arena.builder(region).prefault(true).hugePages(true).build();
            long mappingsBefore = mappings(region);
            long big = arena.tryAlloc(huge, huge);
            assertEquals(0, big % huge, "asked for an aligned span");
            long bigHuge = hugeBytes(region);
            assertTrue(bigHuge == huge || bigHuge == 0, "one huge page, or none if the kernel found no free one: " + bigHuge);
            assumeTrue(bigHuge == huge, "the kernel found no free huge page (memory too fragmented)");
            assertEquals(huge, resident(region));

            long small = arena.tryAlloc(64 * PAGE, huge);
            assertEquals(huge + 64 * PAGE, resident(region), "the small span is prefaulted too");
            assertEquals(huge, hugeBytes(region), "but in small pages");
            new UnsafeBuffer(big, (int) huge).putLong((int) (huge - 8), 42);
            assertEquals(42, new UnsafeBuffer(big, (int) huge).getLong((int) (huge - 8)));

            arena.free(big, huge);
            assertEquals(0, hugeBytes(region), "the free gave the huge page back");
            assertEquals(64 * PAGE, resident(region));
            arena.free(small, 64 * PAGE);
            assertEquals(0, resident(region));
            assertTrue(mappings(region) <= mappingsBefore + 2, "at most the frame's two ends stay split (where both"
                    + " sides were touched the kernel keeps them apart): " + mappings(region) + " mappings");
            assertTrue(vmFlags(region).stream().allMatch(f -> f.contains(" nh") && !f.contains(" hg")),
                    "the frame is back to the baseline advice: " + vmFlags(region));
            arena.checkInvariants();
        }
    }

    /**
     * With commit chunks of a huge page, a small span makes a whole aligned huge-page run
     * accessible, where THP could serve it with a huge page (THP {@code always}, or a frame
     * still advised huge). The free of a huge span puts its frame back to no-huge-page advice,
     * so a small span carved there later is prefaulted in small pages: only what it holds.
     */
    @Test
    void aFreedHugeSpanLeavesNoHugePageAdviceBehind() {
        long huge = hugePagesAvailable();
        assumeTrue(ProcMaps.populateWriteExists(), "no MADV_POPULATE_WRITE on this kernel");
        try (VirtualRegion region = VirtualRegion.reserve(8 * huge)) {
            Arena arena = Arena.builder(region).commitChunk(huge).prefault(true).hugePages(true).build();
            long big = arena.tryAlloc(huge, huge);
            assumeTrue(hugeBytes(region) == huge, "the kernel found no free huge page (memory too fragmented)");
            arena.free(big, huge);
            long small = arena.tryAlloc(64 * PAGE, huge);
            assertEquals(big, small, "the small span reuses the huge span's frame");
            assertEquals(huge, ProcMaps.readWriteBytesWithin(region.address(), region.address() + region.size()),
                    "its chunk, the whole frame, is accessible");
            assertEquals(0, hugeBytes(region), "no huge page for a small span");
            assertEquals(64 * PAGE, resident(region), "only the span is resident");
            arena.free(small, 64 * PAGE);
            assertEquals(0, resident(region));
            arena.checkInvariants();
        }
    }

    /** Huge pages without prefault: the first touch of an aligned huge span maps the whole huge page. */
    @Test
    void withoutPrefaultTheFirstTouchOfAHugeSpanMapsAHugePage() {
        long huge = hugePagesAvailable();
        try (VirtualRegion region = VirtualRegion.reserve(8 * huge)) {
            Arena arena = Arena.builder(region).hugePages(true).build();
            long big = arena.tryAlloc(2 * huge, huge);
            assertEquals(0, resident(region), "nothing before the touch");
            new UnsafeBuffer(big, (int) (2 * huge)).putLong(8, 1);
            long hugeBytes = hugeBytes(region);
            assumeTrue(hugeBytes > 0, "the kernel found no free huge page (memory too fragmented)");
            assertEquals(huge, hugeBytes, "one touch, one whole huge page");
            assertEquals(huge, resident(region));
            arena.free(big, 2 * huge);
            assertEquals(0, resident(region));
        }
    }

    /** A span of a huge page that is not aligned holds no whole frame: small pages, no split. */
    @Test
    void anUnalignedHugeSizedSpanGetsNoHugePage() {
        long huge = hugePagesAvailable();
        assumeTrue(ProcMaps.populateWriteExists(), "no MADV_POPULATE_WRITE on this kernel");
        try (VirtualRegion region = VirtualRegion.reserve(8 * huge)) {
            Arena arena = Arena.builder(region).prefault(true).hugePages(true).build();
            long first = arena.tryAlloc(huge, huge);
            long pad = arena.tryAlloc(PAGE);
            long span = arena.tryAlloc(huge);
            assumeTrue(span % huge != 0, "the arena happened to place it aligned");
            assertTrue(hugeBytes(region) <= huge, "only the aligned span may be a huge page");
            arena.free(first, huge);
            assertEquals(0, hugeBytes(region), "the unaligned one is in small pages");
            assertEquals(huge + PAGE, resident(region));
            arena.free(span, huge);
            arena.free(pad, PAGE);
            assertEquals(0, resident(region));
        }
    }

    @Test
    void aPlainRangeRejectsPrefaultAndHugePages() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Arena.builder(1L << 32, 1L << 20).prefault(true).build());
        assertEquals("prefault=true, hugePages=false: a plain range commits nothing; prefault and huge pages apply"
                + " over a region only", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Arena.builder(1L << 32, 1L << 20).hugePages(true).build());
        assertTrue(e.getMessage().startsWith("prefault=false, hugePages=true: "), e.getMessage());
        Arena.builder(1L << 32, 1L << 20).prefault(false).hugePages(false).build().checkInvariants();
    }

    /** Over a closed region an arena with prefault fails its allocations as any arena does: not with a prefault error. */
    @Test
    void aClosedRegionFailsTheCommitNotThePrefault() {
        VirtualRegion region = VirtualRegion.reserve(4 * MIB);
        Arena arena = Arena.builder(region).prefault(true).hugePages(true).build();
        region.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> arena.tryAlloc(MIB));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        arena.checkInvariants();
    }

    // ---------------------------------------------------------------- helpers

    static long resident(VirtualRegion region) {
        return ProcMaps.residentWithin(region.address(), region.address() + region.size());
    }

    static long mappings(VirtualRegion region) {
        return ProcMaps.mappingsWithin(region.address(), region.address() + region.size());
    }

    /** Bytes in transparent huge pages inside the region: the smaps AnonHugePages lines. */
    static long hugeBytes(VirtualRegion region) {
        return ProcMaps.hugePagesWithin(region.address(), region.address() + region.size());
    }

    /** The huge page size; skips the test where the kernel offers none. */
    static long hugePagesAvailable() {
        long huge = VirtualRegion.hugePageSize();
        assumeTrue(huge > 0, "no transparent huge pages on this machine");
        return huge;
    }

    /** The smaps VmFlags line of each mapping that starts inside the region. */
    static List<String> vmFlags(VirtualRegion region) {
        return ProcMaps.vmFlagsWithin(region.address(), region.address() + region.size());
    }
}

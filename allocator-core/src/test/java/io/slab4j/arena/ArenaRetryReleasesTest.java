package io.slab4j.arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.ProcMaps;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Arena#retryReleases}: free chunks whose decommit the OS refused (review 18: at
 * {@code vm.max_map_count}, with page chunks) are made inaccessible once the OS takes them,
 * and until then stay as they are without a new count, log line or exception. The kernel's
 * read-write bytes ({@code /proc/self/maps}) must agree with {@code accessible} throughout.
 */
@Timeout(30)
class ArenaRetryReleasesTest {
    private static final long PAGE = VirtualRegion.pageSize();

    private static long readWrite(VirtualRegion region) {
        return ProcMaps.readWriteBytesWithin(region.address(), region.address() + region.size());
    }

    @Test
    void refusedDecommitsAreTakenByALaterRetryAndOnlyThen() {
        try (VirtualRegion region = VirtualRegion.reserve(16 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().commitChunk(PAGE).build();
            long[] spans = new long[6];
            for (int i = 0; i < spans.length; i++) {
                spans[i] = arena.tryAlloc(2 * PAGE);
            }
            pages.failDecommits = true;
            for (int i = 0; i < spans.length; i += 2) {
                arena.free(spans[i], 2 * PAGE); // every other span: six pages refused
            }
            assertEquals(3, arena.stats().releaseFailures());
            assertEquals(12 * PAGE, arena.stats().accessible(), "refused chunks stay accessible");
            assertEquals(6 * PAGE, arena.stats().committed());
            assertEquals(12 * PAGE, readWrite(region));
            arena.checkInvariants();

            int refusedBefore = pages.failedDecommits.get();
            assertEquals(0, arena.retryReleases(), "still refused: nothing changes");
            assertTrue(pages.failedDecommits.get() > refusedBefore, "the retry asked the OS again");
            assertEquals(3, arena.stats().releaseFailures(), "a refused retry is not counted again");
            assertEquals(12 * PAGE, arena.stats().accessible());
            arena.checkInvariants();

            pages.failDecommits = false;
            assertEquals(6 * PAGE, arena.retryReleases(), "the six refused pages go now");
            assertEquals(6 * PAGE, arena.stats().accessible());
            assertEquals(6 * PAGE, readWrite(region), "the kernel agrees");
            assertEquals(0, arena.retryReleases(), "nothing left to retry");
            arena.checkInvariants();

            for (int i = 1; i < spans.length; i += 2) {
                arena.free(spans[i], 2 * PAGE);
            }
            assertEquals(0, arena.stats().accessible());
            assertEquals(0, readWrite(region));
            assertEquals(3, arena.stats().releaseFailures());
            arena.checkInvariants();
        }
    }

    @Test
    void aStrandedChunkReusedByANewSpanIsNoLongerRetried() {
        try (VirtualRegion region = VirtualRegion.reserve(8 * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().commitChunk(PAGE).fit(Fit.BEST).build();
            long a = arena.tryAlloc(2 * PAGE);
            long keep = arena.tryAlloc(PAGE);
            pages.failDecommits = true;
            arena.free(a, 2 * PAGE);
            pages.failDecommits = false;
            assertEquals(3 * PAGE, arena.stats().accessible());
            arena.checkInvariants();

            long again = arena.tryAlloc(2 * PAGE); // best fit: the same two pages, reused as they are
            assertEquals(a, again);
            arena.checkInvariants();
            int decommitsBefore = pages.failedDecommits.get();
            assertEquals(0, arena.retryReleases(), "the chunks are live again: nothing to retry");
            assertEquals(3 * PAGE, arena.stats().accessible());
            assertEquals(3 * PAGE, readWrite(region));
            assertEquals(decommitsBefore, pages.failedDecommits.get());

            arena.free(again, 2 * PAGE);
            arena.free(keep, PAGE);
            assertEquals(0, arena.stats().accessible());
            assertEquals(0, readWrite(region));
            arena.checkInvariants();
        }
    }

    @Test
    void overAPlainRangeOrAClosedRegionThereIsNothingToRetry() {
        Arena plain = Arena.builder(1L << 40, 64 * PAGE).quantum(PAGE).build();
        plain.free(plain.tryAlloc(PAGE), PAGE);
        assertEquals(0, plain.retryReleases());
        plain.checkInvariants();

        VirtualRegion region = VirtualRegion.reserve(8 * PAGE);
        FaultyPages pages = new FaultyPages(region);
        Arena arena = pages.arena().commitChunk(PAGE).build();
        long a = arena.tryAlloc(2 * PAGE);
        pages.failDecommits = true;
        arena.free(a, 2 * PAGE);
        assertEquals(2 * PAGE, arena.stats().accessible());
        pages.failDecommits = false;
        region.close();
        assertEquals(0, arena.retryReleases(), "the memory went with the unmap: nothing to give back, nothing thrown");
        assertEquals(0, arena.stats().accessible());
        assertEquals(1, arena.stats().releaseFailures());
        arena.checkInvariants();
    }
}

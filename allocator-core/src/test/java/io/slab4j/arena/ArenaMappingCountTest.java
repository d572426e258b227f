package io.slab4j.arena;

import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.ProcMaps;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel's mapping count (DESIGN.md "Commit, decommit and the kernel's mapping
 * count"): a finely fragmented region-backed arena must not run into
 * {@code vm.max_map_count}. Commits change protections in aligned chunks and frees inside
 * a live chunk only release pages, so the region never holds more mappings than chunks.
 */
class ArenaMappingCountTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final int SPANS = 100_000;

    /** 100k live one-page spans alternating with 100k free ones: every commit and release succeeds, the count stays bounded. */
    @Test
    void alternatingLiveAndFreeSpansStayUnderTheMappingLimit() {
        long maxMaps = ProcMaps.maxMapCount();
        System.out.printf("ArenaMappingCountTest: vm.max_map_count %d, %d mappings before%n", maxMaps, ProcMaps.mappings());
        try (VirtualRegion region = VirtualRegion.reserve(2L * SPANS * PAGE)) {
            Arena arena = Arena.builder(region).build();
            long end = region.address() + region.size();
            long[] spans = new long[2 * SPANS];
            for (int i = 0; i < 2 * SPANS; i++) {
                spans[i] = arena.tryAlloc(PAGE);
                assertNotEquals(0, spans[i]);
                new UnsafeBuffer(spans[i], 8).putLong(0, i + 1); // touch: resident
            }
            for (int i = 1; i < 2 * SPANS; i += 2) {
                arena.free(spans[i], PAGE); // 100k holes between 100k live spans
            }
            long maps = ProcMaps.mappingsWithin(region.address(), end);
            long bound = region.size() / arena.commitChunk() + 1;
            long resident = ProcMaps.residentWithin(region.address(), end);
            System.out.printf("ArenaMappingCountTest: %d live and %d free one-page spans: %d mappings in the region"
                            + " (bound %d), %d MiB resident, chunk %d KiB%n",
                    SPANS, SPANS, maps, bound, resident >> 20, arena.commitChunk() >> 10);
            assertTrue(maps <= bound, maps + " mappings in the region, more than reservation / chunk = " + bound);
            assertEquals(SPANS * PAGE, resident, "resident memory follows use: the freed spans' pages went back");
            for (int i = 0; i < 2 * SPANS; i += 2) {
                assertEquals(i + 1, new UnsafeBuffer(spans[i], 8).getLong(0), "live span " + i + " kept its bytes");
            }
            // refill the holes (commit inside live chunks), then free everything in a scattered order
            for (int i = 1; i < 2 * SPANS; i += 2) {
                spans[i] = arena.tryAlloc(PAGE);
                assertEquals(0, new UnsafeBuffer(spans[i], 8).getLong(0), "a released page comes back zeroed");
            }
            long most = 0;
            for (int stride = 0; stride < 3; stride++) {
                for (int i = stride; i < 2 * SPANS; i += 3) {
                    arena.free(spans[i], PAGE);
                    if (i % 1000 == 0) {
                        long now = ProcMaps.mappingsWithin(region.address(), end);
                        most = Math.max(most, now);
                        assertTrue(now <= bound, now + " mappings while freeing, bound " + bound);
                    }
                }
            }
            System.out.printf("ArenaMappingCountTest: at most %d mappings in the region while freeing in three strides%n", most);
            ArenaStats stats = arena.stats();
            assertEquals(0, stats.allocated());
            assertEquals(0, stats.accessible(), "every chunk decommitted");
            assertEquals(0, stats.releaseFailures());
            assertEquals(0, stats.commitFailures());
            assertEquals(0, ProcMaps.residentWithin(region.address(), end));
            assertEquals(1, ProcMaps.mappingsWithin(region.address(), end), "all decommitted: one PROT_NONE mapping again");
            arena.checkInvariants();
        }
    }
}

package io.slab4j.arena;

import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.ProcMaps;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Randomized: a region-backed arena with small commit chunks, random allocations and
 * frees, and (in one run) injected commit, decommit and release failures.
 * {@code checkInvariants()} after every step cross-checks the chunk counts against the
 * spans; every live span is written and read back (a span handed out uncommitted would
 * kill the JVM); now and then the refused decommits are retried ({@link Arena#retryReleases}),
 * and at the end, with the OS taking them, every chunk must go; and now and then the kernel's own view, the read-write bytes of the region
 * in {@code /proc/self/maps}, must equal the arena's {@code accessible} figure. Seeds are
 * fixed and printed.
 */
class CommitChunksModelTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final int PAGES = 256;
    private static final int OPERATIONS = 6_000;

    @ParameterizedTest(name = "failures {0}%")
    @ValueSource(ints = {0, 5})
    void chunksAgreeWithSpansAndWithTheKernel(int failPercent) {
        long seed = Long.getLong("slab4j.seed", 0xC0FFEE + failPercent);
        System.out.printf("CommitChunksModelTest: seed %d, %d%% injected failures%n", seed, failPercent);
        SplittableRandom random = new SplittableRandom(seed);
        try (VirtualRegion region = VirtualRegion.reserve(PAGES * PAGE)) {
            FaultyPages pages = new FaultyPages(region);
            Arena arena = pages.arena().commitChunk(4 * PAGE).fit(Fit.BEST).build();
            List<long[]> live = new ArrayList<>();
            int thrown = 0;
            for (int op = 0; op < OPERATIONS; op++) {
                pages.failPercent = failPercent;
                if (live.isEmpty() || random.nextInt(100) < 55) {
                    long bytes = PAGE * (1 + random.nextInt(random.nextInt(5) == 0 ? 24 : 3));
                    long address;
                    try {
                        address = arena.tryAlloc(bytes);
                    } catch (NativeMemoryException e) {
                        thrown++;
                        address = 0;
                    }
                    if (address != 0) {
                        pages.failPercent = 0;
                        new UnsafeBuffer(address, (int) bytes).putLong((int) (bytes - 8), address); // faults unless committed
                        live.add(new long[] {address, bytes});
                    }
                } else {
                    long[] span = live.remove(random.nextInt(live.size()));
                    assertEquals(span[0], new UnsafeBuffer(span[0], (int) span[1]).getLong((int) (span[1] - 8)),
                            "op " + op + ": a live span kept its bytes");
                    arena.free(span[0], span[1]);
                }
                if (op % 97 == 0) {
                    arena.retryReleases(); // under the same failure rate: some runs are refused again
                }
                pages.failPercent = 0;
                arena.checkInvariants();
                if (op % 200 == 0) {
                    assertEquals(arena.stats().accessible(), ProcMaps.readWriteBytesWithin(region.address(),
                            region.address() + region.size()), "op " + op + ": the kernel's read-write bytes");
                }
            }
            for (long[] span : live) {
                arena.free(span[0], span[1]);
            }
            ArenaStats stats = arena.stats();
            System.out.printf("CommitChunksModelTest: %d commit failures (%d thrown to tryAlloc), %d release failures, %s%n",
                    stats.commitFailures(), thrown, stats.releaseFailures(), stats);
            assertEquals(0, stats.allocated());
            assertEquals(thrown, stats.commitFailures(), "every failed commit reached its caller");
            if (failPercent == 0) {
                assertEquals(0, stats.accessible(), "every chunk decommitted");
            } else {
                assertTrue(stats.commitFailures() > 0 && stats.releaseFailures() > 0, stats.toString());
            }
            assertEquals(stats.accessible(), ProcMaps.readWriteBytesWithin(region.address(), region.address() + region.size()));
            arena.checkInvariants();
            long stranded = stats.accessible();
            assertEquals(stranded, arena.retryReleases(), "with the OS taking them, the retry decommits every chunk left");
            assertEquals(0, arena.stats().accessible());
            assertEquals(0, ProcMaps.readWriteBytesWithin(region.address(), region.address() + region.size()));
            assertEquals(stats.releaseFailures(), arena.stats().releaseFailures(), "retries are not counted as failures");
            arena.checkInvariants();
        }
    }
}

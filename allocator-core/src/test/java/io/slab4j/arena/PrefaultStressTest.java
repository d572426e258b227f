package io.slab4j.arena;

import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.ProcMaps;
import io.slab4j.testing.StressRun;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Threads allocate and free small spans and aligned huge-page spans over one region with
 * prefault and huge pages on. The grow advice runs outside the chunks' lock, so this checks
 * that it never hands out a span that is not usable (each worker writes and reads back
 * every page of what it holds), that nothing is lost (allocations − frees = live spans,
 * and at the end nothing is resident), and that the mapping count stays within the bound
 * of {@link CommitChunks}: chunks plus frames. Bounded to about two seconds; fixed, printed seed.
 */
@Tag("stress")
class PrefaultStressTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final int THREADS = 3;
    private static final long RUN_MILLIS = 1500;

    @Test
    void spansStayUsableAndCountedAndMappingsBounded() throws Exception {
        long frame = VirtualRegion.hugePageSize() > 0 ? VirtualRegion.hugePageSize() : 2L << 20;
        long seed = Long.getLong("slab4j.seed", 0xADB1CE);
        System.out.printf("PrefaultStressTest: seed %d%n", seed);
        try (VirtualRegion region = VirtualRegion.reserve(32 * frame)) {
            Arena arena = Arena.builder(region).commitChunk(16 * PAGE).prefault(true).hugePages(true).build();
            long bound = region.size() / (16 * PAGE) + region.size() / frame + 1;
            AtomicLong allocations = new AtomicLong();
            AtomicLong frees = new AtomicLong();
            AtomicLong worstMappings = new AtomicLong();
            StressRun.run("prefault-stress", THREADS, seed, RUN_MILLIS, (random, run) -> {
                List<long[]> held = new ArrayList<>();
                try {
                    while (run.running()) {
                        if (held.size() < 4 && random.nextInt(100) < 60) {
                            boolean huge = random.nextInt(4) == 0;
                            long bytes = huge ? frame * (1 + random.nextInt(2)) : PAGE * (1 + random.nextInt(32));
                            long address = huge ? arena.tryAlloc(bytes, frame) : arena.tryAlloc(bytes);
                            if (address != 0) {
                                allocations.incrementAndGet();
                                UnsafeBuffer memory = new UnsafeBuffer(address, (int) bytes);
                                for (long p = 0; p < bytes; p += PAGE) {
                                    assertEquals(0, memory.getLong((int) p), "a fresh span reads zeros");
                                    memory.putLong((int) p, address + p);
                                }
                                held.add(new long[] {address, bytes});
                            }
                        } else if (!held.isEmpty()) {
                            long[] span = held.remove(random.nextInt(held.size()));
                            UnsafeBuffer memory = new UnsafeBuffer(span[0], (int) span[1]);
                            for (long p = 0; p < span[1]; p += PAGE) {
                                assertEquals(span[0] + p, memory.getLong((int) p), "page " + p + " kept its contents");
                            }
                            arena.free(span[0], span[1]);
                            frees.incrementAndGet();
                        }
                        if (random.nextInt(64) == 0) {
                            worstMappings.accumulateAndGet(ProcMaps.mappingsWithin(region.address(),
                                    region.address() + region.size()), Math::max);
                        }
                    }
                } finally {
                    for (long[] span : held) {
                        arena.free(span[0], span[1]);
                        frees.incrementAndGet();
                    }
                }
            });
            arena.checkInvariants();
            assertEquals(allocations.get(), frees.get(), "every span allocated was freed");
            assertEquals(0, arena.stats().allocated());
            assertEquals(0, PrefaultArenaTest.resident(region), "nothing stays resident");
            assertEquals(0, PrefaultArenaTest.hugeBytes(region));
            assertTrue(worstMappings.get() <= bound, "mappings " + worstMappings.get() + " within the bound " + bound);
            System.out.printf("PrefaultStressTest: %d allocations, at most %d mappings (bound %d)%n",
                    allocations.get(), worstMappings.get(), bound);
        }
    }
}

package io.slab4j.bench.tool.scarcity;

import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.pool.WaitStrategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scarcity scenario at small scale: 6 getters share a pool of 6 one-slab items of which
 * only 4 can be grown contiguously (2 slabs' worth lie in fragmented space), with one
 * fragmenter. By construction the fifth and sixth getters' grows can never find space
 * while the long-lived survivors live, so NAIVE's hang does not depend on timing; the
 * watchdog threshold (100 ms) is far below the run (1.5 s). NACK's check uses a longer
 * threshold, so only a real hang, not a thread descheduled on a busy machine, could count.
 */
@Timeout(60)
class ScarcityRunTest {
    private static ScarcityConfig small(long durationMs, long hangAfterMs) {
        return new ScarcityConfig(List.of(WaitStrategy.values()), durationMs, 6, 1, 6, 64 * 1024,
                64 * 1024 / VirtualRegion.pageSize(), 2, hangAfterMs, 1.0, 0.2, 4, 10, 7);
    }

    @Test
    void nackCompletesWithNothingHungOrLost() throws InterruptedException {
        ScarcityResult r = new ScarcityRun(small(1200, 500), WaitStrategy.NACK).run(ms -> { });
        assertEquals(0, r.hungWaits(), "NACK: a put serves a get whose grow cannot fit");
        assertEquals(0, r.lostItems());
        assertEquals(0, r.leakedBytes());
        assertTrue(r.completedGets() > 0);
    }

    @Test
    void naivesHangIsCaughtByTheWatchdogAndCleanedUp() throws InterruptedException {
        ScarcityResult r = new ScarcityRun(small(1500, 100), WaitStrategy.NAIVE).run(ms -> { });
        assertTrue(r.hungWaits() > 0, "the watchdog declares NAIVE's grow-only waits hung: " + r);
        assertTrue(r.hungThreads() > 0);
        assertEquals(0, r.lostItems(), "interrupting the hung gets loses nothing");
        assertEquals(0, r.leakedBytes());
        // The arena keeps a window for its blocked head and serves others outside it, so a grow
        // that can never fit no longer refuses every other allocation in the program.
        assertTrue(r.smallAttempts() > 0 && r.smallRefused() < r.smallAttempts(),
                "a grow stuck at the arena's head must not refuse every small allocation: " + r);
    }

    @ParameterizedTest
    @EnumSource(WaitStrategy.class)
    void everyStrategyConservesItemsAndSpace(WaitStrategy s) throws InterruptedException {
        ScarcityResult r = new ScarcityRun(small(500, 100), s).run(ms -> { });
        assertEquals(0, r.lostItems(), s + ": " + r);
        assertEquals(0, r.leakedBytes(), s + ": " + r);
        assertTrue(r.peakCommitted() > 0);
        assertTrue(!r.samples().isEmpty());
    }

    @Test
    void theSceneLeavesNoSlabSizedHoleOutsideThePool() {
        ScarcityConfig c = small(500, 100);
        for (WaitStrategy s : WaitStrategy.values()) {
            try (Scene scene = Scene.build(c, s, new SplittableRandom(3))) {
                assertTrue(scene.arena.stats().largestFree() < scene.slabBytes, s + ": " + scene.arena.stats());
                assertEquals(4, scene.initialItems.length, "limit 6 slabs, 2 of them fragmented");
                int slabs = scene.pool.stats().slabs();
                assertEquals(s == WaitStrategy.LOW_WATER_PRIME ? 6 : 4, slabs, s.toString());
                assertTrue(!scene.survivors.isEmpty());
                for (long item : scene.initialItems) {
                    scene.pool.put(item);
                }
                for (long[] span : scene.survivors) {
                    scene.arena.free(span[0], span[1]);
                }
                scene.pool.close();
                assertEquals(0, scene.arena.stats().allocated());
            }
        }
    }
}

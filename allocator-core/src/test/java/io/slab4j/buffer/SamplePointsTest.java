package io.slab4j.buffer;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sample points of a thread's acquires (the ones that read the decay clock and may be
 * watched): geometric gaps of mean {@link BufferPool#DECAY_CHECK_INTERVAL}, so every acquire is
 * a point with the same probability whatever its position; a fixed period would never sample
 * a call site that always falls between two points.
 */
class SamplePointsTest {

    @Test
    void gapsAreGeometricWithTheDocumentedMean() {
        try (BufferPool pool = BufferPool.builder().name("gaps").reserve(16L << 20).build()) {
            int x = 0x2545F491;
            int n = 200_000;
            long sum = 0;
            int ones = 0;
            int max = 0;
            for (int i = 0; i < n; i++) {
                x = SampleClock.xorshift(x);
                int g = pool.nextGap(x);
                assertTrue(g >= 1, "gap " + g);
                sum += g;
                ones += g == 1 ? 1 : 0;
                max = Math.max(max, g);
            }
            double mean = (double) sum / n;
            assertTrue(Math.abs(mean - BufferPool.DECAY_CHECK_INTERVAL) < 1.0, "mean gap " + mean); // sd of the mean ~0.14
            double p1 = (double) ones / n; // P(gap = 1) = 1/64 = 0.0156 for a geometric gap, 0 for a fixed one
            assertTrue(Math.abs(p1 - 1.0 / BufferPool.DECAY_CHECK_INTERVAL) < 0.002, "P(gap = 1) = " + p1);
            assertTrue(max > 4 * BufferPool.DECAY_CHECK_INTERVAL && max < 1100, "largest gap " + max);
        }
    }

    @Test
    void everyPositionIsSampledAlike() throws InterruptedException {
        try (BufferPool pool = BufferPool.builder().name("positions").reserve(16L << 20).build()) {
            ClassTally t = new ClassTally(pool.sizeClassOf(64), Thread.currentThread()); // not registered: its counts are its own
            int period = BufferPool.DECAY_CHECK_INTERVAL;
            int[] byPosition = new int[period];
            int acquires = 640 * 1000;
            for (int i = 0; i < acquires; i++) { // the pool's own loop: count, and at a point draw the next gap
                if (t.taken()) {
                    byPosition[i % period]++;
                    t.rewind(pool.nextGap(t.nextRandom()));
                }
            }
            int points = 0;
            for (int c : byPosition) {
                points += c;
            }
            assertTrue(Math.abs(points - acquires / period) < 600, points + " points in " + acquires + " acquires");
            for (int k = 0; k < period; k++) { // ~156 each, sd ~12.5
                assertTrue(byPosition[k] > 80 && byPosition[k] < 240, "position " + k + " mod " + period + ": " + byPosition[k]);
            }
        }
    }

    /** Review 9: every tally of a thread started from a seed of its thread id, so each class and pool had the same sample points and watch draws. */
    @Test
    void eachTallyOfOneThreadHasItsOwnSequence() {
        try (BufferPool one = BufferPool.builder().name("seq-one").reserve(16L << 20).build();
             BufferPool two = BufferPool.builder().name("seq-two").reserve(16L << 20).build()) {
            Thread me = Thread.currentThread();
            ClassTally[] tallies = {new ClassTally(one.sizeClassOf(64), me), new ClassTally(one.sizeClassOf(4096), me),
                    new ClassTally(two.sizeClassOf(64), me)};
            int[][] draws = new int[tallies.length][16];
            for (int k = 0; k < tallies.length; k++) {
                for (int i = 0; i < 16; i++) {
                    draws[k][i] = tallies[k].nextRandom();
                }
            }
            assertFalse(java.util.Arrays.equals(draws[0], draws[1]), "two classes of one pool draw the same sequence");
            assertFalse(java.util.Arrays.equals(draws[0], draws[2]), "one class of two pools draws the same sequence");
        }
    }

    @Test
    void allMakesEveryAcquireAPointAndWatchesIt() throws InterruptedException {
        try (BufferPool pool = BufferPool.builder().name("all-points").reserve(16L << 20).leakDetection(LeakDetection.ALL).build()) {
            assertEquals(1, pool.nextGap(0x12345678));
            for (int i = 0; i < 100; i++) {
                pool.acquire(64).close();
                pool.acquire(1 << 20).close();
            }
            assertEquals(200, pool.watched());
        }
    }
}

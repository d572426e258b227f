package io.slab4j.bench.tool.fragment;

import io.slab4j.arena.Fit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Replays over tiny arenas whose fragmentation can be worked out by hand. */
class ReplayTest {
    private static Trace parse(String text) throws Exception {
        return TraceReader.read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), "hand");
    }

    @ParameterizedTest
    @EnumSource(Fit.class)
    void everyOtherQuantumFreeIsHalfFragmented(Fit fit) throws Exception {
        // 4 quanta of 16 B, all allocated, then blocks 0 and 2 freed: 32 B free in two 16 B holes
        Trace t = parse("a 0 16\na 1 16\na 2 16\na 3 16\nf 0\nf 2\na 4 32\n");
        Replay r = new Replay(t, fit, 64, 16, 32);
        FragmentResult res = r.run(32, 100, done -> { });
        assertEquals(5, res.allocations());
        assertEquals(1, res.failures(), "no 32-byte hole: the last allocation finds no fit");
        assertEquals(0.5, res.finalFragmentation(), 1e-9);
        assertEquals(32, res.finalLive());
        assertEquals(64, res.finalCommitted(), "both 32-byte granules hold a live block");
        assertEquals(64, res.peakLive());
        FragmentResult.Sample last = res.samples().get(res.samples().size() - 1);
        assertEquals(7, last.event());
        assertEquals(16, last.largestFree());
    }

    @Test
    void aFailedBlocksFreeIsSkippedAndTheProbesCountByOccupancy() throws Exception {
        Trace t = parse("a 0 64\na 1 16\nf 1\nf 0\n");
        Replay r = new Replay(t, Fit.INSTANT, 64, 16, 16);
        FragmentResult res = r.run(64, 10, done -> { });
        assertEquals(1, res.failures());
        assertEquals(0, res.finalLive());
        assertEquals(0, res.finalCommitted());
        long probes = res.byOccupancy().stream().mapToLong(FragmentResult.OccupancyBucket::probes).sum();
        assertEquals(1, probes, "one probe every " + Replay.PROBE_EVERY + " events, from the first");
        assertEquals(1, res.byOccupancy().get(Replay.BUCKETS - 1).probes(), "probed when the arena was full");
        assertEquals(0.0, res.largeSuccessRate());
    }

    @Test
    void theMapShowsLiveCommittedAndFree() throws Exception {
        // 8 quanta, granule 2 quanta: block 0 at quantum 0 live, quantum 1 committed-free, the rest free
        Trace t = parse("a 0 16\na 1 16\nf 1\n");
        Replay r = new Replay(t, Fit.INSTANT, 128, 16, 32);
        r.run(16, 10, done -> { });
        BufferedImage image = AddressMap.render(r);
        assertEquals(AddressMap.WIDTH, image.getWidth());
        assertEquals(AddressMap.LIVE.getRGB(), image.getRGB(0, 0));
        assertEquals(AddressMap.COMMITTED.getRGB(), image.getRGB(1, 0));
        assertEquals(AddressMap.FREE.getRGB(), image.getRGB(2, 0));
    }

    @ParameterizedTest
    @EnumSource(Distribution.class)
    void syntheticTracesStayInRangeAndReachTheirLiveCount(Distribution d) {
        Trace t = d.generate(10_000, 500, 16, 4096, 1.5, 11);
        assertEquals(10_000, t.events());
        int live = 0;
        int peak = 0;
        for (int i = 0; i < t.events(); i++) {
            live += t.event(i) >= 0 ? 1 : -1;
            peak = Math.max(peak, live);
        }
        assertEquals(500, peak);
        for (int b = 0; b < t.allocations(); b++) {
            assertTrue(t.size(b) >= 16 && t.size(b) <= 4096, d + " size " + t.size(b));
        }
    }
}

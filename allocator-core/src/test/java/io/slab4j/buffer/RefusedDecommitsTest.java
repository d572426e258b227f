package io.slab4j.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.slab4j.arena.FailingCommits;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.ProcMaps;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Review 18: with page commit chunks, a decommit the OS refuses (ENOMEM at
 * {@code vm.max_map_count}, injected here under the arena) left the freed pages read-write for
 * good: {@code trim()} never asked again, so {@code accessibleBytes} (and the kernel's commit
 * charge) stayed above {@code committedBytes} at rest. Now {@code trim()} and the decay pass
 * offer them to the OS again; while it still refuses, nothing is thrown or counted twice.
 */
@Timeout(60)
class RefusedDecommitsTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final long RESERVE = 32L << 20;

    private static BufferPool pool(String name, FailingCommits seam, Duration decay) {
        BufferPool.Builder b = BufferPool.builder().name(name).reserve(RESERVE).commitChunk(PAGE).idleDecay(decay);
        return PoolSeams.failingCommits(b, seam).build();
    }

    private static String figures(BufferPoolStats s) {
        return "committed " + s.committedBytes() + ", accessible " + s.accessibleBytes() + ", in use " + s.buffersInUse();
    }

    private static long readWrite(BufferPool p) {
        return ProcMaps.readWriteBytesWithin(p.regionAddress(), p.regionAddress() + RESERVE);
    }

    /** Large buffers of 17 pages side by side, then every other one closed while decommits fail; returns those still open. */
    private static List<PooledBuffer> strand(BufferPool p, FailingCommits seam) throws InterruptedException {
        List<PooledBuffer> all = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            all.add(p.acquire((int) (17 * PAGE)));
        }
        p.trim(); // nothing idle yet
        seam.failDecommits(true);
        List<PooledBuffer> open = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            if (i % 2 == 0) {
                all.get(i).close();
            } else {
                open.add(all.get(i));
            }
        }
        p.trim(); // the cached spans go to the arena, whose decommits are refused
        BufferPoolStats s = p.stats();
        assertEquals(8 * 17 * PAGE, s.committedBytes(), figures(s));
        assertEquals(16 * 17 * PAGE, s.accessibleBytes(), "the refused pages stay read-write: " + figures(s));
        assertEquals(s.accessibleBytes(), readWrite(p));
        assertTrue(p.arenaStats().releaseFailures() >= 8, p.arenaStats().toString());
        p.checkInvariants();
        return open;
    }

    @Test
    void trimOffersRefusedDecommitsAgainUntilTheOsTakesThem() throws InterruptedException {
        FailingCommits seam = new FailingCommits();
        try (BufferPool p = pool("refused-decommits-trim", seam, Duration.ofDays(1))) {
            List<PooledBuffer> open = strand(p, seam);
            long failures = p.arenaStats().releaseFailures();

            p.trim(); // still refused: nothing changes, nothing thrown, nothing counted again
            assertEquals(16 * 17 * PAGE, p.stats().accessibleBytes());
            assertEquals(failures, p.arenaStats().releaseFailures());
            p.checkInvariants();

            seam.failDecommits(false);
            p.trim();
            BufferPoolStats s = p.stats();
            assertEquals(s.committedBytes(), s.accessibleBytes(), "at rest after trim, page chunks: " + figures(s));
            assertEquals(8 * 17 * PAGE, readWrite(p), "the kernel agrees");
            p.checkInvariants();

            open.forEach(PooledBuffer::close);
            p.trim();
            assertEquals(0, p.stats().accessibleBytes());
            assertEquals(0, readWrite(p));
            p.checkInvariants();
        }
    }

    @Test
    void theDecayPassOffersThemAgainTooWithoutATrim() throws InterruptedException {
        FailingCommits seam = new FailingCommits();
        try (BufferPool p = pool("refused-decommits-decay", seam, Duration.ofMillis(20))) {
            List<PooledBuffer> open = strand(p, seam);
            seam.failDecommits(false);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (p.stats().accessibleBytes() > p.stats().committedBytes() && System.nanoTime() < deadline) {
                for (int i = 0; i < 1000; i++) {
                    p.acquire(64).close(); // sample points run the decay pass once a period is over
                }
            }
            BufferPoolStats s = p.stats();
            assertEquals(s.committedBytes(), s.accessibleBytes(), "after decay, no trim: " + figures(s));
            assertEquals(s.accessibleBytes(), readWrite(p));
            p.checkInvariants();
            open.forEach(PooledBuffer::close);
        }
    }
}

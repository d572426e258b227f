package io.slab4j.buffer;

import io.slab4j.arena.Arena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Review 17: the lock-free {@link Arena#isAllocated} and the large raw API that relies on it. */
class Review17Test {
    private static BufferPool.Builder pool(String name) {
        return BufferPool.builder().name("r17-" + name).reserve(64L << 20).leakDetection(LeakDetection.OFF);
    }

    private static void fill(ByteBuffer b, byte v) {
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, v);
        }
    }

    private static int firstNot(ByteBuffer b, byte v) {
        for (int i = 0; i < b.capacity(); i++) {
            if (b.get(i) != v) {
                return i;
            }
        }
        return -1;
    }

    /*
     * What: a 512 KiB raw span (the slab size of the 64 KiB class) is acquired and released,
     * trim() gives it back to the arena, and a 64 KiB buffer is acquired: its class's slab,
     * 512 KiB, is carved at the very address of the old span. The holder then releases the old
     * span again with its old token (a stale large release).
     * Docs (BufferPool.releaseRaw): for a large span the address must be "the start of a span
     * of its size allocated in the arena (one free in the arena, or memory the arena has since
     * given to a slab or a span of another size, is refused)"; "Nothing is released then".
     * Observed: the release is accepted (the arena check only compares start and length, and a
     * slab of the same byte count matches); rawView with the stale address is accepted too.
     * Right after the release usedBytes reads -458752 and largeBuffersInUse -1 (the slab's
     * memory is counted back and cached as a large span), and the next 512 KiB acquire is
     * handed the live slab from that cache, overwriting the open 64 KiB buffer.
     */
    @Test
    @Timeout(30)
    void staleLargeReleaseOverASlabOfTheSameSizeIsRefused() {
        try (BufferPool p = pool("slab").build()) {
            int large = 524288;
            long slabBytes = p.stats().sizeClasses().get(p.sizeClasses().length - 1).slabBytes();
            assertEquals(large, slabBytes, "the largest class's slab is 512 KiB");
            RawHolderTest.Box stale = new RawHolderTest.Box();
            assertTrue(p.tryAcquireRaw(large, stale));
            long a = stale.address;
            stale.release(p);
            p.trim();
            PooledBuffer item = p.tryAcquire(65536);
            assertTrue(item.address() >= a && item.address() < a + large, "the slab lies where the span was");
            fill(item.byteBuffer(), (byte) 0x11);
            BufferPoolStats before = p.stats();

            boolean viewRefused = false;
            try {
                p.rawView(stale, stale.token, a);
            } catch (IllegalArgumentException e) {
                viewRefused = true;
            }
            IllegalArgumentException refused = null;
            try {
                p.releaseRaw(stale, stale.token, a);
            } catch (IllegalArgumentException e) {
                refused = e;
            }
            BufferPoolStats released = p.stats();
            // conservation: a new large holder must not get the live slab
            RawHolderTest.Box next = new RawHolderTest.Box();
            assertTrue(p.tryAcquireRaw(large, next));
            fill(p.rawView(next, next.token, next.address), (byte) 0x22);
            int clobbered = firstNot(item.byteBuffer(), (byte) 0x11);
            BufferPoolStats after = p.stats();
            next.release(p);
            item.close();

            assertNotNull(refused, "stale release of " + Long.toHexString(a) + " over a live 512 KiB slab was accepted"
                    + (viewRefused ? "" : " (and so was its rawView)") + "; stats after it: "
                    + "usedBytes " + released.usedBytes() + ", largeBuffersInUse " + released.largeBuffersInUse()
                    + "; the next 512 KiB span is at " + Long.toHexString(next.address)
                    + (clobbered >= 0 ? " and overwrote the open 64 KiB buffer at byte " + clobbered : ""));
            assertTrue(viewRefused, "rawView of the stale address over the slab was accepted");
            assertEquals(-1, clobbered, "the open 64 KiB buffer was overwritten");
            assertEquals(before.usedBytes() + large, after.usedBytes());
            p.checkInvariants();
        }
    }

    /*
     * What: a 16 MiB raw span (too large for the large-span cache: a release frees it to the
     * arena) is released twice at once from two threads (a barrier lines them up); repeated
     * with a fresh span until the time runs out. The same happens at 33 MiB and 40 MiB
     * (8192 pages and up: the arena checks those under its lock).
     * Docs (BufferPool.releaseRaw): an address that is not the start of a span of its size
     * allocated in the arena is refused with IllegalArgumentException and "Nothing is released
     * then"; the not-caught list covers only memory the pool still keeps for reuse (this span
     * is not kept: cachedLargeBytes stays 0). Arena.isAllocated says a racing call may see
     * either side of a free, so both releases may pass the check; the loser is then refused by
     * Arena.free, which is fine, but it must leave the pool as it was.
     * Observed (within the first few iterations): one release returns, the other throws
     * IllegalArgumentException from Arena.free ("address is not allocated ... double free?" or
     * "span is already being freed"), yet the refused one has already counted its span back:
     * buffersInUse and largeBuffersInUse -1, usedBytes -16777216, and checkInvariants() fails
     * ("large spans, stripe 0: invariant broken: ... in use -1").
     */
    @Test
    @Timeout(30)
    void racingDoubleReleaseOfAnUncachedLargeSpanLeavesTheCountsAlone() throws Exception {
        int size = 16 << 20;
        java.util.concurrent.ExecutorService ex = java.util.concurrent.Executors.newFixedThreadPool(2);
        try (BufferPool p = pool("double").build()) {
            long end = System.nanoTime() + 3_000_000_000L; // the defect showed within 150 rounds, well under a second
            int iterations = 0;
            while (System.nanoTime() < end) {
                iterations++;
                RawHolderTest.Box b = new RawHolderTest.Box();
                assertTrue(p.tryAcquireRaw(size, b), "a 16 MiB span: " + p.stats());
                java.util.concurrent.CyclicBarrier barrier = new java.util.concurrent.CyclicBarrier(2);
                java.util.concurrent.atomic.AtomicReference<String> refusal = new java.util.concurrent.atomic.AtomicReference<>();
                java.util.concurrent.Callable<Boolean> release = () -> {
                    barrier.await();
                    try {
                        b.release(p);
                        return true;
                    } catch (IllegalArgumentException e) {
                        refusal.set(e.getMessage());
                        return false;
                    }
                };
                java.util.concurrent.Future<Boolean> f1 = ex.submit(release);
                java.util.concurrent.Future<Boolean> f2 = ex.submit(release);
                boolean r1 = f1.get();
                boolean r2 = f2.get();
                assertFalse(r1 && r2, "iteration " + iterations + ": both releases of one span were accepted");
                BufferPoolStats s = p.stats();
                assertEquals(0, s.cachedLargeBytes(), "a 16 MiB span is not cached");
                String state = "iteration " + iterations + ": accepted " + (r1 || r2) + ", refused with '" + refusal.get()
                        + "'; then buffersInUse " + s.buffersInUse() + ", largeBuffersInUse " + s.largeBuffersInUse()
                        + ", usedBytes " + s.usedBytes();
                assertEquals(0, s.buffersInUse(), state);
                assertEquals(0, s.largeBuffersInUse(), state);
                assertEquals(0, s.usedBytes(), state);
                p.checkInvariants();
            }
        } finally {
            ex.shutdownNow();
        }
    }

    /**
     * Held (untagged coverage): a stale large release after trim() is refused with the pool
     * unchanged on both sides of the arena's 8192-page boundary (unlocked below, locked from
     * there), alone and with the address since reused by a span one page longer, one page
     * shorter or 1 MiB longer starting at the same address.
     */
    @Test
    @Timeout(30)
    void staleLargeReleasesAcrossTheLockedBoundaryAreRefused() {
        try (BufferPool p = BufferPool.builder().name("r17-long").reserve(256L << 20).leakDetection(LeakDetection.OFF).build()) {
            int page = 4096;
            for (int size : new int[] {(32 << 20) - page, 32 << 20, (32 << 20) + 1, 33 << 20, 64 << 20}) {
                RawHolderTest.Box stale = new RawHolderTest.Box();
                assertTrue(p.tryAcquireRaw(size, stale));
                long a = stale.address;
                stale.release(p);
                p.trim();
                for (int other : new int[] {0, size + page, size - page, size + (1 << 20)}) {
                    RawHolderTest.Box o = null;
                    if (other > 0) {
                        o = new RawHolderTest.Box();
                        assertTrue(p.tryAcquireRaw(other, o));
                        assertEquals(a, o.address, "the other span starts where the stale one did");
                    }
                    BufferPoolStats before = p.stats();
                    String what = size + "-byte stale span, since " + (other == 0 ? "free" : "a " + other + "-byte span");
                    assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(stale, stale.token, a), what);
                    assertThrows(IllegalArgumentException.class, () -> p.rawView(stale, stale.token, a), what);
                    BufferPoolStats after = p.stats();
                    assertEquals(before.buffersInUse(), after.buffersInUse(), what);
                    assertEquals(before.usedBytes(), after.usedBytes(), what);
                    p.checkInvariants();
                    if (o != null) {
                        o.release(p);
                    }
                    p.trim();
                }
            }
            assertEquals(0, p.stats().buffersInUse());
        }
    }
}

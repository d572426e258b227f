package io.slab4j.buffer;

import io.slab4j.arena.Arena;
import io.slab4j.arena.FailingCommits;
import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.pool.Pool;
import io.slab4j.testing.LogCapture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.LogRecord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Commits the OS refuses (ENOMEM injected under the pool's arena): an acquire that may wait
 * waits them out and is served once the OS recovers; the calls that do not wait throw
 * {@link NativeMemoryException}; nothing is taken either way.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AcquireCommitFailureTest {
    private interface Acquire {
        PooledBuffer take(BufferPool p, int size) throws InterruptedException;
    }

    private static BufferPool pool(String name, FailingCommits seam) {
        BufferPool.Builder b = BufferPool.builder().name(name).reserve(16L << 20).zeroOnAcquire(true);
        return PoolSeams.failingCommits(b, seam).build();
    }

    /** The first commit under the pool (a class's first slab, a large span) fails once: each waiting acquire is served anyway. */
    @Test
    void anAcquireThatMayWaitIsServedAfterItsCommitFailed() throws InterruptedException {
        Acquire[] ways = {BufferPool::acquire, (p, s) -> p.acquire(s, Duration.ofSeconds(20))};
        for (int size : new int[] {4096, 1 << 20}) {
            for (int w = 0; w < ways.length; w++) {
                FailingCommits seam = new FailingCommits();
                try (BufferPool p = pool("commit-fails-" + size + "-" + w, seam)) {
                    seam.failAfter(0);
                    PooledBuffer b = ways[w].take(p, size); // before the fix: NativeMemoryException
                    assertNotNull(b, size + " way " + w + ": served by the retry, well within the timeout");
                    assertEquals(1, seam.failed());
                    b.byteBuffer().putLong(b.capacity() - 8, 1); // committed to its end
                    assertEquals(1, p.stats().buffersInUse());
                    b.close();
                    p.checkInvariants();
                }
            }
        }
    }

    /** The failed commit of a waiting acquire is logged once, by the arena where it failed, not again by the pool that waits it out. */
    @Test
    void aWaitingAcquiresFailedCommitIsLoggedOnce() throws InterruptedException {
        for (int size : new int[] {4096, 1 << 20}) {
            FailingCommits seam = new FailingCommits();
            try (LogCapture log = new LogCapture(BufferPool.class, Arena.class, Pool.class); BufferPool p = pool("logged-once-" + size, seam)) {
                seam.failAfter(0);
                PooledBuffer b = p.acquire(size, Duration.ofSeconds(20));
                assertNotNull(b);
                List<LogRecord> warnings = log.warnings();
                assertEquals(1, warnings.size(), () -> size + ": " + warnings.stream().map(LogRecord::getMessage).toList());
                assertTrue(warnings.get(0).getMessage().contains("(failure 1;"), warnings.get(0).getMessage());
                assertTrue(warnings.get(0).getThrown() instanceof NativeMemoryException);
                b.close();
                p.checkInvariants();
            }
        }
    }

    /** A raw acquire with a timeout is an acquire that may wait too. */
    @Test
    void aRawAcquireWithATimeoutIsServedAfterItsCommitFailed() throws InterruptedException {
        FailingCommits seam = new FailingCommits();
        try (BufferPool p = pool("commit-fails-raw", seam)) {
            seam.failAfter(0);
            AtomicLong held = new AtomicLong();
            AtomicReference<Object> heldToken = new AtomicReference<>();
            RawHolder holder = (address, capacity, token) -> {
                held.set(address);
                heldToken.set(token);
            };
            assertTrue(p.acquireRaw(100, Duration.ofSeconds(20), holder)); // before the fix: NativeMemoryException
            assertTrue(held.get() != 0);
            assertEquals(1, seam.failed());
            assertEquals(1, p.stats().buffersInUse());
            p.releaseRaw(holder, heldToken.get(), held.get());
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /** Commits keep failing: the non-waiting calls throw, a timed acquire returns null at its timeout, and nothing is taken. */
    @Test
    void whileCommitsFailTheCallsThatDoNotWaitThrowAndATimedAcquireTimesOut() throws InterruptedException {
        FailingCommits seam = new FailingCommits();
        try (BufferPool p = pool("commits-failing", seam)) {
            seam.failAll(true);
            for (int size : new int[] {64, 1 << 20}) {
                assertEquals(12, assertThrows(NativeMemoryException.class, () -> p.tryAcquire(size)).errno());
                assertThrows(NativeMemoryException.class, () -> p.acquire(size, Duration.ZERO));
                assertThrows(NativeMemoryException.class, () -> p.tryAcquireRaw(size, (a, c, t) -> { }));
                long t0 = System.nanoTime();
                assertNull(p.acquire(size, Duration.ofMillis(300)), "the timeout's sentinel");
                assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(300), "it waited its timeout out");
                BufferPoolStats s = p.stats();
                assertEquals(0, s.buffersInUse());
                assertEquals(0, s.usedBytes());
                assertEquals(0, s.waiters());
                p.checkInvariants();
            }
            assertTrue(seam.failed() >= 4, seam.failed() + " failed commits");
            seam.failAll(false);
            PooledBuffer b = p.tryAcquire(64);
            assertNotNull(b, "the OS recovered");
            b.close();
            p.checkInvariants();
        }
    }
}

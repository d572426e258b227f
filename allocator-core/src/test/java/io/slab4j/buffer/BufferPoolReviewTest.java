package io.slab4j.buffer;

import io.slab4j.testing.Background;
import io.slab4j.testing.Messages;
import org.agrona.MutableDirectBuffer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class BufferPoolReviewTest {
    private static final AtomicInteger NAMES = new AtomicInteger();

    private static String name() {
        return "review-" + NAMES.incrementAndGet();
    }

    private static BufferPool.Builder small() {
        return BufferPool.builder().name(name()).reserve(16L << 20);
    }

    @Test
    @Timeout(60)
    void largeAcquireIsNotStarvedByItemsParkedInTheCallersMagazines() throws Exception {
        try (BufferPool p = BufferPool.builder().name(name()).reserve(16 << 20).maxCommitted(1 << 20)
                .sizeClasses(64, 4096).build()) {
            List<PooledBuffer> held = new ArrayList<>();
            PooledBuffer b;
            while ((b = p.tryAcquire(4096)) != null) {
                held.add(b);
            }
            for (PooledBuffer h : held) {
                h.close();
            }
            assertEquals(0, p.stats().buffersInUse());
            // every byte under the cap is idle now; a 512 KiB acquire that waits must get it
            PooledBuffer big = p.acquire(1 << 19, Duration.ofSeconds(5));
            assertNotNull(big, "a waiting large acquire starved by idle parked items: " + p.stats());
            big.close();
        }
    }

    @Test
    @Timeout(60)
    void tryAcquireFindsRoomParkedInTheCallersOwnMagazines() throws Exception {
        try (BufferPool p = BufferPool.builder().name(name()).reserve(16 << 20).maxCommitted(1 << 20)
                .sizeClasses(64, 4096).build()) {
            List<PooledBuffer> held = new ArrayList<>();
            PooledBuffer b;
            while ((b = p.tryAcquire(4096)) != null) {
                held.add(b);
            }
            for (PooledBuffer h : held) {
                h.close();
            }
            PooledBuffer big = p.tryAcquire(1 << 19);
            assertNotNull(big, "after closing everything a 512 KiB buffer must fit the 1 MiB cap: " + p.stats());
            big.close();
        }
    }

    /**
     * DESIGN.md: "bad values → IllegalArgumentException naming them (at the setter or at
     * build())". reserve(Long.MAX_VALUE) is accepted by the setter; build() then overflows
     * rounding it up to pages and blames a maxCommitted(0) that was never set, quoting a
     * negative reservation.
     */
    @Test
    void reserveThatOverflowsWhenRoundedIsRejectedNamingIt() {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class,
                () -> BufferPool.builder().name(name()).reserve(Long.MAX_VALUE).build());
        Messages.assertNamesValue(x, Long.MAX_VALUE);
        assertFalse(x.getMessage().contains("maxCommitted"), "blames a cap that was never set: " + x.getMessage());
        assertFalse(x.getMessage().contains("-9223372036854771712"), "quotes a negative reservation: " + x.getMessage());
    }

    /** "committedBytes: bytes committed in the region now"; close() empties the region. */
    @Test
    void statsAfterCloseReportNothingCommitted() throws Exception {
        BufferPool p = small().build();
        PooledBuffer b = p.acquire(100);
        p.close(); // b still open: reported, detached, and its memory released with the region (which stays reserved)
        b.close();
        BufferPoolStats s = p.stats();
        assertEquals(0, s.committedBytes(), "the region is closed, yet: " + s);
    }

    /**
     * Builder.idleDecay: "positive"; bad values get IllegalArgumentException naming them, at
     * the setter or at build(). A huge positive period is accepted by the setter and then
     * build() fails with an ArithmeticException from Duration.toNanos.
     */
    @Test
    void hugeIdleDecayIsAcceptedOrRejectedCleanly() throws Exception {
        Duration huge = Duration.ofSeconds(Long.MAX_VALUE);
        BufferPool.Builder b = BufferPool.builder().name(name()).reserve(16L << 20).sizeClasses(64, 4096);
        try {
            b.idleDecay(huge);
        } catch (IllegalArgumentException rejectedAtTheSetter) {
            return;
        }
        BufferPool p = assertDoesNotThrow(b::build, "a positive idleDecay accepted by the setter must build");
        p.acquire(64).close();
        p.close();
    }

    /*
     * DESIGN.md (io.slab4j.cache): "Parked memory never starves a waiter"; BufferPool: "While anyone
     * waits, ... parked memory never starves a waiter of another class". In the three tests below
     * all of the committed cap is idle 4 KiB items parked in magazines (the caller's, or an idle
     * live thread's); an acquire of another class, or a large one, still times out.
     */

    @Test
    @Timeout(60)
    void smallWaiterNotStarvedByOtherClassParkedInCallersMagazines() throws Exception {
        try (BufferPool p = BufferPool.builder().name(name()).reserve(16 << 20).maxCommitted(1 << 20)
                .sizeClasses(64, 4096).build()) {
            List<PooledBuffer> held = new ArrayList<>();
            PooledBuffer b;
            while ((b = p.tryAcquire(4096)) != null) {
                held.add(b);
            }
            for (PooledBuffer h : held) {
                h.close();
            }
            PooledBuffer s = p.acquire(64, Duration.ofSeconds(5));
            assertNotNull(s, "64 B acquire starved by idle parked 4 KiB items: " + p.stats());
            s.close();
        }
    }

    @Test
    @Timeout(60)
    void smallWaiterNotStarvedByOtherClassParkedInIdleThread() throws Exception {
        try (BufferPool p = BufferPool.builder().name(name()).reserve(16 << 20).maxCommitted(1 << 20)
                .sizeClasses(64, 4096).build()) {
            CountDownLatch parked = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            CompletableFuture<Object> idle = Background.start("idle", () -> {
                List<PooledBuffer> held = new ArrayList<>();
                PooledBuffer b;
                while ((b = p.tryAcquire(4096)) != null) {
                    held.add(b);
                }
                for (PooledBuffer h : held) {
                    h.close();
                }
                parked.countDown();
                done.await();
                return null;
            });
            assertTrue(parked.await(20, TimeUnit.SECONDS));
            PooledBuffer s = p.acquire(64, Duration.ofSeconds(5));
            assertNotNull(s, "64 B acquire starved by 4 KiB items parked by an idle thread: " + p.stats());
            s.close();
            done.countDown();
            idle.get(20, TimeUnit.SECONDS);
        }
    }

    @Test
    @Timeout(60)
    void largeWaiterNotStarvedByItemsParkedInIdleThread() throws Exception {
        try (BufferPool p = BufferPool.builder().name(name()).reserve(16 << 20).maxCommitted(1 << 20)
                .sizeClasses(64, 4096).build()) {
            CountDownLatch parked = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            CompletableFuture<Object> idle = Background.start("idle", () -> {
                List<PooledBuffer> held = new ArrayList<>();
                PooledBuffer b;
                while ((b = p.tryAcquire(4096)) != null) {
                    held.add(b);
                }
                for (PooledBuffer h : held) {
                    h.close();
                }
                parked.countDown();
                done.await();
                return null;
            });
            assertTrue(parked.await(20, TimeUnit.SECONDS));
            PooledBuffer s = p.acquire(1 << 19, Duration.ofSeconds(5));
            assertNotNull(s, "512 KiB acquire starved by 4 KiB items parked by an idle thread: " + p.stats());
            s.close();
            done.countDown();
            idle.get(20, TimeUnit.SECONDS);
        }
    }

    /**
     * DESIGN.md: "close() unmaps; buffers still open are reported (and their views detached)
     * rather than left pointing at unmapped memory"; PooledBuffer: a view is published only
     * after checking under the Extras monitor that the handle is open. A view made on one
     * thread while another closes the pool can come out attached (capacity 4096) to the
     * unmapped region, even though the maker's thread has been joined after close() returned.
     * (The test only reads capacity(); touching the view would crash the JVM.)
     */
    @Test
    @Timeout(120)
    void viewMadeRacingPoolCloseIsDetachedOrRefused() throws Exception {
        for (int i = 0; i < 1000; i++) {
            BufferPool p = BufferPool.builder().name(name()).reserve(1 << 20).sizeClasses(64, 4096).build();
            PooledBuffer b = p.acquire(4096);
            boolean agrona = (i & 1) == 1;
            CompletableFuture<Object> maker = Background.start("maker", () -> {
                try {
                    return agrona ? b.buffer() : b.byteBuffer();
                } catch (IllegalStateException refused) {
                    return "refused";
                }
            });
            p.close();
            Object v = maker.get(20, TimeUnit.SECONDS);
            if (v instanceof ByteBuffer bb) {
                assertEquals(0, bb.capacity(), "round " + i + ": a ByteBuffer made racing pool close still spans unmapped memory");
            } else if (v instanceof MutableDirectBuffer mb) {
                assertEquals(0, mb.capacity(), "round " + i + ": an Agrona view made racing pool close still spans unmapped memory");
            }
            assertTrue(b.isClosed());
        }
    }
}

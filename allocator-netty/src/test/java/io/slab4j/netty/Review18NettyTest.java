package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.util.IllegalReferenceCountException;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.BufferPoolStats;
import io.slab4j.buffer.LeakDetection;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** Review 18: the Netty adapter over the raw API, large spans, back-pressure, pool close. */
class Review18NettyTest {
    static final int MIB = 1 << 20;
    static final AtomicInteger NAMES = new AtomicInteger();

    static BufferPool pool(String name, long reserve) {
        return BufferPool.builder().name("r18n-" + name + "-" + NAMES.incrementAndGet()).reserve(reserve)
                .leakDetection(LeakDetection.OFF).build();
    }

    static <T> CompletableFuture<T> start(String name, Callable<T> call) {
        return io.slab4j.testing.Background.start(name, call);
    }

    static void fill(ByteBuf b, int from, int to, byte v) {
        for (int i = from; i < to; i += 256) {
            b.setByte(i, v);
        }
    }

    /**
     * Large direct buffers (1, 3 and 40 MiB) grow and shrink across sizes through the raw API;
     * the content survives each move, a second release is Netty's refusal, and the pool ends
     * with nothing in use (docs: "memory goes back to the pool exactly once").
     */
    @Test
    @Timeout(30)
    void largeBuffersGrowShrinkAndReleaseOnce() {
        try (BufferPool p = pool("grow", 256L << 20)) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(p);
            for (int size : new int[] {MIB, 3 * MIB, 40 * MIB}) {
                ByteBuf b = alloc.directBuffer(size, 100 * MIB);
                fill(b, 0, size, (byte) 9);
                b.capacity(size * 2);
                assertEquals(size * 2, b.capacity());
                fill(b, size, size * 2, (byte) 9);
                b.capacity(100);
                b.capacity(size + 4096);
                assertEquals(9, b.getByte(0));
                b.setIndex(0, size);
                b.ensureWritable(size);
                assertEquals(9, b.getByte(0));
                assertEquals(1, p.stats().buffersInUse(), p.stats().toString());
                assertTrue(b.release());
                assertThrows(IllegalReferenceCountException.class, b::release);
                BufferPoolStats s = p.stats();
                assertEquals(0, s.buffersInUse(), s.toString());
                assertEquals(0, s.usedBytes(), s.toString());
                p.checkInvariants();
            }
            p.trim();
            assertEquals(0, p.stats().committedBytes());
        }
    }

    /**
     * Two threads release the last reference at once (many rounds, small and large): one
     * wins, the other gets IllegalReferenceCountException, and the pool's counts stay right.
     */
    @Test
    @Timeout(30)
    void racingReleasesReturnTheMemoryOnce() throws Exception {
        try (BufferPool p = pool("race", 256L << 20)) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(p);
            long end = System.nanoTime() + 2_000_000_000L;
            int round = 0;
            while (System.nanoTime() < end) {
                int size = (round % 3 == 0) ? 3 * MIB : (round % 3 == 1) ? MIB : 512;
                round++;
                ByteBuf b = alloc.directBuffer(size);
                b.retain();
                CyclicBarrier barrier = new CyclicBarrier(2);
                Callable<Boolean> rel = () -> {
                    barrier.await();
                    return b.release();
                };
                CompletableFuture<Boolean> f1 = start("r1", rel);
                CompletableFuture<Boolean> f2 = start("r2", rel);
                boolean r1 = f1.get(5, TimeUnit.SECONDS);
                boolean r2 = f2.get(5, TimeUnit.SECONDS);
                assertTrue(r1 ^ r2, "round " + round);
                BufferPoolStats s = p.stats();
                assertEquals(0, s.buffersInUse(), "round " + round + ": " + s);
                assertEquals(0, s.usedBytes(), "round " + round + ": " + s);
                ByteBuf x = alloc.directBuffer(size);
                ByteBuf y = alloc.directBuffer(size);
                assertNotEquals(x.memoryAddress(), y.memoryAddress());
                x.release();
                y.release();
            }
            p.checkInvariants();
        }
    }

    /**
     * A capacity above what the pool can ever hand out fails at once on any thread, even with a
     * long waitTimeout (docs: "A capacity larger than the pool can ever hand out (above its
     * reservation or committed cap) is treated as the cap: BufferPoolExhaustedException at once
     * on any thread").
     */
    @Test
    @Timeout(30)
    void aCapacityThePoolCanNeverHaveFailsAtOnceEvenWithAWait() {
        try (BufferPool p = BufferPool.builder().name("r18n-never-" + NAMES.incrementAndGet()).reserve(64L << 20)
                .maxCommitted(8L << 20).leakDetection(LeakDetection.OFF).build()) {
            SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(10)).build();
            for (int size : new int[] {16 * MIB, 65 * MIB, Integer.MAX_VALUE - 8}) {
                long t0 = System.nanoTime();
                BufferPoolExhaustedException e = assertThrows(BufferPoolExhaustedException.class, () -> alloc.directBuffer(size),
                        "directBuffer(" + size + ")");
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertTrue(ms < 2000, size + ": took " + ms + " ms");
                assertEquals(size, e.requestedBytes());
                assertFalse(e.onEventLoop());
            }
            ByteBuf b = alloc.directBuffer(MIB, Integer.MAX_VALUE);
            long t0 = System.nanoTime();
            assertThrows(BufferPoolExhaustedException.class, () -> b.capacity(16 * MIB));
            assertTrue(System.nanoTime() - t0 < 2_000_000_000L);
            assertEquals(MIB, b.capacity(), "a failed growth leaves the buffer as it was");
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /**
     * At the cap: an event-loop allocation fails at once (FAIL) or falls back (FALLBACK_UNPOOLED,
     * memory outside the pool); growth never falls back; a shrink stays put without throwing;
     * another thread waits its waitTimeout, is served by a release meanwhile, and an interrupt
     * ends its wait with the same exception, the flag set again.
     */
    @Test
    @Timeout(30)
    void backPressureAtTheCap() throws Exception {
        try (BufferPool p = BufferPool.builder().name("r18n-cap-" + NAMES.incrementAndGet()).reserve(8L << 20)
                .leakDetection(LeakDetection.OFF).build()) {
            SlabByteBufAllocator fail = SlabByteBufAllocator.builder(p).eventLoopThreads(t -> t.getName().startsWith("loop"))
                    .waitTimeout(Duration.ofMillis(300)).build();
            SlabByteBufAllocator fallback = SlabByteBufAllocator.builder(p).eventLoopThreads(t -> t.getName().startsWith("loop"))
                    .eventLoopPolicy(EventLoopPolicy.FALLBACK_UNPOOLED).build();
            List<ByteBuf> filler = new ArrayList<>();
            while (true) {
                try {
                    filler.add(fail.directBuffer(MIB));
                } catch (BufferPoolExhaustedException e) {
                    break;
                }
            }
            assertFalse(filler.isEmpty());
            ByteBuf small = filler.get(0);
            // event loop, FAIL
            String onLoop = start("loop-1", () -> {
                long t0 = System.nanoTime();
                try {
                    fail.directBuffer(MIB).release();
                    return "served";
                } catch (BufferPoolExhaustedException e) {
                    return (e.onEventLoop() ? "loop " : "not-loop ") + ((System.nanoTime() - t0) < 200_000_000L ? "fast" : "slow")
                            + " " + e.waited();
                }
            }).get(5, TimeUnit.SECONDS);
            assertEquals("loop fast PT0S", onLoop);
            // event loop, FALLBACK
            BufferPoolStats before = p.stats();
            String fb = start("loop-2", () -> {
                ByteBuf u = fallback.directBuffer(MIB);
                String r = u.isDirect() + " " + u.capacity();
                u.writeBytes(new byte[1000]);
                // growth of a slab4j buffer on a loop never falls back
                ByteBuf mine = filler.get(1);
                int cap = mine.capacity();
                try {
                    mine.capacity(cap * 2);
                    r += " grew";
                } catch (BufferPoolExhaustedException e) {
                    r += " growth-refused " + (mine.capacity() == cap);
                }
                u.release();
                return r;
            }).get(5, TimeUnit.SECONDS);
            assertEquals("true " + MIB + " growth-refused true", fb);
            assertEquals(before.buffersInUse(), p.stats().buffersInUse(), "the fallback is not pool memory");
            // a shrink at the cap stays put, no exception, content kept
            ByteBuf s = filler.get(2);
            fill(s, 0, 4096, (byte) 4);
            s.setIndex(0, 4096);
            s.capacity(1000);
            for (int i = 0; i < 1000; i += 256) {
                assertEquals(4, s.getByte(i));
            }
            assertTrue(s.capacity() <= MIB);
            // a waiter off the loop, served by a release
            CompletableFuture<String> waiter = start("worker", () -> {
                ByteBuf b = fail.directBuffer(MIB);
                b.release();
                return "served";
            });
            Thread.sleep(100);
            filler.remove(filler.size() - 1).release();
            assertEquals("served", waiter.get(5, TimeUnit.SECONDS));
            filler.add(fail.directBuffer(MIB)); // back to the cap
            // a waiter that times out
            long t0 = System.nanoTime();
            BufferPoolExhaustedException timedOut = assertThrows(BufferPoolExhaustedException.class, () -> fail.directBuffer(MIB));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 250 && ms < 3000, "waited " + ms + " ms");
            assertEquals(Duration.ofMillis(300), timedOut.waited());
            // an interrupt ends the wait with the same exception, flag set again
            SlabByteBufAllocator longWait = SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(10)).build();
            Thread[] th = new Thread[1];
            CompletableFuture<String> intr = start("worker-intr", () -> {
                th[0] = Thread.currentThread();
                try {
                    longWait.directBuffer(MIB).release();
                    return "served";
                } catch (BufferPoolExhaustedException e) {
                    return "exhausted " + Thread.currentThread().isInterrupted();
                }
            });
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (p.stats().waiters() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            th[0].interrupt();
            assertEquals("exhausted true", intr.get(5, TimeUnit.SECONDS));
            assertEquals(0, p.stats().waiters());
            for (ByteBuf b : filler) {
                b.release();
            }
            assertEquals(0, p.stats().buffersInUse(), p.stats().toString());
            p.checkInvariants();
            assertNotNull(small);
        }
    }

    /**
     * The pool closes with buffers open (classes and large spans): their refCnt reads 0, access
     * throws, release does not throw, and a later allocation is refused with an exception.
     */
    @Test
    @Timeout(30)
    void buffersOpenWhenThePoolClosesRefuseAccessAndReleaseQuietly() {
        BufferPool p = pool("close", 256L << 20);
        SlabByteBufAllocator alloc = new SlabByteBufAllocator(p);
        List<ByteBuf> open = new ArrayList<>();
        for (int size : new int[] {64, 4096, 65536, MIB, 3 * MIB, 40 * MIB}) {
            ByteBuf b = alloc.directBuffer(size);
            b.writeLong(42);
            open.add(b);
        }
        ByteBuf retained = open.get(3).retainedSlice();
        p.close();
        for (ByteBuf b : open) {
            assertEquals(0, b.refCnt(), b.toString());
            assertThrows(IllegalReferenceCountException.class, () -> b.getLong(0));
        }
        List<String> threw = new ArrayList<>();
        for (ByteBuf b : open) {
            try {
                b.release();
            } catch (IllegalReferenceCountException e) {
                // Netty's own rule for refCnt 0: acceptable
            } catch (RuntimeException e) {
                threw.add(b.capacity() + ": " + e);
            }
        }
        try {
            retained.release();
        } catch (IllegalReferenceCountException e) {
            // as above
        } catch (RuntimeException e) {
            threw.add("retained slice: " + e);
        }
        assertTrue(threw.isEmpty(), threw.toString());
        assertThrows(RuntimeException.class, () -> alloc.directBuffer(64));
    }

    /** Builder setters reject bad values with IllegalArgumentException (docs: "Setters reject bad values at once"). */
    @Test
    @Timeout(10)
    void builderRejectsBadValues() {
        try (BufferPool p = pool("builder", 16L << 20)) {
            SlabByteBufAllocator.Builder b = SlabByteBufAllocator.builder(p);
            assertThrows(IllegalArgumentException.class, () -> b.waitTimeout(Duration.ofMillis(-1)));
            assertThrows(IllegalArgumentException.class, () -> b.waitTimeout(null));
            assertThrows(IllegalArgumentException.class, () -> b.eventLoopPolicy(null));
            assertThrows(IllegalArgumentException.class, () -> b.eventLoopThreads(null));
            SlabByteBufAllocator a = b.build();
            assertEquals(Duration.ZERO, a.waitTimeout());
            assertThrows(IllegalArgumentException.class, () -> a.directBuffer(-1));
            assertThrows(IllegalArgumentException.class, () -> a.directBuffer(10, 5));
            ByteBuf zero = a.directBuffer(0);
            assertEquals(0, zero.capacity());
            zero.writeBytes(new byte[100]);
            assertEquals(100, zero.readableBytes());
            zero.release();
            assertEquals(0, p.stats().buffersInUse(), p.stats().toString());
        }
    }

    static void gcUntil(java.util.function.BooleanSupplier done, long millis) throws InterruptedException {
        io.slab4j.testing.Await.gcUntil(done, millis);
    }

    /**
     * Pool leak detection ALL: a SlabByteBuf that moved through several pieces of memory
     * (64 B, 1 MiB, 3 MiB, back to 100 B) and was released properly is no leak once collected,
     * and none of its old pieces comes back a second time; one that moved and then leaked is
     * one leak, and its memory comes back once.
     */
    @Test
    @Timeout(30)
    void movedBuffersUnderPoolLeakDetectionAllAreOneLeakOrNone() throws Exception {
        io.netty.util.ResourceLeakDetector.Level level = io.netty.util.ResourceLeakDetector.getLevel();
        io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.DISABLED);
        try (BufferPool p = BufferPool.builder().name("r18n-leak-" + NAMES.incrementAndGet()).reserve(256L << 20)
                .leakDetection(LeakDetection.ALL).build()) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(p);
            moveAndRelease(alloc, true);
            gcUntil(() -> false, 300);
            assertEquals(0, p.stats().leaksDetected(), p.stats().toString());
            assertEquals(0, p.stats().buffersInUse(), p.stats().toString());
            List<ByteBuf> live = new ArrayList<>();
            java.util.Set<Long> seen = new java.util.HashSet<>();
            for (int size : new int[] {64, 64, 100, 100, MIB, MIB, 3 * MIB, 3 * MIB}) {
                ByteBuf b = alloc.directBuffer(size);
                assertTrue(seen.add(b.memoryAddress()), "address handed out twice: " + size);
                live.add(b);
            }
            for (ByteBuf b : live) {
                b.release();
            }
            moveAndRelease(alloc, false); // leaks
            gcUntil(() -> p.stats().leaksDetected() > 0 && p.stats().buffersInUse() == 0, 8000);
            gcUntil(() -> false, 300);
            BufferPoolStats s = p.stats();
            assertEquals(1, s.leaksDetected(), s.toString());
            assertEquals(0, s.buffersInUse(), s.toString());
            assertEquals(0, s.usedBytes(), s.toString());
            p.checkInvariants();
        } finally {
            io.netty.util.ResourceLeakDetector.setLevel(level);
        }
    }

    private static void moveAndRelease(SlabByteBufAllocator alloc, boolean release) {
        ByteBuf b = alloc.directBuffer(64, 16 * MIB);
        b.writeLong(1);
        b.capacity(MIB);
        b.capacity(3 * MIB);
        b.capacity(100);
        assertEquals(1, b.getLong(0));
        if (release) {
            assertTrue(b.release());
        }
    }
}

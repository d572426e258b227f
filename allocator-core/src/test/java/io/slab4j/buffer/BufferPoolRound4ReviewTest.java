package io.slab4j.buffer;

import io.slab4j.testing.Background;
import org.junit.jupiter.api.Test;

import javax.management.MBeanServer;
import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round-4 adversarial review of BufferPool / PooledBuffer through their public API. */
class BufferPoolRound4ReviewTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static BufferPool.Builder small() {
        return BufferPool.builder().name("r4-" + SEQ.incrementAndGet()).reserve(16L << 20);
    }

    private static void awaitWaiters(BufferPool p, int n) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (p.stats().waiters() < n && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        assertEquals(n, p.stats().waiters(), "waiters");
    }

    // ------------------------------------------------ defects (these tests fail until fixed)

    @Test
    void patternCharactersInTheNameFailBuildWithAJmxExceptionInsteadOfAnIllegalArgument() {
        // DESIGN (BufferPool builder): "bad values → IllegalArgumentException naming them (at the setter or at
        // build())"; the MXBean is registered as io.slab4j:type=BufferPool,name=<name>. A name holding ObjectName
        // pattern characters ('*', '?') must be rejected with an IAE naming it, or be quoted and work.
        // Actual: name("star*").build() throws javax.management.RuntimeOperationsException ("cannot add mbean for
        // pattern name io.slab4j:type=BufferPool,name=star*") out of Management.register.
        List<String> wrong = new ArrayList<>();
        for (String name : new String[] {"star*", "what?"}) {
            try {
                BufferPool.builder().name(name).reserve(8L << 20).build().close();
            } catch (IllegalArgumentException e) {
                if (!e.getMessage().contains(name)) {
                    wrong.add(name + " -> IAE not naming it: " + e.getMessage());
                }
            } catch (RuntimeException e) {
                wrong.add(name + " -> " + e);
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void theLargestDocumentedReservationBuildsAndServes() {
        // BufferPool.MAX_RESERVE javadoc: "The largest reservation Builder#reserve accepts: 64 TiB" (2^46, "half of
        // x86-64's user address space"). A pool built with it must work like any other (reserve takes address space
        // only, MAP_NORESERVE). Actual: build() throws IllegalArgumentException from the arena: "size 70368744177664
        // holds 17179869184 quanta of 4096; at most 2147483647 are supported: use a larger quantum" — a quantum the
        // BufferPool builder offers no way to set. Every reserve above 8 TiB (2^31 pages) fails the same way, so
        // reserve()'s own range check [1, 2^46] admits values build() always rejects. (1 TiB works.)
        // Fixed: MAX_RESERVE is now what the arena can number (4 TiB); one byte more is refused at the setter.
        IllegalArgumentException past = assertThrows(IllegalArgumentException.class,
                () -> BufferPool.builder().reserve(BufferPool.MAX_RESERVE + 1));
        assertTrue(past.getMessage().contains(Long.toString(BufferPool.MAX_RESERVE + 1)), past.getMessage());
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (long reserve : new long[] {1L << 40, BufferPool.MAX_RESERVE}) {
                try (BufferPool p = BufferPool.builder().name("r4-max-" + SEQ.incrementAndGet()).reserve(reserve).build()) {
                    assertEquals(reserve, p.stats().reservedBytes());
                    PooledBuffer b = p.tryAcquire(100);
                    assertNotNull(b);
                    b.byteBuffer().putLong(0, 42);
                    b.close();
                    PooledBuffer big = p.tryAcquire(3 << 20);
                    assertNotNull(big);
                    big.close();
                    p.checkInvariants();
                }
            }
        });
    }

    // ------------------------------------------- passes worth keeping (attacks that held)

    @Test
    void aViewMadeWhileThePoolClosesIsDetachedOrRefused() {
        // DESIGN: close() detaches every view it handed out; a view made concurrently with the close must end up
        // detached (zero length) or be refused (IllegalStateException): never a live view onto the unmapped region.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int round = 0; round < 200; round++) {
                BufferPool p = BufferPool.builder().name("r4v-" + SEQ.incrementAndGet()).reserve(8L << 20).sizeClasses(64, 4096).build();
                PooledBuffer b = p.tryAcquire(round % 2 == 0 ? 100 : 1 << 20);
                AtomicReference<Object> view = new AtomicReference<>();
                CountDownLatch go = new CountDownLatch(1);
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                        view.set(b.byteBuffer());
                    } catch (Throwable e) {
                        view.set(e);
                    }
                });
                t.start();
                go.countDown();
                p.close();
                t.join();
                Object v = view.get();
                if (v instanceof ByteBuffer bb) {
                    assertEquals(0, bb.capacity(), "round " + round + ": a view made during close is still live");
                } else {
                    assertInstanceOf(IllegalStateException.class, v, "round " + round);
                }
            }
        });
    }

    /** Runs {@code acquire(size, 5 s)} on another thread once the hog holds the cap, and returns its future. */
    private static CompletableFuture<PooledBuffer> waiter(BufferPool p, int size) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return p.acquire(size, Duration.ofSeconds(5));
            } catch (InterruptedException e) {
                throw new RuntimeException(e);
            }
        }, Background.THREADS);
    }

    @Test
    void aClassWaiterIsServedWhenALargeBufferCloses() {
        // DESIGN: "a blocked acquire is served by whichever comes first, a close of a buffer of its class or space
        // in the arena"; "While anyone waits, closes bypass magazines and caches".
        assertTimeoutPreemptively(Duration.ofSeconds(15), () -> {
            try (BufferPool p = small().maxCommitted(1L << 20).sizeClasses(64, 4096).build()) {
                PooledBuffer all = p.tryAcquire(1 << 20);
                CompletableFuture<PooledBuffer> w = waiter(p, 64);
                awaitWaiters(p, 1);
                all.close();
                PooledBuffer got = w.get(10, TimeUnit.SECONDS);
                assertNotNull(got, "acquire(64) timed out although the 1 MiB buffer came back");
                got.close();
                p.checkInvariants();
            }
        });
    }

    @Test
    void aLargeWaiterIsServedWhenAnotherThreadClosesClassBuffers() {
        // Same contract, the other way round: class buffers closed (from a thread with magazines) while a large
        // acquire waits must reach the arena as idle slabs.
        assertTimeoutPreemptively(Duration.ofSeconds(15), () -> {
            try (BufferPool p = small().maxCommitted(1L << 20).sizeClasses(64, 4096).build()) {
                List<PooledBuffer> held = new ArrayList<>();
                CountDownLatch filled = new CountDownLatch(1);
                CountDownLatch release = new CountDownLatch(1);
                Thread t = new Thread(() -> {
                    PooledBuffer b;
                    while ((b = p.tryAcquire(4096)) != null) {
                        held.add(b);
                    }
                    filled.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    held.forEach(PooledBuffer::close);
                });
                t.start();
                filled.await();
                assertNull(p.tryAcquire(64 << 10));
                CompletableFuture<PooledBuffer> w = waiter(p, 512 << 10);
                awaitWaiters(p, 1);
                release.countDown();
                t.join();
                PooledBuffer got = w.get(10, TimeUnit.SECONDS);
                assertNotNull(got, "acquire(512 KiB) timed out although every class buffer came back");
                got.close();
                p.checkInvariants();
            }
        });
    }

    @Test
    void aClassWaiterIsServedWhenAnotherClassesBuffersClose() {
        assertTimeoutPreemptively(Duration.ofSeconds(15), () -> {
            try (BufferPool p = small().maxCommitted(1L << 20).sizeClasses(64, 4096).build()) {
                List<PooledBuffer> held = new ArrayList<>();
                PooledBuffer b;
                while ((b = p.tryAcquire(4096)) != null) {
                    held.add(b);
                }
                assertNull(p.tryAcquire(64));
                CompletableFuture<PooledBuffer> w = waiter(p, 64);
                awaitWaiters(p, 1);
                held.forEach(PooledBuffer::close);
                PooledBuffer got = w.get(10, TimeUnit.SECONDS);
                assertNotNull(got, "acquire(64) timed out although every 4096-byte buffer came back");
                got.close();
                p.checkInvariants();
            }
        });
    }

    @Test
    void usedBytesIsTheSumOfTheCapacitiesOfOpenBuffers() {
        // DESIGN: usedBytes() = capacity of open buffers; buffersInUse() their count.
        try (BufferPool p = small().sizeClasses(64, 4096).build()) {
            List<PooledBuffer> open = new ArrayList<>();
            long sum = 0;
            for (int size : new int[] {1, 64, 65, 4096, 4097, 5000, 8192, 1 << 20, (1 << 20) + 1}) {
                PooledBuffer b = p.tryAcquire(size);
                assertTrue(b.capacity() >= size);
                assertEquals(b.capacity(), b.byteBuffer().capacity());
                open.add(b);
                sum += b.capacity();
            }
            assertEquals(sum, p.stats().usedBytes());
            assertEquals(open.size(), p.stats().buffersInUse());
            open.forEach(PooledBuffer::close);
            assertEquals(0, p.stats().usedBytes());
            p.checkInvariants();
        }
    }

    @Test
    void aTinyIdleDecayUnderConcurrentTrafficNeverThrowsAndLosesNothing() {
        // Builder.idleDecay: the decay pass runs on acquires (one in 64 reads the clock); a call that accepted its
        // input never throws afterwards; conservation: nothing open at the end, invariants hold.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            try (BufferPool p = small().maxCommitted(4L << 20).idleDecay(Duration.ofNanos(1)).build()) {
                AtomicReference<Throwable> bad = new AtomicReference<>();
                List<Thread> ts = new ArrayList<>();
                for (int k = 0; k < 4; k++) {
                    int kk = k;
                    Thread t = new Thread(() -> {
                        List<PooledBuffer> mine = new ArrayList<>();
                        try {
                            for (int i = 0; i < 3000; i++) {
                                int size = kk == 0 ? (70 << 10) + 4096 * (i % 7) : 16 + (i * 131 + kk * 7) % 65536;
                                PooledBuffer b = p.acquire(size, Duration.ofMillis(1));
                                if (b != null) {
                                    b.byteBuffer().put(0, (byte) i);
                                    mine.add(b);
                                }
                                if (mine.size() > 3 || (b == null && !mine.isEmpty())) {
                                    mine.remove(0).close();
                                }
                            }
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                        } finally {
                            mine.forEach(PooledBuffer::close);
                        }
                    });
                    t.start();
                    ts.add(t);
                }
                for (Thread t : ts) {
                    t.join();
                }
                if (bad.get() != null) {
                    throw new AssertionError(bad.get());
                }
                assertEquals(0, p.stats().buffersInUse());
                assertEquals(0, p.stats().usedBytes());
                p.checkInvariants();
                p.trim();
                p.checkInvariants();
            }
        });
    }

    @Test
    void aCachedLargeSpanMakesRoomForOtherSizesWithoutWaiting() {
        // "sizes above the largest class are page spans ... kept committed and reused"; tryAcquire "null when
        // nothing fits now" — a cached idle span is not "nothing fits": acquire makes room (evicts it) and tries again.
        try (BufferPool p = small().maxCommitted(1L << 20).sizeClasses(64, 4096).build()) {
            p.tryAcquire(1 << 20).close();
            PooledBuffer a = p.tryAcquire(512 << 10);
            assertNotNull(a, "a cached 1 MiB span blocked a 512 KiB one");
            PooledBuffer b = p.tryAcquire(256 << 10);
            assertNotNull(b);
            a.close();
            b.close();
            p.tryAcquire(1 << 20).close();
            PooledBuffer c = p.tryAcquire(64);
            assertNotNull(c, "a cached 1 MiB span blocked a 64-byte class buffer");
            c.close();
            p.checkInvariants();
        }
    }

    @Test
    void viewsOfAClosedHandleAreDetachedAndItsAccessorsThrow() {
        try (BufferPool p = small().build()) {
            for (int size : new int[] {100, 3 << 20}) {
                PooledBuffer b = p.tryAcquire(size);
                ByteBuffer bb = b.byteBuffer();
                org.agrona.MutableDirectBuffer ab = b.buffer();
                b.close();
                b.close();
                assertTrue(b.isClosed());
                assertEquals(0, bb.capacity());
                assertEquals(0, ab.capacity());
                assertThrows(IndexOutOfBoundsException.class, () -> ab.getByte(0));
                assertThrows(IndexOutOfBoundsException.class, () -> bb.get(0));
                assertThrows(IllegalStateException.class, b::byteBuffer);
                assertThrows(IllegalStateException.class, b::buffer);
                assertThrows(IllegalStateException.class, b::address);
            }
            assertEquals(0, p.stats().buffersInUse());
        }
    }

    @Test
    void noBufferIsOwnedTwiceUnderTightCapsTrimAndDecay() {
        // DESIGN invariant 1: no address is owned by two holders at once. Each holder stamps its buffer's first and
        // last 8 bytes, yields, and checks the stamps; trim() and a 1 ns idleDecay run meanwhile.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            try (BufferPool p = small().maxCommitted(2L << 20).sizeClasses(64, 512, 4096, 32768).idleDecay(Duration.ofNanos(1)).build()) {
                AtomicReference<Throwable> bad = new AtomicReference<>();
                java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
                List<Thread> ts = new ArrayList<>();
                for (int k = 0; k < 4; k++) {
                    int kk = k;
                    Thread t = new Thread(() -> {
                        try {
                            for (int i = 0; i < 4000 && bad.get() == null; i++) {
                                int size = switch ((i + kk) % 5) {
                                    case 0 -> 64;
                                    case 1 -> 500;
                                    case 2 -> 4096;
                                    case 3 -> 30000;
                                    default -> 40000 + 4096 * (i % 30);
                                };
                                PooledBuffer b = p.acquire(size, Duration.ofMillis(50));
                                if (b == null) {
                                    continue;
                                }
                                ByteBuffer bb = b.byteBuffer();
                                long stamp = ((long) kk << 40) | i;
                                bb.putLong(0, stamp);
                                bb.putLong(bb.capacity() - 8, stamp);
                                Thread.yield();
                                if (bb.getLong(0) != stamp || bb.getLong(bb.capacity() - 8) != stamp) {
                                    throw new AssertionError("buffer at " + b.address() + " (" + b.capacity() + " bytes) written by another holder");
                                }
                                b.close();
                            }
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                        }
                    });
                    t.start();
                    ts.add(t);
                }
                Thread trimmer = new Thread(() -> {
                    while (!stop.get()) {
                        p.trim();
                        Thread.yield();
                    }
                });
                trimmer.start();
                for (Thread t : ts) {
                    t.join();
                }
                stop.set(true);
                trimmer.join();
                if (bad.get() != null) {
                    throw new AssertionError(bad.get());
                }
                assertEquals(0, p.stats().buffersInUse());
                p.checkInvariants();
            }
        });
    }

    @Test
    void theBuilderIsUnchangedByARejectedSetterAndByLaterMutationOfItsArguments() {
        // Builder: "Setters reject bad values at once ... and leave the builder unchanged"; build "never changes
        // the builder". The size-class array a caller passed and validated must not be re-read later.
        int[] classes = {64, 4096};
        BufferPool.Builder b = BufferPool.builder().reserve(8L << 20).sizeClasses(classes);
        classes[0] = 8192; // now not ascending: must not reach the pool
        assertThrows(IllegalArgumentException.class, () -> b.reserve(-1));
        assertThrows(IllegalArgumentException.class, () -> b.sizeClasses(5, 4));
        try (BufferPool p = b.name("r4-" + SEQ.incrementAndGet()).build()) {
            assertEquals(8L << 20, p.stats().reservedBytes());
            assertEquals(List.of(64, 4096), java.util.Arrays.stream(p.sizeClasses()).boxed().toList());
            p.sizeClasses()[0] = 1;
            assertEquals(64, p.sizeClasses()[0]);
            PooledBuffer x = p.tryAcquire(100);
            assertEquals(4096, x.capacity());
            x.close();
            p.checkInvariants();
        }
        try (BufferPool q = b.name("r4-" + SEQ.incrementAndGet()).build()) {
            assertEquals(8L << 20, q.stats().reservedBytes());
        }
    }

    @Test
    void aLeakedHandleWhoseViewIsStillHeldNeverExposesTheNextHoldersBytes() {
        // DESIGN: leaked buffers are reported and "its memory goes back to the pool"; "a stale view throws instead
        // of touching the next holder's bytes". A user who drops the handle but keeps its ByteBuffer must not end up
        // with a live view onto memory the pool hands to someone else: either the view keeps the handle reachable
        // (no leak reported), or the leak path detaches it before the memory goes back.
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (int size : new int[] {4096, 1 << 20}) {
                try (BufferPool p = small().leakDetection(LeakDetection.ALL).magazines(false).sizeClasses(64, 4096).build()) {
                    ByteBuffer kept = keepOnlyTheView(p, size);
                    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
                    while (p.stats().leaksDetected() == 0 && System.nanoTime() < end) {
                        System.gc();
                        Thread.sleep(20);
                    }
                    if (p.stats().leaksDetected() > 0) {
                        assertEquals(0, kept.capacity(), "size " + size + ": a leak was reported (memory back in the pool) but the"
                                + " view still spans " + kept.capacity() + " bytes");
                    }
                }
            }
        });
    }

    private static ByteBuffer keepOnlyTheView(BufferPool p, int size) {
        return p.tryAcquire(size).byteBuffer();
    }

    @Test
    void everyClassOfAPoolThatBuiltCanServeFromAnEmptyPool() {
        // build(): IAE when "a slab of the largest class does not fit" the cap. A pool that built must be able to serve
        // each of its classes when empty; else acquire(size) of that class waits forever ("nothing hangs").
        int[] classes = {48, 1000, 3000, 4096, 5000, 12288, 20000};
        List<String> wrong = new ArrayList<>();
        for (long cap = 4096; cap <= 256 << 10; cap += 4096) {
            BufferPool p;
            try {
                p = small().maxCommitted(cap).sizeClasses(classes).build();
            } catch (IllegalArgumentException tooSmall) {
                continue;
            }
            try (p) {
                for (int c : classes) {
                    PooledBuffer b = p.tryAcquire(c);
                    if (b == null) {
                        wrong.add("cap " + cap + ": class " + c);
                    } else {
                        b.close();
                        p.trim();
                    }
                }
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void otherObjectNameMetacharactersInTheNameAreRejectedOrQuoted() throws InterruptedException {
        for (String name : new String[] {"a,b=c", "x:y", "q\"uote", "new\nline"}) {
            BufferPool p;
            try {
                p = BufferPool.builder().name(name).reserve(8L << 20).build();
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().contains(name), e.getMessage());
                continue;
            }
            try {
                PooledBuffer b = p.acquire(64, Duration.ZERO);
                assertNotNull(b);
                b.close();
            } finally {
                p.close();
            }
            BufferPool.builder().name(name).reserve(8L << 20).build().close(); // the name is free again
        }
    }

    @Test
    void aHugeTimeoutIsServedByAClose() {
        // acquire(size, timeout): waits up to timeout; Duration.ofSeconds(Long.MAX_VALUE) is "forever", not an error.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try (BufferPool p = small().maxCommitted(1L << 20).sizeClasses(64, 4096).magazines(false).build()) {
                List<PooledBuffer> held = new ArrayList<>();
                PooledBuffer b;
                while ((b = p.tryAcquire(1 << 20)) != null || held.isEmpty()) {
                    if (b != null) {
                        held.add(b);
                    } else {
                        break;
                    }
                }
                assertNull(p.tryAcquire(1 << 20));
                CompletableFuture<PooledBuffer> w = CompletableFuture.supplyAsync(() -> {
                    try {
                        return p.acquire(1 << 20, Duration.ofSeconds(Long.MAX_VALUE));
                    } catch (InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                }, Background.THREADS);
                awaitWaiters(p, 1);
                held.remove(0).close();
                PooledBuffer got = w.get(5, TimeUnit.SECONDS);
                assertNotNull(got);
                got.close();
                held.forEach(PooledBuffer::close);
                p.checkInvariants();
            }
        });
    }

    @Test
    void closingThePoolWakesABlockedAcquireWithIllegalState() {
        // close(): "wakes blocked acquires (they throw IllegalStateException)".
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            BufferPool p = small().maxCommitted(1L << 20).sizeClasses(64, 4096).build();
            PooledBuffer all = p.tryAcquire(1 << 20);
            assertNotNull(all);
            CompletableFuture<PooledBuffer> small = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.acquire(64);
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }, Background.THREADS);
            CompletableFuture<PooledBuffer> large = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.acquire(1 << 20);
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }, Background.THREADS);
            awaitWaiters(p, 2);
            p.close();
            for (CompletableFuture<PooledBuffer> f : List.of(small, large)) {
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(5, TimeUnit.SECONDS));
                assertInstanceOf(IllegalStateException.class, e.getCause());
            }
            all.close(); // after pool close: does nothing, never throws
            assertTrue(all.isClosed());
        });
    }

    @Test
    void viewsAndAccessorsOfABufferOpenAtPoolCloseAreDetached() {
        // DESIGN: close() detaches the views (zero length) and accessors of a closed handle throw ISE.
        BufferPool p = small().build();
        PooledBuffer b = p.tryAcquire(100);
        PooledBuffer big = p.tryAcquire(3 << 20);
        ByteBuffer bb = b.byteBuffer();
        ByteBuffer bigBb = big.byteBuffer();
        p.close();
        assertEquals(0, bb.capacity());
        assertEquals(0, bigBb.capacity());
        assertThrows(IndexOutOfBoundsException.class, () -> bb.get(0));
        assertThrows(IllegalStateException.class, b::byteBuffer);
        assertThrows(IllegalStateException.class, big::byteBuffer);
        assertThrows(IllegalStateException.class, b::address);
        assertThrows(IllegalStateException.class, b::capacity);
        assertTrue(b.isClosed());
        b.close();
        big.close();
        assertThrows(IllegalStateException.class, () -> p.tryAcquire(1));
        assertThrows(IllegalStateException.class, () -> p.acquire(1, Duration.ofSeconds(1)));
        assertThrows(IllegalStateException.class, p::trim);
        assertEquals(0, p.stats().committedBytes());
        p.close();
    }

    @Test
    void aSizeUpToTheReservationIsAcceptedAndOneBeyondIsRejected() {
        // DESIGN: "Size ≤ 0 or beyond the reservation → IllegalArgumentException"; so a size equal to the
        // (empty) reservation is accepted and, with nothing else out, served.
        try (BufferPool p = BufferPool.builder().name("r4-" + SEQ.incrementAndGet()).reserve(8L << 20)
                .sizeClasses(64, 4096).build()) {
            PooledBuffer b = p.tryAcquire(8 << 20);
            assertNotNull(b, "the whole (empty) reservation as one buffer");
            assertTrue(b.capacity() >= 8 << 20);
            b.close();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.tryAcquire((8 << 20) + 1));
            assertTrue(e.getMessage().contains(Integer.toString((8 << 20) + 1)), e.getMessage());
            for (int bad : new int[] {0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
                IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> p.tryAcquire(bad));
                assertTrue(e2.getMessage().contains(Integer.toString(bad)), e2.getMessage());
                assertThrows(IllegalArgumentException.class, () -> p.acquire(bad, Duration.ofNanos(1)));
            }
            assertThrows(NullPointerException.class, () -> p.acquire(1, null));
            p.checkInvariants();
            assertEquals(0, p.stats().buffersInUse());
        }
    }

    @Test
    void sizesAboveTheCommittedCapAreRejectedInsteadOfWaitingForever() {
        // "nothing hangs": a size that the committed cap can never hold must not block acquire() forever.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try (BufferPool p = small().maxCommitted(1L << 20).sizeClasses(64, 4096).build()) {
                assertThrows(IllegalArgumentException.class, () -> p.acquire((1 << 20) + 1));
                assertThrows(IllegalArgumentException.class, () -> p.acquire(2 << 20));
            }
        });
    }

    @Test
    void oneNanosecondTimeoutReturnsNullAndLeavesNoWaiter() throws InterruptedException {
        try (BufferPool p = small().maxCommitted(1L << 20).sizeClasses(64, 4096).build()) {
            PooledBuffer all = p.tryAcquire(1 << 20);
            assertNotNull(all);
            assertNull(p.acquire(1 << 20, Duration.ofNanos(1)));
            assertNull(p.acquire(64, Duration.ofNanos(1)));
            assertNull(p.acquire(64, Duration.ofNanos(-1)));
            assertNull(p.acquire(64, Duration.ofSeconds(Long.MIN_VALUE)));
            assertEquals(0, p.stats().waiters());
            all.close();
            p.checkInvariants();
        }
    }

    @Test
    void interruptWhileBlockedLosesNothing() {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try (BufferPool p = small().maxCommitted(1L << 20).sizeClasses(64, 4096).build()) {
                PooledBuffer all = p.tryAcquire(1 << 20);
                AtomicReference<Throwable> got = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        PooledBuffer b = p.acquire(64);
                        b.close();
                        got.set(new AssertionError("served"));
                    } catch (Throwable e) {
                        got.set(e);
                    }
                });
                t.start();
                awaitWaiters(p, 1);
                t.interrupt();
                t.join();
                assertInstanceOf(InterruptedException.class, got.get());
                assertEquals(0, p.stats().waiters());
                all.close();
                assertEquals(0, p.stats().buffersInUse());
                p.trim();
                p.checkInvariants();
                PooledBuffer again = p.tryAcquire(1 << 20);
                assertNotNull(again);
                again.close();
            }
        });
    }

    @Test
    void poolCloseRacingAcquireAndCloseFromManyThreadsOnlyThrowsIllegalState() {
        // acquire after close → ISE; PooledBuffer.close "never throws once the buffer was open". No other
        // exception may escape any call while the pool closes under the traffic.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int round = 0; round < 15; round++) {
                BufferPool p = small().maxCommitted(2L << 20).leakDetection(LeakDetection.OFF).build();
                CountDownLatch go = new CountDownLatch(1);
                AtomicReference<Throwable> bad = new AtomicReference<>();
                List<Thread> ts = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int k = t;
                    Thread th = new Thread(() -> {
                        List<PooledBuffer> mine = new ArrayList<>();
                        try {
                            go.await();
                            for (int i = 0; i < 2000; i++) {
                                int size = (k == 3) ? (64 << 10) + 4096 * (i % 8) : 16 + (i * 37 + k) % 60000;
                                PooledBuffer b = (i & 1) == 0 ? p.tryAcquire(size) : p.acquire(size, Duration.ofMillis(2));
                                if (b != null) {
                                    b.byteBuffer();
                                    mine.add(b);
                                }
                                if (mine.size() > 4 || (b == null && !mine.isEmpty())) {
                                    mine.remove(0).close();
                                }
                                if (i % 97 == 0) {
                                    p.stats();
                                }
                            }
                        } catch (IllegalStateException closed) {
                            // the pool closed: expected
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                        } finally {
                            try {
                                mine.forEach(PooledBuffer::close);
                            } catch (Throwable e) {
                                bad.compareAndSet(null, e);
                            }
                        }
                    });
                    th.start();
                    ts.add(th);
                }
                go.countDown();
                Thread.sleep(1 + round % 5);
                p.close();
                for (Thread th : ts) {
                    th.join();
                }
                if (bad.get() != null) {
                    throw new AssertionError("round " + round, bad.get());
                }
            }
        });
    }

    @Test
    void trimRacingPoolCloseOnlyThrowsIllegalState() {
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            for (int round = 0; round < 30; round++) {
                BufferPool p = small().build();
                for (int i = 0; i < 50; i++) {
                    p.tryAcquire(64 + i * 100).close();
                }
                p.tryAcquire(2 << 20).close();
                AtomicReference<Throwable> bad = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        for (int i = 0; i < 100; i++) {
                            p.trim();
                            p.stats();
                        }
                    } catch (IllegalStateException closed) {
                        // expected
                    } catch (Throwable e) {
                        bad.set(e);
                    }
                });
                t.start();
                Thread.yield();
                p.close();
                t.join();
                if (bad.get() != null) {
                    throw new AssertionError("round " + round, bad.get());
                }
            }
        });
    }

    @Test
    void trimAfterAnExitedThreadsTrafficReturnsAllCommittedMemory() throws Exception {
        // trim(): "returns idle memory now (magazines of idle threads, idle slabs above low water)"; README:
        // resident memory falls back to 0 after a burst. Expected committedBytes 0 after trim when nothing is open.
        try (BufferPool p = small().build()) {
            Thread t = new Thread(() -> {
                List<PooledBuffer> l = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    l.add(p.tryAcquire(16 + (i * 211) % 70000));
                }
                l.forEach(PooledBuffer::close);
            });
            t.start();
            t.join();
            assertEquals(0, p.stats().buffersInUse());
            p.trim();
            assertEquals(0, p.stats().committedBytes(), p.stats().toString());
            p.checkInvariants();
        }
    }

    @Test
    void leakedBufferUnderAllIsReportedAndItsMemoryComesBack() throws Exception {
        assertTimeoutPreemptively(Duration.ofSeconds(15), () -> {
            try (BufferPool p = small().leakDetection(LeakDetection.ALL).build()) {
                leak(p, 100);
                leak(p, 2 << 20);
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while ((p.stats().leaksDetected() < 2 || p.stats().buffersInUse() > 0) && System.nanoTime() < end) {
                    System.gc();
                    Thread.sleep(20);
                    p.tryAcquire(64).close(); // some pools process leak reports on calls
                }
                assertEquals(2, p.stats().leaksDetected());
                assertEquals(0, p.stats().buffersInUse());
                p.checkInvariants();
            }
        });
    }

    private static void leak(BufferPool p, int size) {
        p.tryAcquire(size).byteBuffer().put(0, (byte) 1);
    }
}

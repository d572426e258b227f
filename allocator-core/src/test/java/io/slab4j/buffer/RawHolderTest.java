package io.slab4j.buffer;

import io.slab4j.nativemem.VirtualRegion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The raw API ({@link RawHolder}, {@link BufferPool#tryAcquireRaw}, {@link BufferPool#acquireRaw},
 * {@link BufferPool#releaseRaw}, {@link BufferPool#rawView}): memory without a handle, counted,
 * zeroed, watched and refused exactly as a handle's, and bad input refused with the pool unchanged.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RawHolderTest {
    private static final int PAGE = VirtualRegion.pageSize();

    /** A holder that records what it was given, and counts the calls; what it was given is volatile, as other threads read it. */
    static final class Box implements RawHolder {
        volatile long address;
        volatile int capacity;
        volatile Object token;
        int calls;

        @Override
        public void hold(long address, int capacity, Object token) {
            this.address = address;
            this.capacity = capacity;
            this.token = token;
            calls++;
        }

        void release(BufferPool pool) {
            pool.releaseRaw(this, token, address);
        }
    }

    private static BufferPool.Builder pool(String name) {
        return BufferPool.builder().name("raw-" + name).reserve(64L << 20).leakDetection(LeakDetection.OFF);
    }

    @Test
    void everyClassBoundaryAndLargeSpansHoldTheCapacityAHandleWouldHave() {
        try (BufferPool p = pool("bounds").build()) {
            List<Integer> sizes = new ArrayList<>();
            for (int s : p.sizeClasses()) {
                sizes.add(s - 1);
                sizes.add(s);
                sizes.add(s + 1);
            }
            sizes.add(1);
            sizes.add(1 << 20);
            sizes.add(3 * PAGE + 1);
            for (int size : sizes) {
                if (size <= 0) {
                    continue;
                }
                int expected;
                try (PooledBuffer h = p.tryAcquire(size)) {
                    expected = h.capacity();
                }
                Box b = new Box();
                assertTrue(p.tryAcquireRaw(size, b), "size " + size);
                assertEquals(1, b.calls, "hold runs once");
                assertEquals(expected, b.capacity, "size " + size + ": the capacity a handle gets");
                assertEquals(0, b.address % 16, "aligned");
                assertEquals(1, p.stats().buffersInUse(), "counted in use, size " + size);
                ByteBuffer v = p.rawView(b, b.token, b.address);
                assertEquals(b.capacity, v.capacity());
                assertEquals(0, v.position());
                v.put(b.capacity - 1, (byte) 7);
                assertEquals(7, p.rawView(b, b.token, b.address).get(b.capacity - 1), "a second view sees the same memory");
                assertThrows(IndexOutOfBoundsException.class, () -> v.get(b.capacity));
                b.release(p);
                assertEquals(0, p.stats().buffersInUse(), "size " + size + ": back");
                p.checkInvariants();
            }
        }
    }

    @Test
    void badInputIsRefusedAndLeavesThePoolAsItWas() {
        try (BufferPool p = pool("bad").build(); BufferPool other = pool("other").build()) {
            Box b = new Box();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.tryAcquireRaw(64, null));
            assertTrue(e.getMessage().contains("tryAcquireRaw(size, null)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> p.acquireRaw(64, Duration.ofMillis(1), null));
            assertTrue(e.getMessage().contains("acquireRaw(size, timeout, null)"), e.getMessage());
            assertThrows(NullPointerException.class, () -> p.acquireRaw(64, null, b));
            assertThrows(IllegalArgumentException.class, () -> p.tryAcquireRaw(0, b));
            assertThrows(IllegalArgumentException.class, () -> p.tryAcquireRaw(-5, b));
            assertThrows(IllegalArgumentException.class, () -> p.tryAcquireRaw(Integer.MAX_VALUE, b));
            assertEquals(0, b.calls);

            Box foreign = new Box();
            assertTrue(other.tryAcquireRaw(64, foreign));
            assertTrue(p.tryAcquireRaw(64, b));
            e = assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(foreign, foreign.token, foreign.address));
            assertTrue(e.getMessage().contains("is not a token of buffer pool 'raw-bad'"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(b, "a string", b.address));
            assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(b, null, b.address));
            e = assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(b, b.token, foreign.address));
            assertTrue(e.getMessage().contains("not inside buffer pool 'raw-bad'"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(b, b.token, 0));
            assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(b, b.token, -16));
            e = assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(null, b.token, b.address));
            assertTrue(e.getMessage().contains("releaseRaw(null, token, address)"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> p.rawView(foreign, foreign.token, foreign.address));
            e = assertThrows(IllegalArgumentException.class, () -> p.rawView(null, b.token, b.address));
            assertTrue(e.getMessage().contains("rawView(null, token, address)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> p.rawView(b, b.token, foreign.address));
            assertTrue(e.getMessage().contains("not inside buffer pool 'raw-bad'"), e.getMessage());
            assertEquals(1, p.stats().buffersInUse(), "nothing was released by the refused calls");
            assertEquals(1, other.stats().buffersInUse());
            p.checkInvariants();
            other.checkInvariants();
            b.release(p);
            foreign.release(other);
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, other.stats().buffersInUse());
        }
    }

    /**
     * An address inside an item, or an item free in the pool, is no item that is out: refused
     * before it reaches a thread's hot slot or magazine (review 15: {@code address + 8} was
     * parked there, the next acquire handed it out overlapping its neighbour, and the pool's
     * close threw). Classes of power-of-two and other strides, magazines on and off; a large
     * span off its page boundary too.
     */
    @Test
    void anAddressThatIsNoItemThatIsOutIsRefusedAndTheItemCanStillBeReleased() {
        for (boolean magazines : new boolean[] {true, false}) {
            for (int size : new int[] {64, 160, 4096, 5120, 1 << 20}) {
                try (BufferPool p = pool("no-item-" + size + "-" + magazines).magazines(magazines).build()) {
                    Box b = new Box();
                    assertTrue(p.tryAcquireRaw(size, b));
                    long inside = size < 1 << 20 ? b.address + b.capacity / 2 : b.address + PAGE + 8; // a large span's interior page passes: documented
                    for (long wrong : new long[] {b.address + 8, b.address + 16, inside}) {
                        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                                () -> p.releaseRaw(b, b.token, wrong), "size " + size + ", " + Long.toHexString(wrong));
                        assertTrue(e.getMessage().contains("not the start of"), e.getMessage());
                        assertTrue(e.getMessage().contains(Long.toHexString(wrong)), e.getMessage());
                        assertThrows(IllegalArgumentException.class, () -> p.rawView(b, b.token, wrong));
                    }
                    if (!magazines && size < 1 << 20) {
                        // the next item of the slab was never handed out: free in the pool
                        long free = b.address + b.capacity;
                        assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(b, b.token, free));
                    }
                    assertEquals(1, p.stats().buffersInUse(), "nothing was released by the refused calls");
                    p.checkInvariants();
                    b.release(p);
                    assertEquals(0, p.stats().buffersInUse());
                    p.checkInvariants();
                    Box next = new Box();
                    assertTrue(p.tryAcquireRaw(size, next));
                    assertEquals(b.address, next.address, "the item itself comes back, not an address inside it");
                    next.release(p);
                }
            }
        }
    }

    @Test
    void aHolderThatThrowsOwnsNothingAndTheMemoryGoesBack() {
        for (int size : new int[] {64, 4096, 1 << 20}) {
            try (BufferPool p = pool("throws-" + size).leakDetection(LeakDetection.ALL).build()) {
                RawHolder bad = (a, c, t) -> {
                    throw new IllegalStateException("no thanks");
                };
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.tryAcquireRaw(size, bad));
                assertEquals("no thanks", e.getMessage());
                assertEquals(0, p.stats().buffersInUse(), "size " + size + ": the memory went back");
                assertEquals(0, p.rawLargeMarks(), "size " + size + ": the span's raw mark went with it");
                p.checkInvariants();
                Box b = new Box();
                assertTrue(p.tryAcquireRaw(size, b), "the pool still hands out");
                b.release(p);
                System.gc();
                assertEquals(0, p.stats().leaksDetected(), "the thrower's watch was disarmed");
            }
        }
    }

    /**
     * A large raw span is given back once: a second release while the pool keeps the span for
     * reuse (parked, then cached), or after a handle or another size took its memory, is
     * refused and changes nothing; so is its view.
     */
    @Test
    void aLargeRawSpanIsGivenBackOnceWhateverTheMemoryDoesNext() {
        int mib = 1 << 20;
        try (BufferPool p = pool("large-once").build()) {
            Box b = new Box();
            assertTrue(p.tryAcquireRaw(mib, b));
            b.release(p);
            BufferPoolStats parked = p.stats();
            assertEquals(mib, parked.cachedLargeBytes(), "the span is kept for reuse (parked)");
            assertThrows(IllegalArgumentException.class, () -> b.release(p), "a second release of a parked span");
            assertThrows(IllegalArgumentException.class, () -> p.rawView(b, b.token, b.address), "the view of a parked span");
            assertEquals(parked, p.stats(), "the refusal changed nothing");
            Box other = new Box();
            assertTrue(p.tryAcquireRaw(mib, other));
            assertEquals(b.address, other.address, "the parked span went to the next raw holder");
            Box third = new Box();
            assertTrue(p.tryAcquireRaw(mib, third));
            third.release(p);
            other.release(p); // two closes: one parks, one goes to the stripe's cache
            assertThrows(IllegalArgumentException.class, () -> other.release(p), "a second release of a cached span");
            try (PooledBuffer handle = p.tryAcquire(mib)) {
                long at = handle.address();
                Box stale = at == other.address ? other : third;
                assertEquals(at, stale.address, "the handle reuses one of the two spans");
                BufferPoolStats held = p.stats();
                assertThrows(IllegalArgumentException.class, () -> stale.release(p), "a stale release of a handle's span");
                assertEquals(held, p.stats());
                p.checkInvariants();
            }
            p.trim();
            Box half = new Box();
            assertTrue(p.tryAcquireRaw(mib / 2, half));
            assertThrows(IllegalArgumentException.class, () -> b.release(p), "a stale release after trim");
            assertEquals(1, p.rawLargeMarks(), "one raw span out, one mark");
            half.release(p);
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, p.rawLargeMarks());
            p.checkInvariants();
        }
    }

    @Test
    void afterCloseAcquiresRefuseAndReleasesAndViewsBehaveAsForHandles() {
        BufferPool p = pool("closed").build();
        Box b = new Box();
        assertTrue(p.tryAcquireRaw(64, b));
        Box big = new Box();
        assertTrue(p.tryAcquireRaw(1 << 20, big));
        p.close();
        Box late = new Box();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.tryAcquireRaw(64, late));
        assertTrue(e.getMessage().contains("tryAcquireRaw: buffer pool 'raw-closed' is closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> p.acquireRaw(64, Duration.ofMillis(5), late));
        assertEquals(0, late.calls);
        assertThrows(IllegalStateException.class, () -> p.rawView(b, b.token, b.address));
        b.release(p); // never throws once held
        big.release(p);
    }

    @Test
    void aZeroingPoolNeverShowsAPreviousHoldersBytes() {
        try (BufferPool p = pool("zero").zeroOnAcquire(true).build()) {
            for (int size : new int[] {16, 64, 4096, 65536, 3 * PAGE}) {
                for (int round = 0; round < 3; round++) {
                    Box b = new Box();
                    assertTrue(p.tryAcquireRaw(size, b));
                    ByteBuffer v = p.rawView(b, b.token, b.address);
                    for (int i = 0; i < b.capacity; i++) {
                        assertEquals(0, v.get(i), "size " + size + ", round " + round + ", byte " + i);
                    }
                    for (int i = 0; i < b.capacity; i++) {
                        v.put(i, (byte) 0x5a);
                    }
                    b.release(p);
                }
            }
        }
    }

    @Test
    void anUnreachableWatchedHolderIsReportedAndItsMemoryComesBack() throws InterruptedException {
        try (BufferPool p = pool("leak").leakDetection(LeakDetection.ALL).build()) {
            WeakReference<Box> small = leakOne(p, 64);
            WeakReference<Box> twoPages = leakOne(p, 2 * PAGE);
            WeakReference<Box> large = leakOne(p, 1 << 20); // above the largest class: a marked raw span
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while ((p.stats().leaksDetected() < 3 || p.stats().buffersInUse() > 0) && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(10);
            }
            assertNull(small.get());
            assertNull(twoPages.get());
            assertNull(large.get());
            assertEquals(3, p.stats().leaksDetected());
            assertEquals(0, p.stats().buffersInUse(), "the three leaked buffers came back");
            assertEquals(0, p.rawLargeMarks(), "the leaked large span's raw mark went with it");
            p.checkInvariants();

            Box kept = new Box();
            assertTrue(p.tryAcquireRaw(64, kept));
            kept.release(p);
            kept = null;
            for (int i = 0; i < 5; i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertEquals(3, p.stats().leaksDetected(), "a released holder is no leak");
            assertEquals(0, p.stats().buffersInUse(), "and its memory went back once");
        }
    }

    private static WeakReference<Box> leakOne(BufferPool p, int size) {
        Box b = new Box();
        assertTrue(p.tryAcquireRaw(size, b));
        assertTrue(b.token instanceof BufferPool.RawWatch, "ALL watches every acquire");
        return new WeakReference<>(b);
    }

    @Test
    void aBlockedRawAcquireIsServedByARawReleaseAndTimesOutCleanly() throws Exception {
        try (BufferPool p = BufferPool.builder().name("raw-wait").reserve(4L << 20).leakDetection(LeakDetection.OFF).build()) {
            List<Box> hog = new ArrayList<>();
            while (true) {
                Box b = new Box();
                if (!p.tryAcquireRaw(1 << 20, b)) {
                    break;
                }
                hog.add(b);
            }
            assertFalse(hog.isEmpty());
            Box timedOut = new Box();
            assertFalse(p.acquireRaw(1 << 20, Duration.ofMillis(50), timedOut), "nobody released: the timeout's false");
            assertEquals(0, timedOut.calls);

            Box waiter = new Box();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            Thread t = new Thread(() -> {
                started.countDown();
                try {
                    assertTrue(p.acquireRaw(1 << 20, Duration.ofSeconds(30), waiter));
                } catch (Throwable e) {
                    failed.set(e);
                }
            });
            t.start();
            started.await();
            while (p.stats().waiters() == 0) {
                Thread.onSpinWait();
            }
            Box first = hog.remove(0);
            long freed = first.address;
            first.release(p);
            t.join();
            assertNull(failed.get());
            assertEquals(1, waiter.calls);
            assertEquals(freed, waiter.address, "the waiter got the span that came back");
            waiter.release(p);
            hog.forEach(b -> b.release(p));
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /**
     * Threads mix raw holders and handles of several sizes and release a third of them on
     * another thread: every address has one owner at a time (a holder stamps it, the map says
     * who holds it), and nothing is lost.
     */
    @Test
    void conservationWithHandlesRawHoldersAndCrossThreadReleases() throws Exception {
        int threads = 4;
        int rounds = Boolean.getBoolean("slab4j.skipStress") ? 2_000 : 20_000;
        int[] sizes = {48, 64, 1024, 4096, 65536, 2 * PAGE};
        try (BufferPool p = pool("stress").leakDetection(LeakDetection.SAMPLED).build()) {
            ConcurrentHashMap<Long, Integer> owner = new ConcurrentHashMap<>();
            java.util.concurrent.LinkedBlockingQueue<Box> handOff = new java.util.concurrent.LinkedBlockingQueue<>();
            AtomicInteger errors = new AtomicInteger();
            AtomicReference<String> firstError = new AtomicReference<>();
            List<Thread> ts = new ArrayList<>();
            for (int id = 0; id < threads; id++) {
                int me = id;
                ts.add(new Thread(() -> {
                    java.util.Random rnd = new java.util.Random(me);
                    for (int i = 0; i < rounds; i++) {
                        int size = sizes[rnd.nextInt(sizes.length)];
                        Box b = new Box();
                        if (!p.tryAcquireRaw(size, b)) {
                            continue;
                        }
                        Integer was = owner.putIfAbsent(b.address, me);
                        if (was != null) {
                            errors.incrementAndGet();
                            firstError.compareAndSet(null, "address held twice: " + b.address + " by " + was + " and " + me);
                        }
                        ByteBuffer v = p.rawView(b, b.token, b.address);
                        v.put(0, (byte) me);
                        v.put(b.capacity - 1, (byte) me);
                        if (rnd.nextInt(3) == 0) {
                            handOff.add(b);
                        } else {
                            release(p, owner, b, me, errors, firstError);
                        }
                        Box other = handOff.poll();
                        if (other != null) {
                            release(p, owner, other, owner.getOrDefault(other.address, -1), errors, firstError);
                        }
                        if (i % 1000 == 0) {
                            try (PooledBuffer h = p.tryAcquire(size)) {
                                if (h != null && owner.containsKey(h.address())) {
                                    errors.incrementAndGet();
                                    firstError.compareAndSet(null, "a handle got a held address " + h.address());
                                }
                            }
                        }
                    }
                }));
            }
            ts.forEach(Thread::start);
            for (Thread t : ts) {
                t.join();
            }
            Box rest;
            while ((rest = handOff.poll()) != null) {
                release(p, owner, rest, owner.getOrDefault(rest.address, -1), errors, firstError);
            }
            assertEquals(0, errors.get(), firstError.get());
            assertTrue(owner.isEmpty());
            assertEquals(0, p.stats().buffersInUse(), "nothing lost");
            p.checkInvariants();
        }
    }

    private static void release(BufferPool p, ConcurrentHashMap<Long, Integer> owner, Box b, int who, AtomicInteger errors,
            AtomicReference<String> firstError) {
        ByteBuffer v = p.rawView(b, b.token, b.address);
        if (v.get(0) != (byte) who || v.get(b.capacity - 1) != (byte) who) {
            errors.incrementAndGet();
            firstError.compareAndSet(null, "someone else's bytes in " + b.address + ": " + v.get(0) + " for " + who);
        }
        if (!owner.remove(b.address, who)) {
            errors.incrementAndGet();
            firstError.compareAndSet(null, "not the owner of " + b.address);
        }
        b.release(p);
    }

    @Test
    void aRawReleaseOnTheAcquiringThreadReusesTheSameMemory() {
        try (BufferPool p = pool("hot").build()) {
            Box a = new Box();
            assertTrue(p.tryAcquireRaw(64, a));
            long at = a.address;
            Object token = a.token;
            a.release(p);
            Box b = new Box();
            assertTrue(p.tryAcquireRaw(64, b));
            assertEquals(at, b.address, "the hot slot: the same item again");
            assertSame(token, b.token, "the thread's tally of the class is the token");
            Box c = new Box();
            assertTrue(p.tryAcquireRaw(64, c));
            assertNotEquals(b.address, c.address);
            b.release(p);
            c.release(p);
            assertEquals(0, p.stats().buffersInUse());
            assertArrayEquals(p.sizeClasses(), p.sizeClasses());
        }
    }
}

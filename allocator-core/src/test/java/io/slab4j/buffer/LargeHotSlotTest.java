package io.slab4j.buffer;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one-span hot slot of each large-span stripe: a close parks its span there without the
 * stripe's lock and the next acquire of that size takes it back, and every way memory must come
 * back still reaches a parked span: {@code trim()}, an acquire of another stripe, the decay, a
 * waiting acquire (a close that parks while someone waits frees the span instead), and the
 * pool's close (no parked span is reported as an open buffer). A stress run races closes on
 * other threads, two sizes and a trimmer, and counts every address's owner.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LargeHotSlotTest {
    private static final int MIB = 1 << 20;

    @Test
    void aCloseParksTheSpanAndTheNextAcquireOfTheSizeTakesItBack() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("large-hot").reserve(64L << 20).leakDetection(LeakDetection.OFF).build()) {
            PooledBuffer b = pool.acquire(MIB);
            long address = b.address();
            b.close();
            assertEquals(1, pool.largeSpans().parkedSpans(), "the closed span is parked in the stripe's hot slot");
            BufferPoolStats s = pool.stats();
            assertEquals(0, s.largeBuffersInUse(), "a parked span is not a buffer in use");
            assertEquals(0, s.buffersInUse());
            assertEquals(0, s.usedBytes());
            assertEquals(MIB, s.cachedLargeBytes(), "a parked span counts as cached");
            pool.checkInvariants();
            PooledBuffer other = pool.acquire(2 * MIB);
            assertNotEquals(address, other.address(), "a parked span of another size is not handed out");
            assertEquals(1, pool.largeSpans().parkedSpans());
            PooledBuffer again = pool.acquire(MIB);
            assertEquals(address, again.address(), "the next acquire of the size takes the parked span");
            assertEquals(0, pool.largeSpans().parkedSpans());
            assertEquals(2, pool.stats().largeBuffersInUse());
            again.close();
            other.close(); // the slot is full: the 2 MiB span goes to the stripe's cache
            assertEquals(1, pool.largeSpans().parkedSpans());
            assertEquals(3L * MIB, pool.stats().cachedLargeBytes());
            assertEquals(0, pool.stats().largeBuffersInUse());
            pool.checkInvariants();
        }
    }

    @Test
    void trimFreesTheParkedSpan() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("large-hot-trim").reserve(64L << 20).leakDetection(LeakDetection.OFF).build()) {
            long before = pool.stats().committedBytes();
            PooledBuffer b = pool.acquire(MIB);
            b.close();
            assertEquals(1, pool.largeSpans().parkedSpans());
            assertTrue(pool.stats().committedBytes() >= before + MIB, "the parked span stays committed");
            pool.trim();
            assertEquals(0, pool.largeSpans().parkedSpans(), "trim took the parked span");
            assertEquals(0, pool.stats().cachedLargeBytes());
            assertEquals(before, pool.stats().committedBytes(), "and gave its pages back");
            pool.checkInvariants();
        }
    }

    @Test
    void anotherStripesAcquireReusesAParkedSpan() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("large-hot-move").reserve(64L << 20).leakDetection(LeakDetection.OFF).build()) {
            assertTrue(pool.largeSpans().stripes() >= 2);
            PooledBuffer b = pool.acquire(MIB); // this thread's home stripe
            long address = b.address();
            b.close();
            assertEquals(1, pool.largeSpans().parkedSpans());
            long committed = pool.stats().committedBytes();
            AtomicLong seen = new AtomicLong();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread t = new Thread(() -> { // the next thread to register gets the next stripe
                try {
                    PooledBuffer mine = pool.acquire(MIB);
                    seen.set(mine.address());
                    mine.close(); // parks in this thread's stripe: the span moved, counts and all
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            t.start();
            t.join();
            assertNull(failure.get());
            assertEquals(address, seen.get(), "the span parked in another stripe was reused, not fresh arena space");
            assertEquals(committed, pool.stats().committedBytes(), "nothing new was committed");
            assertEquals(0, pool.stats().largeBuffersInUse());
            assertEquals(1, pool.largeSpans().parkedSpans());
            pool.checkInvariants();
            PooledBuffer back = pool.acquire(MIB); // from the other thread's stripe, the same way back
            assertEquals(address, back.address());
            assertEquals(1, pool.stats().largeBuffersInUse());
            back.close();
            assertEquals(0, pool.stats().largeBuffersInUse());
            pool.checkInvariants();
        }
    }

    @Test
    void anIdleParkedSpanDecaysWithoutTrim() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("large-hot-decay").reserve(64L << 20).idleDecay(Duration.ofMillis(20))
                .leakDetection(LeakDetection.OFF).build()) {
            PooledBuffer b = pool.acquire(MIB);
            b.close();
            assertEquals(1, pool.largeSpans().parkedSpans());
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (pool.stats().cachedLargeBytes() != 0 && System.nanoTime() < deadline) {
                for (int i = 0; i < 1000; i++) {
                    pool.acquire(64).close(); // small operations run the decay checks
                }
                Thread.sleep(5);
            }
            assertEquals(0, pool.stats().cachedLargeBytes(), "the idle parked span went back on a decay pass");
            assertEquals(0, pool.largeSpans().parkedSpans());
            pool.checkInvariants();
        }
    }

    @Test
    void aCloseWhileAnAcquireWaitsFreesItsSpanInsteadOfParkingIt() throws Exception {
        // The arena is full of 1 MiB spans; a waiter needs 1 MiB + 1 page, which fits only once two
        // adjacent spans are freed. If the first of the two closes parked its span, the waiter
        // would never fit.
        int n = 64;
        try (BufferPool pool = BufferPool.builder().name("large-hot-wait").reserve((long) n * MIB).leakDetection(LeakDetection.OFF)
                .build()) {
            List<PooledBuffer> held = new ArrayList<>();
            PooledBuffer b;
            while ((b = pool.tryAcquire(MIB)) != null) {
                held.add(b);
            }
            assertTrue(held.size() >= n - 2, "the arena is full of 1 MiB spans: " + held.size());
            PooledBuffer[] byAddress = held.toArray(new PooledBuffer[0]);
            Arrays.sort(byAddress, (x, y) -> Long.compare(x.address(), y.address()));
            int at = -1;
            for (int i = 0; i + 1 < byAddress.length; i++) {
                if (byAddress[i].address() + MIB == byAddress[i + 1].address()) {
                    at = i;
                    break;
                }
            }
            assertTrue(at >= 0, "two adjacent spans");
            AtomicReference<PooledBuffer> got = new AtomicReference<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread waiter = new Thread(() -> {
                try {
                    got.set(pool.acquire(MIB + 4096, Duration.ofSeconds(10)));
                } catch (Throwable e) {
                    failure.set(e);
                }
            });
            waiter.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (pool.stats().waiters() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            assertEquals(1, pool.stats().waiters());
            byAddress[at].close();
            byAddress[at + 1].close();
            waiter.join();
            assertNull(failure.get());
            assertNotNull(got.get(), "the waiter was served from the two freed spans");
            assertEquals(0, pool.largeSpans().parkedSpans(), "nothing parked while the acquire waited");
            got.get().close();
            for (PooledBuffer h : held) {
                h.close();
            }
            pool.checkInvariants();
            assertEquals(0, pool.stats().largeBuffersInUse());
        }
    }

    @Test
    void theCloseOfThePoolCountsNoParkedSpanAsOpen() throws Exception {
        BufferPool pool = BufferPool.builder().name("large-hot-close").reserve(64L << 20).leakDetection(LeakDetection.OFF).build();
        PooledBuffer b = pool.acquire(MIB);
        b.close();
        assertEquals(1, pool.largeSpans().parkedSpans());
        assertEquals(0, pool.stats().buffersInUse(), "so close will not report an open buffer");
        pool.close();
        assertEquals(0, pool.largeSpans().parkedSpans(), "the close sealed the slots");
        assertEquals(0, pool.stats().largeBuffersInUse());
        assertEquals(0, pool.stats().cachedLargeBytes());
    }

    @Test
    @Tag("stress")
    void parkedSpansHaveOneOwnerUnderRacingClosesAndTrims() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("large-hot-stress").reserve(256L << 20).leakDetection(LeakDetection.OFF)
                .build()) {
            Map<Long, Long> owners = new ConcurrentHashMap<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong ops = new AtomicLong();
            int threads = 3;
            // each thread hands every other buffer to its neighbour to close, so closes land in other threads' stripes
            List<java.util.concurrent.ConcurrentLinkedQueue<PooledBuffer>> inbox = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                inbox.add(new java.util.concurrent.ConcurrentLinkedQueue<>());
            }
            CountDownLatch done = new CountDownLatch(threads + 1);
            for (int i = 0; i < threads; i++) {
                int me = i;
                new Thread(() -> {
                    try {
                        long id = me + 1;
                        for (long k = 0; !stop.get(); k++) {
                            int size = (k & 2) == 0 ? MIB : 2 * MIB;
                            PooledBuffer b = pool.acquire(size, Duration.ofSeconds(5));
                            if (b == null) {
                                continue;
                            }
                            Long prev = owners.putIfAbsent(b.address(), id);
                            if (prev != null) {
                                throw new AssertionError("address " + Long.toHexString(b.address()) + " handed to " + id + " while " + prev + " holds it");
                            }
                            java.nio.ByteBuffer v = b.byteBuffer();
                            v.putLong(0, id << 32 | k);
                            v.putLong(b.capacity() - 8, id << 32 | k);
                            if (v.getLong(0) != (id << 32 | k)) {
                                throw new AssertionError("someone else wrote into " + id + "'s buffer");
                            }
                            if ((k & 1) == 0) {
                                owners.remove(b.address(), id);
                                b.close();
                            } else {
                                inbox.get((me + 1) % threads).add(b); // still owned by id until its close
                            }
                            PooledBuffer theirs;
                            while ((theirs = inbox.get(me).poll()) != null) {
                                java.nio.ByteBuffer w = theirs.byteBuffer();
                                if (w.getLong(0) != w.getLong(theirs.capacity() - 8)) {
                                    throw new AssertionError("a buffer was written by someone else while its owner held it");
                                }
                                if (!owners.remove(theirs.address(), w.getLong(0) >>> 32)) {
                                    throw new AssertionError("the owner record of " + Long.toHexString(theirs.address()) + " changed");
                                }
                                theirs.close();
                            }
                            ops.incrementAndGet();
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    } finally {
                        done.countDown();
                    }
                }, "large-hot-" + i).start();
            }
            new Thread(() -> {
                try {
                    while (!stop.get()) {
                        pool.trim();
                        Thread.onSpinWait();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            }, "large-hot-trimmer").start();
            Thread.sleep(2000);
            stop.set(true);
            assertTrue(done.await(30, TimeUnit.SECONDS));
            assertNull(failure.get());
            for (var q : inbox) {
                PooledBuffer left;
                while ((left = q.poll()) != null) {
                    left.close();
                }
            }
            assertTrue(ops.get() > 100, "ran: " + ops.get());
            assertEquals(0, pool.stats().largeBuffersInUse());
            assertEquals(0, pool.stats().buffersInUse());
            pool.checkInvariants();
            pool.trim();
            assertEquals(0, pool.stats().cachedLargeBytes());
            pool.checkInvariants();
        }
    }
}

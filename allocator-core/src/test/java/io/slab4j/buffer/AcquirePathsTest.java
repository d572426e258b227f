package io.slab4j.buffer;

import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.management.ObjectName;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every way into a buffer (acquire, timed, zero timeout, try, and a waiter handed memory by a
 * close), checked for what each must keep: zeroing, exact accounting across many threads, trim
 * against a live idle thread, and the interrupt flag. Review 13c's probes printed these; here
 * they are asserted.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AcquirePathsTest {
    private static final byte DIRTY = (byte) 0xA5;

    private interface Path {
        PooledBuffer take(BufferPool p, int size) throws InterruptedException;
    }

    private static final Path[] PATHS = {
            BufferPool::acquire,
            (p, s) -> p.acquire(s, Duration.ofSeconds(5)),
            (p, s) -> p.acquire(s, Duration.ZERO),
            BufferPool::tryAcquire,
    };
    private static final String[] PATH_NAMES = {"acquire", "acquire(5 s)", "acquire(ZERO)", "tryAcquire"};

    private static void assertZeroAndDirty(PooledBuffer b, String what) {
        ByteBuffer v = b.byteBuffer();
        for (int i = 0; i < b.capacity(); i++) {
            if (v.get(i) != 0) {
                fail(what + ": byte " + i + " of " + b.capacity() + " is " + v.get(i));
            }
        }
        for (int i = 0; i < b.capacity(); i++) {
            v.put(i, DIRTY);
        }
    }

    /** Each path, at each class boundary and for large spans, after the memory was dirtied by the same path. */
    @Test
    void zeroingHoldsOnEveryAcquirePath() throws InterruptedException {
        try (BufferPool p = BufferPool.builder().name("paths-zero").reserve(64L << 20).zeroOnAcquire(true).build()) {
            List<Integer> sizes = new ArrayList<>();
            for (int c : p.sizeClasses()) {
                sizes.add(c);
                sizes.add(c + 1);
            }
            sizes.add(1);
            sizes.add(1 << 20);
            for (int size : sizes) {
                for (int k = 0; k < PATHS.length; k++) {
                    for (int round = 0; round < 2; round++) {
                        PooledBuffer b = PATHS[k].take(p, size);
                        assertNotNull(b, PATH_NAMES[k] + "(" + size + ") with memory free");
                        assertZeroAndDirty(b, PATH_NAMES[k] + "(" + size + ") round " + round);
                        b.close();
                    }
                }
            }
            assertTrue(p.stats().cachedLargeBytes() > 0, "the large span came back from the cache, not fresh from the OS");
            p.checkInvariants();
        }
    }

    /**
     * The fifth path: a waiter served by a close. The memory it gets was written by the holder
     * that closed it a moment before, so only the pool's zeroing stands between the two.
     */
    @Test
    void aWaiterServedByACloseGetsZeroedMemory() throws Exception {
        for (int size : new int[] {4096, 1 << 20}) {
            for (boolean timed : new boolean[] {false, true}) {
                String name = "paths-zero-wait-" + size + "-" + timed;
                try (BufferPool p = BufferPool.builder().name(name).reserve(4L << 20).sizeClasses(4096)
                        .zeroOnAcquire(true).build()) {
                    List<PooledBuffer> all = fill(p, size);
                    all.forEach(b -> assertZeroAndDirty(b, name + " fill"));
                    assertTrue(all.size() >= 3, name + ": " + all.size() + " buffers fill the pool");
                    CompletableFuture<PooledBuffer> waiter = Background.start(name,
                            () -> timed ? p.acquire(size, Duration.ofSeconds(20)) : p.acquire(size));
                    Await.until(name + " to wait", () -> p.stats().waiters() == 1);
                    all.remove(0).close();
                    PooledBuffer got = waiter.get(20, TimeUnit.SECONDS);
                    assertNotNull(got, name + ": the close served the waiter");
                    assertZeroAndDirty(got, name + " served by a close");
                    got.close();
                    all.forEach(PooledBuffer::close);
                    assertEquals(0, p.stats().buffersInUse());
                    p.checkInvariants();
                }
            }
        }
    }

    /** Every buffer of {@code size} the pool will give without waiting. */
    private static List<PooledBuffer> fill(BufferPool p, int size) {
        List<PooledBuffer> all = new ArrayList<>();
        for (PooledBuffer b; (b = p.tryAcquire(size)) != null; ) {
            all.add(b);
        }
        return all;
    }

    private static Object attribute(String pool, String attribute) throws Exception {
        return ManagementFactory.getPlatformMBeanServer()
                .getAttribute(new ObjectName("io.slab4j:type=BufferPool,name=" + pool), attribute);
    }

    /**
     * 600 threads that each live for three acquires and leave one buffer a round open, while
     * another thread trims and reads the stats throughout: the counts match the open buffers
     * exactly, in the snapshot and through JMX, and everything is back after the last close.
     */
    @Test
    void statsStayExactAcrossManyShortLivedThreads() throws Exception {
        String name = "paths-many-threads";
        try (BufferPool p = BufferPool.builder().name(name).reserve(256L << 20).idleDecay(Duration.ofMillis(5))
                .leakDetection(LeakDetection.ALL).build()) {
            ConcurrentLinkedQueue<PooledBuffer> open = new ConcurrentLinkedQueue<>();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> error = new AtomicReference<>();
            Thread trimmer = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        p.trim();
                        p.stats();
                        attribute(name, "BuffersInUse");
                    }
                } catch (Throwable e) {
                    error.compareAndSet(null, e);
                }
            }, "trimmer");
            trimmer.start();
            int[] sizes = {16, 100, 1000, 5000, 65536, 70000, 300_000};
            List<Thread> batch = new ArrayList<>();
            for (int k = 0; k < 600; k++) {
                int first = k;
                Thread t = new Thread(() -> {
                    try {
                        for (int j = 0; j < 3; j++) {
                            int size = sizes[(first + j) % sizes.length];
                            p.acquire(size).close();
                            open.add(p.acquire(size));
                        }
                    } catch (Throwable e) {
                        error.compareAndSet(null, e);
                    }
                }, "short-" + k);
                t.start();
                batch.add(t);
                if (k % 2 == 1) {
                    PooledBuffer b = open.poll();
                    if (b != null) {
                        b.close(); // closed on another thread than its acquirer's
                    }
                }
                if (batch.size() == 50) {
                    for (Thread x : batch) {
                        x.join();
                    }
                    batch.clear();
                }
            }
            for (Thread x : batch) {
                x.join();
            }
            stop.set(true);
            trimmer.join();
            assertNull(error.get(), () -> "a thread failed: " + error.get());

            p.trim();
            long count = open.size();
            long bytes = open.stream().mapToLong(PooledBuffer::capacity).sum();
            int largest = p.sizeClasses()[p.sizeClasses().length - 1];
            long inClasses = open.stream().filter(b -> b.capacity() <= largest).count();
            BufferPoolStats s = p.stats();
            assertEquals(count, s.buffersInUse());
            assertEquals(bytes, s.usedBytes());
            assertEquals(count - inClasses, s.largeBuffersInUse());
            assertEquals(0, s.leaksDetected(), "every buffer was reachable");
            assertEquals(count, ((Number) attribute(name, "BuffersInUse")).longValue());
            assertEquals(bytes, ((Number) attribute(name, "UsedBytes")).longValue());
            assertEquals(inClasses, Arrays.stream((long[]) attribute(name, "SizeClassBuffersInUse")).sum());
            p.checkInvariants();

            open.forEach(PooledBuffer::close);
            p.trim();
            s = p.stats();
            assertEquals(0, s.buffersInUse());
            assertEquals(0, s.usedBytes());
            assertEquals(0, s.committedBytes(), "trim after the last close leaves nothing committed");
            assertEquals(0, s.cachedLargeBytes());
            assertEquals(0, Arrays.stream((long[]) attribute(name, "SizeClassBuffersInUse")).sum());
            assertEquals(0, Arrays.stream((long[]) attribute(name, "SizeClassCommittedBytes")).sum());
            p.checkInvariants();
        }
    }

    /**
     * A thread that made buffers of every kind and now sits alive and idle: trim from another
     * thread takes its magazines, hot slots and cached spans, so nothing stays committed; and
     * the idle thread's next acquires work on the state trim left behind.
     */
    @Test
    void trimLeavesNothingCommittedWhileAnIdleThreadLives() throws Exception {
        String name = "paths-idle-trim";
        try (BufferPool p = BufferPool.builder().name(name).reserve(64L << 20).build()) {
            int[] sizes = {16, 100, 4000, 65536, 100_000, 1 << 20};
            CountDownLatch idle = new CountDownLatch(1);
            CountDownLatch resume = new CountDownLatch(1);
            CompletableFuture<Long> thread = Background.start("idle", () -> {
                for (int round = 0; round < 2; round++) {
                    for (int size : sizes) {
                        List<PooledBuffer> l = new ArrayList<>();
                        for (int i = 0; i < 20; i++) {
                            l.add(p.acquire(size));
                        }
                        l.forEach(PooledBuffer::close);
                    }
                    if (round == 0) {
                        idle.countDown();
                        resume.await();
                    }
                }
                return p.stats().buffersInUse();
            });
            idle.await();
            assertTrue(p.stats().committedBytes() > 0, "the burst left memory committed");
            p.trim();
            BufferPoolStats s = p.stats();
            assertEquals(0, s.committedBytes(), "committed after trim with the burst's thread alive");
            assertEquals(0, s.cachedLargeBytes());
            assertEquals(0, ((Number) attribute(name, "CommittedBytes")).longValue());
            p.checkInvariants();

            resume.countDown(); // its magazines and slots were taken: its second burst must still work
            assertEquals(0L, thread.get(20, TimeUnit.SECONDS));
            p.trim();
            assertEquals(0, p.stats().committedBytes());
            p.checkInvariants();
        }
    }

    /** An interrupt set before the call: it only matters to a call that has to wait. */
    @Test
    void aPendingInterruptStopsOnlyACallThatWaits() throws InterruptedException {
        String name = "paths-interrupt";
        try (BufferPool p = BufferPool.builder().name(name).reserve(1L << 20).sizeClasses(64).build()) {
            Thread.currentThread().interrupt();
            PooledBuffer b = p.acquire(64);
            assertTrue(Thread.interrupted(), "an acquire that found memory keeps the flag");
            b.close();
            Thread.currentThread().interrupt();
            b = p.tryAcquire(64);
            assertTrue(Thread.interrupted(), "tryAcquire keeps the flag");
            b.close();

            List<PooledBuffer> all = fill(p, 64);
            assertNull(p.tryAcquire(8192), "the classes' slabs fill the reservation");
            long inUse = p.stats().buffersInUse();
            for (int size : new int[] {64, 8192}) {
                for (Duration d : new Duration[] {Duration.ZERO, Duration.ofMillis(-5)}) {
                    Thread.currentThread().interrupt();
                    assertNull(p.acquire(size, d), "a " + d + " timeout only tries");
                    assertTrue(Thread.interrupted(), "a call that never waits keeps the flag");
                }
                for (Duration d : new Duration[] {null, Duration.ofMillis(50), Duration.ofSeconds(Long.MAX_VALUE)}) {
                    Thread.currentThread().interrupt();
                    InterruptedException e = assertThrows(InterruptedException.class,
                            () -> { PooledBuffer x = d == null ? p.acquire(size) : p.acquire(size, d); });
                    assertFalse(Thread.currentThread().isInterrupted(), "the exception consumed the interrupt");
                    assertEquals("acquire(" + size + "): interrupted while waiting in buffer pool '" + name
                            + "'; nothing was taken", e.getMessage());
                    assertEquals(inUse, p.stats().buffersInUse(), "the withdrawn wait took nothing");
                    assertEquals(0, p.stats().waiters());
                }
            }
            all.remove(0).close();
            b = p.tryAcquire(64);
            assertNotNull(b, "the closed buffer went to the next caller, not to a withdrawn wait");
            b.close();
            all.forEach(PooledBuffer::close);
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /** An interrupt during the wait: the waiter leaves with the named exception, and takes nothing. */
    @Test
    void anInterruptDuringTheWaitWithdrawsIt() throws Exception {
        String name = "paths-interrupt-wait";
        try (BufferPool p = BufferPool.builder().name(name).reserve(1L << 20).sizeClasses(64).build()) {
            List<PooledBuffer> all = fill(p, 64);
            for (int size : new int[] {64, 8192}) {
                AtomicReference<Thread> waiter = new AtomicReference<>();
                CompletableFuture<PooledBuffer> wait = Background.start("waiter-" + size, () -> {
                    waiter.set(Thread.currentThread());
                    return p.acquire(size);
                });
                Await.until("the acquire to wait", () -> p.stats().waiters() == 1);
                Await.parked(waiter.get());
                waiter.get().interrupt();
                ExecutionException e = assertThrows(ExecutionException.class, () -> wait.get(20, TimeUnit.SECONDS));
                assertInstanceOf(InterruptedException.class, e.getCause());
                assertTrue(e.getCause().getMessage().startsWith("acquire(" + size + "): interrupted while waiting in buffer pool '"
                        + name + "'"), e.getCause().getMessage());
                assertEquals(0, p.stats().waiters());
                assertEquals(all.size(), p.stats().buffersInUse());
            }
            all.forEach(PooledBuffer::close);
            p.checkInvariants();
        }
    }

    /**
     * An interrupt and the pool's close reach a waiter in either order, for a class and a large
     * span. The waiter ends with exactly one of: an InterruptedException (which consumed the
     * interrupt), or the close's IllegalStateException with the interrupt still in its flag.
     * An ISE with the flag clear would be a lost interrupt.
     */
    @Test
    void anInterruptRacingThePoolsCloseIsNeverLost() throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(6);
        int[] outcomes = new int[2]; // interrupted, closed with the flag kept
        for (int it = 0; it < 300 && System.nanoTime() < end; it++) {
            BufferPool p = BufferPool.builder().name("paths-race-" + it).reserve(1L << 20).sizeClasses(65536)
                    .leakDetection(LeakDetection.OFF).build();
            List<PooledBuffer> all = fill(p, 65536);
            int size = it % 2 == 0 ? 65536 : 200_000;
            CountDownLatch sent = new CountDownLatch(1);
            AtomicReference<Object> outcome = new AtomicReference<>();
            AtomicBoolean flagAfter = new AtomicBoolean();
            Thread waiter = new Thread(() -> {
                try {
                    outcome.set(p.acquire(size));
                } catch (Throwable e) {
                    outcome.set(e);
                }
                while (sent.getCount() > 0) {
                    Thread.onSpinWait(); // not await(): it would consume the flag this reads
                }
                flagAfter.set(Thread.interrupted());
            }, "racer-" + it);
            waiter.start();
            Await.until("the acquire to wait", () -> p.stats().waiters() == 1);
            if (it % 4 < 2) {
                waiter.interrupt();
                p.close();
            } else {
                Thread closer = new Thread(p::close, "closer-" + it);
                closer.start();
                waiter.interrupt();
                closer.join();
            }
            sent.countDown();
            waiter.join(20_000);
            assertFalse(waiter.isAlive(), "round " + it + ": the waiter hung");
            Object o = outcome.get();
            if (o instanceof InterruptedException) {
                assertFalse(flagAfter.get(), "round " + it + ": one interrupt, consumed by the exception, yet the flag is set");
                outcomes[0]++;
            } else if (o instanceof IllegalStateException) {
                assertTrue(flagAfter.get(), "round " + it + ": the close won but the interrupt was lost: " + o);
                outcomes[1]++;
            } else {
                fail("round " + it + ": " + o);
            }
            assertTrue(p.isClosed());
            all.forEach(PooledBuffer::close);
        }
        System.out.printf("interrupt racing close: %d interrupted, %d closed with the flag kept%n", outcomes[0], outcomes[1]);
    }

    /** The same pool's memory, taken by a path, comes back to every other path: no path keeps it. */
    @Test
    void memoryClosedAfterAnyPathServesEveryOtherPath() throws InterruptedException {
        try (BufferPool p = BufferPool.builder().name("paths-cross").reserve(1L << 20).sizeClasses(65536).build()) {
            for (int k = 0; k < PATHS.length; k++) {
                List<PooledBuffer> all = fill(p, 65536);
                PooledBuffer last = all.remove(all.size() - 1);
                last.close();
                PooledBuffer again = PATHS[k].take(p, 65536);
                assertNotNull(again, PATH_NAMES[k] + " after a close in a full pool");
                assertNull(p.tryAcquire(65536), "the pool is full again");
                again.close();
                all.forEach(PooledBuffer::close);
                p.checkInvariants();
            }
        }
    }
}

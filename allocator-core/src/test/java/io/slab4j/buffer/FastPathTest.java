package io.slab4j.buffer;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The acquire/close fast path's bookkeeping: the size → class table, the per-thread tallies
 * behind {@code buffersInUse} (closes on other threads, exited threads), the striped
 * large-span cache (reuse and conservation across threads), the 24-byte handle's closed bit,
 * and the leak report's acquire stack.
 */
class FastPathTest {

    /** The table answers the smallest class >= size for every size, also for classes closer than its 16-byte granule. */
    @Test
    void everySizeMapsToTheSmallestClassAtLeastAsLarge() throws InterruptedException {
        int[] classes = {1, 2, 3, 15, 16, 17, 18, 31, 33, 40, 100, 1000, 4095, 4097, 5000};
        try (BufferPool pool = BufferPool.builder().name("fast-table").reserve(64L << 20).sizeClasses(classes)
                .leakDetection(LeakDetection.OFF).build()) {
            for (int size = 1; size <= 5001; size++) {
                int expected = -1;
                for (int c : classes) {
                    if (c >= size) {
                        expected = c;
                        break;
                    }
                }
                PooledBuffer b = pool.acquire(size);
                long page = io.slab4j.nativemem.VirtualRegion.pageSize();
                long want = expected > 0 ? expected : (size + page - 1) / page * page; // above the largest class: pages
                assertEquals(want, (long) b.capacity(), "capacity for " + size);
                assertEquals(0, b.address() & 15, "16-byte aligned (the handle keeps its closed bit in bit 0)");
                b.close();
                assertTrue(b.isClosed());
            }
            assertEquals(0, pool.stats().buffersInUse());
            pool.checkInvariants();
        }
    }

    /** A close on another thread and threads that exit keep buffersInUse exact, and exited threads' tallies are dropped. */
    @Test
    void buffersInUseStaysExactAcrossThreadsAndExitedThreadsAreFolded() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("fast-tally").reserve(64L << 20).build()) {
            int threads = 50;
            int each = 20;
            ConcurrentLinkedQueue<PooledBuffer> open = new ConcurrentLinkedQueue<>();
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            for (int t = 0; t < threads; t++) {
                Thread th = new Thread(() -> {
                    try {
                        for (int i = 0; i < each; i++) {
                            open.add(pool.acquire(64));
                            pool.acquire(64).close(); // closed by its own thread: counted in its tally
                        }
                    } catch (Throwable e) {
                        trouble.set(e);
                    }
                });
                th.start();
                th.join();
            }
            assertNull(trouble.get());
            assertEquals((long) threads * each, pool.stats().buffersInUse(), "open buffers of exited threads still count");
            int c = classIndex(pool, 64);
            assertTrue(pool.tallies(c) <= 1, "exited threads' tallies are folded, not kept: " + pool.tallies(c));
            int closed = 0;
            for (PooledBuffer b; (b = open.poll()) != null; ) {
                b.close(); // on this thread, not the acquiring one
                closed++;
                if (closed % 100 == 0) {
                    assertEquals((long) threads * each - closed, pool.stats().buffersInUse());
                }
            }
            assertEquals(0, pool.stats().buffersInUse());
            assertEquals(0, pool.stats().sizeClasses().get(c).buffersInUse());
            pool.checkInvariants();
        }
    }

    /** A span cached by one thread's stripe is reused by another thread's acquire of the same size: no new arena span. */
    @Test
    void aSpanCachedInOneStripeServesAnotherThread() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("fast-stripes").reserve(64L << 20).build()) {
            assertTrue(pool.largeSpans().stripes() >= 2);
            PooledBuffer first = pool.acquire(1 << 20);
            long address = first.address();
            first.close();
            assertEquals(1 << 20, pool.stats().cachedLargeBytes());
            long allocations = pool.arenaStats().allocations();
            AtomicReference<Object> got = new AtomicReference<>();
            Thread other = new Thread(() -> {
                try {
                    PooledBuffer b = pool.acquire(1 << 20); // its home stripe differs from this thread's
                    got.set(b.address());
                    b.close(); // cached in the other thread's stripe now
                } catch (Throwable e) {
                    got.set(e);
                }
            });
            other.start();
            other.join();
            assertEquals(address, got.get(), "the cached span was found in the other stripe");
            assertEquals(allocations, pool.arenaStats().allocations(), "no arena allocation");
            PooledBuffer back = pool.acquire(1 << 20);
            assertEquals(address, back.address(), "and found again from this thread");
            back.close();
            assertEquals(1 << 20, pool.stats().cachedLargeBytes());
            pool.trim();
            assertEquals(0, pool.stats().cachedLargeBytes());
            assertEquals(0, pool.stats().committedBytes());
            pool.checkInvariants();
        }
    }

    /**
     * Threads acquire and close large spans of a few sizes, half of them closed by another
     * thread (into the acquirer's stripe), while one thread trims: at the end nothing is open,
     * every span is either cached (within the bound) or back in the arena, and a trim leaves
     * nothing committed.
     */
    @Tag("stress")
    @Test
    void largeSpansAreConservedAcrossThreadsAndTrims() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("fast-large-stress").reserve(256L << 20).build()) {
            int workers = 4;
            long end = System.nanoTime() + Duration.ofMillis(1500).toNanos();
            ConcurrentLinkedQueue<PooledBuffer> handOver = new ConcurrentLinkedQueue<>();
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            CyclicBarrier start = new CyclicBarrier(workers + 1);
            List<Thread> threads = new ArrayList<>();
            long[] ops = new long[workers];
            for (int w = 0; w < workers; w++) {
                int id = w;
                Thread t = new Thread(() -> {
                    try {
                        start.await();
                        int[] sizes = {100_000, 1 << 20, 3 << 20};
                        long n = 0;
                        while (System.nanoTime() < end && trouble.get() == null) {
                            PooledBuffer b = pool.acquire(sizes[(int) (n % sizes.length)]);
                            b.byteBuffer().put(0, (byte) id);
                            if ((n & 1) == 0) {
                                handOver.add(b);
                            } else {
                                b.close();
                            }
                            PooledBuffer theirs = handOver.poll();
                            if (theirs != null) {
                                theirs.close();
                            }
                            n++;
                        }
                        ops[id] = n;
                    } catch (Throwable e) {
                        trouble.set(e);
                    }
                }, "large-" + w);
                threads.add(t);
                t.start();
            }
            start.await();
            while (System.nanoTime() < end) {
                pool.trim();
                pool.checkInvariants();
                Thread.yield();
            }
            for (Thread t : threads) {
                t.join();
            }
            assertNull(trouble.get());
            for (PooledBuffer b; (b = handOver.poll()) != null; ) {
                b.close();
            }
            BufferPoolStats s = pool.stats();
            assertEquals(0, s.buffersInUse(), s::toString);
            assertEquals(0, s.largeBuffersInUse(), s::toString);
            assertEquals(0, pool.largeSpans().bytesInUse());
            assertTrue(s.cachedLargeBytes() <= pool.largeSpans().stripes() * pool.largeSpans().maxStripeBytes());
            assertEquals(s.cachedLargeBytes(), pool.arenaStats().allocated() - classAllocated(pool),
                    "every span the arena has out is cached (none lost)");
            pool.checkInvariants();
            pool.trim();
            assertEquals(0, pool.stats().committedBytes(), "a trim gives everything back");
            System.out.printf("large spans across threads: %d ops%n", java.util.Arrays.stream(ops).sum());
        }
    }

    /** Leak detection on SAMPLED still reports the stack of the acquire (here: ALL, so the one leak is watched). */
    @Test
    void aLeakReportCarriesTheAcquireStack() throws InterruptedException {
        Logger log = Logger.getLogger(BufferPool.class.getName());
        List<LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        log.addHandler(capture);
        try (BufferPool pool = BufferPool.builder().name("fast-leak").reserve(16L << 20).leakDetection(LeakDetection.ALL).build()) {
            WeakReference<PooledBuffer> ref = leakFromAMethodNamedForTheStack(pool);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (pool.stats().leaksDetected() == 0 && System.nanoTime() < deadline) {
                System.gc();
                Thread.onSpinWait();
            }
            assertTrue(ref.refersTo(null));
            assertEquals(1, pool.stats().leaksDetected());
            while (records.stream().noneMatch(x -> x.getThrown() != null) && System.nanoTime() < deadline) {
                Thread.onSpinWait(); // the count goes up just before the log call
            }
            LogRecord r = records.stream().filter(x -> x.getThrown() != null).findFirst().orElse(null);
            assertNotNull(r, "the leak was logged with a stack");
            boolean named = false;
            for (StackTraceElement e : r.getThrown().getStackTrace()) {
                named |= e.getMethodName().equals("leakFromAMethodNamedForTheStack");
            }
            assertTrue(named, "the stack is the acquire's");
            String message = r.getMessage();
            assertTrue(message.matches("buffer pool 'fast-leak': a buffer of 4096 bytes at 0x[0-9a-f]+ became unreachable"
                    + " without close\\(\\); its memory went back to the pool"), message);
            while (pool.stats().buffersInUse() != 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertEquals(0, pool.stats().buffersInUse(), "the leaked memory came back");
        } finally {
            log.removeHandler(capture);
        }
    }

    private static WeakReference<PooledBuffer> leakFromAMethodNamedForTheStack(BufferPool pool) throws InterruptedException {
        return new WeakReference<>(pool.acquire(4096));
    }

    private static int classIndex(BufferPool pool, int size) {
        int[] classes = pool.sizeClasses();
        for (int i = 0; i < classes.length; i++) {
            if (classes[i] >= size) {
                return i;
            }
        }
        throw new AssertionError(size);
    }

    private static long classAllocated(BufferPool pool) {
        return pool.stats().sizeClasses().stream().mapToLong(k -> k.slabs() * k.slabBytes()).sum();
    }
}

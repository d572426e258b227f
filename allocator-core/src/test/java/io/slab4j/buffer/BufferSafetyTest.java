package io.slab4j.buffer;

import org.agrona.MutableDirectBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class BufferSafetyTest {
    private BufferPool pool;

    @AfterEach
    void close() {
        if (pool != null) {
            pool.close();
        }
    }

    /** Every stale access path of a closed handle throws, and the memory's next holder keeps its bytes. */
    @Test
    void useAfterCloseNeverTouchesTheNextHoldersBytes() throws InterruptedException {
        pool = BufferPool.builder().name("uac").reserve(64L << 20).magazines(false).build();
        for (int size : new int[] {16, 100, 4096, 65536, 200_000}) {
            PooledBuffer first = pool.acquire(size);
            ByteBuffer staleBytes = first.byteBuffer();
            MutableDirectBuffer staleAgrona = first.buffer();
            long address = first.address();
            first.close();
            PooledBuffer next = pool.acquire(size);
            assertEquals(address, next.address(), "the pool reuses the address (size " + size + ")");
            int cap = next.capacity();
            ByteBuffer mine = next.byteBuffer();
            for (int i = 0; i < cap; i++) {
                mine.put(i, (byte) 0x77);
            }
            assertThrows(IllegalStateException.class, first::address);
            assertThrows(IllegalStateException.class, first::capacity);
            assertThrows(IllegalStateException.class, first::byteBuffer);
            assertThrows(IllegalStateException.class, first::buffer);
            assertEquals(0, staleBytes.capacity());
            assertEquals(0, staleBytes.limit());
            assertThrows(IndexOutOfBoundsException.class, () -> staleBytes.put(0, (byte) 1));
            assertThrows(IndexOutOfBoundsException.class, () -> staleBytes.get(0));
            assertThrows(RuntimeException.class, () -> staleBytes.put((byte) 1));
            assertThrows(RuntimeException.class, () -> staleBytes.putLong(0L));
            assertEquals(0, staleBytes.slice().capacity());
            assertEquals(0, staleAgrona.capacity());
            assertThrows(IndexOutOfBoundsException.class, () -> staleAgrona.putByte(0, (byte) 1));
            assertThrows(IndexOutOfBoundsException.class, () -> staleAgrona.getLong(0));
            assertThrows(IndexOutOfBoundsException.class, () -> staleAgrona.setMemory(0, 8, (byte) 1));
            first.close(); // idempotent: must not return the next holder's memory
            for (int i = 0; i < cap; i++) {
                assertEquals((byte) 0x77, mine.get(i), "byte " + i + " of size " + size);
            }
            assertEquals(1, pool.stats().buffersInUse());
            next.close();
        }
        pool.checkInvariants();
    }

    /** Many threads race to close one handle: the memory goes back exactly once. */
    @Test
    void racingClosesReturnTheMemoryOnce() throws Exception {
        pool = BufferPool.builder().name("race").reserve(16L << 20).sizeClasses(64).magazines(false).build();
        int threads = 4;
        for (int round = 0; round < 300; round++) {
            PooledBuffer b = pool.acquire(64);
            ByteBuffer view = b.byteBuffer();
            CyclicBarrier go = new CyclicBarrier(threads);
            List<Thread> ts = new ArrayList<>();
            AtomicInteger failures = new AtomicInteger();
            for (int t = 0; t < threads; t++) {
                Thread th = new Thread(() -> {
                    try {
                        go.await();
                        b.close();
                    } catch (Throwable e) {
                        failures.incrementAndGet();
                    }
                });
                th.start();
                ts.add(th);
            }
            for (Thread th : ts) {
                th.join();
            }
            assertEquals(0, failures.get());
            assertEquals(0, view.capacity());
            assertEquals(0, pool.stats().buffersInUse());
        }
        // the pool still hands out each item once: hold many and check they are distinct
        assertHandsOutEachItemOnce(pool);
    }

    /** Holds 1000 buffers of 64 B at once: no address twice; then closes them and checks the pool. */
    private static void assertHandsOutEachItemOnce(BufferPool pool) throws InterruptedException {
        List<PooledBuffer> held = new ArrayList<>();
        java.util.Set<Long> addresses = new java.util.HashSet<>();
        for (int i = 0; i < 1000; i++) {
            PooledBuffer b = pool.acquire(64);
            assertTrue(addresses.add(b.address()), "address handed out twice");
            held.add(b);
        }
        held.forEach(PooledBuffer::close);
        pool.checkInvariants();
    }

    /**
     * With magazines on (the default), whose cache runs without its put checks: the acquiring
     * thread and three others race to close each handle, so a second return would park one
     * item twice, in one thread's magazines or two. The magazines are checked for an item
     * parked twice, then drained to the pool (which rejects a free item), then the pool must
     * hand out distinct items.
     */
    @Test
    void racingClosesParkTheMemoryOnceInUncheckedMagazines() throws Exception {
        pool = BufferPool.builder().name("race-magazines").reserve(16L << 20).sizeClasses(64).build();
        assertTrue(!pool.cacheChecks(0), "the class's cache runs without put checks (else this test covers the checked path)");
        int others = 3;
        int rounds = 2000;
        PooledBuffer[] current = new PooledBuffer[1];
        CyclicBarrier go = new CyclicBarrier(others + 1);
        CyclicBarrier done = new CyclicBarrier(others + 1);
        AtomicInteger failures = new AtomicInteger();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < others; t++) {
            Thread th = new Thread(() -> {
                try {
                    for (int r = 0; r < rounds; r++) {
                        go.await();
                        current[0].close(); // the barrier publishes current[0]
                        done.await();
                    }
                } catch (Throwable e) {
                    failures.incrementAndGet();
                }
            });
            th.start();
            ts.add(th);
        }
        for (int r = 0; r < rounds; r++) {
            current[0] = pool.acquire(64);
            go.await();
            current[0].close();
            done.await();
            if (r % 250 == 0) {
                pool.checkInvariants(); // every racer waits at a barrier: all magazines are read
            }
        }
        for (Thread th : ts) {
            th.join();
        }
        assertEquals(0, failures.get());
        assertEquals(0, pool.stats().buffersInUse());
        pool.checkInvariants();
        pool.trim(); // every magazine to the pool: an item parked twice would be rejected as free here
        assertHandsOutEachItemOnce(pool);
    }

    /** A view made by one thread while another closes the handle is detached either way. */
    @Test
    void aViewRacingCloseIsNeverLeftAttached() throws Exception {
        pool = BufferPool.builder().name("view-race").reserve(16L << 20).sizeClasses(64).build();
        for (int round = 0; round < 500; round++) {
            PooledBuffer b = pool.acquire(64);
            ByteBuffer[] got = new ByteBuffer[1];
            CyclicBarrier go = new CyclicBarrier(2);
            Thread maker = new Thread(() -> {
                try {
                    go.await();
                    got[0] = b.byteBuffer();
                } catch (IllegalStateException closed) {
                    // lost the race: fine
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            maker.start();
            go.await();
            b.close();
            maker.join();
            if (got[0] != null) {
                assertEquals(0, got[0].capacity(), "round " + round + ": a view survived the close");
            }
        }
    }

    @Test
    void zeroingNeverShowsAPreviousHoldersBytesInAnyClassOrLargeSpan() throws InterruptedException {
        pool = BufferPool.builder().name("zero").reserve(128L << 20).zeroOnAcquire(true).build();
        List<Integer> sizes = new ArrayList<>();
        for (int c : pool.sizeClasses()) {
            sizes.add(c);
        }
        sizes.add(100_000);
        sizes.add(1 << 20);
        for (int size : sizes) {
            for (int round = 0; round < 3; round++) {
                PooledBuffer b = pool.acquire(size);
                ByteBuffer v = b.byteBuffer();
                for (int i = 0; i < b.capacity(); i++) {
                    if (v.get(i) != 0) {
                        fail("size " + size + " round " + round + ": byte " + i + " is " + v.get(i));
                    }
                }
                for (int i = 0; i < b.capacity(); i++) {
                    v.put(i, (byte) 0xAB);
                }
                b.close();
            }
        }
        assertTrue(pool.stats().cachedLargeBytes() > 0, "large spans were reused from the cache");
    }

    @Test
    void aLeakedBufferIsReportedAndItsMemoryComesBack() throws InterruptedException {
        pool = BufferPool.builder().name("leak").reserve(16L << 20).sizeClasses(4096).leakDetection(LeakDetection.ALL)
                .magazines(false).build();
        WeakReference<PooledBuffer> ref = leakOne(pool);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (pool.stats().leaksDetected() == 0 && System.nanoTime() < deadline) {
            System.gc();
            Thread.onSpinWait();
        }
        assertTrue(ref.refersTo(null), "the handle was collected");
        assertEquals(1, pool.stats().leaksDetected());
        while (pool.stats().buffersInUse() != 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(0, pool.stats().buffersInUse(), "the leaked memory came back");
        pool.checkInvariants();
        PooledBuffer again = pool.acquire(4096);
        assertNotNull(again);
        again.close();
    }

    /** A leak that still has a reachable view is not a leak: its memory must not go back. */
    @Test
    void aReachableViewKeepsItsBufferFromBeingReclaimed() throws InterruptedException {
        pool = BufferPool.builder().name("leak-view").reserve(16L << 20).sizeClasses(4096).leakDetection(LeakDetection.ALL)
                .build();
        ByteBuffer view = viewOfDroppedHandle(pool);
        for (int i = 0; i < 5; i++) {
            System.gc();
        }
        assertEquals(0, pool.stats().leaksDetected());
        assertEquals(1, pool.stats().buffersInUse());
        view.put(0, (byte) 1);
        assertEquals(4096, view.capacity());
    }

    @Test
    void closingThePoolDetachesOpenViewsAndLaterClosesDoNothing() throws InterruptedException {
        BufferPool p = BufferPool.builder().name("close-open").reserve(16L << 20).build();
        PooledBuffer open = p.acquire(1000);
        ByteBuffer view = open.byteBuffer();
        MutableDirectBuffer agrona = open.buffer();
        PooledBuffer large = p.acquire(300_000);
        ByteBuffer largeView = large.byteBuffer();
        p.close();
        assertEquals(0, view.capacity());
        assertEquals(0, agrona.capacity());
        assertEquals(0, largeView.capacity());
        assertTrue(open.isClosed());
        assertThrows(IllegalStateException.class, open::address);
        assertThrows(IllegalStateException.class, open::byteBuffer);
        open.close();
        large.close();
    }

    private static WeakReference<PooledBuffer> leakOne(BufferPool pool) throws InterruptedException {
        PooledBuffer b = pool.acquire(4096);
        b.byteBuffer().put(0, (byte) 1);
        return new WeakReference<>(b);
    }

    private static ByteBuffer viewOfDroppedHandle(BufferPool pool) throws InterruptedException {
        return pool.acquire(4096).byteBuffer();
    }

    /** SAMPLED watches about one acquire in LEAK_SAMPLE_INTERVAL; OFF watches none. */
    @Test
    void sampledWatchesAFractionAndOffWatchesNone() throws InterruptedException {
        int n = 40 * BufferPool.LEAK_SAMPLE_INTERVAL; // expect ~40 watched (Poisson: below 10 or above 90 is < 1e-9)
        try (BufferPool sampled = BufferPool.builder().name("leak-sampled").reserve(64L << 20).sizeClasses(16).build();
             BufferPool off = BufferPool.builder().name("leak-off").reserve(64L << 20).sizeClasses(16)
                     .leakDetection(LeakDetection.OFF).build()) {
            leakMany(sampled, n);
            leakMany(off, 2000);
            long watched = sampled.watched();
            assertTrue(watched >= 10 && watched <= 90, "watched " + watched + " of " + n);
            assertEquals(0, off.watched());
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (sampled.stats().leaksDetected() < watched && System.nanoTime() < deadline) {
                System.gc();
                Thread.onSpinWait();
            }
            System.out.printf("SAMPLED: %d of %d leaked buffers watched, %d reported%n", watched, n,
                    sampled.stats().leaksDetected());
            assertEquals(watched, sampled.stats().leaksDetected(), "every watched leak is reported");
            System.gc();
            assertEquals(0, off.stats().leaksDetected());
        }
    }

    private static void leakMany(BufferPool pool, int n) throws InterruptedException {
        for (int i = 0; i < n; i++) {
            pool.acquire(16);
        }
    }
}

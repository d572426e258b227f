package io.slab4j.buffer;

import org.agrona.MutableDirectBuffer;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round-5 adversarial review of BufferPool / PooledBuffer through their public API. */
class BufferPoolRound5ReviewTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static BufferPool.Builder small() {
        return BufferPool.builder().name("r5-" + SEQ.incrementAndGet()).reserve(16L << 20);
    }

    private static void join(Thread... ts) throws InterruptedException {
        for (Thread t : ts) {
            t.join(TimeUnit.SECONDS.toMillis(10));
            assertTrue(!t.isAlive(), "thread still running: " + t);
        }
    }

    private static void rethrow(AtomicReference<Throwable> err) {
        if (err.get() != null) {
            throw new AssertionError("worker failed", err.get());
        }
    }

    @Test
    void closesFromAnotherThreadLeaveTheCountsAtZero() throws Exception {
        try (BufferPool p = small().build()) {
            for (int round = 0; round < 20; round++) {
                List<PooledBuffer> bufs = new ArrayList<>();
                for (int i = 0; i < 200; i++) {
                    bufs.add(p.acquire(64 + (i % 5) * 100));
                }
                Thread t = new Thread(() -> bufs.forEach(PooledBuffer::close));
                t.start();
                join(t);
                BufferPoolStats s = p.stats();
                assertEquals(0, s.buffersInUse(), "round " + round + ": " + s);
                assertEquals(0, s.usedBytes(), "round " + round + ": " + s);
                for (SizeClassStats c : s.sizeClasses()) {
                    assertEquals(0, c.buffersInUse(), "class " + c);
                }
                p.checkInvariants();
            }
        }
    }

    @Test
    void manyThreadsRacingToCloseOneHandleReturnItOnce() throws Exception {
        int threads = 4;
        try (BufferPool p = small().build()) {
            for (int round = 0; round < 300; round++) {
                PooledBuffer b = p.acquire(100);
                CyclicBarrier bar = new CyclicBarrier(threads);
                AtomicReference<Throwable> err = new AtomicReference<>();
                Thread[] ts = new Thread[threads];
                for (int i = 0; i < threads; i++) {
                    ts[i] = new Thread(() -> {
                        try {
                            bar.await();
                            b.close();
                        } catch (Throwable e) {
                            err.set(e);
                        }
                    });
                    ts[i].start();
                }
                join(ts);
                rethrow(err);
                assertEquals(0, p.stats().buffersInUse(), "round " + round);
            }
            // no address handed to two holders afterwards
            Set<Long> seen = new HashSet<>();
            List<PooledBuffer> held = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                PooledBuffer b = p.acquire(100);
                assertTrue(seen.add(b.address()), "address handed out twice: " + b.address());
                held.add(b);
            }
            held.forEach(PooledBuffer::close);
            p.checkInvariants();
        }
    }

    @Test
    void crossThreadTrafficWithTrimLoopConservesAddresses() throws Exception {
        try (BufferPool p = small().build()) {
            java.util.concurrent.BlockingQueue<PooledBuffer> q = new java.util.concurrent.LinkedBlockingQueue<>();
            Set<Long> owned = ConcurrentHashMap.newKeySet();
            AtomicReference<Throwable> err = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(2);
            Thread producer = new Thread(() -> {
                try {
                    for (int i = 0; i < 20000; i++) {
                        PooledBuffer b = p.acquire(16 + (i * 37) % 5000);
                        if (!owned.add(b.address())) {
                            throw new AssertionError("address owned twice " + b.address());
                        }
                        q.put(b);
                    }
                } catch (Throwable e) {
                    err.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            });
            Thread consumer = new Thread(() -> {
                try {
                    for (int i = 0; i < 20000; i++) {
                        PooledBuffer b = q.take();
                        long a = b.address();
                        owned.remove(a);
                        b.close();
                    }
                } catch (Throwable e) {
                    err.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            });
            Thread trimmer = new Thread(() -> {
                while (done.getCount() > 0) {
                    try {
                        p.trim();
                    } catch (Throwable e) {
                        err.compareAndSet(null, e);
                        return;
                    }
                }
            });
            producer.start();
            consumer.start();
            trimmer.start();
            join(producer, consumer, trimmer);
            rethrow(err);
            BufferPoolStats s = p.stats();
            assertEquals(0, s.buffersInUse(), s.toString());
            p.checkInvariants();
            p.trim();
            assertEquals(0, p.stats().committedBytes(), p.stats().toString());
        }
    }

    @Test
    void everyClassBoundaryAndJustAboveTheLargestGetTheDocumentedCapacity() throws Exception {
        try (BufferPool p = small().build()) {
            int[] classes = p.sizeClasses();
            for (int i = 0; i < classes.length; i++) {
                int c = classes[i];
                try (PooledBuffer b = p.acquire(c)) {
                    assertEquals(c, b.capacity(), "size " + c);
                    assertEquals(c, b.byteBuffer().capacity());
                    assertEquals(c, b.buffer().capacity());
                }
                if (i > 0) {
                    try (PooledBuffer b = p.acquire(classes[i - 1] + 1)) {
                        assertEquals(c, b.capacity(), "size " + (classes[i - 1] + 1));
                    }
                }
                try (PooledBuffer b = p.acquire(c - 1 <= 0 ? 1 : c - 1)) {
                    assertTrue(b.capacity() >= c - 1 && b.capacity() <= c);
                }
            }
            int largest = classes[classes.length - 1];
            int page = 4096;
            for (int size : new int[] {largest + 1, largest + page, largest + page + 1, 1 << 20, (1 << 21) + 1}) {
                try (PooledBuffer b = p.acquire(size)) {
                    int want = (size + page - 1) / page * page;
                    assertEquals(want, b.capacity(), "size " + size);
                    assertEquals(want, b.byteBuffer().capacity());
                    b.byteBuffer().put(want - 1, (byte) 1);
                }
            }
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void zeroOnAcquireZeroesReusedClassItemsAndLargeSpansAcrossThreads() throws Exception {
        try (BufferPool p = small().zeroOnAcquire(true).build()) {
            int[] sizes = {16, 100, 4096, 65536, 65537, 1 << 20};
            for (int size : sizes) {
                for (int round = 0; round < 3; round++) {
                    AtomicReference<PooledBuffer> dirty = new AtomicReference<>();
                    Thread t = new Thread(() -> {
                        try {
                            PooledBuffer b = p.acquire(size);
                            ByteBuffer bb = b.byteBuffer();
                            for (int i = 0; i < bb.capacity(); i++) {
                                bb.put(i, (byte) 0x5A);
                            }
                            dirty.set(b);
                        } catch (InterruptedException e) {
                            throw new RuntimeException(e);
                        }
                    });
                    t.start();
                    join(t);
                    long addr = dirty.get().address();
                    dirty.get().close();
                    PooledBuffer b = p.acquire(size);
                    ByteBuffer bb = b.byteBuffer();
                    for (int i = 0; i < bb.capacity(); i++) {
                        if (bb.get(i) != 0) {
                            throw new AssertionError("size " + size + " byte " + i + " not zeroed (reuse "
                                    + (b.address() == addr) + ")");
                        }
                    }
                    b.close();
                }
            }
            p.checkInvariants();
        }
    }

    @Test
    void useAfterCloseThroughHandleAndViewsThrows() throws Exception {
        try (BufferPool p = small().build()) {
            for (int size : new int[] {64, 70000}) {
                PooledBuffer b = p.acquire(size);
                ByteBuffer bb = b.byteBuffer();
                MutableDirectBuffer ag = b.buffer();
                b.close();
                assertTrue(b.isClosed());
                assertThrows(IllegalStateException.class, b::address);
                assertThrows(IllegalStateException.class, b::capacity);
                assertThrows(IllegalStateException.class, b::byteBuffer);
                assertThrows(IllegalStateException.class, b::buffer);
                assertEquals(0, bb.capacity());
                assertEquals(0, ag.capacity());
                assertThrows(IndexOutOfBoundsException.class, () -> bb.get(0));
                assertThrows(IndexOutOfBoundsException.class, () -> ag.getByte(0));
                b.close();
            }
            // views made on another thread, closed on this one
            AtomicReference<PooledBuffer> h = new AtomicReference<>();
            AtomicReference<ByteBuffer> v = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    PooledBuffer b = p.acquire(200);
                    v.set(b.byteBuffer());
                    h.set(b);
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            });
            t.start();
            join(t);
            h.get().close();
            assertEquals(0, v.get().capacity());
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void closeAfterPoolCloseDoesNothingAndAcquireAfterCloseThrows() throws Exception {
        BufferPool p = small().build();
        PooledBuffer a = p.acquire(64);
        PooledBuffer large = p.acquire(200000);
        ByteBuffer av = a.byteBuffer();
        PooledBuffer plain = p.acquire(128);
        p.close();
        assertTrue(a.isClosed());
        assertTrue(plain.isClosed());
        assertEquals(0, av.capacity());
        assertThrows(IllegalStateException.class, plain::address);
        assertThrows(IllegalStateException.class, plain::byteBuffer);
        assertThrows(IllegalStateException.class, large::buffer);
        a.close();
        plain.close();
        large.close();
        assertThrows(IllegalStateException.class, () -> p.acquire(64));
        assertThrows(IllegalStateException.class, () -> p.tryAcquire(64));
        assertThrows(IllegalStateException.class, () -> p.acquire(64, Duration.ofMillis(1)));
        assertThrows(IllegalStateException.class, () -> p.acquire(1 << 20));
        p.checkInvariants();
        p.close();
    }

    @Test
    void closeOnAnotherThreadAfterPoolCloseNeverThrows() throws Exception {
        for (int round = 0; round < 20; round++) {
            BufferPool p = small().build();
            List<PooledBuffer> bufs = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                bufs.add(p.acquire(i % 2 == 0 ? 64 : 100000));
            }
            AtomicReference<Throwable> err = new AtomicReference<>();
            CyclicBarrier bar = new CyclicBarrier(2);
            Thread t = new Thread(() -> {
                try {
                    bar.await();
                    for (PooledBuffer b : bufs) {
                        b.close();
                    }
                } catch (Throwable e) {
                    err.set(e);
                }
            });
            t.start();
            bar.await();
            p.close();
            join(t);
            rethrow(err);
            p.checkInvariants();
        }
    }

    /** The leak reports' stack traces through surefire's pipe are slower than the cleaner: keep them out. */
    private static java.util.logging.Level quietLeaks() {
        java.util.logging.Logger log = java.util.logging.Logger.getLogger(BufferPool.class.getName());
        java.util.logging.Level was = log.getLevel();
        log.setLevel(java.util.logging.Level.SEVERE);
        return was;
    }

    private static void loudAgain(java.util.logging.Level was) {
        java.util.logging.Logger.getLogger(BufferPool.class.getName()).setLevel(was);
    }

    private static void leak(BufferPool p, int size) throws InterruptedException {
        PooledBuffer b = p.acquire(size);
        b.byteBuffer().put(0, (byte) 1);
    }

    @Test
    void leakedBuffersRacingTrimComeBackAndCountsReturnToZero() throws Exception {
        try (BufferPool p = small().leakDetection(LeakDetection.ALL).build()) {
            int n = 300;
            Thread t = new Thread(() -> {
                try {
                    for (int i = 0; i < n; i++) {
                        leak(p, 16 + (i * 53) % 3000);
                    }
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            });
            t.start();
            join(t);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while ((p.stats().leaksDetected() < n || p.stats().buffersInUse() > 0) && System.nanoTime() < end) {
                System.gc();
                p.trim();
                try (PooledBuffer b = p.acquire(64)) {
                    b.byteBuffer();
                }
                Thread.sleep(5);
            }
            BufferPoolStats s = p.stats();
            assertEquals(n, s.leaksDetected(), s.toString());
            assertEquals(0, s.buffersInUse(), s.toString());
            assertEquals(0, s.usedBytes(), s.toString());
            p.checkInvariants();
            p.trim();
            assertEquals(0, p.stats().committedBytes(), p.stats().toString());
        }
    }

    @Test
    void aBlockedAcquireOfAHugePageBufferIsServedByAClose() throws Exception {
        try (BufferPool p = BufferPool.builder().name("r5-" + SEQ.incrementAndGet()).reserve(5L << 20)
                .hugePages(true).prefault(true).build()) {
            PooledBuffer a = p.acquire(2 << 20);
            PooledBuffer b = p.tryAcquire(2 << 20);
            // may or may not fit the second; hold what fits
            PooledBuffer c = b == null ? null : p.tryAcquire(2 << 20);
            AtomicReference<PooledBuffer> got = new AtomicReference<>();
            AtomicReference<Throwable> err = new AtomicReference<>();
            Thread w = new Thread(() -> {
                try {
                    got.set(p.acquire(2 << 20, Duration.ofSeconds(5)));
                } catch (Throwable e) {
                    err.set(e);
                }
            });
            if (c == null && b != null) {
                // two fit: the third waits
                w.start();
            } else {
                w.start();
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (p.stats().waiters() < 1 && System.nanoTime() < end) {
                Thread.sleep(1);
            }
            assertEquals(1, p.stats().waiters());
            a.close();
            join(w);
            rethrow(err);
            assertNotNull(got.get());
            got.get().byteBuffer().put((2 << 20) - 1, (byte) 1);
            got.get().close();
            if (b != null) b.close();
            if (c != null) c.close();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void hugePagesWithSmallOrUnalignedReservationsAndCaps() throws Exception {
        long[] reserves = {1L << 20, 3L << 20, (5L << 20) + 4096, 7L << 20};
        for (long r : reserves) {
            try (BufferPool p = BufferPool.builder().name("r5-" + SEQ.incrementAndGet()).reserve(r)
                    .maxCommitted(r).hugePages(true).sizeClasses(64, 4096).build()) {
                assertTrue(p.stats().reservedBytes() >= r, "reserve " + r + ": " + p.stats());
                List<PooledBuffer> held = new ArrayList<>();
                PooledBuffer b;
                while ((b = p.tryAcquire(1 << 20)) != null) {
                    held.add(b);
                    assertTrue(p.stats().committedBytes() <= r, p.stats().toString());
                }
                assertTrue(!held.isEmpty() || r < (1L << 20) + 8192, "reserve " + r + " served none");
                held.forEach(PooledBuffer::close);
                p.checkInvariants();
            }
        }
    }

    @Test
    void maxCommittedIsHonouredWithHugePages() throws Exception {
        long cap = 3L << 20;
        try (BufferPool p = BufferPool.builder().name("r5-" + SEQ.incrementAndGet()).reserve(32L << 20)
                .maxCommitted(cap).hugePages(true).prefault(true).build()) {
            List<PooledBuffer> held = new ArrayList<>();
            PooledBuffer b;
            while ((b = p.tryAcquire(2 << 20)) != null) {
                held.add(b);
                assertTrue(p.stats().committedBytes() <= cap, p.stats().toString());
            }
            assertEquals(1, held.size(), p.stats().toString());
            while ((b = p.tryAcquire(100000)) != null) {
                held.add(b);
                assertTrue(p.stats().committedBytes() <= cap, p.stats().toString());
            }
            assertNull(p.tryAcquire(2 << 20));
            held.forEach(PooledBuffer::close);
            p.trim();
            assertEquals(0, p.stats().committedBytes());
            p.checkInvariants();
        }
    }

    @Test
    void interruptOfBlockedAcquiresLosesNothing() throws Exception {
        try (BufferPool p = small().reserve(4L << 20).sizeClasses(64, 1 << 16).build()) {
            List<PooledBuffer> held = new ArrayList<>();
            PooledBuffer b;
            while ((b = p.tryAcquire(1 << 16)) != null) {
                held.add(b);
            }
            int n = held.size();
            for (int round = 0; round < 30; round++) {
                Thread[] ws = new Thread[3];
                AtomicInteger served = new AtomicInteger();
                List<PooledBuffer> got = java.util.Collections.synchronizedList(new ArrayList<>());
                for (int i = 0; i < ws.length; i++) {
                    ws[i] = new Thread(() -> {
                        try {
                            PooledBuffer x = p.acquire(1 << 16);
                            got.add(x);
                            served.incrementAndGet();
                        } catch (InterruptedException e) {
                            // expected
                        }
                    });
                    ws[i].start();
                }
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (p.stats().waiters() < ws.length && System.nanoTime() < end) {
                    Thread.sleep(1);
                }
                held.remove(0).close();
                for (Thread w : ws) {
                    w.interrupt();
                }
                join(ws);
                assertEquals(0, p.stats().waiters());
                held.addAll(got);
                // conservation: nothing lost
                assertEquals(held.size(), p.stats().buffersInUse(), "round " + round);
                while (held.size() < n) {
                    PooledBuffer x = p.tryAcquire(1 << 16);
                    assertNotNull(x, "round " + round + ": lost an item, " + p.stats());
                    held.add(x);
                }
                assertNull(p.tryAcquire(1 << 16));
                p.checkInvariants();
            }
            held.forEach(PooledBuffer::close);
        }
    }

    @Test
    void theAcquirerClosingItsOwnBuffersWhileAnotherThreadClosesItsOthersKeepsTheCount() throws Exception {
        for (boolean magazines : new boolean[] {true, false}) {
            try (BufferPool p = small().magazines(magazines).build()) {
                java.util.concurrent.BlockingQueue<PooledBuffer> q = new java.util.concurrent.ArrayBlockingQueue<>(64);
                AtomicReference<Throwable> err = new AtomicReference<>();
                int n = 30000;
                Thread closer = new Thread(() -> {
                    try {
                        for (int i = 0; i < n; i++) {
                            q.take().close();
                        }
                    } catch (Throwable e) {
                        err.compareAndSet(null, e);
                    }
                });
                closer.start();
                for (int i = 0; i < n; i++) {
                    PooledBuffer mine = p.acquire(100);
                    PooledBuffer theirs = p.acquire(100);
                    q.put(theirs);
                    mine.close();
                }
                join(closer);
                rethrow(err);
                BufferPoolStats s = p.stats();
                assertEquals(0, s.buffersInUse(), "magazines " + magazines + ": " + s);
                assertEquals(0, s.usedBytes(), "magazines " + magazines);
                p.checkInvariants();
                p.trim();
                assertEquals(0, p.stats().committedBytes(), "magazines " + magazines + ": " + p.stats());
            }
        }
    }

    @Test
    void largeSpansClosedOnOtherThreadsWhileTrimLoopsAreConserved() throws Exception {
        try (BufferPool p = small().reserve(64L << 20).build()) {
            java.util.concurrent.BlockingQueue<PooledBuffer> q = new java.util.concurrent.ArrayBlockingQueue<>(8);
            Set<Long> owned = ConcurrentHashMap.newKeySet();
            AtomicReference<Throwable> err = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(3);
            int n = 3000;
            Runnable producer = () -> {
                try {
                    for (int i = 0; i < n; i++) {
                        PooledBuffer b = p.acquire(70000 + (i % 4) * 4096);
                        if (!owned.add(b.address())) {
                            throw new AssertionError("owned twice " + b.address());
                        }
                        q.put(b);
                    }
                } catch (Throwable e) {
                    err.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            };
            Thread p1 = new Thread(producer);
            Thread p2 = new Thread(producer);
            Thread consumer = new Thread(() -> {
                try {
                    for (int i = 0; i < 2 * n; i++) {
                        PooledBuffer b = q.take();
                        owned.remove(b.address());
                        b.close();
                    }
                } catch (Throwable e) {
                    err.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            });
            Thread trimmer = new Thread(() -> {
                while (done.getCount() > 0) {
                    try {
                        p.trim();
                    } catch (Throwable e) {
                        err.compareAndSet(null, e);
                        return;
                    }
                }
            });
            p1.start();
            p2.start();
            consumer.start();
            trimmer.start();
            join(p1, p2, consumer, trimmer);
            rethrow(err);
            BufferPoolStats s = p.stats();
            assertEquals(0, s.buffersInUse(), s.toString());
            assertEquals(0, s.largeBuffersInUse(), s.toString());
            p.checkInvariants();
            p.trim();
            assertEquals(0, p.stats().committedBytes(), p.stats().toString());
            assertEquals(0, p.stats().cachedLargeBytes(), p.stats().toString());
        }
    }

    @Test
    void hugePageSizedBuffersSitOnHugePageBoundaries() throws Exception {
        long huge = io.slab4j.nativemem.VirtualRegion.hugePageSize();
        org.junit.jupiter.api.Assumptions.assumeTrue(huge > 0, "no huge pages");
        try (BufferPool p = BufferPool.builder().name("r5-" + SEQ.incrementAndGet()).reserve(32L << 20)
                .hugePages(true).build()) {
            List<PooledBuffer> held = new ArrayList<>();
            held.add(p.acquire(64));
            held.add(p.acquire(300000));
            for (int size : new int[] {(int) huge, (int) huge + 1, 3 * (int) huge}) {
                PooledBuffer b = p.acquire(size);
                assertEquals(0, b.address() % huge, "size " + size + " at " + Long.toHexString(b.address()));
                held.add(b);
            }
            held.forEach(PooledBuffer::close);
            // reused from the large cache, still aligned
            PooledBuffer b = p.acquire((int) huge);
            assertEquals(0, b.address() % huge);
            b.close();
            p.checkInvariants();
        }
    }

    @Test
    void leakReturnsRacingTheAcquirersOwnTrafficKeepTheCount() throws Exception {
        java.util.logging.Level was = quietLeaks();
        try (BufferPool p = small().leakDetection(LeakDetection.ALL).build()) {
            int leaks = 2000;
            for (int i = 0; i < leaks; i++) {
                leak(p, 100);
                if (i % 50 == 0) {
                    System.gc();
                }
                try (PooledBuffer b = p.acquire(100)) {
                    b.address();
                }
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while ((p.stats().leaksDetected() < leaks || p.stats().buffersInUse() > 0) && System.nanoTime() < end) {
                System.gc();
                Thread.sleep(5);
            }
            BufferPoolStats s = p.stats();
            assertEquals(leaks, s.leaksDetected(), s.toString());
            assertEquals(0, s.buffersInUse(), s.toString());
            p.checkInvariants();
        } finally {
            loudAgain(was);
        }
    }

    @Test
    void poolCloseRacingLeakReturnsNeverThrowsOrCorrupts() throws Exception {
        for (int round = 0; round < 10; round++) {
            BufferPool p = small().leakDetection(LeakDetection.ALL).build();
            for (int i = 0; i < 200; i++) {
                leak(p, 16 + i * 331 % 90000);
            }
            System.gc();
            p.close();
            System.gc();
            Thread.sleep(10);
            p.checkInvariants();
            assertEquals(0, p.stats().committedBytes());
        }
    }

    @Test
    void buffersOfAnExitedAcquirerClosedElsewhereLeaveNothingInUseOrCommitted() throws Exception {
        for (boolean magazines : new boolean[] {true, false}) {
            try (BufferPool p = small().magazines(magazines).build()) {
                List<PooledBuffer> bufs = java.util.Collections.synchronizedList(new ArrayList<>());
                Thread t = new Thread(() -> {
                    try {
                        for (int i = 0; i < 300; i++) {
                            PooledBuffer b = p.acquire(16 + (i * 97) % 70000);
                            bufs.add(b);
                            if (i % 3 == 0) {
                                PooledBuffer c = p.acquire(100);
                                c.close(); // something parked in the exiting thread's magazines
                            }
                        }
                    } catch (InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                });
                t.start();
                join(t);
                for (PooledBuffer b : bufs) {
                    b.close();
                }
                BufferPoolStats s = p.stats();
                assertEquals(0, s.buffersInUse(), "magazines " + magazines + ": " + s);
                assertEquals(0, s.usedBytes(), "magazines " + magazines);
                p.checkInvariants();
                p.trim();
                assertEquals(0, p.stats().committedBytes(), "magazines " + magazines + ": " + p.stats());
            }
        }
    }

    @Test
    void zeroOnAcquireAlsoZeroesMemoryThatCameBackFromALeak() throws Exception {
        java.util.logging.Level was = quietLeaks();
        try (BufferPool p = small().zeroOnAcquire(true).leakDetection(LeakDetection.ALL).magazines(false)
                .sizeClasses(256).build()) {
            for (int i = 0; i < 50; i++) {
                PooledBuffer b = p.acquire(256);
                ByteBuffer bb = b.byteBuffer();
                for (int k = 0; k < 256; k++) {
                    bb.put(k, (byte) 0x77);
                }
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (p.stats().buffersInUse() > 0 && System.nanoTime() < end) {
                System.gc();
                Thread.sleep(5);
            }
            assertEquals(0, p.stats().buffersInUse());
            List<PooledBuffer> held = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                PooledBuffer b = p.acquire(256);
                held.add(b);
                ByteBuffer bb = b.byteBuffer();
                for (int k = 0; k < 256; k++) {
                    assertEquals(0, bb.get(k), "buffer " + i + " byte " + k);
                }
            }
            held.forEach(PooledBuffer::close);
            p.checkInvariants();
        } finally {
            loudAgain(was);
        }
    }

    @Test
    void aBlockedHugePageAcquireIsServedByClassClosesThatLeaveOnlyAnUnalignedHole() throws Exception {
        // BufferPool: "a blocked acquire is served by whichever comes first, a close of a buffer of its class or
        // space in the arena"; hugePages: large spans "are placed on huge-page boundaries first (anywhere when none
        // is free)". So with huge pages on, a waiter for 2 MiB must be served as soon as a 2 MiB hole exists, aligned
        // or not, exactly as it is with huge pages off.
        List<String> wrong = new ArrayList<>();
        for (boolean huge : new boolean[] {false, true}) {
            try (BufferPool p = BufferPool.builder().name("r5-" + SEQ.incrementAndGet()).reserve(3L << 20)
                    .hugePages(huge).build()) {
                PooledBuffer pin = p.acquire(64);
                List<PooledBuffer> fill = new ArrayList<>();
                PooledBuffer b;
                while ((b = p.tryAcquire(65536)) != null) {
                    fill.add(b);
                }
                assertNull(p.tryAcquire(2 << 20));
                AtomicReference<PooledBuffer> got = new AtomicReference<>();
                AtomicReference<Throwable> err = new AtomicReference<>();
                Thread w = new Thread(() -> {
                    try {
                        got.set(p.acquire(2 << 20, Duration.ofSeconds(3)));
                    } catch (Throwable e) {
                        err.set(e);
                    }
                });
                w.start();
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (p.stats().waiters() < 1 && System.nanoTime() < end) {
                    Thread.sleep(1);
                }
                fill.forEach(PooledBuffer::close);
                join(w);
                rethrow(err);
                if (got.get() == null) {
                    wrong.add("hugePages " + huge + ": waiter timed out, " + p.stats().committedBytes() + " committed");
                } else {
                    got.get().close();
                }
                pin.close();
                p.checkInvariants();
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void oddOrUnalignedClassSizesAreRejectedOrEveryBufferComesBack() throws Exception {
        // PooledBuffer: "addresses are at least 16-byte aligned: items of a class are"; close() "Returns the memory
        // to the pool". A class size the builder accepts must give buffers that go back on close.
        List<String> wrong = new ArrayList<>();
        for (int[] classes : new int[][] {{1, 3, 7}, {24, 40}, {17}, {100, 5000}}) {
            BufferPool p;
            try {
                p = small().sizeClasses(classes).build();
            } catch (IllegalArgumentException e) {
                continue; // refused at once: fine
            }
            try (p) {
                for (int c : classes) {
                    List<PooledBuffer> held = new ArrayList<>();
                    for (int i = 0; i < 40; i++) {
                        PooledBuffer b = p.acquire(c);
                        if (b.capacity() < c) {
                            wrong.add("class " + c + ": capacity " + b.capacity());
                        }
                        if (b.address() % 16 != 0) {
                            wrong.add("class " + java.util.Arrays.toString(classes) + " size " + c + ": address "
                                    + Long.toHexString(b.address()) + " not 16-byte aligned");
                        }
                        held.add(b);
                    }
                    held.forEach(PooledBuffer::close);
                    for (PooledBuffer b : held) {
                        if (!b.isClosed()) {
                            wrong.add("class " + c + ": not closed after close()");
                        }
                    }
                }
                if (p.stats().buffersInUse() != 0) {
                    wrong.add(java.util.Arrays.toString(classes) + ": " + p.stats().buffersInUse() + " in use after closing all");
                }
                p.checkInvariants();
            }
        }
        assertEquals(List.of(), dedupe(wrong));
    }

    private static List<String> dedupe(List<String> l) {
        return new ArrayList<>(new java.util.LinkedHashSet<>(l)).subList(0, Math.min(8, new java.util.LinkedHashSet<>(l).size()));
    }

    @Test
    void aSizeAboveTheLargestIntPageMultipleIsRejectedNamingIt() {
        // BufferPool: "Validate: 0 < size <= reservation (and at most the largest int page multiple)".
        try (BufferPool p = BufferPool.builder().name("r5-" + SEQ.incrementAndGet()).reserve(8L << 30)
                .maxCommitted(64L << 20).build()) {
            for (int size : new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE - 4094}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.tryAcquire(size));
                assertTrue(e.getMessage().contains(Integer.toString(size)), e.getMessage());
            }
            p.checkInvariants();
        }
    }

    @Test
    void anOldHandleClosedAfterItsPoolWasReplacedBySameNamedPoolLeavesTheNewOneAlone() throws Exception {
        String name = "r5-same-" + SEQ.incrementAndGet();
        BufferPool old = BufferPool.builder().name(name).reserve(8L << 20).build();
        PooledBuffer stale = old.acquire(100);
        PooledBuffer staleLarge = old.acquire(200000);
        old.close();
        try (BufferPool p = BufferPool.builder().name(name).reserve(8L << 20).build()) {
            PooledBuffer a = p.acquire(100);
            PooledBuffer l = p.acquire(200000);
            stale.close();
            staleLarge.close();
            assertEquals(2, p.stats().buffersInUse());
            a.byteBuffer().put(0, (byte) 1);
            a.close();
            l.close();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void toStringOfAClosedHandleDoesNotThrow() throws Exception {
        try (BufferPool p = small().build()) {
            PooledBuffer b = p.acquire(64);
            b.close();
            assertNotNull(b.toString());
        }
    }

    private static long residentOf(long address, long bytes) {
        return io.slab4j.testing.ProcMaps.residentPagesWithin(address, address + bytes, io.slab4j.nativemem.VirtualRegion.pageSize());
    }

    @Test
    void decayGivesHugePageSpansBackWithoutTrim() throws Exception {
        long huge = io.slab4j.nativemem.VirtualRegion.hugePageSize();
        org.junit.jupiter.api.Assumptions.assumeTrue(huge > 0, "no huge pages");
        try (BufferPool p = BufferPool.builder().name("r5-" + SEQ.incrementAndGet()).reserve(64L << 20)
                .hugePages(true).prefault(true).idleDecay(Duration.ofMillis(20)).build()) {
            PooledBuffer b = p.acquire((int) (2 * huge));
            long address = b.address();
            long bytes = b.capacity();
            ByteBuffer v = b.byteBuffer();
            for (int i = 0; i < v.capacity(); i += 4096) {
                v.put(i, (byte) 1);
            }
            assertTrue(residentOf(address, bytes) > 0);
            b.close();
            // BufferPool: "idle memory goes back within about two periods of going idle, as long as the pool is used
            // at all"; large spans "go back once idle for between one and two passes".
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while ((p.stats().cachedLargeBytes() > 0 || residentOf(address, bytes) > 0) && System.nanoTime() < end) {
                for (int i = 0; i < 2000; i++) {
                    p.acquire(64).close();
                }
                Thread.sleep(5);
            }
            assertEquals(0, p.stats().cachedLargeBytes(), p.stats().toString());
            assertEquals(0, residentOf(address, bytes), "resident pages of the decayed span");
            p.checkInvariants();
        }
    }

    @Test
    void aLargeBufferWithAHugePageRunIsGivenBackWholeOnTrim() throws Exception {
        long huge = io.slab4j.nativemem.VirtualRegion.hugePageSize();
        org.junit.jupiter.api.Assumptions.assumeTrue(huge > 0, "no huge pages");
        try (BufferPool p = BufferPool.builder().name("r5-" + SEQ.incrementAndGet()).reserve(64L << 20)
                .hugePages(true).prefault(true).build()) {
            PooledBuffer small = p.acquire(64);
            int[] sizes = {(int) huge + 4096, (int) (3 * huge / 2), (int) (5 * huge / 2) + 8192};
            List<long[]> spans = new ArrayList<>();
            for (int size : sizes) {
                PooledBuffer b = p.acquire(size);
                assertEquals(0, b.address() % huge, "size " + size);
                ByteBuffer v = b.byteBuffer();
                for (int i = 0; i < v.capacity(); i += 4096) {
                    v.put(i, (byte) 1);
                }
                spans.add(new long[] {b.address(), b.capacity()});
                b.close();
            }
            small.close();
            p.trim();
            for (long[] s : spans) {
                assertEquals(0, residentOf(s[0], s[1]), "span at " + Long.toHexString(s[0]) + " of " + s[1]);
            }
            assertEquals(0, p.stats().committedBytes(), p.stats().toString());
            p.checkInvariants();
        }
    }

    @Test
    void everythingAtOnceUnderACapConservesEveryAddress() throws Exception {
        java.util.logging.Level was = quietLeaks();
        try (BufferPool p = small().reserve(8L << 20).maxCommitted(4L << 20).leakDetection(LeakDetection.ALL)
                .idleDecay(Duration.ofMillis(2)).zeroOnAcquire(true).build()) {
            Set<Long> owned = ConcurrentHashMap.newKeySet();
            java.util.concurrent.BlockingQueue<PooledBuffer> handoff = new java.util.concurrent.LinkedBlockingQueue<>();
            AtomicReference<Throwable> err = new AtomicReference<>();
            AtomicInteger leaked = new AtomicInteger();
            int workers = 3;
            CountDownLatch done = new CountDownLatch(workers);
            Thread[] ts = new Thread[workers];
            for (int w = 0; w < workers; w++) {
                int seed = w;
                ts[w] = new Thread(() -> {
                    java.util.Random r = new java.util.Random(seed);
                    List<PooledBuffer> mine = new ArrayList<>();
                    try {
                        for (int i = 0; i < 4000 && err.get() == null; i++) {
                            int size = r.nextInt(10) == 0 ? 65537 + r.nextInt(600000) : 1 + r.nextInt(9000);
                            PooledBuffer b = p.acquire(size, Duration.ofMillis(50));
                            if (b != null) {
                                ByteBuffer v = b.byteBuffer();
                                if (v.get(0) != 0 || v.get(v.capacity() - 1) != 0) {
                                    throw new AssertionError("not zeroed: " + b);
                                }
                                v.put(0, (byte) 9).put(v.capacity() - 1, (byte) 9);
                                int what = r.nextInt(20);
                                if (what == 0) {
                                    leaked.incrementAndGet(); // dropped: the leak detector's
                                } else {
                                    if (!owned.add(b.address())) {
                                        throw new AssertionError("owned twice: " + Long.toHexString(b.address()));
                                    }
                                    if (what < 6) {
                                        handoff.add(b);
                                    } else {
                                        mine.add(b);
                                    }
                                }
                            }
                            while (mine.size() > r.nextInt(8) || (b == null && !mine.isEmpty())) {
                                PooledBuffer x = mine.remove(r.nextInt(mine.size()));
                                owned.remove(x.address());
                                x.close();
                            }
                            PooledBuffer other;
                            while ((other = handoff.poll()) != null) {
                                owned.remove(other.address());
                                other.close();
                            }
                            if (i % 500 == 0) {
                                System.gc();
                            }
                        }
                    } catch (Throwable e) {
                        err.compareAndSet(null, e);
                    } finally {
                        for (PooledBuffer x : mine) {
                            owned.remove(x.address());
                            x.close();
                        }
                        done.countDown();
                    }
                });
                ts[w].start();
            }
            Thread trimmer = new Thread(() -> {
                while (done.getCount() > 0) {
                    try {
                        p.trim();
                        Thread.sleep(1);
                    } catch (Throwable e) {
                        err.compareAndSet(null, e);
                        return;
                    }
                }
            });
            trimmer.start();
            join(ts);
            join(trimmer);
            PooledBuffer other;
            while ((other = handoff.poll()) != null) {
                owned.remove(other.address());
                other.close();
            }
            rethrow(err);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (p.stats().buffersInUse() > 0 && System.nanoTime() < end) {
                System.gc();
                Thread.sleep(5);
            }
            BufferPoolStats s = p.stats();
            assertEquals(0, s.buffersInUse(), s.toString());
            assertTrue(s.leaksDetected() >= leaked.get(), s + " leaked " + leaked.get());
            p.checkInvariants();
            p.trim();
            assertEquals(0, p.stats().committedBytes(), p.stats().toString());
        } finally {
            loudAgain(was);
        }
    }

    @Test
    void tryAcquireFindsMemoryParkedByAnIdleThread() throws Exception {
        // BufferPool: tryAcquire "null when nothing fits now"; on a miss it makes room: "drain every class's
        // magazines" (those "of threads outside a pool call"), "and try once more".
        List<String> wrong = new ArrayList<>();
        for (int want : new int[] {4096, 16384, 1 << 20}) {
            try (BufferPool p = small().reserve(4L << 20).sizeClasses(4096, 16384).build()) {
                CountDownLatch parked = new CountDownLatch(1);
                CountDownLatch exit = new CountDownLatch(1);
                Thread idle = new Thread(() -> {
                    try {
                        List<PooledBuffer> all = new ArrayList<>();
                        PooledBuffer b;
                        while ((b = p.tryAcquire(4096)) != null) {
                            all.add(b);
                        }
                        all.forEach(PooledBuffer::close); // parked in this thread's magazines (and the depot)
                        parked.countDown();
                        exit.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                idle.start();
                assertTrue(parked.await(5, TimeUnit.SECONDS));
                PooledBuffer got = p.tryAcquire(want);
                if (got == null) {
                    wrong.add("size " + want + ": null with " + p.stats().buffersInUse() + " in use, "
                            + p.stats().committedBytes() + " committed");
                } else {
                    got.close();
                }
                exit.countDown();
                join(idle);
                p.checkInvariants();
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void jmxFiguresAgreeWithStatsAfterCrossThreadCloses() throws Exception {
        try (BufferPool p = small().build()) {
            List<PooledBuffer> bufs = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                bufs.add(p.acquire(100 + i * 3000));
            }
            Thread t = new Thread(() -> bufs.subList(0, 30).forEach(PooledBuffer::close));
            t.start();
            join(t);
            javax.management.MBeanServer mbs = java.lang.management.ManagementFactory.getPlatformMBeanServer();
            javax.management.ObjectName on = new javax.management.ObjectName("io.slab4j:type=BufferPool,name=" + p.name());
            BufferPoolStats s = p.stats();
            assertEquals(20L, s.buffersInUse());
            assertEquals(s.buffersInUse(), ((Number) mbs.getAttribute(on, "BuffersInUse")).longValue());
            assertEquals(s.usedBytes(), ((Number) mbs.getAttribute(on, "UsedBytes")).longValue());
            assertEquals(s.committedBytes(), ((Number) mbs.getAttribute(on, "CommittedBytes")).longValue());
            bufs.subList(30, 50).forEach(PooledBuffer::close);
            assertEquals(0L, ((Number) mbs.getAttribute(on, "BuffersInUse")).longValue());
            assertEquals(0L, ((Number) mbs.getAttribute(on, "UsedBytes")).longValue());
        }
    }

    @Test
    void theReservationStaysTheHardCapWithHugePages() throws Exception {
        // DESIGN: reserve is "address space reserved; the hard cap"; "Size ... beyond the reservation ->
        // IllegalArgumentException". hugePages reserves the region huge-page aligned: that must not raise the cap.
        List<String> wrong = new ArrayList<>();
        for (long r : new long[] {1L << 20, (2L << 20) + 4096, 3L << 20}) {
            try (BufferPool p = BufferPool.builder().name("r5-" + SEQ.incrementAndGet()).reserve(r).hugePages(true)
                    .sizeClasses(64).build()) {
                if (p.stats().reservedBytes() != r) {
                    wrong.add("reserve " + r + ": reservedBytes " + p.stats().reservedBytes());
                }
                int beyond = (int) r + 4096;
                try {
                    PooledBuffer b = p.tryAcquire(beyond);
                    wrong.add("reserve " + r + ": tryAcquire(" + beyond + ") gave " + b);
                    if (b != null) {
                        b.close();
                    }
                } catch (IllegalArgumentException expected) {
                    // as documented
                }
                long total = 0;
                List<PooledBuffer> held = new ArrayList<>();
                PooledBuffer b;
                while ((b = p.tryAcquire(256 << 10)) != null) {
                    held.add(b);
                    total += b.capacity();
                }
                if (total > r) {
                    wrong.add("reserve " + r + ": handed out " + total + " bytes");
                }
                held.forEach(PooledBuffer::close);
                p.checkInvariants();
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void anAcquireWithTheInterruptFlagSetLosesNothing() throws Exception {
        try (BufferPool p = small().reserve(2L << 20).sizeClasses(64, 65536).build()) {
            for (int size : new int[] {64, 65536, 300000}) {
                Thread.currentThread().interrupt();
                try {
                    PooledBuffer b = p.acquire(size);
                    assertTrue(Thread.interrupted(), "an acquire that returned keeps the interrupt flag");
                    b.close();
                } catch (InterruptedException e) {
                    assertEquals(0, p.stats().buffersInUse(), "size " + size);
                }
                Thread.interrupted();
                assertEquals(0, p.stats().buffersInUse(), "size " + size);
            }
            // exhausted: an interrupted acquire must throw and leave no waiter
            List<PooledBuffer> held = new ArrayList<>();
            PooledBuffer b;
            while ((b = p.tryAcquire(65536)) != null) {
                held.add(b);
            }
            int n = held.size();
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> p.acquire(65536));
            assertEquals(0, p.stats().waiters());
            assertEquals(n, p.stats().buffersInUse());
            held.forEach(PooledBuffer::close);
            p.checkInvariants();
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void justAboveACustomLargestClassIsAPageRoundedSpan() throws Exception {
        try (BufferPool p = small().sizeClasses(100, 5000).build()) {
            try (PooledBuffer b = p.acquire(5001)) {
                assertEquals(8192, b.capacity());
                assertEquals(8192, b.byteBuffer().capacity());
            }
            try (PooledBuffer b = p.acquire(4097)) {
                assertEquals(5000, b.capacity());
            }
            try (PooledBuffer b = p.acquire(101)) {
                assertEquals(5000, b.capacity());
            }
            try (PooledBuffer b = p.acquire(1)) {
                assertEquals(100, b.capacity());
            }
            p.checkInvariants();
        }
    }

    @Test
    void theAcquirerAndAnotherThreadRacingToCloseReturnOnceOnEveryPath() throws Exception {
        java.util.logging.Level was = quietLeaks();
        try {
            for (LeakDetection mode : new LeakDetection[] {LeakDetection.OFF, LeakDetection.ALL}) {
                try (BufferPool p = small().leakDetection(mode).build()) {
                    for (int round = 0; round < 400; round++) {
                        int kind = round % 4;
                        int size = kind == 3 ? 100000 : 200;
                        PooledBuffer b = p.acquire(size);
                        ByteBuffer view = kind == 1 || kind == 3 ? b.byteBuffer() : null;
                        if (kind == 2) {
                            b.buffer();
                        }
                        CyclicBarrier bar = new CyclicBarrier(2);
                        AtomicReference<Throwable> err = new AtomicReference<>();
                        Thread t = new Thread(() -> {
                            try {
                                bar.await();
                                b.close();
                            } catch (Throwable e) {
                                err.set(e);
                            }
                        });
                        t.start();
                        bar.await();
                        b.close();
                        join(t);
                        rethrow(err);
                        if (view != null) {
                            assertEquals(0, view.capacity());
                        }
                        assertEquals(0, p.stats().buffersInUse(), mode + " round " + round);
                    }
                    Set<Long> seen = new HashSet<>();
                    List<PooledBuffer> held = new ArrayList<>();
                    for (int i = 0; i < 300; i++) {
                        PooledBuffer b = p.acquire(200);
                        assertTrue(seen.add(b.address()), "handed out twice");
                        held.add(b);
                    }
                    for (int i = 0; i < 30; i++) {
                        PooledBuffer b = p.acquire(100000);
                        assertTrue(seen.add(b.address()), "large handed out twice");
                        held.add(b);
                    }
                    held.forEach(PooledBuffer::close);
                    p.checkInvariants();
                }
            }
        } finally {
            loudAgain(was);
        }
    }

    @Test
    void aClassWhoseSlabExceedsTheCommittedCapIsRefusedInsteadOfWaitingOut() throws Exception {
        // Round 4 fixed "sizes above the committed cap are rejected instead of waiting forever" for large sizes. A
        // class size whose slab alone exceeds maxCommitted can never be served either: build() or acquire() must
        // refuse it (IllegalArgumentException naming it); an acquire that sits out its whole timeout and returns null
        // (or, untimed, waits forever) breaks "never hangs".
        BufferPool p;
        try {
            p = small().maxCommitted(64L << 10).build();
        } catch (IllegalArgumentException refused) {
            return;
        }
        try (p) {
            int[] classes = p.sizeClasses();
            int largest = classes[classes.length - 1];
            long slab = p.stats().sizeClasses().get(classes.length - 1).slabBytes();
            org.junit.jupiter.api.Assumptions.assumeTrue(slab > (64L << 10), "the largest class's slab fits the cap");
            try {
                PooledBuffer b = p.acquire(largest, Duration.ofMillis(300));
                assertNotNull(b, "acquire(" + largest + ") timed out: its slab of " + slab
                        + " bytes can never fit maxCommitted 65536");
                b.close();
            } catch (IllegalArgumentException refused) {
                assertTrue(refused.getMessage().contains(Integer.toString(largest)), refused.getMessage());
            }
        }
    }

    /** Committed bytes of the class slabs, less the class the traffic itself uses (60000 -> the largest class). */
    private static long othersCommitted(BufferPool p, String traffic) {
        List<SizeClassStats> c = p.stats().sizeClasses();
        return classCommitted(p) - (traffic.equals("class tryAcquire") ? c.get(c.size() - 1).committedBytes() : 0);
    }

    private static long classCommitted(BufferPool p) {
        return p.stats().sizeClasses().stream().mapToLong(SizeClassStats::committedBytes).sum();
    }

    @Test
    void decayDrivenByLargeOnlyOrTryAcquireOnlyTrafficReturnsAnExitedThreadsClassMemory() throws Exception {
        // BufferPool: "the same happens on its own once per idleDecay ... one acquire in DECAY_CHECK_INTERVAL looks
        // at the clock ... So idle memory goes back within about two periods of going idle, as long as the pool is
        // used at all". trim() gives all of it back (the exited thread's magazines, idle slabs).
        List<String> wrong = new ArrayList<>();
        for (String traffic : new String[] {"large acquire", "class tryAcquire", "large tryAcquire"}) {
            try (BufferPool p = small().idleDecay(Duration.ofMillis(20)).build()) {
                Thread t = new Thread(() -> {
                    try {
                        List<PooledBuffer> l = new ArrayList<>();
                        for (int i = 0; i < 400; i++) {
                            l.add(p.acquire(16 + (i * 131) % 8000));
                        }
                        l.forEach(PooledBuffer::close);
                    } catch (InterruptedException e) {
                        throw new RuntimeException(e);
                    }
                });
                t.start();
                join(t);
                long before = classCommitted(p);
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (othersCommitted(p, traffic) > 0 && System.nanoTime() < end) {
                    for (int i = 0; i < 3000; i++) {
                        PooledBuffer b = switch (traffic) {
                            case "large acquire" -> p.acquire(1 << 20);
                            case "class tryAcquire" -> p.tryAcquire(60000);
                            default -> p.tryAcquire(1 << 20);
                        };
                        b.close();
                    }
                    Thread.sleep(2);
                }
                long after = othersCommitted(p, traffic);
                if (after > 0) {
                    wrong.add(traffic + ": class slabs still committed " + after + " of " + before);
                }
                p.checkInvariants();
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void aBuilderWithGrowAdviceBuildsAgainAfterClose() throws Exception {
        BufferPool.Builder b = small().hugePages(true).prefault(true).zeroOnAcquire(true).maxCommitted(8L << 20);
        for (int i = 0; i < 3; i++) {
            try (BufferPool p = b.build()) {
                try (PooledBuffer x = p.acquire(3 << 20)) {
                    assertEquals(3 << 20, x.capacity());
                    assertEquals(0, x.byteBuffer().get((3 << 20) - 1));
                }
                assertEquals(8L << 20, p.stats().maxCommittedBytes());
                assertEquals(16L << 20, p.stats().reservedBytes());
                p.checkInvariants();
            }
        }
    }

    @Test
    void aClosedPoolHandsOutNothingFromTheCallersParkedItems() throws Exception {
        // DESIGN: acquire "after close() -> IllegalStateException"; close() unmaps, so an item still parked in the
        // caller's magazines must not come out of the fast path afterwards.
        for (boolean magazines : new boolean[] {true, false}) {
            BufferPool p = small().magazines(magazines).build();
            for (int i = 0; i < 10; i++) {
                List<PooledBuffer> l = new ArrayList<>();
                for (int k = 0; k < 5; k++) {
                    l.add(p.acquire(64));
                    l.add(p.acquire(100000));
                }
                l.forEach(PooledBuffer::close);
            }
            p.close();
            for (int size : new int[] {64, 100000}) {
                assertThrows(IllegalStateException.class, () -> p.tryAcquire(size), "size " + size);
                assertThrows(IllegalStateException.class, () -> p.acquire(size), "size " + size);
                assertThrows(IllegalStateException.class, () -> p.acquire(size, Duration.ofMillis(10)), "size " + size);
            }
            // and on another thread that had parked items too
            AtomicReference<Throwable> err = new AtomicReference<>();
            BufferPool q = small().magazines(magazines).build();
            CountDownLatch parked = new CountDownLatch(1);
            CountDownLatch closed = new CountDownLatch(1);
            Thread t = new Thread(() -> {
                try {
                    for (int k = 0; k < 20; k++) {
                        q.acquire(64).close();
                    }
                    parked.countDown();
                    closed.await();
                    try {
                        PooledBuffer b = q.tryAcquire(64);
                        err.set(new AssertionError("handed out after close: " + b));
                    } catch (IllegalStateException expected) {
                        // as documented
                    }
                } catch (Throwable e) {
                    err.set(e);
                }
            });
            t.start();
            assertTrue(parked.await(5, TimeUnit.SECONDS));
            q.close();
            closed.countDown();
            join(t);
            rethrow(err);
        }
    }
}

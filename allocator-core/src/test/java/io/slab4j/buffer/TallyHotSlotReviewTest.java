package io.slab4j.buffer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Adversarial review of the hot slot of {@link ClassTally} (review6b, against d30bbcf). Each
 * test is an attack through the public API of {@link BufferPool} / {@link PooledBuffer} on one
 * contract of the hot slot: memory handed to two owners at once, memory stranded in a slot
 * (after every close and {@code trim()} no class holds a slab), waiters served (in arrival
 * order, across classes, when a close races the start of a wait, after interrupts and
 * timeouts), the pool's close racing closes and acquires (no exception from an accepted
 * {@code close()}), exited threads' parked items, zeroing and leak detection across hot reuse,
 * {@code magazines(false)}, and {@code checkInvariants()} while threads run. Every one of them
 * held on d30bbcf (none failed in repeated runs); they stay as regression tests of the slot's
 * protocol.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class TallyHotSlotReviewTest {

    private static void awaitWaiters(BufferPool pool, int n) throws InterruptedException {
        awaitWaiters(pool, n, "");
    }

    private static void awaitWaiters(BufferPool pool, int n, String what) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (pool.stats().waiters() < n && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        assertEquals(n, pool.stats().waiters(), what + ": blocked acquires");
    }

    private static List<PooledBuffer> fill(BufferPool pool, int size) {
        List<PooledBuffer> all = new ArrayList<>();
        PooledBuffer b;
        while ((b = pool.tryAcquire(size)) != null) {
            all.add(b);
        }
        return all;
    }

    /** After every buffer is closed and trim() ran, no class holds a slab and nothing is in use. */
    private static void assertAllBack(BufferPool pool) {
        pool.trim();
        BufferPoolStats s = pool.stats();
        assertEquals(0, s.buffersInUse(), "buffers in use after every close");
        for (SizeClassStats k : s.sizeClasses()) {
            assertEquals(0, k.slabs(), "class " + k.size() + " still holds slabs after every close and trim(): " + k);
        }
        pool.checkInvariants();
    }

    @Test
    void anInterruptedWaiterStrandsNothingAndTheNextWaiterIsServed() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-interrupt").reserve(1L << 20).leakDetection(LeakDetection.OFF).build()) {
            List<PooledBuffer> all = fill(pool, 64);
            for (int round = 0; round < 20; round++) {
                AtomicReference<Object> result = new AtomicReference<>();
                Thread w = new Thread(() -> {
                    try {
                        result.set(pool.acquire(64));
                    } catch (Throwable e) {
                        result.set(e);
                    }
                }, "waiter-" + round);
                w.start();
                awaitWaiters(pool, 1, "round " + round);
                PooledBuffer b = all.remove(all.size() - 1);
                if (round % 2 == 0) {
                    w.interrupt();
                    b.close();
                } else {
                    b.close();
                    w.interrupt();
                }
                w.join(10_000);
                assertTrue(!w.isAlive(), "the waiter left");
                Object r = result.get();
                if (r instanceof PooledBuffer) {
                    ((PooledBuffer) r).close(); // closed by the main thread: elsewhere, into its magazines
                    PooledBuffer again = pool.acquire(64, Duration.ofSeconds(5));
                    assertNotNull(again, "round " + round + ": the buffer the waiter got and closed is to be had again");
                    all.add(again);
                } else {
                    assertTrue(r instanceof InterruptedException, "interrupted: " + r);
                    PooledBuffer again = pool.acquire(64, Duration.ofSeconds(5));
                    assertNotNull(again, "round " + round + ": the closed buffer is still to be had after the waiter was interrupted");
                    all.add(again);
                }
            }
            for (PooledBuffer b : all) {
                b.close();
            }
            assertAllBack(pool);
        }
    }

    @Test
    void waitersAreServedInArrivalOrder() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-fifo").reserve(1L << 20).leakDetection(LeakDetection.OFF).build()) {
            List<PooledBuffer> all = fill(pool, 64);
            int n = 3;
            List<AtomicReference<PooledBuffer>> got = new ArrayList<>();
            List<Thread> ws = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                AtomicReference<PooledBuffer> g = new AtomicReference<>();
                got.add(g);
                Thread w = new Thread(() -> {
                    try {
                        g.set(pool.acquire(64, Duration.ofSeconds(20)));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "fifo-" + i);
                ws.add(w);
                w.start();
                awaitWaiters(pool, i + 1);
            }
            for (int i = 0; i < n; i++) {
                all.remove(all.size() - 1).close();
                ws.get(i).join(10_000);
                assertNotNull(got.get(i).get(), "waiter " + i + " (arrived " + i + "th) is served by close " + i);
                for (int j = i + 1; j < n; j++) {
                    assertNull(got.get(j).get(), "a later waiter " + j + " went before waiter " + i);
                }
            }
            for (AtomicReference<PooledBuffer> g : got) {
                g.get().close();
            }
            for (PooledBuffer b : all) {
                b.close();
            }
            assertAllBack(pool);
        }
    }

    @Test
    void closesOnAnotherThreadServeAWaiterOfAnotherClass() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-cross").reserve(1L << 20).leakDetection(LeakDetection.OFF).build()) {
            BlockingQueue<List<PooledBuffer>> handOver = new ArrayBlockingQueue<>(1);
            CountDownLatch closeNow = new CountDownLatch(1);
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            Thread owner = new Thread(() -> {
                try {
                    List<PooledBuffer> mine = fill(pool, 64);
                    PooledBuffer parked = mine.remove(mine.size() - 1);
                    parked.close(); // parked in this thread's hot slot before anyone waits
                    handOver.put(List.of());
                    closeNow.await();
                    for (PooledBuffer b : mine) {
                        b.close();
                    }
                } catch (Throwable e) {
                    trouble.set(e);
                }
            }, "owner");
            owner.start();
            handOver.take();
            AtomicReference<Object> got = new AtomicReference<>();
            Thread w = new Thread(() -> {
                try {
                    got.set(pool.acquire(8192, Duration.ofSeconds(20)));
                } catch (Throwable e) {
                    got.set(e);
                }
            }, "big-waiter");
            w.start();
            // the waiter may be served at once from what its make-room freed (the hot item alone frees no slab)
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (pool.stats().waiters() == 0 && got.get() == null && System.nanoTime() < until) {
                Thread.sleep(1);
            }
            closeNow.countDown();
            owner.join(10_000);
            w.join(15_000);
            assertNull(trouble.get());
            assertTrue(got.get() instanceof PooledBuffer, "the waiter of class 8192 was served by the closes of 64-byte buffers: " + got.get());
            ((PooledBuffer) got.get()).close();
            assertAllBack(pool);
        }
    }

    @Test
    void buffersClosedRacingThePoolsCloseNeverThrow() throws Exception {
        for (int round = 0; round < 30; round++) {
            BufferPool pool = BufferPool.builder().name("rv-close-" + round).reserve(1L << 20).leakDetection(LeakDetection.OFF).build();
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> ts = new ArrayList<>();
            CountDownLatch started = new CountDownLatch(3);
            for (int i = 0; i < 3; i++) {
                int me = i;
                Thread t = new Thread(() -> {
                    List<PooledBuffer> held = new ArrayList<>();
                    started.countDown();
                    while (!stop.get()) {
                        PooledBuffer b;
                        try {
                            b = me == 0 ? pool.acquire(64, Duration.ofMillis(1)) : pool.tryAcquire(64);
                        } catch (IllegalStateException closed) {
                            break; // the pool closed: an acquire may throw
                        } catch (InterruptedException e) {
                            break;
                        } catch (Throwable e) {
                            trouble.compareAndSet(null, e);
                            break;
                        }
                        if (b != null) {
                            held.add(b);
                        }
                        if (b == null || held.size() > 4000) {
                            try {
                                for (PooledBuffer x : held) {
                                    x.close();
                                }
                            } catch (Throwable e) {
                                trouble.compareAndSet(null, new AssertionError("PooledBuffer.close() threw", e));
                            }
                            held.clear();
                        } else if ((held.size() & 1) == 0) {
                            try {
                                held.remove(held.size() - 1).close();
                            } catch (Throwable e) {
                                trouble.compareAndSet(null, new AssertionError("PooledBuffer.close() threw", e));
                            }
                        }
                    }
                    try {
                        for (PooledBuffer x : held) {
                            x.close();
                        }
                    } catch (Throwable e) {
                        trouble.compareAndSet(null, new AssertionError("PooledBuffer.close() threw after the pool closed", e));
                    }
                }, "racer-" + i);
                ts.add(t);
                t.start();
            }
            started.await();
            Thread.sleep(5 + round % 7);
            pool.close();
            BufferPoolStats s = pool.stats();
            stop.set(true);
            for (Thread t : ts) {
                t.join(10_000);
            }
            assertNull(trouble.get(), "round " + round + ": " + trouble.get());
            for (SizeClassStats k : s.sizeClasses()) {
                assertEquals(0, k.slabs(), "a closed pool lists no slabs");
            }
        }
    }

    @Test
    void anExitedThreadsParkedItemsComeBackByTrimAlone() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-exit").reserve(16L << 20).leakDetection(LeakDetection.OFF).build()) {
            Thread t = new Thread(() -> {
                for (int size : new int[] {16, 64, 1024, 65536}) {
                    try {
                        PooledBuffer a = pool.acquire(size);
                        PooledBuffer b = pool.acquire(size);
                        a.close(); // hot
                        b.close(); // magazines
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }
            }, "exits");
            t.start();
            t.join();
            pool.trim(); // no stats() before: the fold has not run
            for (SizeClassStats k : pool.stats().sizeClasses()) {
                assertEquals(0, k.slabs(), "class " + k.size() + " after the thread exited and trim(): " + k);
            }
            assertAllBack(pool);
        }
    }

    @Test
    void zeroOnAcquireNeverShowsThePreviousHoldersBytesAcrossHotReuse() throws Exception {
        for (LeakDetection mode : LeakDetection.values()) {
            try (BufferPool pool = BufferPool.builder().name("rv-zero-" + mode).reserve(16L << 20).zeroOnAcquire(true)
                    .leakDetection(mode).build()) {
                for (int i = 0; i < 200; i++) {
                    PooledBuffer b = pool.acquire(100);
                    ByteBuffer bb = b.byteBuffer();
                    for (int j = 0; j < bb.capacity(); j++) {
                        assertEquals(0, bb.get(j), mode + " round " + i + ": byte " + j + " of a fresh buffer");
                    }
                    for (int j = 0; j < bb.capacity(); j++) {
                        bb.put(j, (byte) 0x5A);
                    }
                    b.close();
                }
                assertAllBack(pool);
            }
        }
    }

    @Test
    void leakDetectionAllWithHotReuseReturnsALeakOnceAndKeepsOwnersApart() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-leak").reserve(16L << 20).leakDetection(LeakDetection.ALL).build()) {
            for (int i = 0; i < 1000; i++) {
                pool.acquire(64).close();
            }
            leakOne(pool);
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (pool.stats().leaksDetected() == 0 && System.nanoTime() < until) {
                System.gc();
                Thread.sleep(10);
            }
            assertEquals(1, pool.stats().leaksDetected());
            until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (pool.stats().buffersInUse() != 0 && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertEquals(0, pool.stats().buffersInUse(), "the leaked buffer came back");
            Set<Long> seen = ConcurrentHashMap.newKeySet();
            List<PooledBuffer> held = new ArrayList<>();
            for (int i = 0; i < 600; i++) {
                PooledBuffer b = pool.acquire(64);
                assertTrue(seen.add(b.address()), "address handed out twice while open: " + b);
                held.add(b);
            }
            for (PooledBuffer b : held) {
                b.close();
            }
            assertAllBack(pool);
        }
    }

    private static void leakOne(BufferPool pool) throws InterruptedException {
        PooledBuffer b = pool.acquire(64);
        assertTrue(b.address() != 0);
    }

    @Test
    void withoutMagazinesEveryPathStillWorks() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-nomag").reserve(1L << 20).magazines(false).leakDetection(LeakDetection.OFF).build()) {
            PooledBuffer a = pool.acquire(64);
            a.close();
            ClassTally t = pool.tallyOf(Thread.currentThread(), 64);
            assertNotNull(t);
            assertEquals(ClassTally.SEALED, t.peekHot());
            pool.checkInvariants();
            List<PooledBuffer> all = fill(pool, 64);
            AtomicReference<PooledBuffer> got = new AtomicReference<>();
            Thread w = new Thread(() -> {
                try {
                    got.set(pool.acquire(64, Duration.ofSeconds(20)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            w.start();
            awaitWaiters(pool, 1);
            all.remove(0).close();
            w.join(10_000);
            assertNotNull(got.get());
            got.get().close();
            for (PooledBuffer b : all) {
                b.close();
            }
            assertAllBack(pool);
        }
    }

    @Test
    void ownersNeverShareAnAddressUnderPressureMissesAndTrims() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-owners").reserve(1L << 20).sizeClasses(64, 4096).leakDetection(LeakDetection.OFF).build()) {
            ConcurrentHashMap<Long, Thread> owners = new ConcurrentHashMap<>();
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            BlockingQueue<PooledBuffer> passing = new ArrayBlockingQueue<>(64);
            List<Thread> ts = new ArrayList<>();
            AtomicInteger ops = new AtomicInteger();
            for (int i = 0; i < 3; i++) {
                int me = i;
                Thread t = new Thread(() -> {
                    List<PooledBuffer> held = new ArrayList<>();
                    try {
                        while (!stop.get()) {
                            if (me == 2) {
                                pool.trim();
                                pool.checkInvariants();
                                PooledBuffer p = passing.poll();
                                if (p != null) {
                                    owners.remove(p.address());
                                    p.close();
                                }
                                continue;
                            }
                            int op = ops.incrementAndGet();
                            int size = (op & 4) == 0 ? 64 : 4096;
                            PooledBuffer b = (op & 3) == 0 ? pool.acquire(size, Duration.ofMillis(2)) : pool.tryAcquire(size);
                            if (b != null) {
                                Thread prev = owners.putIfAbsent(b.address(), Thread.currentThread());
                                if (prev != null) {
                                    throw new AssertionError(b + " handed to " + Thread.currentThread().getName() + " while " + prev.getName() + " holds it");
                                }
                                held.add(b);
                            }
                            if (b == null || held.size() > 500) {
                                for (PooledBuffer x : held) {
                                    if (!passing.offer(x)) {
                                        owners.remove(x.address());
                                        x.close();
                                    }
                                }
                                held.clear();
                            } else if ((ops.get() & 1) == 0) {
                                PooledBuffer x = held.remove(held.size() - 1);
                                owners.remove(x.address());
                                x.close();
                            }
                        }
                    } catch (Throwable e) {
                        trouble.compareAndSet(null, e);
                    } finally {
                        for (PooledBuffer x : held) {
                            owners.remove(x.address());
                            x.close();
                        }
                    }
                }, "owner-" + i);
                ts.add(t);
                t.start();
            }
            Thread.sleep(1500);
            stop.set(true);
            for (Thread t : ts) {
                t.join(10_000);
            }
            PooledBuffer p;
            while ((p = passing.poll()) != null) {
                p.close();
            }
            assertNull(trouble.get(), String.valueOf(trouble.get()));
            assertAllBack(pool);
        }
    }

    @Test
    void checkInvariantsRaisesNoFalseAlarmWhileOneBufferPingPongs() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-pingpong").reserve(16L << 20).leakDetection(LeakDetection.OFF).build()) {
            BlockingQueue<PooledBuffer> toA = new ArrayBlockingQueue<>(1);
            BlockingQueue<PooledBuffer> toB = new ArrayBlockingQueue<>(1);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            Runnable player = () -> {
                boolean a = Thread.currentThread().getName().equals("A");
                BlockingQueue<PooledBuffer> in = a ? toA : toB;
                BlockingQueue<PooledBuffer> out = a ? toB : toA;
                try {
                    while (!stop.get()) {
                        PooledBuffer b = in.poll(10, TimeUnit.MILLISECONDS);
                        if (b == null) {
                            continue;
                        }
                        b.close(); // elsewhere: into this thread's magazines
                        PooledBuffer mine = pool.acquire(64); // back from the magazines
                        mine.close(); // hot
                        PooledBuffer again = pool.acquire(64); // from hot
                        out.put(again);
                    }
                } catch (Throwable e) {
                    trouble.compareAndSet(null, e);
                }
            };
            Thread a = new Thread(player, "A");
            Thread b = new Thread(player, "B");
            a.start();
            b.start();
            toA.put(pool.acquire(64));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            Throwable alarm = null;
            while (System.nanoTime() < until && alarm == null) {
                try {
                    pool.checkInvariants();
                } catch (IllegalStateException e) {
                    alarm = e;
                }
            }
            stop.set(true);
            a.join(5000);
            b.join(5000);
            PooledBuffer left;
            while ((left = toA.poll()) != null || (left = toB.poll()) != null) {
                left.close();
            }
            assertNull(trouble.get());
            assertNull(alarm, "checkInvariants raised a false alarm while threads ran: " + alarm);
            assertAllBack(pool);
        }
    }

    @Test
    void closesWithWaitersAndTrimsRacingThePoolsCloseNeverThrow() throws Exception {
        AtomicInteger closeThrew = new AtomicInteger();
        AtomicReference<Throwable> first = new AtomicReference<>();
        AtomicInteger statsThrew = new AtomicInteger();
        for (int round = 0; round < 60; round++) {
            BufferPool pool = BufferPool.builder().name("rv-close2-" + round).reserve(256L << 10).sizeClasses(64, 4096)
                    .leakDetection(LeakDetection.OFF).build();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                int me = i;
                Thread t = new Thread(() -> {
                    List<PooledBuffer> held = new ArrayList<>();
                    while (!stop.get()) {
                        if (me == 2) {
                            try {
                                pool.trim();
                            } catch (IllegalStateException closed) {
                                // trim on a closed pool may throw
                            }
                            try {
                                pool.stats();
                            } catch (Throwable e) {
                                statsThrew.incrementAndGet();
                                first.compareAndSet(null, e);
                            }
                            continue;
                        }
                        PooledBuffer b;
                        try {
                            b = pool.acquire(4096, Duration.ofMillis(1));
                        } catch (IllegalStateException | InterruptedException closed) {
                            break;
                        }
                        if (b != null) {
                            held.add(b);
                        }
                        if (b == null || held.size() >= 20) {
                            for (PooledBuffer x : held) {
                                try {
                                    x.close();
                                } catch (Throwable e) {
                                    closeThrew.incrementAndGet();
                                    first.compareAndSet(null, e);
                                }
                            }
                            held.clear();
                        }
                    }
                    for (PooledBuffer x : held) {
                        try {
                            x.close();
                        } catch (Throwable e) {
                            closeThrew.incrementAndGet();
                            first.compareAndSet(null, e);
                        }
                    }
                }, "racer2-" + i);
                ts.add(t);
                t.start();
            }
            Thread.sleep(2 + round % 5);
            pool.close();
            stop.set(true);
            for (Thread t : ts) {
                t.join(10_000);
            }
        }
        if (first.get() != null) {
            first.get().printStackTrace();
        }
        assertEquals(0, closeThrew.get(), "PooledBuffer.close() threw: " + first.get());
        assertEquals(0, statsThrew.get(), "stats() threw: " + first.get());
    }

    @Test
    void timeoutsAndInterruptsRacingClosesLoseNoBuffer() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-timeouts").reserve(1L << 20).sizeClasses(64, 4096)
                .leakDetection(LeakDetection.OFF).build()) {
            List<PooledBuffer> all = fill(pool, 4096);
            int total = all.size();
            BlockingQueue<PooledBuffer> back = new ArrayBlockingQueue<>(total);
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            List<Thread> ws = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Thread w = new Thread(() -> {
                    java.util.Random r = new java.util.Random();
                    while (!stop.get()) {
                        try {
                            PooledBuffer b = pool.acquire(4096, Duration.ofNanos(1 + r.nextInt(300_000)));
                            if (b != null) {
                                assertTrue(back.offer(b), "room for every buffer");
                            }
                        } catch (InterruptedException e) {
                            // raced a close: the buffer must not be lost
                        } catch (Throwable e) {
                            trouble.compareAndSet(null, e);
                        }
                    }
                }, "timeouts-" + i);
                ws.add(w);
                w.start();
            }
            java.util.Random r = new java.util.Random(7);
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            while (System.nanoTime() < until) {
                if (!all.isEmpty()) {
                    all.remove(all.size() - 1).close();
                }
                if (r.nextInt(4) == 0) {
                    ws.get(r.nextInt(2)).interrupt();
                }
                PooledBuffer b;
                while ((b = back.poll()) != null) {
                    all.add(b);
                }
                if (r.nextInt(8) == 0) {
                    PooledBuffer mine = pool.tryAcquire(4096);
                    if (mine != null) {
                        all.add(mine);
                    }
                }
            }
            stop.set(true);
            for (Thread w : ws) {
                w.interrupt();
                w.join(10_000);
            }
            PooledBuffer b;
            while ((b = back.poll()) != null) {
                all.add(b);
            }
            assertNull(trouble.get());
            assertEquals(all.size(), pool.stats().buffersInUse(), "buffers in use = buffers held");
            for (PooledBuffer x : all) {
                x.close();
            }
            List<PooledBuffer> again = fill(pool, 4096);
            assertEquals(total, again.size(), "every buffer is to be had again");
            for (PooledBuffer x : again) {
                x.close();
            }
            assertAllBack(pool);
        }
    }

    @Test
    void aCloseRacingAnAcquireThatIsAboutToWaitAlwaysServesIt() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-lostwake").reserve(1L << 20).sizeClasses(64, 4096)
                .leakDetection(LeakDetection.OFF).build()) {
            List<PooledBuffer> all = fill(pool, 4096);
            int missed = 0;
            for (int round = 0; round < 300; round++) {
                AtomicReference<Object> got = new AtomicReference<>();
                CountDownLatch go = new CountDownLatch(1);
                Thread w = new Thread(() -> {
                    try {
                        go.await();
                        got.set(pool.acquire(4096, Duration.ofSeconds(2)));
                    } catch (Throwable e) {
                        got.set(e);
                    }
                });
                w.start();
                PooledBuffer b = all.remove(all.size() - 1);
                go.countDown();
                for (int spin = round % 50; spin > 0; spin--) {
                    Thread.onSpinWait();
                }
                b.close();
                w.join(10_000);
                Object r = got.get();
                if (r instanceof PooledBuffer) {
                    ((PooledBuffer) r).close(); // elsewhere
                } else {
                    missed++;
                }
                PooledBuffer again = pool.tryAcquire(4096);
                assertNotNull(again, "round " + round + ": the buffer is to be had again");
                all.add(again);
            }
            assertEquals(0, missed, "acquires that timed out although a buffer was closed as they began to wait");
            for (PooledBuffer x : all) {
                x.close();
            }
            assertAllBack(pool);
        }
    }

    @Test
    void threadChurnWithParkedItemsKeepsStatsAndInvariantsTrue() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("rv-churn").reserve(4L << 20).sizeClasses(64, 4096)
                .leakDetection(LeakDetection.OFF).idleDecay(Duration.ofMillis(1)).build()) {
            BlockingQueue<PooledBuffer> handed = new ArrayBlockingQueue<>(10_000);
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            Thread checker = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        BufferPoolStats st = pool.stats();
                        for (SizeClassStats k : st.sizeClasses()) {
                            if (k.buffersInUse() < 0) {
                                throw new AssertionError("negative buffers in use: " + k);
                            }
                        }
                        pool.checkInvariants();
                    }
                } catch (Throwable e) {
                    trouble.compareAndSet(null, e);
                }
            }, "checker");
            checker.start();
            List<Thread> churn = new ArrayList<>();
            for (int i = 0; i < 300 && trouble.get() == null; i++) {
                int me = i;
                Thread t = new Thread(() -> {
                    try {
                        for (int j = 0; j < 200; j++) {
                            pool.acquire((j & 1) == 0 ? 64 : 4096).close(); // hot, and the decay clock
                        }
                        PooledBuffer keep = pool.acquire(64);
                        pool.acquire(64).close(); // parked at exit
                        pool.acquire(4096).close();
                        if ((me & 1) == 0) {
                            assertTrue(handed.offer(keep));
                        } else {
                            keep.close();
                        }
                    } catch (Throwable e) {
                        trouble.compareAndSet(null, e);
                    }
                });
                t.start();
                churn.add(t);
                if ((i & 7) == 0) {
                    t.join();
                    PooledBuffer b;
                    while ((b = handed.poll()) != null) {
                        b.close();
                    }
                }
            }
            for (Thread t : churn) {
                t.join(10_000);
            }
            stop.set(true);
            checker.join(10_000);
            PooledBuffer b;
            while ((b = handed.poll()) != null) {
                b.close();
            }
            assertNull(trouble.get(), String.valueOf(trouble.get()));
            assertAllBack(pool);
        }
    }
}

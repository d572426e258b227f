package io.slab4j.buffer;

import io.slab4j.nativemem.VirtualRegion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
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

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Review 8: adversarial probes of the raw API (RawHolder, tryAcquireRaw, acquireRaw, releaseRaw, rawView). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Review8Test {
    private static final int PAGE = VirtualRegion.pageSize();

    static class Box implements RawHolder {
        volatile long address;
        volatile int capacity;
        volatile Object token;
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public void hold(long address, int capacity, Object token) {
            this.address = address;
            this.capacity = capacity;
            this.token = token;
            calls.incrementAndGet();
        }

        void release(BufferPool pool) {
            pool.releaseRaw(this, token, address);
        }
    }

    private static BufferPool.Builder pool(String name) {
        return BufferPool.builder().name("r8-" + name).reserve(64L << 20).leakDetection(LeakDetection.OFF);
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> RuntimeException sneaky(Throwable t) throws T {
        throw (T) t;
    }

    /**
     * Expected (RawHolder javadoc, contract item 4): "If {@code hold} throws, the acquire gives
     * the memory back and rethrows: the holder owns nothing." Observed: a hold() that throws a
     * checked exception (sneaky throw, Kotlin, Lombok @SneakyThrows, a MethodHandle call) is not
     * caught by BufferPool.hold's {@code catch (RuntimeException | Error e)}: the exception goes
     * on but the memory stays out for good (buffersInUse 1, no leak watch under OFF).
     * Fault: BufferPool.java, private static hold(...), the catch clause (line 408).
     */
    @Test
    void aHolderThatThrowsACheckedExceptionOwnsNothingAndTheMemoryGoesBack() {
        for (int size : new int[] {64, 3 * PAGE}) {
            try (BufferPool p = pool("sneaky-" + size).build()) {
                RawHolder bad = (a, c, t) -> {
                    throw sneaky(new IOException("checked"));
                };
                Throwable e = assertThrows(Throwable.class, () -> p.tryAcquireRaw(size, bad));
                assertTrue(e instanceof IOException, e.toString());
                assertEquals(0, p.stats().buffersInUse(), "size " + size + ": the memory went back");
                p.checkInvariants();
            }
        }
    }

    /** hold() throwing under ALL, on the wait path (acquireRaw served by a release): memory back, watch disarmed, never reported. */
    @Test
    void aHolderThatThrowsOnTheWaitPathOwnsNothing() throws Exception {
        try (BufferPool p = BufferPool.builder().name("r8-throwwait").reserve(4L << 20).leakDetection(LeakDetection.ALL).build()) {
            List<Box> hog = new ArrayList<>();
            for (Box b = new Box(); p.tryAcquireRaw(1 << 20, b); b = new Box()) {
                hog.add(b);
            }
            AtomicReference<Throwable> seen = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    p.acquireRaw(1 << 20, Duration.ofSeconds(20), (a, c, tok) -> {
                        throw new IllegalStateException("refused");
                    });
                } catch (Throwable x) {
                    seen.set(x);
                }
            });
            t.start();
            while (p.stats().waiters() == 0) {
                Thread.onSpinWait();
            }
            hog.remove(0).release(p);
            t.join();
            assertTrue(seen.get() instanceof IllegalStateException, String.valueOf(seen.get()));
            assertEquals("refused", seen.get().getMessage());
            assertEquals(hog.size(), p.stats().buffersInUse());
            Box again = new Box();
            assertTrue(p.tryAcquireRaw(1 << 20, again), "the span came back");
            again.release(p);
            hog.forEach(b -> b.release(p));
            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertEquals(0, p.stats().leaksDetected());
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /** Forged and foreign tokens: RawWatch tokens of another pool, large-span tokens of another pool, addresses at the region's edges. */
    @Test
    void foreignWatchedTokensAndEdgeAddressesAreRefused() {
        try (BufferPool p = pool("forge").leakDetection(LeakDetection.ALL).build();
             BufferPool other = pool("forge-other").leakDetection(LeakDetection.ALL).build()) {
            Box mine = new Box();
            Box foreign = new Box();
            Box foreignLarge = new Box();
            assertTrue(p.tryAcquireRaw(64, mine));
            assertTrue(other.tryAcquireRaw(64, foreign));
            assertTrue(other.tryAcquireRaw(2 * PAGE, foreignLarge));
            assertTrue(foreign.token instanceof BufferPool.RawWatch);
            assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(foreign, foreign.token, foreign.address));
            assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(foreignLarge, foreignLarge.token, foreignLarge.address));
            assertThrows(IllegalArgumentException.class, () -> p.rawView(foreignLarge, foreignLarge.token, mine.address));
            assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(mine, new Object(), mine.address));
            long base = p.regionAddress();
            long size = 64L << 20;
            assertThrows(IllegalArgumentException.class, () -> p.rawView(mine, mine.token, base - 16));
            assertThrows(IllegalArgumentException.class, () -> p.rawView(mine, mine.token, base + size - 48));
            assertThrows(IllegalArgumentException.class, () -> p.rawView(mine, mine.token, base + size));
            assertThrows(IllegalArgumentException.class, () -> p.rawView(mine, mine.token, 0));
            assertThrows(IllegalArgumentException.class, () -> p.rawView(mine, mine.token, -64));
            assertThrows(IllegalArgumentException.class, () -> p.rawView(mine, mine.token, Long.MAX_VALUE));
            assertThrows(IllegalArgumentException.class, () -> p.rawView(mine, mine.token, Long.MIN_VALUE));
            // the last 64 bytes are inside the region, but no item of the class is out there
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> p.rawView(mine, mine.token, base + size - 64));
            assertTrue(e.getMessage().contains("not the start of a 64-byte item"), e.getMessage());
            // the foreign pool still has its memory out, and gets it back once
            assertEquals(2, other.stats().buffersInUse());
            foreign.release(other);
            foreignLarge.release(other);
            assertEquals(0, other.stats().buffersInUse());
            assertEquals(1, p.stats().buffersInUse());
            mine.release(p);
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
            other.checkInvariants();
        }
    }

    /** SAMPLED: among many leaked holders, exactly the watched ones come back, each once, each counted. */
    @Test
    void sampledLeaksComeBackExactlyOnceEach() throws InterruptedException {
        try (BufferPool p = pool("sampled").leakDetection(LeakDetection.SAMPLED).build()) {
            int n = 10 * BufferPool.LEAK_SAMPLE_INTERVAL;
            long watchedBefore = p.watched();
            for (int i = 0; i < n; i++) {
                Box b = new Box();
                assertTrue(p.tryAcquireRaw(16, b));
            }
            long watched = p.watched() - watchedBefore;
            assertTrue(watched > 0, "some were sampled: " + watched + " of " + n);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (p.stats().leaksDetected() < watched && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(10);
            }
            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertEquals(watched, p.stats().leaksDetected(), "each watched leak once");
            assertEquals(n - watched, p.stats().buffersInUse(), "the watched ones came back, the others stay out");
            p.checkInvariants();
        }
    }

    /**
     * A leaked holder that still has a live rawView. For a handle, the view's attachment is the
     * handle (PooledBuffer.byteBuffer: DirectViews.view(address, capacity, this)), so while a
     * view (or any ByteBuffer derived from it) is reachable the handle is too and its leak watch
     * cannot return the memory under the view. rawView attaches the pool instead
     * (BufferPool.rawView: DirectViews.view(address, supply.capacity, this)), so the holder
     * can die while its view lives; the watch returns the memory and the next holder's bytes
     * are written through the still reachable view of the previous one. Expected (RawHolder:
     * "From then on the holder owns capacity bytes at address" until releaseRaw; rawView: valid
     * until the holder's release; package-info ownership rule: one owner per address): the
     * view's memory is not handed to another holder while the holder never released it.
     * Observed: it is (another holder's bytes are overwritten through the old view).
     * Fault: BufferPool.rawView (line 391, DirectViews.view(..., this)): the view should keep the holder reachable (it takes
     * no holder; the view could be attached to the RawWatch's holder, or rawView take the holder).
     */
    @Test
    void aLeakedHoldersLiveViewNeverReachesAnotherHoldersMemory() throws InterruptedException {
        try (BufferPool p = pool("view-leak").magazines(false).leakDetection(LeakDetection.ALL).build()) {
            ByteBuffer stale = leakWithView(p);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (p.stats().leaksDetected() == 0 && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(10);
            }
            // the stale view is alive here; the memory it covers must not be handed out
            List<Box> next = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                Box b = new Box();
                assertTrue(p.tryAcquireRaw(256, b));
                ByteBuffer v = p.rawView(b, b.token, b.address);
                for (int j = 0; j < 256; j++) {
                    v.put(j, (byte) 0x11);
                }
                next.add(b);
            }
            for (int j = 0; j < 256; j++) {
                stale.put(j, (byte) 0x77); // the leaked holder's own view: must only touch its own memory
            }
            int clobbered = 0;
            for (Box b : next) {
                ByteBuffer v = p.rawView(b, b.token, b.address);
                if (v.get(0) == 0x77) {
                    clobbered++;
                }
            }
            assertEquals(0, clobbered, "another holder's bytes were written through a leaked holder's live view (leaks: "
                    + p.stats().leaksDetected() + ")");
            next.forEach(b -> b.release(p));
        }
    }

    private static ByteBuffer leakWithView(BufferPool p) {
        Box b = new Box();
        assertTrue(p.tryAcquireRaw(256, b));
        return p.rawView(b, b.token, b.address);
    }

    /** A thread acquires raw memory and exits; another thread releases it, around trim(): nothing lost, invariants hold. */
    @Test
    void memoryOfAnExitedThreadIsReleasedElsewhere() throws Exception {
        try (BufferPool p = pool("exit").build()) {
            List<Box> held = new ArrayList<>();
            Thread t = new Thread(() -> {
                for (int size : new int[] {16, 64, 64, 4096, 2 * PAGE, 1 << 20}) {
                    Box b = new Box();
                    assertTrue(p.tryAcquireRaw(size, b));
                    held.add(b);
                }
                Box hot = new Box(); // leave one in the thread's hot slot
                assertTrue(p.tryAcquireRaw(64, hot));
                hot.release(p);
            });
            t.start();
            t.join();
            assertEquals(6, held.size());
            assertEquals(6, p.stats().buffersInUse());
            p.trim();
            p.checkInvariants();
            assertEquals(6, p.stats().buffersInUse());
            for (Box b : held) {
                b.release(p);
                p.trim();
            }
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, p.stats().usedBytes());
            p.checkInvariants();
        }
    }

    /** Releases on other threads race trim() and acquires; then close while others still release. */
    @Test
    void crossThreadReleasesRaceTrimAndClose() throws Exception {
        BufferPool p = pool("race").zeroOnAcquire(true).build();
        int n = 2000;
        List<Box> boxes = new ArrayList<>();
        int[] sizes = {16, 64, 256, 4096, 2 * PAGE};
        for (int i = 0; i < n; i++) {
            Box b = new Box();
            assertTrue(p.tryAcquireRaw(sizes[i % sizes.length], b));
            boxes.add(b);
        }
        AtomicReference<Throwable> failed = new AtomicReference<>();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int k = 0; k < 4; k++) {
            int from = k;
            Thread t = new Thread(() -> {
                try {
                    go.await();
                    for (int i = from; i < n; i += 4) {
                        boxes.get(i).release(p);
                    }
                } catch (Throwable e) {
                    failed.compareAndSet(null, e);
                }
            });
            t.start();
            threads.add(t);
        }
        go.countDown();
        for (int i = 0; i < 50; i++) {
            p.trim();
            Box b = new Box();
            if (p.tryAcquireRaw(64, b)) {
                b.release(p);
            }
        }
        for (Thread t : threads) {
            t.join();
        }
        assertNull(failed.get());
        assertEquals(0, p.stats().buffersInUse());
        p.checkInvariants();

        // now close while releases run
        boxes.clear();
        for (int i = 0; i < n; i++) {
            Box b = new Box();
            assertTrue(p.tryAcquireRaw(sizes[i % sizes.length], b));
            boxes.add(b);
        }
        CountDownLatch go2 = new CountDownLatch(1);
        threads.clear();
        for (int k = 0; k < 4; k++) {
            int from = k;
            Thread t = new Thread(() -> {
                try {
                    go2.await();
                    for (int i = from; i < n; i += 4) {
                        boxes.get(i).release(p); // never throws, closed or not
                    }
                } catch (Throwable e) {
                    failed.compareAndSet(null, e);
                }
            });
            t.start();
            threads.add(t);
        }
        go2.countDown();
        p.close();
        for (Thread t : threads) {
            t.join();
        }
        assertNull(failed.get());
        assertTrue(p.isClosed());
    }

    /** Interrupts of blocked acquireRaw racing releases: hold runs exactly when true is returned, nothing is lost. */
    @Test
    void interruptsAndTimeoutsRacingReleasesLoseNothing() throws Exception {
        try (BufferPool p = BufferPool.builder().name("r8-intr").reserve(4L << 20).leakDetection(LeakDetection.OFF).build()) {
            List<Box> hog = new ArrayList<>();
            for (Box b = new Box(); p.tryAcquireRaw(1 << 20, b); b = new Box()) {
                hog.add(b);
            }
            int spans = hog.size();
            for (int round = 0; round < 40; round++) {
                Box w = new Box();
                Duration wait = Duration.ofMillis(round % 2 == 0 ? 10_000 : 1 + round % 3);
                AtomicReference<Object> result = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        result.set(p.acquireRaw(1 << 20, wait, w));
                    } catch (InterruptedException e) {
                        result.set(e);
                    } catch (Throwable e) {
                        result.set(e);
                    }
                });
                t.start();
                if (round % 2 == 0) {
                    while (p.stats().waiters() == 0 && t.isAlive()) {
                        Thread.onSpinWait();
                    }
                }
                Box back = hog.remove(0);
                t.interrupt();
                back.release(p);
                t.join();
                Object r = result.get();
                if (Boolean.TRUE.equals(r)) {
                    assertEquals(1, w.calls.get(), "round " + round);
                    hog.add(w);
                } else if (Boolean.FALSE.equals(r) || r instanceof InterruptedException) {
                    assertEquals(0, w.calls.get(), "round " + round + ": " + r);
                    Box again = new Box();
                    assertTrue(p.tryAcquireRaw(1 << 20, again), "round " + round + ": the released span is free");
                    hog.add(again);
                } else {
                    fail("round " + round + ": " + r);
                }
                assertEquals(spans, p.stats().buffersInUse(), "round " + round);
            }
            hog.forEach(b -> b.release(p));
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    /** Mixed handles and raw holders, with zeroing, across threads: no address owned twice, no foreign bytes, nothing lost. */
    @Test
    void conservationStressWithZeroingAndMixedOwners() throws Exception {
        try (BufferPool p = pool("stress").zeroOnAcquire(true).leakDetection(LeakDetection.SAMPLED).build()) {
            ConcurrentHashMap<Long, Integer> owner = new ConcurrentHashMap<>();
            AtomicReference<String> failed = new AtomicReference<>();
            int threads = 4;
            int[] sizes = {16, 48, 64, 200, 1024, 4096, 2 * PAGE};
            java.util.concurrent.ConcurrentLinkedQueue<Box> handoff = new java.util.concurrent.ConcurrentLinkedQueue<>();
            List<Thread> ts = new ArrayList<>();
            for (int k = 0; k < threads; k++) {
                int me = k + 1;
                Thread t = new Thread(() -> {
                    java.util.Random rnd = new java.util.Random(me);
                    for (int i = 0; i < 20_000 && failed.get() == null; i++) {
                        int size = sizes[rnd.nextInt(sizes.length)];
                        if (rnd.nextBoolean()) {
                            Box b = new Box();
                            if (!p.tryAcquireRaw(size, b)) {
                                continue;
                            }
                            if (owner.putIfAbsent(b.address, me) != null) {
                                failed.compareAndSet(null, "raw: address owned twice");
                            }
                            ByteBuffer v = p.rawView(b, b.token, b.address);
                            for (int j = 0; j < Math.min(b.capacity, 64); j++) {
                                if (v.get(j) != 0) {
                                    failed.compareAndSet(null, "raw: a previous holder's byte");
                                }
                                v.put(j, (byte) me);
                            }
                            if (rnd.nextInt(3) == 0) {
                                handoff.add(b);
                            } else {
                                owner.remove(b.address);
                                b.release(p);
                            }
                        } else {
                            PooledBuffer h = p.tryAcquire(size);
                            if (h == null) {
                                continue;
                            }
                            if (owner.putIfAbsent(h.address(), me) != null) {
                                failed.compareAndSet(null, "handle: address owned twice");
                            }
                            ByteBuffer v = h.byteBuffer();
                            for (int j = 0; j < Math.min(h.capacity(), 64); j++) {
                                if (v.get(j) != 0) {
                                    failed.compareAndSet(null, "handle: a previous holder's byte");
                                }
                                v.put(j, (byte) me);
                            }
                            owner.remove(h.address());
                            h.close();
                        }
                        Box other = handoff.poll();
                        if (other != null) {
                            owner.remove(other.address);
                            other.release(p);
                        }
                    }
                });
                t.start();
                ts.add(t);
            }
            for (Thread t : ts) {
                t.join();
            }
            for (Box b; (b = handoff.poll()) != null; ) {
                owner.remove(b.address);
                b.release(p);
            }
            assertNull(failed.get());
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, p.stats().leaksDetected());
            p.trim();
            p.checkInvariants();
        }
    }

    /** A hold() that re-enters the pool (acquires another raw buffer, releases it) and one that closes the pool. */
    @Test
    void reentrantHoldsAndAHoldThatClosesThePool() {
        try (BufferPool p = pool("reenter").leakDetection(LeakDetection.ALL).build()) {
            Box inner = new Box();
            Box outer = new Box() {
                @Override
                public void hold(long address, int capacity, Object token) {
                    super.hold(address, capacity, token);
                    assertTrue(p.tryAcquireRaw(64, inner));
                    assertTrue(inner.address != address);
                    inner.release(p);
                }
            };
            assertTrue(p.tryAcquireRaw(64, outer));
            assertEquals(1, p.stats().buffersInUse());
            outer.release(p);
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
        BufferPool q = pool("closer").build();
        Box closer = new Box() {
            @Override
            public void hold(long address, int capacity, Object token) {
                super.hold(address, capacity, token);
                q.close();
            }
        };
        assertTrue(q.tryAcquireRaw(64, closer));
        assertTrue(q.isClosed());
        closer.release(q); // never throws for a pool closed meanwhile
        assertThrows(IllegalStateException.class, () -> q.rawView(closer, closer.token, closer.address));
    }

    /** WeakReference sanity for the leak helpers above (keeps the import used). */
    @Test
    void aReleasedWatchedHolderIsNoLeak() throws InterruptedException {
        try (BufferPool p = pool("noleak").leakDetection(LeakDetection.ALL).build()) {
            WeakReference<Box> ref;
            {
                Box b = new Box();
                assertTrue(p.tryAcquireRaw(2 * PAGE, b));
                b.release(p);
                ref = new WeakReference<>(b);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ref.get() != null && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(10);
            }
            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(10);
            }
            assertEquals(0, p.stats().leaksDetected());
            assertEquals(0, p.stats().buffersInUse());
            assertFalse(p.isClosed());
            p.checkInvariants();
        }
    }

    /**
     * The severe form of aLeakedHoldersLiveViewNeverReachesAnotherHoldersMemory, in a child JVM:
     * the watch returns a leaked holder's memory while its rawView is reachable, the pool then
     * closes with nothing counted open and unmaps its region, and reading the live view kills
     * the JVM (observed: SIGSEGV in DirectByteBuffer.get, "A fatal error has been detected"). With a handle (the control, which passes) the view keeps the
     * handle reachable, so the buffer is never reported leaked, the close sees it open, retires
     * the region (BufferPool.close javadoc: "a stale access reads zeros instead of faulting and
     * killing the JVM") and the read returns 0. Before this change the Netty adapter's NIO
     * buffers were views of a PooledBuffer and behaved as the control; now they are rawViews.
     * Expected: exit 0 and "R8-READ". Fault: BufferPool.rawView (the view's attachment is the
     * pool, not the holder), with LeakWatch returning the memory under it.
     */
    @Test
    void aLeakedHoldersLiveViewSurvivesThePoolsClose() throws Exception {
        ChildJvm.Result r = ChildJvm.run(List.of("-Xmx128m", "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + "/slab4j-r8-view-hs_err_%p.log"), Review8LeakedViewMain.class, "raw");
        assertEquals(0, r.code(), "the child JVM failed (134: crashed):\n" + r.tail());
        assertTrue(r.output().contains("R8-READ"), r.tail());
    }

    /** The control of the test above: a handle's derived view keeps the handle alive, the close retires the region, the read sees 0. */
    @Test
    void aHandlesLiveDerivedViewSurvivesThePoolsClose() throws Exception {
        ChildJvm.Result r = ChildJvm.run(List.of("-Xmx128m", "-XX:-CreateCoredumpOnCrash",
                "-XX:ErrorFile=" + System.getProperty("java.io.tmpdir") + "/slab4j-r8-hview-hs_err_%p.log"), Review8LeakedViewMain.class, "handle");
        assertEquals(0, r.code(), "the child JVM failed (134: crashed):\n" + r.tail());
        assertTrue(r.output().contains("R8-LEAKS 0 IN-USE 1"), r.tail());
        assertTrue(r.output().contains("R8-READ 0"), r.tail());
    }

    /** Leaked watched holders (a class item and a large span) collected only after the pool's close: no error, counted once, the pool stays closed. */
    @Test
    void leakedHoldersCollectedAfterTheCloseAreHarmless() throws InterruptedException {
        BufferPool p = pool("leak-after-close").leakDetection(LeakDetection.ALL).build();
        WeakReference<Box> a = leakHolder(p, 64);
        WeakReference<Box> b = leakHolder(p, 2 * PAGE);
        p.close(); // counted open: the region is retired, not unmapped
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((a.get() != null || b.get() != null || p.stats().leaksDetected() < 2) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(10);
        }
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertNull(a.get());
        assertNull(b.get());
        assertEquals(2, p.stats().leaksDetected());
        assertTrue(p.isClosed());
        Box late = new Box();
        assertThrows(IllegalStateException.class, () -> p.tryAcquireRaw(64, late));
    }

    private static WeakReference<Box> leakHolder(BufferPool p, int size) {
        Box b = new Box();
        assertTrue(p.tryAcquireRaw(size, b));
        return new WeakReference<>(b);
    }

    /** A blocked acquireRaw woken by the close names its call; hold never runs. */
    @Test
    void aBlockedRawAcquireWokenByTheCloseNamesItsCall() throws Exception {
        BufferPool p = BufferPool.builder().name("r8-closewake").reserve(4L << 20).leakDetection(LeakDetection.OFF).build();
        List<Box> hog = new ArrayList<>();
        for (Box b = new Box(); p.tryAcquireRaw(1 << 20, b); b = new Box()) {
            hog.add(b);
        }
        Box w = new Box();
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                p.acquireRaw(1 << 20, Duration.ofSeconds(30), w);
            } catch (Throwable e) {
                seen.set(e);
            }
        });
        t.start();
        while (p.stats().waiters() == 0) {
            Thread.onSpinWait();
        }
        p.close();
        t.join();
        assertTrue(seen.get() instanceof IllegalStateException, String.valueOf(seen.get()));
        assertTrue(seen.get().getMessage().contains("acquireRaw"), seen.get().getMessage());
        assertEquals(0, w.calls.get());
        hog.forEach(b -> b.release(p));
    }

    /** Timeouts at the edges: negative and zero never wait and call nothing; an enormous one waits and is served by a release. */
    @Test
    void timeoutsAtTheEdges() throws Exception {
        try (BufferPool p = BufferPool.builder().name("r8-edges").reserve(4L << 20).leakDetection(LeakDetection.OFF).build()) {
            List<Box> hog = new ArrayList<>();
            for (Box b = new Box(); p.tryAcquireRaw(1 << 20, b); b = new Box()) {
                hog.add(b);
            }
            Box none = new Box();
            assertFalse(p.acquireRaw(1 << 20, Duration.ZERO, none));
            assertFalse(p.acquireRaw(1 << 20, Duration.ofSeconds(-5), none));
            assertFalse(p.acquireRaw(1 << 20, Duration.ofNanos(1), none));
            assertEquals(0, none.calls.get());
            for (Duration huge : new Duration[] {Duration.ofSeconds(Long.MAX_VALUE), Duration.ofDays(365L * 1000)}) {
                Box w = new Box();
                AtomicReference<Object> r = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        r.set(p.acquireRaw(1 << 20, huge, w));
                    } catch (Throwable e) {
                        r.set(e);
                    }
                });
                t.start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (p.stats().waiters() == 0 && t.isAlive() && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                hog.remove(0).release(p);
                t.join(10_000);
                assertEquals(Boolean.TRUE, r.get(), "timeout " + huge);
                hog.add(w);
            }
            hog.forEach(b -> b.release(p));
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }
}

package io.slab4j.buffer;

import io.slab4j.nativemem.VirtualRegion;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.nio.LongBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Review 8b: the handle API beside the raw API, rawView's derived buffers, releaseRaw's edges. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Review8bTest {
    private static final int PAGE = VirtualRegion.pageSize();
    private static final AtomicInteger SEQ = new AtomicInteger();

    /** Review 8's recording holder. */
    static class Box extends Review8Test.Box {
    }

    private static BufferPool.Builder pool(String name) {
        return BufferPool.builder().name("r8b-" + name + "-" + SEQ.incrementAndGet()).reserve(64L << 20).leakDetection(LeakDetection.OFF);
    }

    /** A pool whose one class (64 B) has exactly one slab of room. */
    private static BufferPool tiny(String name, boolean zero) {
        long slab = SizeClasses.slabBytes(64);
        return pool(name).sizeClasses(64).reserve(slab).maxCommitted(slab).zeroOnAcquire(zero).build();
    }

    private static List<Box> exhaust(BufferPool p, int size) {
        List<Box> hog = new ArrayList<>();
        for (Box b = new Box(); p.tryAcquireRaw(size, b); b = new Box()) {
            hog.add(b);
        }
        return hog;
    }

    private static long failures(BufferPool p, int size) {
        for (SizeClassStats s : p.stats().sizeClasses()) {
            if (s.size() == size) {
                return s.failures();
            }
        }
        throw new AssertionError("no class " + size);
    }

    /** Waits until {@code n} acquires are registered: in the class's pool for a class size (its own waiter count), else blocked in the pool and 50 ms more. */
    private static void awaitRegistered(BufferPool p, int size, int n) throws InterruptedException {
        while (p.waiters() < n) {
            Thread.sleep(1);
        }
        SizeClass k = p.sizeClassOf(size);
        if (k == null) {
            Thread.sleep(50);
            return;
        }
        while (true) {
            int registered = 0;
            for (SizeClassStats s : p.stats().sizeClasses()) {
                if (s.size() == k.size) {
                    registered = s.waiters();
                }
            }
            if (registered >= n) {
                return;
            }
            Thread.sleep(1);
        }
    }

    private static void gc(Supplier<Boolean> done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.get() && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(10);
        }
    }

    private static void gcFew() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
        }
    }

    // ------------------------------------------------------------ messages

    /** Every refusal of a closed pool starts with the call the user made, handle or raw. */
    @Test
    void closedRefusalsNameTheCallMade() {
        BufferPool p = pool("names").build();
        p.close();
        Box b = new Box();
        assertMessage("acquire: ", assertThrows(IllegalStateException.class, () -> p.acquire(16)));
        assertMessage("acquire: ", assertThrows(IllegalStateException.class, () -> p.acquire(16, Duration.ofSeconds(1))));
        assertMessage("acquire: ", assertThrows(IllegalStateException.class, () -> p.acquire(1 << 20, Duration.ZERO)));
        assertMessage("tryAcquire: ", assertThrows(IllegalStateException.class, () -> p.tryAcquire(16)));
        assertMessage("tryAcquire: ", assertThrows(IllegalStateException.class, () -> p.tryAcquire(1 << 20)));
        assertMessage("tryAcquireRaw: ", assertThrows(IllegalStateException.class, () -> p.tryAcquireRaw(16, b)));
        assertMessage("acquireRaw: ", assertThrows(IllegalStateException.class, () -> p.acquireRaw(16, Duration.ofSeconds(1), b)));
        assertMessage("acquireRaw: ", assertThrows(IllegalStateException.class, () -> p.acquireRaw(1 << 20, Duration.ZERO, b)));
        assertEquals(0, b.calls.get());
    }

    /** Bad sizes name the call too. */
    @Test
    void badSizesNameTheCallMade() {
        try (BufferPool p = pool("badsize").build()) {
            Box b = new Box();
            assertMessage("acquire(0)", assertThrows(IllegalArgumentException.class, () -> p.acquire(0)));
            assertMessage("acquire(-1)", assertThrows(IllegalArgumentException.class, () -> p.acquire(-1, Duration.ZERO)));
            assertMessage("tryAcquire(0)", assertThrows(IllegalArgumentException.class, () -> p.tryAcquire(0)));
            assertMessage("tryAcquireRaw(0)", assertThrows(IllegalArgumentException.class, () -> p.tryAcquireRaw(0, b)));
            assertMessage("acquireRaw(" + Integer.MAX_VALUE + ")",
                    assertThrows(IllegalArgumentException.class, () -> p.acquireRaw(Integer.MAX_VALUE, Duration.ZERO, b)));
            assertEquals(0, b.calls.get());
            assertEquals(0, p.stats().buffersInUse());
        }
    }

    private static void assertMessage(String prefix, Throwable e) {
        assertTrue(e.getMessage() != null && e.getMessage().startsWith(prefix), "expected '" + prefix + "…', got: " + e);
    }

    /** Blocked acquires of every kind, of a class and of a large span, zeroing or not, woken by the close: each names its own call and holds nothing. */
    @Test
    void blockedAcquiresWokenByTheCloseNameTheirCall() throws Exception {
        for (boolean zero : new boolean[] {false, true}) {
            for (int size : new int[] {64, 2 * PAGE}) {
                BufferPool p = size == 64 ? tiny("wake", zero)
                        : pool("wakel").sizeClasses(64).reserve(64L * PAGE).maxCommitted(64L * PAGE).zeroOnAcquire(zero).build();
                List<Box> hog = exhaust(p, size);
                assertFalse(hog.isEmpty());
                Box rb = new Box();
                List<String> calls = List.of("acquire", "acquireT", "acquireRaw");
                ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();
                List<Thread> ts = new ArrayList<>();
                for (String c : calls) {
                    Thread t = new Thread(() -> {
                        try {
                            switch (c) {
                                case "acquire" -> p.acquire(size);
                                case "acquireT" -> p.acquire(size, Duration.ofSeconds(30));
                                default -> p.acquireRaw(size, Duration.ofSeconds(30), rb);
                            }
                            seen.add(c + " returned");
                        } catch (IllegalStateException e) {
                            seen.add(c + " -> " + e.getMessage());
                        } catch (Throwable e) {
                            seen.add(c + " -> " + e);
                        }
                    });
                    ts.add(t);
                    t.start();
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (p.waiters() < calls.size() && System.nanoTime() < deadline) {
                    Thread.sleep(1);
                }
                assertEquals(calls.size(), p.waiters());
                p.close();
                for (Thread t : ts) {
                    t.join();
                }
                for (String s : seen) {
                    String call = s.substring(0, s.indexOf(' '));
                    String want = (call.equals("acquireT") ? "acquire" : call) + ": buffer pool";
                    assertTrue(s.contains(" -> " + want), "size " + size + " zero " + zero + ": " + s);
                }
                assertEquals(calls.size(), seen.size());
                assertEquals(0, rb.calls.get());
                hog.forEach(b -> b.release(p)); // after the close: never throws
            }
        }
    }

    // ------------------------------------------------------------ failures

    /** One failure per public call that returned nothing, handle or raw, timed or not. */
    @Test
    void failuresCountedOncePerPublicCall() throws Exception {
        try (BufferPool p = tiny("fail", false)) {
            List<Box> hog = exhaust(p, 64);
            long f = failures(p, 64);
            assertNull(p.tryAcquire(64));
            assertEquals(++f, failures(p, 64), "tryAcquire");
            assertFalse(p.tryAcquireRaw(64, new Box()));
            assertEquals(++f, failures(p, 64), "tryAcquireRaw");
            assertNull(p.acquire(64, Duration.ZERO));
            assertEquals(++f, failures(p, 64), "acquire(size, 0)");
            assertNull(p.acquire(64, Duration.ofMillis(30)));
            assertEquals(++f, failures(p, 64), "acquire(size, 30 ms)");
            assertFalse(p.acquireRaw(64, Duration.ZERO, new Box()));
            assertEquals(++f, failures(p, 64), "acquireRaw(size, 0)");
            assertFalse(p.acquireRaw(64, Duration.ofMillis(30), new Box()));
            assertEquals(++f, failures(p, 64), "acquireRaw(size, 30 ms)");
            assertFalse(p.acquireRaw(64, Duration.ofSeconds(-5), new Box()));
            assertEquals(++f, failures(p, 64), "acquireRaw(size, -5 s)");
            // a success after a wait is no failure
            Box w = new Box();
            Thread t = new Thread(() -> {
                try {
                    p.acquireRaw(64, Duration.ofSeconds(30), w);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            t.start();
            while (p.waiters() == 0) {
                Thread.sleep(1);
            }
            hog.remove(0).release(p);
            t.join();
            assertEquals(1, w.calls.get());
            assertEquals(f, failures(p, 64), "a served wait");
            // a hold that throws is no failure either (something was had)
            assertThrows(IllegalStateException.class, () -> {
                Box gone = hog.remove(0);
                gone.release(p);
                p.tryAcquireRaw(64, (a, c, tok) -> {
                    throw new IllegalStateException("no");
                });
            });
            assertEquals(f, failures(p, 64), "a throwing hold");
            hog.forEach(b -> b.release(p));
            w.release(p);
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    // ------------------------------------------------------------ FIFO

    /** Handle and raw waiters of one class, or of large spans of one size, are served in arrival order. */
    @Test
    void handleAndRawWaitersServedInArrivalOrder() throws Exception {
        for (int size : new int[] {64, 2 * PAGE}) {
            fifo(size);
        }
    }

    private static void fifo(int size) throws Exception {
        try (BufferPool p = size == 64 ? tiny("fifo", false)
                : pool("fifol").sizeClasses(64).reserve(64L * PAGE).maxCommitted(64L * PAGE).build()) {
            List<Box> hog = exhaust(p, size);
            int n = 6;
            ConcurrentLinkedQueue<Integer> served = new ConcurrentLinkedQueue<>();
            List<Object> got = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Thread> ts = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int me = i;
                Thread t = new Thread(() -> {
                    try {
                        if (me % 2 == 0) {
                            PooledBuffer b = p.acquire(size, Duration.ofSeconds(30));
                            served.add(me);
                            got.add(b);
                        } else {
                            Box b = new Box();
                            assertTrue(p.acquireRaw(size, Duration.ofSeconds(30), b));
                            served.add(me);
                            got.add(b);
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                ts.add(t);
                t.start();
                awaitRegistered(p, size, i + 1);
            }
            for (int i = 0; i < n; i++) {
                int before = served.size();
                if (i % 3 == 0) {
                    // a handle's close serves the next waiter too
                    hog.remove(0).release(p);
                } else {
                    hog.remove(0).release(p);
                }
                while (served.size() == before) {
                    Thread.sleep(1);
                }
            }
            for (Thread t : ts) {
                t.join();
            }
            assertEquals(List.of(0, 1, 2, 3, 4, 5), new ArrayList<>(served), "size " + size);
            for (Object o : got) {
                if (o instanceof PooledBuffer) {
                    ((PooledBuffer) o).close();
                } else {
                    ((Box) o).release(p);
                }
            }
            hog.forEach(b -> b.release(p));
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    // ------------------------------------------------------------ rawView derived buffers

    /**
     * A leaked holder under ALL whose rawView is dropped but a buffer derived from it (slice,
     * duplicate, read-only, asLongBuffer) lives: the memory stays out, no leak reported, until
     * the derived buffer dies too; then the leak is reported once and the memory comes back.
     */
    @Test
    void derivedBuffersOfARawViewKeepALeakedHoldersMemoryOut() throws InterruptedException {
        for (int size : new int[] {64, 1 << 20}) {
            for (int kind = 0; kind < 5; kind++) {
                try (BufferPool p = pool("derived").leakDetection(LeakDetection.ALL).build()) {
                    Object[] keep = new Object[1];
                    long address = leakKeeping(p, size, kind, keep);
                    gcFew();
                    assertEquals(0, p.stats().leaksDetected(), "kind " + kind + " size " + size + ": a derived view lives");
                    assertEquals(1, p.stats().buffersInUse());
                    // the next acquire of the size does not get the memory under the live view
                    Box next = new Box();
                    assertTrue(p.tryAcquireRaw(size, next));
                    assertTrue(next.address != address, "kind " + kind + ": the live view's memory was handed out again");
                    next.release(p);
                    if (keep[0] instanceof ByteBuffer) {
                        ((ByteBuffer) keep[0]).get(0);
                    } else {
                        ((LongBuffer) keep[0]).get(0);
                    }
                    keep[0] = null;
                    gc(() -> p.stats().leaksDetected() > 0);
                    assertEquals(1, p.stats().leaksDetected(), "kind " + kind + " size " + size);
                    assertEquals(0, p.stats().buffersInUse());
                    p.checkInvariants();
                }
            }
        }
    }

    private static long leakKeeping(BufferPool p, int size, int kind, Object[] keep) {
        Box b = new Box();
        assertTrue(p.tryAcquireRaw(size, b));
        assertTrue(b.token instanceof BufferPool.RawWatch, String.valueOf(b.token));
        ByteBuffer v = p.rawView(b, b.token, b.address);
        keep[0] = switch (kind) {
            case 0 -> v.slice(8, 16);
            case 1 -> v.duplicate();
            case 2 -> v.asReadOnlyBuffer().slice();
            case 3 -> v.asLongBuffer();
            default -> v.position(16).slice().slice(0, 8).duplicate();
        };
        return b.address;
    }

    /** Slices and duplicates of a raw view of a large span cover exactly the span, and stay usable until the release. */
    @Test
    void viewsOfLargeSpansCoverTheSpan() {
        try (BufferPool p = pool("largeview").build()) {
            Box b = new Box();
            int big = (65536 / PAGE + 3) * PAGE;
            assertTrue(p.tryAcquireRaw(big - PAGE + 1, b));
            assertEquals(big, b.capacity);
            ByteBuffer v = p.rawView(b, b.token, b.address);
            assertEquals(big, v.capacity());
            assertTrue(v.isDirect());
            v.putLong(big - 8, 0x1122334455667788L);
            assertEquals(0x1122334455667788L, v.slice(big - 8, 8).getLong(0));
            assertEquals(0x1122334455667788L, v.duplicate().getLong(big - 8));
            assertThrows(IndexOutOfBoundsException.class, () -> v.get(big));
            b.release(p);
            assertEquals(0, p.stats().buffersInUse());
        }
    }

    // ------------------------------------------------------------ releaseRaw edges

    /** The item at the very end of the region: its release and view pass the range check; one byte further does not. */
    @Test
    void theLastItemOfTheRegionIsReleasedAndViewed() {
        try (BufferPool p = tiny("last", false)) {
            long end = p.regionAddress() + SizeClasses.slabBytes(64);
            List<Box> hog = exhaust(p, 64);
            Box last = null;
            for (Box b : hog) {
                if (b.address + b.capacity == end) {
                    last = b;
                }
            }
            assertNotNull(last, "an item ends at the region's end");
            ByteBuffer v = p.rawView(last, last.token, last.address);
            v.put(63, (byte) 1);
            Box l = last;
            assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(l, l.token, l.address + 16));
            assertThrows(IllegalArgumentException.class, () -> p.rawView(l, l.token, l.address + 16));
            assertEquals(hog.size(), p.stats().buffersInUse());
            hog.forEach(b -> b.release(p));
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
            List<Box> again = exhaust(p, 64);
            assertEquals(hog.size(), again.size());
            again.forEach(b -> b.release(p));
        }
    }

    /** A watched token (ALL) released on another thread than the acquiring one, class and large: no leak later, memory back, invariants. */
    @Test
    void watchedTokensReleasedOnAnotherThread() throws Exception {
        try (BufferPool p = pool("watchx").reserve(256L << 20).leakDetection(LeakDetection.ALL).build()) {
            List<Box> boxes = new ArrayList<>();
            for (int size : new int[] {16, 64, 4096, 65536, 1 << 20, 3 << 20}) {
                for (int i = 0; i < 10; i++) {
                    Box b = new Box();
                    assertTrue(p.tryAcquireRaw(size, b), size + " #" + i);
                    boxes.add(b);
                }
            }
            Thread t = new Thread(() -> boxes.forEach(b -> b.release(p)));
            t.start();
            t.join();
            boxes.clear();
            gcFew();
            assertEquals(0, p.stats().leaksDetected());
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
            p.trim();
            p.checkInvariants();
        }
    }

    /** Releases after the close and releases racing the close, raw and handle, on other threads: none throws, nothing breaks. */
    @Test
    void releasesAfterAndRacingTheClose() throws Exception {
        for (int round = 0; round < 20; round++) {
            BufferPool p = pool("closerace").leakDetection(round % 2 == 0 ? LeakDetection.ALL : LeakDetection.OFF)
                    .zeroOnAcquire(round % 4 < 2).build();
            List<Box> boxes = new ArrayList<>();
            List<PooledBuffer> handles = new ArrayList<>();
            for (int size : new int[] {16, 4096, 1 << 20}) {
                for (int i = 0; i < 30; i++) {
                    Box b = new Box();
                    assertTrue(p.tryAcquireRaw(size, b));
                    boxes.add(b);
                    handles.add(p.tryAcquire(size));
                }
            }
            AtomicReference<Throwable> failed = new AtomicReference<>();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> ts = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                int me = k;
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                        for (int i = me; i < boxes.size(); i += 3) {
                            boxes.get(i).release(p);
                            handles.get(i).close();
                        }
                    } catch (Throwable e) {
                        failed.compareAndSet(null, e);
                    }
                });
                ts.add(t);
                t.start();
            }
            go.countDown();
            p.close();
            for (Thread t : ts) {
                t.join();
            }
            if (failed.get() != null) {
                throw new AssertionError("round " + round, failed.get());
            }
        }
    }

    /**
     * A hold() that closes the pool is allowed on the plain path (Review8Test's
     * reentrantHoldsAndAHoldThatClosesThePool: the close completes). Probe: the same hold reached
     * through a blocked acquireRaw's second try (BufferPool.awaitTake calls tryTake, and so
     * hold, after {@code WAITING.getAndAdd(this, 1)} and before the matching decrement). Expected
     * (BufferPool.close: "wakes blocked acquires"; README: "never hangs"): the close completes as
     * it does on the plain path. Observed when the window is hit: close() spins in
     * {@code while (waiting > 0)} on the very thread that counts as the waiter, for ever.
     * Fault: BufferPool.java awaitTake (the inner tryTake at line 662, inside the WAITING count taken at line 658)
     * with close()'s wait for waiters (line 949). Runs in a child JVM (Review8bInnerCloseMain). Racy: the second try must find memory the
     * first did not, so a release is timed into that window; the test reports which path ran.
     */
    @Test
    void aHoldThatClosesThePoolOnABlockedAcquiresSecondTryHangs() throws Exception {
        // Fixed (5f15665): the second try takes a handle inside the waiter count and hands it to
        // the holder after it (BufferPool.handOver), so every hold of a blocked acquire runs with
        // the acquire no longer counted as a waiter; the child now stops at the first hold from
        // either path. In a child JVM: a hung close would spin on a core. Before the fix: 3 of 3 runs failed.
        ChildJvm.Result r = ChildJvm.run(List.of("-Xmx128m"), Review8bInnerCloseMain.class);
        org.junit.jupiter.api.Assumptions.assumeFalse(r.output().contains("NOHIT"), "no hold ran inside a blocked acquire: " + r.tail());
        assertTrue(r.output().contains("CLOSED"), r.tail());
        assertTrue(r.output().contains("waiters at hold 0"), "the holder ran while its acquire still counted as a waiter: " + r.tail());
    }

    /**
     * A blocked raw waiter whose hold() throws gives the memory back: the next waiter (a
     * handle's acquire) is served by it at once, not left waiting for another release; class and
     * large span, plain and zeroing.
     */
    @Test
    void aThrowingHoldOnTheWaitPathPassesTheMemoryToTheNextWaiter() throws Exception {
        for (boolean zero : new boolean[] {false, true}) {
            for (int size : new int[] {64, 2 * PAGE}) {
                BufferPool p = size == 64 ? tiny("throwpass", zero)
                        : pool("throwpassl").sizeClasses(64).reserve(64L * PAGE).maxCommitted(64L * PAGE).zeroOnAcquire(zero).build();
                try {
                    List<Box> hog = exhaust(p, size);
                    AtomicReference<Throwable> first = new AtomicReference<>();
                    Thread t1 = new Thread(() -> {
                        try {
                            p.acquireRaw(size, Duration.ofSeconds(30), (a, c, tok) -> {
                                throw new IllegalStateException("refused");
                            });
                        } catch (Throwable e) {
                            first.set(e);
                        }
                    });
                    t1.start();
                    awaitRegistered(p, size, 1);
                    AtomicReference<PooledBuffer> second = new AtomicReference<>();
                    Thread t2 = new Thread(() -> {
                        try {
                            second.set(p.acquire(size, Duration.ofSeconds(20)));
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                    t2.start();
                    awaitRegistered(p, size, 2);
                    hog.remove(0).release(p);
                    t1.join(5000);
                    assertFalse(t1.isAlive(), "size " + size + " zero " + zero + ": the first waiter was not served (second served: "
                            + (second.get() != null) + ", waiters " + p.waiters() + ")");
                    assertEquals("refused", first.get().getMessage());
                    t2.join(5000);
                    assertFalse(t2.isAlive(), "size " + size + " zero " + zero + ": the second waiter still waits after the first's hold threw");
                    assertNotNull(second.get());
                    second.get().close();
                    hog.forEach(b -> b.release(p));
                    assertEquals(0, p.stats().buffersInUse());
                    p.checkInvariants();
                } finally {
                    p.close();
                }
            }
        }
    }
}

package io.slab4j.buffer;

import io.slab4j.testing.Background;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Review 18: adversarial probes of the public contract, mostly the raw API of large spans
 * (marked when handed to a raw holder), commitChunk and the stats against /proc.
 */
class Review18Test {
    static final int MIB = 1 << 20;
    static final int[] LARGE = {MIB, 3 * MIB, 40 * MIB};
    static final AtomicInteger NAMES = new AtomicInteger();

    static BufferPool.Builder pool(String name) {
        return BufferPool.builder().name("r18-" + name + "-" + NAMES.incrementAndGet()).reserve(256L << 20)
                .leakDetection(LeakDetection.OFF);
    }

    /** A raw holder that keeps what hold gave it. */
    static final class Holder implements RawHolder {
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

        void release(BufferPool p) {
            p.releaseRaw(this, token, address);
        }
    }

    static Holder raw(BufferPool p, int size) {
        Holder h = new Holder();
        assertTrue(p.tryAcquireRaw(size, h), "raw " + size + ": " + p.stats());
        assertEquals(1, h.calls.get());
        return h;
    }

    static void assertUnchanged(BufferPoolStats before, BufferPoolStats after, String what) {
        assertEquals(before.buffersInUse(), after.buffersInUse(), what + ": buffersInUse");
        assertEquals(before.usedBytes(), after.usedBytes(), what + ": usedBytes");
        assertEquals(before.largeBuffersInUse(), after.largeBuffersInUse(), what + ": largeBuffersInUse");
        assertEquals(before.cachedLargeBytes(), after.cachedLargeBytes(), what + ": cachedLargeBytes");
        assertEquals(before.committedBytes(), after.committedBytes(), what + ": committedBytes");
    }

    static void fill(ByteBuffer b, byte v) {
        for (int i = 0; i < b.capacity(); i += 512) {
            b.put(i, v);
        }
    }

    static int firstNot(ByteBuffer b, byte v) {
        for (int i = 0; i < b.capacity(); i += 512) {
            if (b.get(i) != v) {
                return i;
            }
        }
        return -1;
    }

    // ------------------------------------------------------------------ stale and double releases

    /**
     * Held?: a raw large span released, then taken by a PooledBuffer of the same size (the same
     * address, from the cache); the stale holder's release with its old token is refused, the
     * handle's bytes are untouched and the next raw acquire does not get the handle's memory.
     * Docs (releaseRaw): "memory since given ... to a handle ... is refused".
     */
    @Test
    @Timeout(20)
    void staleRawReleaseOfASpanNowHeldByAHandleIsRefused() {
        try (BufferPool p = pool("handle").build()) {
            for (int size : LARGE) {
                Holder stale = raw(p, size);
                long a = stale.address;
                stale.release(p);
                PooledBuffer h = p.tryAcquire(size);
                assertNotNull(h);
                assertEquals(a, h.address(), "the handle got the cached span");
                fill(h.byteBuffer(), (byte) 0x5A);
                BufferPoolStats before = p.stats();
                assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(stale, stale.token, a), size + " stale release");
                assertThrows(IllegalArgumentException.class, () -> p.rawView(stale, stale.token, a), size + " stale view");
                assertUnchanged(before, p.stats(), size + " stale release");
                Holder next = raw(p, size);
                assertNotEquals(a, next.address, size + ": the next raw span is the handle's");
                assertEquals(-1, firstNot(h.byteBuffer(), (byte) 0x5A));
                next.release(p);
                h.close();
                p.checkInvariants();
                assertEquals(0, p.stats().buffersInUse());
                assertEquals(0, p.rawLargeMarks());
            }
        }
    }

    /**
     * A second release of a large span that the pool keeps for reuse (cached after the first
     * release) is refused, and the pool hands that span to one holder only afterwards.
     * Docs (releaseRaw): "one free in the arena or kept by the pool for reuse ... is refused".
     */
    @Test
    @Timeout(20)
    void sequentialDoubleReleaseOfALargeSpanIsRefused() {
        try (BufferPool p = pool("double").build()) {
            for (int size : LARGE) {
                Holder h = raw(p, size);
                h.release(p);
                BufferPoolStats before = p.stats();
                assertThrows(IllegalArgumentException.class, () -> h.release(p), size + " second release");
                assertUnchanged(before, p.stats(), size + " second release");
                Holder x = raw(p, size);
                Holder y = raw(p, size);
                assertNotEquals(x.address, y.address, size + ": two holders share a span");
                x.release(p);
                y.release(p);
                p.checkInvariants();
                assertEquals(0, p.rawLargeMarks());
            }
            p.trim();
            assertEquals(0, p.stats().committedBytes());
        }
    }

    /**
     * Two threads release one large span at once (cached sizes and uncached ones): one release
     * is refused, the counts stay right and the span goes to one later holder only.
     * Docs (releaseRaw): "of two racing releases of one span, one is refused".
     */
    @Test
    @Timeout(30)
    void racingDoubleReleasesOfLargeSpansRefuseOne() throws Exception {
        try (BufferPool p = pool("race").build()) {
            for (int size : LARGE) {
                long end = System.nanoTime() + 1_500_000_000L;
                int round = 0;
                while (System.nanoTime() < end) {
                    round++;
                    Holder h = raw(p, size);
                    CyclicBarrier barrier = new CyclicBarrier(2);
                    CompletableFuture<Boolean> f1 = Background.start("rel1", () -> {
                        barrier.await();
                        try {
                            h.release(p);
                            return true;
                        } catch (IllegalArgumentException e) {
                            return false;
                        }
                    });
                    CompletableFuture<Boolean> f2 = Background.start("rel2", () -> {
                        barrier.await();
                        try {
                            h.release(p);
                            return true;
                        } catch (IllegalArgumentException e) {
                            return false;
                        }
                    });
                    boolean r1 = f1.get(5, TimeUnit.SECONDS);
                    boolean r2 = f2.get(5, TimeUnit.SECONDS);
                    String what = size + " round " + round + ": " + r1 + "/" + r2 + " " + p.stats();
                    assertTrue(r1 ^ r2, what);
                    BufferPoolStats s = p.stats();
                    assertEquals(0, s.buffersInUse(), what);
                    assertEquals(0, s.usedBytes(), what);
                    assertEquals(0, s.largeBuffersInUse(), what);
                    Holder x = raw(p, size);
                    Holder y = raw(p, size);
                    assertNotEquals(x.address, y.address, what);
                    x.release(p);
                    y.release(p);
                    p.checkInvariants();
                    assertEquals(0, p.rawLargeMarks(), what);
                }
            }
        }
    }

    /**
     * A stale release after trim (span back in the arena) and after the idle decay, with the
     * address then reused by a span of another size, is refused, the pool unchanged.
     */
    @Test
    @Timeout(30)
    void staleReleasesAfterTrimDecayAndReuseBySpanOfAnotherSizeAreRefused() throws Exception {
        try (BufferPool p = pool("stale").idleDecay(Duration.ofMillis(20)).build()) {
            for (int size : LARGE) {
                Holder stale = raw(p, size);
                long a = stale.address;
                stale.release(p);
                p.trim();
                BufferPoolStats before = p.stats();
                assertEquals(0, before.cachedLargeBytes());
                assertThrows(IllegalArgumentException.class, () -> stale.release(p), size + " after trim");
                assertUnchanged(before, p.stats(), size + " after trim");
                for (int other : new int[] {size + 4096, size * 2, size - 4096, 65536 * 8}) {
                    Holder o = raw(p, other);
                    BufferPoolStats b2 = p.stats();
                    String what = size + " stale, since " + other + " at " + (o.address == a ? "the same address" : "elsewhere");
                    assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(stale, stale.token, a), what);
                    // the other span's token with the stale address when it is not its start
                    if (o.address != a) {
                        assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(o, o.token, a), what + " (other's token)");
                    }
                    assertUnchanged(b2, p.stats(), what);
                    o.release(p);
                    p.trim();
                }
                // decay instead of trim
                Holder d = raw(p, size);
                long da = d.address;
                d.release(p);
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (p.stats().cachedLargeBytes() > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(25);
                    for (int i = 0; i < 2000; i++) {
                        p.tryAcquire(64).close();
                    }
                }
                assertEquals(0, p.stats().cachedLargeBytes(), "decay returned the cached span");
                BufferPoolStats b3 = p.stats();
                assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(d, d.token, da), size + " after decay");
                assertUnchanged(b3, p.stats(), size + " after decay");
                p.checkInvariants();
            }
            assertEquals(0, p.rawLargeMarks());
        }
    }

    /**
     * A valid release after the pool closed does not throw (docs: "Never throws for a pool
     * closed meanwhile"), for size classes and large spans, also racing the close.
     */
    @Test
    @Timeout(30)
    void releasesAfterAndRacingCloseNeverThrow() throws Exception {
        for (int round = 0; round < 20; round++) {
            BufferPool p = pool("close").build();
            List<Holder> held = new ArrayList<>();
            int[] sizes = {64, 4096, 65536, MIB, 3 * MIB, 40 * MIB};
            for (int s : sizes) {
                held.add(raw(p, s));
                held.add(raw(p, s));
            }
            CyclicBarrier barrier = new CyclicBarrier(2);
            CompletableFuture<Throwable> releaser = Background.start("releaser", () -> {
                barrier.await();
                try {
                    for (Holder h : held) {
                        h.release(p);
                    }
                    return null;
                } catch (Throwable e) {
                    return e;
                }
            });
            barrier.await();
            if (round % 2 == 0) {
                p.close();
            } else {
                Thread.yield();
                p.close();
            }
            Throwable t = releaser.get(10, TimeUnit.SECONDS);
            assertNull(t, "round " + round + ": a release racing close threw " + t);
            assertTrue(p.isClosed());
        }
    }

    // ------------------------------------------------------------------ hold that throws

    /**
     * hold() throws: the acquire rethrows the same exception, the holder owns nothing (a release
     * of what it was given is refused), and the pool is as before, for classes and large spans.
     * Docs (RawHolder): "If hold throws, the acquire gives the memory back and rethrows: the
     * holder owns nothing."
     */
    @Test
    @Timeout(30)
    void holdThatThrowsLeavesNothingOut() throws Exception {
        try (BufferPool p = pool("throws").build()) {
            int[] sizes = {16, 64, 65536, 65537, MIB, 3 * MIB, 40 * MIB};
            for (int size : sizes) {
                for (int kind = 0; kind < 3; kind++) {
                    Holder seen = new Holder();
                    RuntimeException boom = new IllegalStateException("boom");
                    Error err = new AssertionError("boom");
                    final int k = kind;
                    RawHolder thrower = (address, capacity, token) -> {
                        seen.hold(address, capacity, token);
                        if (k == 0) {
                            throw boom;
                        }
                        throw err;
                    };
                    BufferPoolStats before = p.stats();
                    Throwable t;
                    if (kind == 2) {
                        t = assertThrows(Throwable.class, () -> p.acquireRaw(size, Duration.ofSeconds(1), thrower));
                    } else {
                        t = assertThrows(Throwable.class, () -> p.tryAcquireRaw(size, thrower));
                    }
                    assertSame(kind == 0 ? boom : err, t, size + "/" + kind);
                    BufferPoolStats after = p.stats();
                    String what = size + "/" + kind;
                    assertEquals(before.buffersInUse(), after.buffersInUse(), what);
                    assertEquals(before.usedBytes(), after.usedBytes(), what);
                    assertEquals(before.largeBuffersInUse(), after.largeBuffersInUse(), what);
                    if (size > 65536) { // a class item given back sits in the thread's cache, where the docs say a stale release is not caught
                        assertThrows(IllegalArgumentException.class, () -> p.releaseRaw(thrower, seen.token, seen.address), what);
                        assertThrows(IllegalArgumentException.class, () -> p.rawView(thrower, seen.token, seen.address), what);
                    }
                    p.checkInvariants();
                    assertEquals(0, p.rawLargeMarks(), what);
                    Holder ok = raw(p, size);
                    ok.release(p);
                    Holder ok2 = raw(p, size);
                    Holder ok3 = raw(p, size);
                    assertNotEquals(ok2.address, ok3.address, what);
                    ok2.release(p);
                    ok3.release(p);
                }
            }
            p.trim();
            assertEquals(0, p.stats().buffersInUse());
            assertEquals(0, p.stats().committedBytes());
        }
    }
}

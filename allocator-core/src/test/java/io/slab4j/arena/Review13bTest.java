package io.slab4j.arena;

import io.slab4j.testing.Background;
import io.slab4j.cache.PoolCache;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.pool.Pool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** Review 13b of the lower layers: bad inputs, waits, injected OS failures. */
class Review13bTest {
    private static final long PAGE = VirtualRegion.pageSize();

    private static void names(Throwable t, long v) {
        String m = t.getMessage();
        assertTrue(m != null && (m.contains(Long.toString(v)) || m.toLowerCase().contains(Long.toHexString(v))), m);
    }

    @Test
    @Timeout(30)
    void poolBadPuts() throws Exception {
        try (VirtualRegion r = VirtualRegion.reserve(64 * PAGE)) {
            Arena arena = Arena.builder(r).build();
            Pool pool = Pool.builder("r13b", 64).build(arena);
            long a = pool.get();
            for (long bad : new long[]{0, -8, a + 1, a + 8, r.address() + r.size(), r.address() + 60 * PAGE}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool.put(bad), "put " + bad);
                pool.checkInvariants();
            }
            pool.put(a);
            names(assertThrows(IllegalArgumentException.class, () -> pool.put(a)), a);
            pool.checkInvariants();
            names(assertThrows(IllegalArgumentException.class, () -> pool.putAll(new long[]{a}, 2)), 2);
            names(assertThrows(IllegalArgumentException.class, () -> pool.putAll(new long[]{a}, -1)), -1);
            pool.checkInvariants();
            long b = pool.get(Duration.ofMillis(-5)); assertNotEquals(0, b); pool.put(b);
            pool.close();
            assertThrows(IllegalStateException.class, () -> pool.tryGet());
            assertThrows(IllegalStateException.class, () -> pool.get(Duration.ofMillis(10)));
            arena.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void arenaBadFrees() throws Exception {
        try (VirtualRegion r = VirtualRegion.reserve(16 * PAGE)) {
            Arena arena = Arena.builder(r).build();
            long a = arena.tryAlloc(2 * PAGE);
            for (long[] bad : new long[][]{{a, PAGE}, {a, 3 * PAGE}, {a + PAGE, PAGE}, {0, PAGE}, {a + 8 * PAGE, PAGE}, {a, 0}, {a, -PAGE}}) {
                assertThrows(IllegalArgumentException.class, () -> arena.free(bad[0], bad[1]), bad[0] + "/" + bad[1]);
                arena.checkInvariants();
            }
            arena.free(a, 2 * PAGE);
            assertThrows(IllegalArgumentException.class, () -> arena.free(a, 2 * PAGE));
            assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(0));
            assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(17 * PAGE));
            assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(PAGE, 3 * PAGE));
            assertThrows(IllegalArgumentException.class, () -> arena.alloc(0, Duration.ofMillis(1)));
            assertThrows(IllegalArgumentException.class, () -> arena.allocEvent(Long.MAX_VALUE));
            assertThrows(IllegalArgumentException.class, () -> arena.tryAlloc(Long.MAX_VALUE - 2));
            arena.checkInvariants();
            long all = arena.tryAlloc(16 * PAGE);
            assertNotEquals(0, all);
            assertEquals(0, arena.alloc(PAGE, Duration.ofMillis(50)));
            assertEquals(0, arena.waiters());
            arena.free(all, 16 * PAGE);
            arena.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void arenaWaitWokenByFree() throws Exception {
        try (VirtualRegion r = VirtualRegion.reserve(16 * PAGE)) {
            Arena arena = Arena.builder(r).build();
            long all = arena.tryAlloc(16 * PAGE);
            CompletableFuture<Long> f = CompletableFuture.supplyAsync(() -> {
                try { return arena.alloc(4 * PAGE, Duration.ofSeconds(20)); } catch (InterruptedException e) { throw new RuntimeException(e); }
            }, Background.THREADS);
            long t = System.nanoTime();
            while (arena.waiters() == 0) Thread.onSpinWait();
            arena.free(all, 16 * PAGE);
            long got = f.get(10, TimeUnit.SECONDS);
            assertNotEquals(0, got);
            arena.free(got, 4 * PAGE);
            arena.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void poolGetWithFailingCommits() throws Exception {
        try (VirtualRegion r = VirtualRegion.reserve(64 * PAGE)) {
            FaultyPages pages = new FaultyPages(r);
            Arena arena = pages.arena().build();
            Pool pool = Pool.builder("r13bf", 64).build(arena);
            pages.failCommits = true;
            Throwable t = null;
            try { pool.tryGet(); } catch (RuntimeException e) { t = e; }
            pool.checkInvariants();
            arena.checkInvariants();
            try { pool.get(Duration.ofMillis(50)); } catch (RuntimeException e) { t = e; }
            pool.checkInvariants();
            arena.checkInvariants();
            pages.failCommits = false;
            long a = pool.get(Duration.ofSeconds(1));
            assertNotEquals(0, a);
            pool.put(a);
            pool.checkInvariants();
            pool.close();
            arena.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void interruptedGetTakesNothing() throws Exception {
        try (VirtualRegion r = VirtualRegion.reserve(64 * PAGE)) {
            Arena arena = Arena.builder(r).build();
            Pool pool = Pool.builder("r13bi", 64).hardLimit(64).build(arena);
            long[] held = new long[64];
            for (int i = 0; i < 64; i++) held[i] = pool.get();
            long a = held[0];
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> pool.get(Duration.ofSeconds(5)));
            assertFalse(Thread.interrupted());
            Thread waiter = new Thread(() -> { try { pool.get(); } catch (InterruptedException e) { } });
            waiter.start();
            while (pool.waiters() == 0) Thread.onSpinWait();
            waiter.interrupt();
            waiter.join(5000);
            assertFalse(waiter.isAlive());
            assertEquals(0, pool.waiters());
            pool.put(a);
            assertNotEquals(0, pool.tryGet());
            assertEquals(0, pool.get(Duration.ofMillis(30)));
            assertEquals(0, pool.waiters());
            pool.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void cacheBadPuts() throws Exception {
        try (VirtualRegion r = VirtualRegion.reserve(64 * PAGE)) {
            Arena arena = Arena.builder(r).build();
            Pool pool = Pool.builder("r13bc", 64).build(arena);
            PoolCache cache = PoolCache.builder(pool).build();
            long a = cache.get();
            assertThrows(IllegalArgumentException.class, () -> cache.put(a + 1));
            assertThrows(IllegalArgumentException.class, () -> cache.put(0));
            cache.put(a);
            names(assertThrows(IllegalArgumentException.class, () -> cache.put(a)), a);
            pool.checkInvariants();
            cache.close();
            assertThrows(IllegalStateException.class, () -> cache.put(a));
            assertThrows(IllegalStateException.class, cache::tryGet);
            pool.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void regionBadRanges() {
        try (VirtualRegion r = VirtualRegion.reserve(4 * PAGE)) {
            long top = Long.MAX_VALUE & -PAGE;
            long[][] bad = {{-PAGE, PAGE}, {0, 0}, {0, -PAGE}, {top, 2 * PAGE}, {PAGE, top}, {4 * PAGE, PAGE}, {3 * PAGE, 2 * PAGE}, {1, PAGE}, {0, PAGE + 1}, {Long.MIN_VALUE, PAGE}, {PAGE, Long.MIN_VALUE}};
            for (long[] b : bad) {
                String what = b[0] + "/" + b[1];
                assertThrows(IllegalArgumentException.class, () -> r.commit(b[0], b[1]), "commit " + what);
                assertThrows(IllegalArgumentException.class, () -> r.decommit(b[0], b[1]), "decommit " + what);
                assertThrows(IllegalArgumentException.class, () -> r.release(b[0], b[1]), "release " + what);
                assertThrows(IllegalArgumentException.class, () -> r.prefault(b[0], b[1]), "prefault " + what);
                assertThrows(IllegalArgumentException.class, () -> r.adviseHugePages(b[0], b[1]), "huge " + what);
                assertThrows(IllegalArgumentException.class, () -> r.adviseNoHugePages(b[0], b[1]), "nohuge " + what);
            }
            r.commit(0, 4 * PAGE);
            r.release(0, 4 * PAGE);
        }
        for (long bytes : new long[]{0, -1, Long.MAX_VALUE, Long.MAX_VALUE - PAGE + 2, Long.MIN_VALUE}) {
            assertThrows(IllegalArgumentException.class, () -> VirtualRegion.reserve(bytes), "reserve " + bytes);
        }
        for (long al : new long[]{0, -PAGE, 3 * PAGE, 1, Long.MIN_VALUE}) {
            assertThrows(IllegalArgumentException.class, () -> VirtualRegion.reserve(4 * PAGE, al).close(), "align " + al);
        }
        VirtualRegion c = VirtualRegion.reserve(4 * PAGE);
        c.close();
        c.close();
        assertThrows(IllegalStateException.class, () -> c.commit(0, PAGE));
        assertThrows(IllegalStateException.class, () -> c.release(0, PAGE));
    }

    @Test
    @Timeout(30)
    void cacheCloseWhileGetWaits() throws Exception {
        try (VirtualRegion r = VirtualRegion.reserve(64 * PAGE)) {
            Arena arena = Arena.builder(r).build();
            Pool pool = Pool.builder("r13bcw", 64).hardLimit(64).build(arena);
            PoolCache cache = PoolCache.builder(pool).build();
            long[] held = new long[64];
            for (int i = 0; i < 64; i++) held[i] = cache.get();
            CompletableFuture<Object> f = CompletableFuture.supplyAsync(() -> {
                try { return cache.get(); } catch (Throwable t) { return t; }
            }, Background.THREADS);
            while (pool.waiters() == 0) Thread.onSpinWait();
            CompletableFuture<Void> closing = CompletableFuture.runAsync(cache::close, Background.THREADS);
            closing.get(5, TimeUnit.SECONDS);
            pool.put(held[0]);
            Object got = f.get(5, TimeUnit.SECONDS);
            if (got instanceof Long l) pool.put(l);
            for (int i = 1; i < 64; i++) pool.put(held[i]);
            pool.checkInvariants();
            pool.close();
        }
    }

    @Test
    @Timeout(30)
    void regionCloseReleasesArenaWaiter() throws Exception {
        VirtualRegion r = VirtualRegion.reserve(16 * PAGE);
        Arena arena = Arena.builder(r).build();
        long all = arena.tryAlloc(16 * PAGE);
        CompletableFuture<Object> f = CompletableFuture.supplyAsync(() -> {
            try { return arena.alloc(PAGE); } catch (Throwable t) { return t; }
        }, Background.THREADS);
        while (arena.waiters() == 0) Thread.onSpinWait();
        r.close();
        Object o = f.get(5, TimeUnit.SECONDS);
        assertTrue(o instanceof IllegalStateException, String.valueOf(o));
        assertThrows(IllegalStateException.class, () -> arena.alloc(PAGE, Duration.ofMillis(10)));
        arena.free(all, 16 * PAGE);
        arena.checkInvariants();
    }

    @Test
    @Timeout(30)
    void regionCloseReleasesPoolWaiter() throws Exception {
        VirtualRegion r = VirtualRegion.reserve(16 * PAGE);
        Arena arena = Arena.builder(r).build();
        Pool pool = Pool.builder("r13brc", PAGE).build(arena);
        long[] held = new long[16];
        int n = 0;
        long x;
        while ((x = pool.tryGet()) != 0) held[n++] = x;
        CompletableFuture<Object> f = CompletableFuture.supplyAsync(() -> {
            try { return pool.get(); } catch (Throwable t) { return t; }
        }, Background.THREADS);
        while (pool.waiters() == 0) Thread.onSpinWait();
        r.close();
        Object o;
        try {
            o = f.get(3, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            pool.put(held[0]);
            o = f.get(3, TimeUnit.SECONDS);
            fail("pool.get() kept waiting after its arena's region closed; a put then gave it " + o);
        }
        assertTrue(o instanceof IllegalStateException, String.valueOf(o));
    }

    private static void iae(long v, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e, "value " + v);
        names(x, v);
    }

    @Test
    @Timeout(30)
    void builderBadInputsNameTheValue() throws Exception {
        try (VirtualRegion r = VirtualRegion.reserve(64 * PAGE)) {
            Arena arena = Arena.builder(r).build();
            iae(0, () -> Pool.builder("b", 0).build(arena));
            iae(-5, () -> Pool.builder("b", -5).build(arena));
            iae(0, () -> Pool.builder("b", 64).slabPages(0).build(arena));
            iae(-3, () -> Pool.builder("b", 64).slabPages(-3).build(arena));
            iae(3, () -> Pool.builder("b", 64).align(3).build(arena));
            iae(-1, () -> Pool.builder("b", 64).hardLimit(-1).build(arena));
            iae(-1, () -> Pool.builder("b", 64).lowWater(-1).build(arena));
            iae(-2, () -> Pool.builder("b", 64).highWater(-2).build(arena));
            iae(65 * PAGE, () -> Pool.builder("b", 65 * PAGE).build(arena));
            Pool pool = Pool.builder("b", 64).build(arena);
            iae(0, () -> PoolCache.builder(pool).magazineSize(0).build());
            iae(PoolCache.MAX_MAGAZINE_SIZE + 1, () -> PoolCache.builder(pool).magazineSize(PoolCache.MAX_MAGAZINE_SIZE + 1).build());
            iae(-1, () -> PoolCache.builder(pool).depotLimit(-1).build());
            iae(PoolCache.MAX_DEPOT_LIMIT + 1, () -> PoolCache.builder(pool).depotLimit(PoolCache.MAX_DEPOT_LIMIT + 1).build());
            assertEquals(0, pool.prime(-1) < 0 ? -1 : 0);
            pool.checkInvariants();
            iae(3, () -> Arena.builder(r).quantum(3).build());
            iae(0, () -> Arena.builder(r).quantum(0).build());
            iae(-PAGE, () -> Arena.builder(r).maxCommitted(-PAGE).build());
            iae(3, () -> Arena.builder(r).commitChunk(3).build());
            arena.checkInvariants();
            pool.close();
        }
    }

    @Test
    @Timeout(30)
    void failingReleasesAndLayerCalls() throws Exception {
        try (VirtualRegion r = VirtualRegion.reserve(64 * PAGE)) {
            FaultyPages pages = new FaultyPages(r);
            Arena arena = pages.arena().build();
            Pool pool = Pool.builder("r13bfr", 64).highWater(0).build(arena);
            PoolCache cache = PoolCache.builder(pool).build();
            PoolCache.Local local = cache.local();
            CompletableFuture<Object> other = CompletableFuture.supplyAsync(() -> {
                try { return local.tryGet(); } catch (Throwable t) { return t; }
            }, Background.THREADS);
            assertTrue(other.get(5, TimeUnit.SECONDS) instanceof IllegalStateException, String.valueOf(other.get()));
            long a = pool.get();
            pool.park(a);
            names(assertThrows(IllegalArgumentException.class, () -> pool.park(a)), a);
            assertThrows(IllegalArgumentException.class, () -> pool.put(a));
            pool.putHeld(a);
            assertThrows(IllegalArgumentException.class, () -> pool.putHeld(a));
            pool.checkInvariants();
            pages.failReleases = true;
            pages.failDecommits = true;
            cache.close();
            pool.reclaim();
            pool.close();
            arena.checkInvariants();
            pages.failReleases = false;
            pages.failDecommits = false;
            long s = arena.tryAlloc(64 * PAGE);
            assertNotEquals(0, s);
            arena.free(s, 64 * PAGE);
            arena.checkInvariants();
        }
    }

    // A Pool get waits for arena space; the free that serves it meets a failed commit (logged, the
    // waiter keeps waiting, as Arena's "Failed commits" documents); the next non-waiting call and
    // free retry it, and then it is served. (Since review 13 the scheduled retry would serve it too:
    // ArenaCommitFailureTest.aWaiterAFailedCommitLeftQueuedIsRetriedWithoutAnyOtherCall.)
    @Test
    @Timeout(30)
    void waiterRetriedAfterFailedCommit() throws Exception {
        try (VirtualRegion r = VirtualRegion.reserve(64 * PAGE)) {
            FaultyPages pages = new FaultyPages(r);
            Arena arena = pages.arena().build();
            Pool pool = Pool.builder("r13bwc", 64).build(arena);
            long all = arena.tryAlloc(64 * PAGE);
            CompletableFuture<Object> f = CompletableFuture.supplyAsync(() -> {
                try { return pool.get(Duration.ofSeconds(8)); } catch (Throwable t) { return t; }
            }, Background.THREADS);
            while (pool.waiters() == 0) Thread.onSpinWait();
            pages.failCommits = true;
            arena.free(all, 64 * PAGE); // returns normally: the failed commit is the waiter's, logged
            Thread.sleep(200);
            pages.failCommits = false;
            long probe = arena.tryAlloc(PAGE);
            if (probe != 0) arena.free(probe, PAGE);
            long t0 = System.nanoTime();
            Object o = f.get(15, TimeUnit.SECONDS);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(o instanceof Long l && l != 0, "the waiter, retried by the tryAlloc and free after commits recovered, got " + o);
            assertTrue(ms < 4000, "served only after " + ms + " ms: at its timeout, not by the retry");
            pool.put((Long) o);
            pool.checkInvariants();
            arena.checkInvariants();
        }
    }
}

package io.slab4j.pool;

import io.slab4j.testing.Background;
import io.slab4j.arena.Hex;
import io.slab4j.arena.Arena;
import io.slab4j.cache.PoolCache;
import io.slab4j.nativemem.VirtualRegion;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round-4 adversarial review of Pool and PoolCache through their public API. */
class PoolRound4ReviewTest {

    private static Arena plain(long bytes) {
        return Arena.builder(0x4000_0000L, bytes).build();
    }

    private static void awaitWaiters(Pool p, int n) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (p.waiters() < n && System.nanoTime() < end) {
            Thread.sleep(1);
        }
        assertEquals(n, p.waiters());
    }

    // ------------------------------------------- passes worth keeping (attacks that held)

    @Test
    void aBuildThatCannotPrimeItsLowWaterLeaksNoSlab() {
        // Builder.build: "@throws IllegalStateException the arena cannot give the slabs to prime now"; the pool is
        // never handed out, so any slab primed before the failure must go back: nothing lost.
        Arena arena = Arena.builder(0x4000_0000L, 3 * 4096).build();
        assertThrows(IllegalStateException.class,
                () -> Pool.builder("r4-prime-fail", 4096).slabPages(1).lowWater(5).highWater(5).build(arena));
        assertEquals(0, arena.stats().allocated(), arena.stats().toString());
        arena.checkInvariants();
        assertNotEquals(0, arena.tryAlloc(3 * 4096));
    }

    @Test
    void anAlignmentAboveThePageGivesAlignedItems() {
        // Builder.align: "Item alignment in bytes, a power of two (items start at multiples of it)".
        Arena arena = Arena.builder(0x4000_1000L, 1 << 20).build();
        Pool p = Pool.builder("r4-align", 64).align(8192).slabPages(4).build(arena);
        List<Long> got = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            long a = p.tryGet();
            assertNotEquals(0, a);
            assertEquals(0, a % 8192, "item " + Hex.of(a) + " is not 8192-aligned");
            got.add(a);
        }
        got.forEach(p::put);
        p.checkInvariants();
    }

    @Test
    void tooManyItemsPerSlabOrAnItemLargerThanItsSlabIsRejectedAtBuild() {
        Arena arena = plain(16 << 20);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Pool.builder("r4-many", 16).slabPages(512).build(arena));
        assertTrue(e.getMessage().contains(Integer.toString(Pool.MAX_ITEMS_PER_SLAB)) || e.getMessage().contains("131072"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Pool.builder("r4-big", 8192).slabPages(1).build(arena));
        assertThrows(IllegalArgumentException.class, () -> Pool.builder("r4-hugealign", 64).align(1L << 40).build(arena));
        assertEquals(0, arena.stats().allocated());
    }

    @Test
    void aPutsOnlyWaiterGetsAGrowBranchWhenAPendingGrowIsWithdrawnByInterrupt() {
        // DESIGN "Pool specifics": when a nack releases a pending grow, the oldest waiter that was waiting on puts
        // alone must be woken to retry with a grow branch. Here the grow-holder is interrupted (not timed out), then
        // arena space appears: the second waiter must grow, not sleep until a put.
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            Arena arena = Arena.builder(0x4000_0000L, 2 * 4096).build();
            Pool p = Pool.builder("r4-nack", 4096).slabPages(1).hardLimit(2).build(arena);
            long a = p.tryGet();
            long blocker = arena.tryAlloc(4096);
            assertNotEquals(0, blocker);
            AtomicReference<Object> r1 = new AtomicReference<>();
            Thread w1 = new Thread(() -> {
                try {
                    r1.set(p.get());
                } catch (Throwable e) {
                    r1.set(e);
                }
            });
            w1.start();
            awaitWaiters(p, 1);
            while (arena.waiters() == 0) {
                Thread.sleep(1);
            }
            CompletableFuture<Long> w2 = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.get(Duration.ofSeconds(8));
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }, Background.THREADS);
            awaitWaiters(p, 2);
            w1.interrupt();
            w1.join();
            assertInstanceOf(InterruptedException.class, r1.get());
            arena.free(blocker, 4096);
            long got = w2.get(10, TimeUnit.SECONDS);
            assertNotEquals(0L, got, "the puts-only waiter slept through the space that appeared");
            p.put(got);
            p.put(a);
            p.checkInvariants();
            arena.checkInvariants();
        });
    }

    @Test
    void putAllWithABadCountIsAnIllegalArgumentAndChangesNothing() {
        // Pool: bad input → a specific exception naming the value; structure unchanged.
        Pool p = Pool.builder("r4-putall", 64).hardLimit(64).build(plain(1 << 20));
        long a = p.tryGet();
        long[] one = {a};
        IllegalArgumentException e1 = assertThrows(IllegalArgumentException.class, () -> p.putAll(one, 2));
        assertEquals("putAll(addresses, 2): count is not in [0, 1] (the array's length); nothing was returned to pool 'r4-putall'",
                e1.getMessage());
        assertThrows(IllegalArgumentException.class, () -> p.putAll(one, -1));
        assertThrows(NullPointerException.class, () -> p.putAll(null, 1));
        p.checkInvariants();
        assertEquals(1, p.stats().itemsInUse());
        p.put(a);
        p.checkInvariants();
    }

    @Test
    void hugeTimeoutGetIsServedByAPut() {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            Pool p = Pool.builder("r4-huge", 4096).slabPages(1).hardLimit(1).build(plain(1 << 20));
            long a = p.tryGet();
            CompletableFuture<Long> w = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.get(Duration.ofSeconds(Long.MAX_VALUE));
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }, Background.THREADS);
            awaitWaiters(p, 1);
            p.put(a);
            assertEquals(a, w.get(5, TimeUnit.SECONDS));
            p.put(a);
            p.checkInvariants();
        });
    }

    @Test
    void primeWithExtremesStopsAtTheLimitAndTheArena() {
        Arena arena = plain(64 * 4096);
        Pool p = Pool.builder("r4-prime", 4096).slabPages(1).hardLimit(10).build(arena);
        assertEquals(10, p.prime(Long.MAX_VALUE));
        Pool q = Pool.builder("r4-prime2", 4096).slabPages(1).build(arena);
        assertEquals(54, q.prime(Long.MAX_VALUE));
        p.checkInvariants();
        q.checkInvariants();
        arena.checkInvariants();
    }

    @Test
    void closeOfAPoolWithAWaiterIsRefusedOrWakesIt() {
        // Pool.close: "@throws IllegalStateException items in use, gets waiting or grows pending (nothing changes)".
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            Pool p = Pool.builder("r4-close", 4096).slabPages(1).hardLimit(1).build(plain(1 << 20));
            long a = p.tryGet();
            CompletableFuture<Long> w = CompletableFuture.supplyAsync(() -> {
                try {
                    return p.get(Duration.ofSeconds(30));
                } catch (InterruptedException e) {
                    throw new RuntimeException(e);
                }
            }, Background.THREADS);
            awaitWaiters(p, 1);
            assertThrows(IllegalStateException.class, p::close);
            p.put(a);
            assertEquals(a, w.get(5, TimeUnit.SECONDS));
            p.put(a);
            p.close();
            assertThrows(IllegalStateException.class, p::tryGet);
            assertThrows(IllegalStateException.class, () -> p.put(a));
        });
    }

    @Test
    void aCacheGetAtTheLimitIsServedByItemsParkedByAnExitedThread() {
        // DESIGN (cache): when a get blocks on an empty pool, items parked by idle or exited threads are returned
        // within a bounded, documented time (README: every 100 ms while it waits).
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            Pool p = Pool.builder("r4-exited", 256).hardLimit(64).build(plain(1 << 20));
            PoolCache c = PoolCache.builder(p).build();
            Thread t = new Thread(() -> {
                List<Long> l = new ArrayList<>();
                for (int i = 0; i < 64; i++) {
                    l.add(c.tryGet());
                }
                l.forEach(c::put);
            });
            t.start();
            t.join();
            Set<Long> got = new HashSet<>();
            for (int i = 0; i < 64; i++) {
                long a = c.get(Duration.ofSeconds(3));
                assertNotEquals(0, a, "get " + i);
                assertTrue(got.add(a), "address handed out twice");
            }
            assertEquals(0, c.tryGet());
            got.forEach(c::put);
            c.drain();
            c.checkInvariants();
            p.checkInvariants();
            assertEquals(0, p.stats().itemsInUse());
        });
    }

    @Test
    void cacheCloseWhileAGetIsBlockedLeavesNothingHanging() {
        // PoolCache.close: later calls throw IllegalStateException; nothing may hang.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            Pool p = Pool.builder("r4-cache-close", 4096).slabPages(1).hardLimit(1).build(plain(1 << 20));
            PoolCache c = PoolCache.builder(p).build();
            long a = c.tryGet();
            AtomicReference<Object> got = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    got.set(c.get(Duration.ofSeconds(30)));
                } catch (Throwable e) {
                    got.set(e);
                }
            });
            t.start();
            awaitWaiters(p, 1);
            c.close();
            p.put(a); // the item goes to the waiter (or the waiter got an ISE from the close)
            t.join(5000);
            assertTrue(!t.isAlive(), "get still blocked after the cache closed and an item came back");
            Object r = got.get();
            if (r instanceof Long addr) {
                assertEquals(a, addr.longValue());
                p.put(addr);
            } else {
                assertInstanceOf(IllegalStateException.class, r);
            }
            p.checkInvariants();
            assertEquals(0, p.stats().itemsInUse());
        });
    }

    @Test
    void realRegionClosedUnderAPoolMakesGrowsFailWithIllegalStateNotHang() {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            VirtualRegion r = VirtualRegion.reserve(1 << 20);
            Arena arena = Arena.builder(r).build();
            Pool p = Pool.builder("r4-region", 4096).slabPages(1).build(arena);
            long a = p.tryGet();
            r.close();
            assertThrows(IllegalStateException.class, () -> p.get(Duration.ofSeconds(2)));
            p.put(a); // accepted: never throws
            assertEquals(0, p.stats().itemsInUse());
        });
    }
}

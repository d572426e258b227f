package io.slab4j.pool;

import static io.slab4j.testing.Messages.assertMessage;
import io.slab4j.testing.Plain;
import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Non-waiting behaviour and bad input of a pool over a plain-range arena (no OS calls). */
class PoolTest {
    static final long PAGE = 4096;
    static final long BASE = 0x20_0000_0000L;

    @Test
    void carvesItemsFromSlabsAndReusesThem() throws InterruptedException {
        Arena arena = Plain.arena(BASE, 64);
        Pool pool = Pool.builder("small", 100).slabPages(1).build(arena);
        assertEquals(PAGE / 112, pool.itemsPerSlab(), "stride is the item size rounded up to 16");
        Set<Long> seen = new HashSet<>();
        for (int i = 0; i < 3 * pool.itemsPerSlab(); i++) {
            long a = pool.get();
            assertEquals(0, (a - BASE) % 16);
            assertTrue(seen.add(a), "item handed out twice");
        }
        PoolStats stats = pool.stats();
        assertEquals(3, stats.grows());
        assertEquals(3, stats.slabs());
        assertEquals(3L * pool.itemsPerSlab(), stats.itemsInUse());
        assertEquals(3 * PAGE, arena.stats().allocated());
        for (long a : seen) {
            pool.put(a);
            pool.checkInvariants();
        }
        stats = pool.stats();
        assertEquals(0, stats.itemsInUse());
        assertEquals(1, stats.slabs(), "idle slabs beyond high water 1 went back to the arena");
        assertEquals(2, stats.shrinks());
        assertEquals(PAGE, arena.stats().allocated());
        assertEquals(3L * pool.itemsPerSlab(), stats.highMark());
        arena.checkInvariants();
    }

    @Test
    void takesFromTheFullestPartialSlab() {
        Arena arena = Plain.arena(BASE, 64);
        Pool pool = Pool.builder("fullest", 1024).slabPages(1).highWater(8).build(arena);
        long[] items = new long[12];
        for (int i = 0; i < items.length; i++) {
            items[i] = pool.tryGet();
        }
        // three slabs of four: empty slab A to 1 in use, slab B to 3 in use
        pool.put(items[0]);
        pool.put(items[1]);
        pool.put(items[2]);
        pool.put(items[4]);
        long next = pool.tryGet();
        assertEquals(items[4], next, "the slab with three in use is fuller than the one with one");
        pool.checkInvariants();
    }

    @Test
    void tryGetStopsAtTheHardLimitAndCountsFailures() {
        Arena arena = Plain.arena(BASE, 64);
        Pool pool = Pool.builder("limited", 2048).slabPages(1).hardLimit(5).build(arena);
        List<Long> got = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            got.add(pool.tryGet());
        }
        assertTrue(got.stream().allMatch(a -> a != 0));
        assertEquals(0, pool.tryGet(), "a fifth item would need a third slab: 6 > hard limit 5");
        assertEquals(1, pool.stats().failures());
        assertEquals(2, pool.stats().slabs());
        pool.checkInvariants();
    }

    @Test
    void tryGetFailsWhenTheArenaIsFull() {
        Arena arena = Plain.arena(BASE, 2);
        long blocker = arena.tryAlloc(PAGE);
        Pool pool = Pool.builder("squeezed", PAGE).slabPages(2).build(arena);
        assertEquals(0, pool.tryGet());
        assertEquals(0, pool.stats().pendingItems(), "a failed grow releases its reservation");
        arena.free(blocker, PAGE);
        assertNotEquals(0, pool.tryGet());
        pool.checkInvariants();
    }

    @Test
    void getWithTimeoutReturnsZeroAndLeavesNothingBehind() throws InterruptedException {
        Arena arena = Plain.arena(BASE, 4);
        Pool pool = Pool.builder("timeout", PAGE).slabPages(1).hardLimit(1).build(arena);
        long only = pool.get();
        assertEquals(0, pool.get(Duration.ofMillis(20)));
        assertEquals(0, pool.waiters());
        assertEquals(0, arena.waiters());
        PoolStats stats = pool.stats();
        assertEquals(1, stats.failures());
        assertEquals(1, stats.waits());
        assertTrue(stats.waitNanos() >= Duration.ofMillis(20).toNanos());
        pool.put(only);
        pool.checkInvariants();
        arena.checkInvariants();
    }

    @Test
    void primeAndReclaimHonourTheWaterMarks() {
        Arena arena = Plain.arena(BASE, 64);
        Pool pool = Pool.builder("marks", PAGE).slabPages(2).lowWater(2).highWater(5).build(arena);
        assertEquals(2, pool.stats().slabs(), "build primes low water");
        assertEquals(2, pool.itemsPerSlab());
        assertEquals(12, pool.prime(12));
        assertEquals(6, pool.stats().slabs());
        assertEquals(4, pool.reclaim(), "reclaim keeps low water");
        assertEquals(2, pool.stats().idleSlabs());
        assertEquals(4 * PAGE, arena.stats().allocated());
        pool.checkInvariants();
        arena.checkInvariants();
    }

    @Test
    void lowWaterPrimeMakesTheWholeLimitUpFront() {
        Arena arena = Plain.arena(BASE, 64);
        Pool pool = Pool.builder("primed", PAGE).slabPages(1).hardLimit(10)
                .waitStrategy(WaitStrategy.LOW_WATER_PRIME).build(arena);
        assertEquals(10, pool.stats().slabs());
        long a = pool.tryGet();
        pool.put(a);
        assertEquals(10, pool.stats().slabs(), "a primed pool keeps its slabs");
    }

    @Test
    void badPutsAreRejectedAndChangeNothing() {
        Arena arena = Plain.arena(BASE, 64);
        Pool pool = Pool.builder("exec", 1000).slabPages(1).build(arena);
        long a = pool.tryGet();
        long b = pool.tryGet();
        PoolStats before = pool.stats();
        assertMessage(assertThrows(IllegalArgumentException.class, () -> pool.put(BASE + 40 * PAGE)), "not an item of pool 'exec'");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> pool.put(0)), "0x0");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> pool.put(a + 8)), "not the start of an item");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> pool.put(a + 4 * 1008)), "not the start of an item");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> pool.put(b + 1008)), "already free");
        assertEquals(before, pool.stats());
        pool.checkInvariants();
        pool.put(b);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> pool.put(b)), "double free");
        pool.checkInvariants();
        pool.put(a);
    }

    @Test
    void closeRefusesWhileItemsAreOutAndThenForbidsUse() {
        Arena arena = Plain.arena(BASE, 64);
        Pool pool = Pool.builder("closing", 512).slabPages(1).build(arena);
        long a = pool.tryGet();
        assertMessage(assertThrows(IllegalStateException.class, pool::close), "1 items in use");
        assertTrue(!pool.isClosed());
        pool.put(a);
        pool.close();
        pool.close();
        assertEquals(0, arena.stats().allocated(), "close returns every slab");
        assertMessage(assertThrows(IllegalStateException.class, () -> pool.put(a)), "closed");
        assertMessage(assertThrows(IllegalStateException.class, pool::tryGet), "closed");
        assertMessage(assertThrows(IllegalStateException.class, pool::get), "closed");
        pool.checkInvariants();
    }

    @Test
    void badConfigurationIsRejectedWithTheValue() {
        Arena arena = Plain.arena(BASE, 64);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Pool.builder("p", 0).build(arena)), "item size 0");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Pool.builder("p", -3).build(arena)), "item size -3");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Pool.builder("p", 3 * PAGE).slabPages(2).build(arena)),
                "larger than a slab");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Pool.builder("p", 64).align(24).build(arena)), "alignment 24");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Pool.builder("p", PAGE).slabPages(1).hardLimit(3).lowWater(4).build(arena)), "low water 4");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> Pool.builder("p", PAGE).slabPages(1).lowWater(3).highWater(2).build(arena)), "high water 2");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> Pool.builder("p", 64).slabPages(1).hardLimit(10).build(arena)),
                "hard limit 10");
        assertEquals(0, arena.stats().allocated(), "rejected builds take nothing from the arena");
    }

}

package io.slab4j.pool;

import static io.slab4j.testing.Messages.assertMessage;
import io.slab4j.testing.Plain;
import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Regression tests for the pool defects of issue 7 (each failed before its fix). */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PoolDefectsTest {
    static final long PAGE = 4096;
    static final long BASE = 0x70_0000_0000L;

    // defect 7: timed calls try first, then wait; waits counts real waits only

    @Test
    void zeroNegativeAndTinyTimeoutsTakeAFreeItemAndCountNoWait() throws InterruptedException {
        Pool pool = Pool.builder("timed", 1024).slabPages(1).hardLimit(4).build(Plain.arena(BASE, 16));
        for (Duration d : new Duration[] {Duration.ZERO, Duration.ofNanos(-1), Duration.ofSeconds(-5), Duration.ofNanos(1)}) {
            for (int round = 0; round < 50; round++) {
                long a = pool.get(d);
                assertNotEquals(0, a, "get(" + d + ") with a free item or room to grow must take it (round " + round + ")");
                pool.put(a);
            }
        }
        assertEquals(0, pool.stats().waits(), "none of these gets waited");
        pool.checkInvariants();
    }

    @Test
    void zeroTimeoutsOnAnExhaustedPoolReturnZeroWithoutCountingAWait() throws InterruptedException {
        Pool pool = Pool.builder("timed", 1024).slabPages(1).hardLimit(4).build(Plain.arena(BASE, 16));
        long[] all = new long[4];
        for (int i = 0; i < 4; i++) {
            all[i] = pool.tryGet();
        }
        for (Duration d : new Duration[] {Duration.ZERO, Duration.ofNanos(-1), Duration.ofSeconds(-5)}) {
            assertEquals(0, pool.get(d));
        }
        PoolStats stats = pool.stats();
        assertEquals(0, stats.waits(), "get(ZERO) and negative timeouts never waited: " + stats);
        assertEquals(3, stats.failures());
        assertEquals(0, pool.get(Duration.ofNanos(1)));
        assertEquals(0, pool.waiters());
        for (long a : all) {
            pool.put(a);
        }
        pool.checkInvariants();
    }

    /** Round 6 review: a sync on getEvent() that queued is a wait of the pool like a blocking get's (it was not counted at all). */
    @Test
    void aWaitOnGetEventIsCountedOnceInTheWaitStatistics() throws Exception {
        Pool pool = Pool.builder("event", PAGE).slabPages(1).hardLimit(1).build(Plain.arena(BASE, 8));
        long a = pool.tryGet();
        CompletableFuture<Long> waiting = Background.start("event-waiter", () -> pool.getEvent().sync());
        Await.until("the sync to wait", pool::hasWaiters);
        pool.put(a);
        assertEquals(a, waiting.get(10, TimeUnit.SECONDS));
        assertEquals(1, pool.stats().waits(), "one sync, queued on both branches, is one wait");
        assertTrue(pool.stats().waitNanos() > 0);
        pool.put(a);
        pool.checkInvariants();
    }

    // defects 8, 9, 10 and the builder's messages

    @Test
    void aSlabThatHoldsNoItemIsRejectedNamingItemSizeAlignmentAndSlab() {
        Arena arena = Plain.arena(BASE, 64);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Pool.builder("p", 64).align(8192).slabPages(1).build(arena));
        assertMessage(e, "item size 64");
        assertMessage(e, "alignment 8192");
        assertMessage(e, "4096 bytes");
        assertEquals(0, arena.stats().allocated());
    }

    @Test
    void itemsPerSlabAreBounded() {
        Arena arena = Plain.arena(BASE, 1L << 20);
        for (int pages : new int[] {1 << 16, 1 << 19}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Pool.builder("b", 1).align(1).slabPages(pages).build(arena));
            assertMessage(e, "'b'");
            assertMessage(e, "items");
        }
        assertEquals(0, arena.stats().allocated());
    }

    @Test
    void aSlabLargerThanTheArenaIsRejectedNamingThePoolAndSlabPages() {
        Arena arena = Plain.arena(BASE, 64);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Pool.builder("big", 4096).slabPages(128).build(arena));
        assertMessage(e, "'big'");
        assertMessage(e, "128");
    }

    @Test
    void buildDoesNotChangeItsBuilder() {
        Arena arena = Plain.arena(BASE, 64);
        Pool.Builder b = Pool.builder("reuse", PAGE).slabPages(1).hardLimit(8).waitStrategy(WaitStrategy.LOW_WATER_PRIME);
        Pool primed = b.build(arena);
        long[] held = new long[8];
        for (int i = 0; i < 8; i++) {
            held[i] = primed.tryGet();
        }
        for (long a : held) {
            primed.put(a);
        }
        assertEquals(8, primed.stats().slabs(), "LOW_WATER_PRIME keeps every slab");

        Pool plain = b.waitStrategy(WaitStrategy.NACK).build(arena);
        for (int i = 0; i < 8; i++) {
            held[i] = plain.tryGet();
        }
        for (long a : held) {
            plain.put(a);
        }
        assertEquals(1, plain.stats().slabs(), "the second build keeps the default high water of 1, not the first build's");
        plain.checkInvariants();
    }

    // messages

    @Test
    void oneWaitingGetIsReportedAsOne() throws Exception {
        Pool pool = Pool.builder("one", PAGE).slabPages(1).hardLimit(1).build(Plain.arena(BASE, 8));
        long a = pool.tryGet();
        CompletableFuture<Long> waiting = Background.start("waiter", () -> pool.get(Duration.ofSeconds(20)));
        Await.until("the get to wait", pool::hasWaiters);
        assertEquals(1, pool.waiters(), "one get waits");
        assertEquals(1, pool.stats().waiters());
        IllegalStateException e = assertThrows(IllegalStateException.class, pool::close);
        assertMessage(e, "1 waiting get");
        assertFalse(e.getMessage().contains("2 waiting"), e.getMessage());
        pool.put(a);
        assertEquals(a, waiting.get(10, TimeUnit.SECONDS));
        pool.put(a);
        pool.close();
    }

    // defect 6: an accepted put returns normally

    @Test
    void aPutWhoseSlabReturnFailsStillReturnsNormally() {
        VirtualRegion region = VirtualRegion.reserve(64 * VirtualRegion.pageSize());
        Arena arena = Arena.builder(region).build();
        Pool pool = Pool.builder("decommit", 512).slabPages(1).highWater(0).build(arena);
        long a = pool.tryGet();
        region.close(); // the decommit behind the put will fail
        pool.put(a);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> pool.put(a)), "pool 'decommit'");
        assertEquals(0, pool.stats().itemsInUse());
        pool.checkInvariants();
    }

}

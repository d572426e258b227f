package io.slab4j.pool;

import io.slab4j.arena.Arena;
import io.slab4j.event.Events;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How a sync on {@link Pool#getEvent()} counts in {@link PoolStats#waits()} under every wait
 * strategy: once when it queued (on the put branch, the grow branch, or both), and not at all
 * when it was served at once. NAIVE and PENDING_GROW_COUNT give a pool that may still grow an
 * event with only a grow branch, which counts the wait itself.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class GetEventWaitCountTest {
    static final long BASE = 0x7100_0000L;

    @ParameterizedTest
    @EnumSource(WaitStrategy.class)
    void aSyncThatQueuedIsOneWaitAndOneThatWasServedAtOnceIsNone(WaitStrategy strategy) throws Exception {
        // an arena of two slabs, one taken by another pool: the pool below may grow (limit 8 items) but the arena
        // has no space once its own first slab is in use, so its next get waits on the grow (and on puts)
        Arena arena = Arena.builder(BASE, 2 * 4096).build();
        Pool other = Pool.builder("other-" + strategy, 4096).slabPages(1).build(arena);
        long theirs = other.tryGet();
        // LOW_WATER_PRIME commits its whole limit at build (one slab here) and only ever waits on puts
        int limit = strategy == WaitStrategy.LOW_WATER_PRIME ? 1 : 8;
        Pool p = Pool.builder("counted-" + strategy, 4096).slabPages(1).hardLimit(limit).waitStrategy(strategy).build(arena);
        long mine = p.tryGet();
        assertTrue(theirs != 0 && mine != 0);
        assertEquals(0, p.stats().waits());

        Object r = Events.choose(p.getEvent(), Events.timeout(Duration.ofMillis(20))).sync();
        assertTrue(r instanceof io.slab4j.event.Timeout, strategy + ": " + r);
        PoolStats s = p.stats();
        assertEquals(1, s.waits(), strategy + ": " + s);
        assertTrue(s.waitNanos() > 0, s.toString());
        assertEquals(0, s.waiters(), s.toString());

        p.put(mine);
        assertEquals(mine, (long) p.getEvent().sync(), "a free item: served at once");
        assertEquals(1, p.stats().waits(), strategy + ": a sync served at once is no wait");
        p.put(mine);
        p.checkInvariants();
        other.put(theirs);
        other.checkInvariants();
        arena.checkInvariants();
    }
}

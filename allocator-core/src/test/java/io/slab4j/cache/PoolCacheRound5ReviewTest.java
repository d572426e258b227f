package io.slab4j.cache;

import io.slab4j.arena.Arena;
import io.slab4j.pool.Pool;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round-5 adversarial review of PoolCache.Builder.checks(boolean) through the public API. */
class PoolCacheRound5ReviewTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static Pool pool() {
        return Pool.builder("r5c-" + SEQ.incrementAndGet(), 64).hardLimit(4096).build(Arena.builder(0x4000_0000L, 1 << 22).build());
    }

    @Test
    void checksOffIsReportedAndChecksOnStillJudges() {
        Pool p = pool();
        PoolCache off = PoolCache.builder(p).checks(false).build();
        assertFalse(off.checksEnabled());
        PoolCache on = PoolCache.builder(pool()).checks(true).build();
        assertTrue(on.checksEnabled());
        long a = on.tryGet();
        on.put(a);
        assertThrows(IllegalArgumentException.class, () -> on.put(a));
        on.checkInvariants();
        on.pool().checkInvariants();
        off.close();
        on.close();
    }

    @Test
    void aDoublePutWithChecksOffIsFoundByCheckInvariants() {
        // Builder.checks: "a second put of one item is parked twice and found only later, by the pool when the item
        // goes back or by checkInvariants".
        Pool p = pool();
        PoolCache c = PoolCache.builder(p).checks(false).magazineSize(8).build();
        long a = c.tryGet();
        long b = c.tryGet();
        c.put(a);
        c.put(b);
        c.put(a); // the caller's bug
        assertThrows(IllegalStateException.class, c::checkInvariants);
    }

    @Test
    void aDoublePutWithChecksOffIsFoundWhenTheItemsGoBackAndNothingElseIsLost() {
        // Builder.checks: found "by the pool when the item goes back"; drain: "(checks off only) the pool rejected a
        // parked address; every other item was still returned".
        Pool p = pool();
        PoolCache c = PoolCache.builder(p).checks(false).magazineSize(8).build();
        List<Long> items = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            items.add(c.tryGet());
        }
        for (long x : items) {
            c.put(x);
        }
        c.put(items.get(3)); // the caller's bug
        assertThrows(IllegalArgumentException.class, c::drain);
        assertEquals(0, c.parked());
        assertEquals(0, p.stats().itemsInUse(), p.stats().toString());
        p.checkInvariants();
        // the pool holds each item once: 20 distinct gets straight from the pool
        java.util.Set<Long> seen = new java.util.HashSet<>();
        for (int i = 0; i < 20; i++) {
            long x = p.tryGet();
            assertTrue(seen.add(x), "handed out twice: " + x);
        }
    }
}

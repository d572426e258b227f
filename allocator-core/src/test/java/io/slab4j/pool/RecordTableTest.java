package io.slab4j.pool;

import io.slab4j.testing.Plain;
import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ownership records' recent-slab table ({@link ItemRecords}): an entry that names a slab
 * that has gone back to the arena, or that another slab shares, never decides a layer call
 * wrongly, however the slab's address is reused.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RecordTableTest {
    static final long PAGE = 4096;
    static final long BASE = 0x74_0000_0000L;

    static void check(Pool pool) {
        pool.checkInvariants();
        pool.records().check();
    }

    @Test
    void anEntryForASlabThatWentBackDoesNotRejectTheNewSlabAtItsAddress() {
        Pool p = Pool.builder("P", 256).slabPages(1).highWater(0).build(Plain.arena(BASE, 1));
        long x = p.tryGet();
        p.park(x); // the table now names x's slab
        p.unpark(x);
        p.put(x);
        assertEquals(0, p.stats().slabs(), "the slab went back to the arena");
        assertThrows(IllegalArgumentException.class, () -> p.park(x), "the dead slab's records say free");
        check(p);
        long y = p.tryGet();
        assertEquals(x, y, "a new slab of the same pool at the same address");
        p.park(y); // the entry still names the dead slab: the directory decides
        assertThrows(IllegalArgumentException.class, () -> p.put(y), "recorded parked in the live slab");
        p.unpark(y);
        p.parkOwned(y);
        assertThrows(IllegalArgumentException.class, () -> p.park(y), "already parked");
        p.unpark(y);
        check(p);
        p.put(y);
        assertEquals(0, p.stats().itemsInUse());
        check(p);
        p.close();
    }

    @Test
    void anEntryForASlabNowOwnedByAnotherPoolRejectsThatPoolsItems() {
        Arena arena = Plain.arena(BASE, 1);
        Pool p = Pool.builder("P", 256).slabPages(1).highWater(0).build(arena);
        Pool q = Pool.builder("Q", 256).slabPages(1).build(arena);
        long x = p.tryGet();
        p.park(x);
        p.unpark(x);
        p.put(x);
        long y = q.tryGet();
        assertEquals(x, y);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.park(y));
        assertTrue(e.getMessage().contains("not an item of pool 'P'"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> p.unpark(y), "P has no slab there");
        q.park(y);
        q.unpark(y);
        check(p);
        check(q);
        q.put(y);
        q.close();
        p.close();
    }

    @Test
    void slabsSharingAnEntryTakeTurnsAndEveryRecordStaysRight() {
        // one-page slabs: entry k serves pages k, k + RECENT, k + 2 * RECENT, ...
        int pages = 3 * ItemRecords.RECENT;
        Pool p = Pool.builder("P", PAGE).slabPages(1).highWater(pages).build(Plain.arena(BASE, pages));
        long[] items = new long[pages];
        for (int i = 0; i < pages; i++) {
            items[i] = p.tryGet();
            assertTrue(items[i] != 0);
        }
        SplittableRandom random = new SplittableRandom(7);
        boolean[] parked = new boolean[pages];
        for (int step = 0; step < 20_000; step++) {
            int i = random.nextInt(pages);
            long a = items[i];
            if (parked[i]) {
                assertThrows(IllegalArgumentException.class, () -> p.park(a));
                p.unpark(a);
            } else {
                assertThrows(IllegalStateException.class, () -> p.unpark(a + 8), "interior address");
                p.park(a);
            }
            parked[i] = !parked[i];
        }
        check(p);
        List<Long> back = new ArrayList<>();
        for (int i = 0; i < pages; i++) {
            if (parked[i]) {
                back.add(items[i]);
            } else {
                p.put(items[i]);
            }
        }
        long[] held = back.stream().mapToLong(Long::longValue).toArray();
        p.putAll(held, held.length); // a layer returns what it parked
        assertEquals(0, p.stats().itemsInUse());
        check(p);
        p.close();
    }
}

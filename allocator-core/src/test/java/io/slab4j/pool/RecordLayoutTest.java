package io.slab4j.pool;

import io.slab4j.cache.PoolCache;
import io.slab4j.testing.Plain;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Where {@link Slab} keeps its items' ownership records: the records of items that two
 * threads are likely to hold at once (neighbouring indices, which consecutive pops of a
 * slab's free stack give) are never within one 64-byte cache line, whatever the array's
 * alignment; no record is near the array's ends; and the heap stays within the bound the
 * class comment states.
 */
class RecordLayoutTest {
    static final long BASE = 0x75_0000_0000L;
    static final int LINE = 64;

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 8, 16, 63, 64, 65, 100, 128, 1000, 4095, 4096, 4097, 65536})
    void recordsOfItemsLessThan64ApartAreALineApart(int capacity) {
        Slab slab = new Slab(BASE, capacity);
        int length = slab.recordBytes();
        int[] offset = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            offset[i] = slab.offset(i);
            assertTrue(offset[i] >= LINE && offset[i] < length - LINE,
                    "item " + i + " of " + capacity + ": record at " + offset[i] + " is within a line of an end of the "
                            + length + "-byte array");
            for (int j = Math.max(0, i - (LINE - 1)); j < i; j++) {
                if (Math.abs(offset[i] - offset[j]) < LINE) {
                    fail("slab of " + capacity + " items: the records of items " + j + " and " + i + " are at "
                            + offset[j] + " and " + offset[i] + ", in one cache line");
                }
            }
        }
        // any two records closer than a line are in one group (indices congruent mod 64); sorted neighbours suffice
        Integer[] byOffset = new Integer[capacity];
        for (int i = 0; i < capacity; i++) {
            byOffset[i] = i;
        }
        Arrays.sort(byOffset, (a, b) -> Integer.compare(offset[a], offset[b]));
        for (int k = 1; k < capacity; k++) {
            int a = byOffset[k - 1];
            int b = byOffset[k];
            assertTrue(offset[b] > offset[a], "items " + a + " and " + b + " share record byte " + offset[a]);
            if (offset[b] - offset[a] < LINE) {
                assertEquals(a % Slab.GROUPS, b % Slab.GROUPS, "items " + a + " and " + b + " of " + capacity
                        + " are in different groups but their records are " + (offset[b] - offset[a]) + " bytes apart");
            }
        }
        if (capacity <= Slab.GROUPS) {
            assertEquals(capacity * LINE + 1, length - LINE, "a record a line up to 64 items");
        }
    }

    @Test
    void heapStaysWithinTheStatedBound() {
        for (int capacity = 1; capacity <= Pool.MAX_ITEMS_PER_SLAB; capacity++) {
            int bytes = Slab.recordBytes(capacity);
            int perGroup = (capacity + 63) / 64;
            int bound = capacity <= 64 ? 64 * capacity + 65 : 64 * perGroup + 4097;
            assertTrue(bytes <= bound, capacity + " items: " + bytes + " bytes, over " + bound);
        }
        assertTrue(Slab.recordBytes(64) <= 4161, "at most 4 KiB and a pad up to 64 items");
        assertTrue(Slab.recordBytes(4096) <= 2 * 4096 + 1, "a 4096-item slab at most twice one byte an item");
    }

    /** PoolBench's pool: 16-item slabs; then 4096-item slabs. Items of 64 consecutive gets: two magazines' worth. */
    @ParameterizedTest
    @ValueSource(ints = {4096, 16})
    void itemsOfConsecutiveGetsHaveRecordsALineApart(int itemSize) {
        int slabPages = 16;
        Pool p = Pool.builder("P", itemSize).slabPages(slabPages).build(Plain.arena(BASE, 64 * slabPages));
        List<Long> got = new ArrayList<>();
        for (int k = 0; k < 2 * PoolCache.DEFAULT_MAGAZINE_SIZE; k++) { // thread A's magazine, then thread B's
            long a = p.tryGet();
            assertTrue(a != 0);
            got.add(a);
        }
        int pairs = 0;
        for (int x = 0; x < got.size(); x++) {
            for (int y = x + 1; y < got.size(); y++) {
                Slab sx = p.records().slabFor(got.get(x));
                Slab sy = p.records().slabFor(got.get(y));
                assertNotNull(sx);
                if (sx != sy) {
                    continue;
                }
                int ox = sx.offset(p.records().indexIn(sx, got.get(x), "test"));
                int oy = sx.offset(p.records().indexIn(sx, got.get(y), "test"));
                assertTrue(Math.abs(ox - oy) >= LINE, "gets " + x + " and " + y + " of one slab: records at " + ox
                        + " and " + oy);
                pairs++;
            }
        }
        assertTrue(pairs > 0);
        p.checkInvariants();
        for (long a : got) {
            p.put(a);
        }
        p.checkInvariants();
        p.close();
    }

    @Test
    void checkFindsAStrayByteOutsideTheRecords() throws ReflectiveOperationException {
        Slab slab = new Slab(BASE, 16);
        slab.check("P");
        Field f = Slab.class.getDeclaredField("states");
        f.setAccessible(true);
        byte[] states = (byte[]) f.get(slab);
        states[slab.offset(3) + 1] = Slab.OUT; // in the gap after item 3's record
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> slab.check("P"));
        assertTrue(e.getMessage().contains("1 non-zero bytes outside its item records"), e.getMessage());
        states[slab.offset(3) + 1] = Slab.FREE;
        states[slab.offset(3)] = Slab.PARKED; // item 3 is on the free stack
        e = assertThrows(IllegalStateException.class, () -> slab.check("P"));
        assertTrue(e.getMessage().contains("recorded out or parked"), e.getMessage());
    }
}

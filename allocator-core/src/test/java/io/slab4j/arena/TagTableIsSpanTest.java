package io.slab4j.arena;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TagTable#isSpan} and its lock-free form {@link TagTable#isShortSpanUnlocked} against
 * a model of the allocated spans, over random allocations, frees and two-step releases: both
 * answer true exactly for the start and length of a span that is allocated (not releasing,
 * not free), at every start, every interior, foot and EXT word, and every length near the
 * span's. Run with long lengths from 8 quanta too, so spans whose length lives in EXT words
 * (which the lock-free form must leave to the locked one) are among them.
 */
class TagTableIsSpanTest {
    private static final int QUANTA = 600;
    private static final long BASE_QUANTA = 0x7f00_0000_0040L / 64;
    private static final int LEAF_SHIFT = 6;
    private static final int OPERATIONS = 4_000;

    @ParameterizedTest(name = "long lengths from {0} quanta")
    @ValueSource(ints = {Tags.HUGE, 8})
    void bothFormsAnswerExactlyForAllocatedSpans(int longLength) {
        SplittableRandom random = new SplittableRandom(0x15_5BA7L + longLength);
        TagTable table = new TagTable(QUANTA, BASE_QUANTA, LEAF_SHIFT, longLength);
        Map<Integer, Integer> allocated = new HashMap<>(); // start -> quanta
        List<int[]> releasing = new ArrayList<>(); // {start, quanta, handle}
        int shortChecked = 0;
        int longChecked = 0;
        for (int op = 0; op < OPERATIONS; op++) {
            int choice = random.nextInt(10);
            if (choice < 5 || allocated.isEmpty()) {
                int n = random.nextInt(4) == 0 ? 8 + random.nextInt(40) : 1 + random.nextInt(12);
                int at = table.allocate(n, 1, Fit.INSTANT);
                if (at != TagTable.NONE) {
                    allocated.put(at, n);
                }
            } else if (choice < 8) {
                Integer at = new ArrayList<>(allocated.keySet()).get(random.nextInt(allocated.size()));
                int n = allocated.remove(at);
                if (random.nextBoolean()) {
                    table.free(at, n, q -> "quantum " + q);
                } else {
                    releasing.add(new int[] {at, n, table.beginRelease(at, n, q -> "quantum " + q)});
                }
            } else if (!releasing.isEmpty()) {
                table.finishRelease(releasing.remove(random.nextInt(releasing.size()))[2]);
            }
            table.check();
            for (int q = 0; q < QUANTA; q++) {
                Integer spanLength = allocated.get(q);
                int lengths = spanLength == null ? 3 : spanLength + 2;
                for (int n = Math.max(1, lengths - 4); n <= lengths; n++) {
                    boolean expected = spanLength != null && spanLength == n;
                    String what = "op " + op + ", quantum " + q + ", " + n + " quanta (span there: " + spanLength + ")";
                    assertEquals(expected, table.isSpan(q, n), "isSpan at " + what);
                    if (table.isShortLength(n)) {
                        assertEquals(expected, table.isShortSpanUnlocked(q, n), "isShortSpanUnlocked at " + what);
                        shortChecked += expected ? 1 : 0;
                    } else {
                        longChecked += expected ? 1 : 0;
                    }
                }
            }
        }
        for (int bad : new int[] {-1, QUANTA, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            assertFalse(table.isSpan(bad, 1), "isSpan(" + bad + ")");
            assertFalse(table.isShortSpanUnlocked(bad, 1), "isShortSpanUnlocked(" + bad + ")");
        }
        assertTrue(shortChecked > 1000, "short spans checked: " + shortChecked);
        if (longLength == 8) {
            assertTrue(longChecked > 1000, "long spans checked: " + longChecked);
            assertFalse(table.isShortLength(8), "a table with long lengths from 8 says 8 is long");
        } else {
            assertTrue(table.isShortLength(Tags.HUGE - 1), "8191 quanta fit a head tag");
            assertFalse(table.isShortLength(Tags.HUGE), "8192 quanta do not");
        }
    }
}

package io.slab4j.arena;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lazy deletion in {@link SizeBins}: stale entries are skipped, compacted away and deduplicated. */
class SizeBinsTest {
    @Test
    void staleAndDuplicateEntriesAreCompactedAway() {
        Tags tags = new Tags(1000, 6);
        SizeBins bins = new SizeBins(tags);
        int c = SizeBins.classOf(1);
        for (int q = 0; q < 10; q++) { // ten live one-quantum segments, each entered twice
            tags.head(q * 2, Tags.FREE_HEAD, 1);
            bins.add(q * 2, 1);
            bins.add(q * 2, 1);
            bins.remove(1); // the second add counted the same segment again
        }
        assertEquals(10, bins.live(c));
        assertEquals(20, bins.size(c));
        for (int q = 100; q < 200; q++) { // a hundred that come and go: stale entries
            tags.head(q, Tags.FREE_HEAD, 1);
            bins.add(q, 1);
            tags.head(q, Tags.ALLOCATED, 1);
            bins.remove(1);
            assertTrue(bins.size(c) <= 2 * (bins.live(c) + 1) + 16, "bin of " + bins.size(c) + " entries for " + bins.live(c) + " live");
        }
        assertEquals(10, bins.live(c));
        for (int i = bins.size(c) - 1; i >= 0; i--) {
            bins.keep(c, i);
        }
        int kept = bins.size(c);
        assertTrue(kept >= 10 && kept <= 20, kept + " entries kept after a search dropped the stale ones");
        for (int q = 0; q < 10; q++) {
            assertEquals(Tags.FREE_HEAD, Tags.kind(tags.word(q * 2)), "compaction restores the tags it marks");
        }
        for (int i = 0; i < 10; i++) { // take each live segment once; stale copies are skipped, never handed out
            int s = bins.take(c);
            assertEquals(Tags.FREE_HEAD, Tags.kind(tags.word(s)));
            tags.head(s, Tags.ALLOCATED, 1);
            bins.remove(1);
        }
        assertEquals(0, bins.live(c));
        assertEquals(0, bins.size(c), "an empty class drops its stale entries at once");
        assertEquals(SizeBins.NONE, bins.nonEmptyFrom(0));
    }
}

package io.slab4j.arena;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lazy deletion in {@link SizeBins}: stale entries are marked, revived, skipped, compacted away and never handed out. */
class SizeBinsTest {
    private final Tags tags = new Tags(1000, 6);
    private final SizeBins bins = new SizeBins(tags);
    private final int c = SizeBins.classOf(1);

    private void makeFree(int q) {
        tags.head(q, Tags.FREE_HEAD, 1);
        bins.add(q, 1);
    }

    private void makeAllocated(int q) {
        tags.head(q, Tags.ALLOCATED, 1);
        bins.remove(q, 1);
    }

    @Test
    void staleEntriesAreRevivedSkippedAndCompactedAway() {
        for (int q = 900; q < 940; q++) {
            makeFree(q); // forty at the bottom: a bin longer than a scan, so ten stale entries stay within the bound
        }
        makeFree(999);
        for (int q = 0; q < 20; q += 2) {
            makeFree(q);
        }
        makeFree(998); // on top: the ones below go stale, not dropped
        for (int q = 0; q < 20; q += 2) {
            makeAllocated(q);
        }
        assertEquals(52, bins.size(c), "stale entries stay until met");
        assertEquals(10, bins.stale());
        for (int q = 0; q < 20; q += 2) {
            makeFree(q); // the stale entry is valid again: no second entry
        }
        assertEquals(52, bins.live(c));
        assertEquals(52, bins.size(c));
        assertEquals(0, bins.stale());
        makeAllocated(999); // an old entry: goes stale
        makeAllocated(998); // the newest entry is dropped at once
        assertEquals(51, bins.size(c));
        assertEquals(1, bins.stale());
        makeFree(999); // revived
        makeFree(998); // pushed again
        assertEquals(52, bins.size(c));
        assertEquals(0, bins.stale());
        assertEquals(null, bins.checkHints());
        int most = 0;
        for (int q = 100; q < 300; q += 2) { // segments that come and go under a newer one: stale entries
            makeFree(q);
            makeFree(q + 1);
            makeAllocated(q);
            makeAllocated(q + 1);
            most = Math.max(most, bins.stale());
            assertEquals(null, bins.checkHints());
            assertTrue(bins.size(c) - bins.live(c) <= bins.live(c) / 8 + 8,
                    "bin of " + bins.size(c) + " entries for " + bins.live(c) + " live: not compacted");
        }
        assertEquals(14, most, "compacted when the stale entries pass an eighth of the live ones plus 8");
        assertEquals(52, bins.live(c));
        assertTrue(bins.stale() > 0, "some stale entries wait below the top");
        for (int i = bins.size(c) - 1; i >= 0; i--) {
            bins.keep(c, i);
        }
        assertEquals(52, bins.size(c), "a search drops the stale entries it meets");
        assertEquals(0, bins.stale());
        for (int i = 0; i < 52; i++) { // take each live segment once; stale copies are never handed out
            int s = bins.take(c);
            assertEquals(Tags.FREE_HEAD, Tags.kind(tags.word(s)));
            tags.head(s, Tags.ALLOCATED, 1);
            bins.removeTaken(1);
        }
        assertEquals(0, bins.live(c));
        assertEquals(0, bins.size(c), "an empty class drops its stale entries at once");
        assertEquals(SizeBins.NONE, bins.nonEmptyFrom(0));
    }

    @Test
    void aShortBinRemovesAnEntryBelowTheTopAtOnceKeepingTheOrder() {
        for (int q = 0; q < 10; q++) {
            makeFree(q);
        }
        makeAllocated(3); // below the top of a bin of ten: removed, not marked stale
        assertEquals(9, bins.size(c));
        assertEquals(0, bins.stale());
        assertEquals(null, bins.checkHints());
        int[] expected = {9, 8, 7, 6, 5, 4, 2, 1, 0}; // newest first, as pushed
        for (int s : expected) {
            assertEquals(s, bins.take(c));
            tags.head(s, Tags.ALLOCATED, 1);
            bins.removeTaken(1);
        }
        assertEquals(0, bins.size(c));
    }
}

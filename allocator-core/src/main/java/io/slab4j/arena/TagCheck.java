package io.slab4j.arena;

import java.util.Arrays;

/**
 * One pass over a {@link TagTable}'s tags and bins that checks the invariants listed in
 * its class comment, throwing {@link IllegalStateException} ("arena invariant broken: ...")
 * at the first broken one. Costs O(quanta) in the worst case (every word of a present
 * leaf is looked at, to prove the interior words are 0); absent leaves are skipped.
 *
 * <p>Not thread-safe: runs under the arena's lock, changes nothing.
 */
final class TagCheck {
    private final Tags tags;
    private final SizeBins bins;
    private final int quanta;

    TagCheck(Tags tags, SizeBins bins, int quanta) {
        this.tags = tags;
        this.bins = bins;
        this.quanta = quanta;
    }

    void run(int freeSegments, int spans, long allocatedQuanta, int rotor) {
        int[] freeStarts = new int[16];
        int[] liveByClass = new int[SizeBins.CLASSES];
        int frees = 0;
        int allocs = 0;
        long allocQ = 0;
        boolean prevFree = false;
        boolean rotorSeen = false;
        int p = 0;
        while (p < quanta) {
            int w = tags.word(p);
            if (!Tags.isHead(w)) {
                throw broken("quantum " + p + " ends the previous segment but holds no head tag (word " + w + ")");
            }
            int length = tags.length(p, w);
            if (length <= 0 || (long) p + length > quanta) {
                throw broken("segment at " + p + " has length " + length + " in " + quanta + " quanta");
            }
            rotorSeen |= p == rotor;
            int end = p + length;
            boolean isFree = Tags.kind(w) == Tags.FREE_HEAD;
            if (isFree) {
                if (prevFree) {
                    throw broken("adjacent free segments meet at " + p);
                }
                if (length > 1) {
                    int foot = tags.word(end - 1);
                    if (Tags.kind(foot) != Tags.FREE_FOOT || tags.length(end - 1, foot) != length) {
                        throw broken("free segment at " + p + " of " + length + " quanta has foot word " + foot);
                    }
                }
                if (frees == freeStarts.length) {
                    freeStarts = Arrays.copyOf(freeStarts, frees * 2);
                }
                freeStarts[frees++] = p;
                liveByClass[SizeBins.classOf(length)]++;
            } else {
                allocQ += length;
                allocs += Tags.kind(w) == Tags.ALLOCATED ? 1 : 0;
            }
            boolean isLong = tags.isLong(length); // its EXT words were checked by reading the length
            int interiorStart = isLong ? p + 4 : p + 1;
            int interiorEnd = isFree && length > 1 ? (isLong ? end - 4 : end - 1) : end;
            int stray = tags.nextTagged(interiorStart, interiorEnd);
            if (stray != interiorEnd) {
                throw broken("quantum " + stray + " inside the segment at " + p + " holds tag word " + tags.word(stray));
            }
            prevFree = isFree;
            p = end;
        }
        if (frees != freeSegments) {
            throw broken("free segment count " + freeSegments + " but " + frees + " found");
        }
        if (allocs != spans) {
            throw broken("span count " + spans + " but " + allocs + " allocated heads found");
        }
        if (allocQ != allocatedQuanta) {
            throw broken("allocated quanta " + allocatedQuanta + " but segments hold " + allocQ);
        }
        if (!rotorSeen) {
            throw broken("the NEXT-fit rotor " + rotor + " is not a segment start");
        }
        checkBins(freeStarts, frees, liveByClass);
    }

    private void checkBins(int[] freeStarts, int frees, int[] liveByClass) {
        if (!bins.groupMaskAgrees()) {
            throw broken("the first-level bitmap disagrees with the second");
        }
        int[][] sorted = new int[SizeBins.CLASSES][];
        int staleEntries = 0;
        for (int c = 0; c < SizeBins.CLASSES; c++) {
            if (bins.live(c) != liveByClass[c]) {
                throw broken("class " + c + " counts " + bins.live(c) + " free segments but " + liveByClass[c] + " are free");
            }
            if (bins.marked(c) != (liveByClass[c] > 0)) {
                throw broken("bitmap bit of class " + c + " disagrees with its " + liveByClass[c] + " free segments");
            }
            if (liveByClass[c] == 0 && bins.size(c) != 0) {
                throw broken("empty class " + c + " has " + bins.size(c) + " bin entries");
            }
            int[] entries = bins.entries(c);
            int valid = 0;
            sorted[c] = new int[liveByClass[c]];
            for (int i = 0; i < bins.size(c); i++) {
                int s = entries[i];
                int w = s >= 0 && s < quanta ? tags.word(s) : 0;
                boolean free = Tags.kind(w) == Tags.FREE_HEAD && SizeBins.classOf(tags.length(s, w)) == c;
                if (bins.isStale(s, c)) {
                    if (free) {
                        throw broken("entry " + s + " of class " + c + " is marked stale but its segment is free in that class");
                    }
                    staleEntries++;
                } else if (!free) {
                    throw broken("entry " + s + " of class " + c + " is not marked stale but no free segment of the class starts there");
                } else if (valid == sorted[c].length) {
                    throw broken("class " + c + " has more valid entries than its " + liveByClass[c] + " free segments");
                } else {
                    sorted[c][valid++] = s;
                }
            }
            if (valid != liveByClass[c]) {
                throw broken("class " + c + " has " + valid + " valid entries for its " + liveByClass[c] + " free segments");
            }
            Arrays.sort(sorted[c]);
            for (int i = 1; i < valid; i++) {
                if (sorted[c][i] == sorted[c][i - 1]) {
                    throw broken("free segment at " + sorted[c][i] + " has two entries in the bin of class " + c);
                }
            }
        }
        String hints = bins.checkHints();
        if (hints != null) {
            throw broken(hints);
        }
        if (staleEntries != bins.stale() || staleEntries != bins.staleKeys()) {
            throw broken(staleEntries + " stale entries in the bins, but the count says " + bins.stale() + " and the set holds "
                    + bins.staleKeys());
        }
        for (int i = 0; i < frees; i++) {
            int s = freeStarts[i];
            int c = SizeBins.classOf(tags.length(s, tags.word(s)));
            if (Arrays.binarySearch(sorted[c], s) < 0) {
                throw broken("free segment at " + s + " is missing from the bin of class " + c);
            }
        }
    }

    private static IllegalStateException broken(String message) {
        return new IllegalStateException("arena invariant broken: " + message);
    }
}

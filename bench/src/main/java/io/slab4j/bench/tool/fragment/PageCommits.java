package io.slab4j.bench.tool.fragment;

/**
 * Which commit granules (pages) of a plain arena range would be committed: a granule is
 * committed while any live span touches it — the arena's commit-chunk rule (DESIGN.md,
 * "Commit, decommit and the kernel's mapping count") at granule size. The fragment
 * scenario replays over a plain range with a small quantum (a trace's 16-byte blocks), so
 * the arena's own committed count is 0 and this model stands in for it.
 *
 * <p>Not thread-safe: owned by one replay.
 */
final class PageCommits {
    private final long base;
    private final int shift;
    private final int[] spans;
    private long committed;

    PageCommits(long base, long size, long granule) {
        if (Long.bitCount(granule) != 1) {
            throw new IllegalArgumentException("commit granule " + granule + " is not a power of two");
        }
        this.base = base;
        this.shift = Long.numberOfTrailingZeros(granule);
        this.spans = new int[(int) ((size + granule - 1) >>> shift)];
    }

    void add(long address, long length) {
        for (int p = first(address); p <= last(address, length); p++) {
            if (spans[p]++ == 0) {
                committed++;
            }
        }
    }

    void remove(long address, long length) {
        for (int p = first(address); p <= last(address, length); p++) {
            if (--spans[p] == 0) {
                committed--;
            }
        }
    }

    boolean isCommitted(long address) {
        return spans[first(address)] > 0;
    }

    long committedBytes() {
        return committed << shift;
    }

    private int first(long address) {
        return (int) ((address - base) >>> shift);
    }

    private int last(long address, long length) {
        return (int) ((address + length - 1 - base) >>> shift);
    }
}

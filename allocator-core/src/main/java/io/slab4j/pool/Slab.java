package io.slab4j.pool;

/**
 * One slab of a {@link Pool}: {@code capacity} items of {@code stride} bytes carved from
 * one contiguous arena span starting at {@code base}. Its bookkeeping lives here, on the
 * Java heap, never in the items: a stack of free item indices (lowest address first)
 * and a bitmap of items in use, which makes every double free detectable.
 *
 * <p>Not thread-safe: guarded by the owning pool's lock. {@code prev}/{@code next} are
 * {@link SlabSet}'s bucket links.
 */
final class Slab {
    final long base;
    final int capacity;
    private final int[] freeStack;
    private int freeCount;
    private final long[] inUse;

    Slab prev;
    Slab next;

    Slab(long base, int capacity) {
        this.base = base;
        this.capacity = capacity;
        this.freeStack = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            freeStack[i] = capacity - 1 - i;
        }
        this.freeCount = capacity;
        this.inUse = new long[(capacity + 63) >>> 6];
    }

    int freeCount() {
        return freeCount;
    }

    boolean isIdle() {
        return freeCount == capacity;
    }

    /** Takes a free item; the caller knows {@code freeCount() > 0}. */
    int take() {
        int index = freeStack[--freeCount];
        inUse[index >>> 6] |= 1L << index;
        return index;
    }

    boolean isInUse(int index) {
        return (inUse[index >>> 6] & (1L << index)) != 0;
    }

    /** Returns an item the caller checked is in use. */
    void give(int index) {
        inUse[index >>> 6] &= ~(1L << index);
        freeStack[freeCount++] = index;
    }

    /** Counts the in-use bits and checks them against the free stack. */
    void check(String pool) {
        int used = 0;
        for (long word : inUse) {
            used += Long.bitCount(word);
        }
        if (used != capacity - freeCount) {
            throw new IllegalStateException("pool '" + pool + "' invariant broken: slab at 0x" + Long.toHexString(base)
                    + " has " + used + " items marked in use but " + (capacity - freeCount) + " not on its free stack");
        }
        for (int i = 0; i < freeCount; i++) {
            if (isInUse(freeStack[i])) {
                throw new IllegalStateException("pool '" + pool + "' invariant broken: item " + freeStack[i]
                        + " of slab 0x" + Long.toHexString(base) + " is both free and in use");
            }
        }
    }
}

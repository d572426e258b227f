package io.slab4j.pool;

import io.slab4j.arena.Hex;
import java.util.ArrayList;
import java.util.List;

/**
 * The slabs of a {@link Pool}, bucketed by how many free items each has, plus the O(1)
 * address-to-slab lookup ({@link SlabDirectory}).
 *
 * <pre>
 *   bucket[0]         full slabs            (no free item)
 *   bucket[1..cap-1]  partial slabs         get takes from the lowest non-empty bucket:
 *                                           the fullest partial slab, so the others drain
 *   bucket[cap]       idle slabs            (every item free; may go back to the arena)
 * </pre>
 *
 * <p>Not thread-safe: guarded by the owning pool's lock, except {@link #find}, which any
 * thread may call (see {@link SlabDirectory}).
 */
final class SlabSet {
    private final int capacity;
    private final long slabBytes;
    private final Slab[] buckets;
    private final long[] nonEmpty;
    private final SlabDirectory directory;
    private int slabs;

    SlabSet(int capacity, long slabBytes, long arenaBase, long arenaSize) {
        this.capacity = capacity;
        this.slabBytes = slabBytes;
        this.buckets = new Slab[capacity + 1];
        this.nonEmpty = new long[(capacity + 64) >>> 6];
        this.directory = new SlabDirectory(arenaBase, arenaSize, slabBytes);
    }

    void add(Slab slab) {
        link(slab);
        directory.add(slab);
        slabs++;
    }

    void remove(Slab slab) {
        unlink(slab, slab.freeCount());
        directory.remove(slab);
        slabs--;
    }

    /** The slab containing {@code address}, or null; any thread, no lock. */
    Slab find(long address) {
        return directory.find(address);
    }

    /** The fullest slab that still has a free item (partial before idle); null when none has. */
    Slab fullestWithFree() {
        for (int w = 0; w < nonEmpty.length; w++) {
            long bits = w == 0 ? nonEmpty[0] & ~1L : nonEmpty[w];
            if (bits != 0) {
                return buckets[(w << 6) + Long.numberOfTrailingZeros(bits)];
            }
        }
        return null;
    }

    /** Re-buckets a slab whose free count changed from {@code oldFree}. */
    void moved(Slab slab, int oldFree) {
        unlink(slab, oldFree);
        link(slab);
    }

    int slabs() {
        return slabs;
    }

    int idle() {
        int idle = 0;
        for (Slab s = buckets[capacity]; s != null; s = s.next) {
            idle++;
        }
        return idle;
    }

    /** Idle slabs, most recently idled first. */
    Slab anyIdle() {
        return buckets[capacity];
    }

    List<Slab> all() {
        List<Slab> all = new ArrayList<>(slabs);
        for (Slab head : buckets) {
            for (Slab s = head; s != null; s = s.next) {
                all.add(s);
            }
        }
        return all;
    }

    /** Checks buckets, bitmap, lookup and every slab; returns the number of free items. */
    long check(String pool) {
        long free = 0;
        int counted = 0;
        for (int f = 0; f <= capacity; f++) {
            boolean bit = (nonEmpty[f >>> 6] & (1L << f)) != 0;
            if (bit != (buckets[f] != null)) {
                throw new IllegalStateException("pool '" + pool + "' invariant broken: bucket bitmap disagrees at " + f);
            }
            Slab prev = null;
            for (Slab s = buckets[f]; s != null; s = s.next) {
                if (s.freeCount() != f || s.prev != prev) {
                    throw new IllegalStateException("pool '" + pool + "' invariant broken: slab " + Hex.of(s.base)
                            + " with " + s.freeCount() + " free items is in bucket " + f);
                }
                if (find(s.base) != s || find(s.base + slabBytes - 1) != s) {
                    throw new IllegalStateException("pool '" + pool + "' invariant broken: lookup misses slab " + Hex.of(s.base));
                }
                s.check(pool);
                free += f;
                counted++;
                prev = s;
            }
        }
        if (counted != slabs) {
            throw new IllegalStateException("pool '" + pool + "' invariant broken: " + counted + " slabs in buckets, count says " + slabs);
        }
        return free;
    }

    private void link(Slab slab) {
        int f = slab.freeCount();
        Slab head = buckets[f];
        slab.prev = null;
        slab.next = head;
        if (head != null) {
            head.prev = slab;
        }
        buckets[f] = slab;
        nonEmpty[f >>> 6] |= 1L << f;
    }

    private void unlink(Slab slab, int f) {
        if (slab.prev == null) {
            buckets[f] = slab.next;
            if (slab.next == null) {
                nonEmpty[f >>> 6] &= ~(1L << f);
            }
        } else {
            slab.prev.next = slab.next;
        }
        if (slab.next != null) {
            slab.next.prev = slab.prev;
        }
        slab.prev = null;
        slab.next = null;
    }
}

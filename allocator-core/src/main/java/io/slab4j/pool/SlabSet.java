package io.slab4j.pool;

import org.agrona.collections.Long2ObjectHashMap;

import java.util.ArrayList;
import java.util.List;

/**
 * The slabs of a {@link Pool}, bucketed by how many free items each has, plus an O(1)
 * address-to-slab lookup.
 *
 * <pre>
 *   bucket[0]         full slabs            (no free item)
 *   bucket[1..cap-1]  partial slabs         get takes from the lowest non-empty bucket:
 *                                           the fullest partial slab, so the others drain
 *   bucket[cap]       idle slabs            (every item free; may go back to the arena)
 * </pre>
 *
 * <p>Lookup: cut the address space into chunks of the largest power of two not above
 * {@code slabBytes} (so the chunk index is a shift, not a division). Slabs are
 * {@code slabBytes} long and disjoint, so at most one slab starts in each chunk, and a
 * slab reaches at most two chunks past its first. The map keys a slab by the chunk its
 * base lies in; an address in chunk k belongs to the slab starting in chunk k, k-1 or
 * k-2. At most three hash probes, one map entry a slab: bounded metadata, no per-page
 * entries, no scan.
 *
 * <p>Not thread-safe: guarded by the owning pool's lock.
 */
final class SlabSet {
    private final int capacity;
    private final long slabBytes;
    /** log2 of the chunk size: the largest power of two not above slabBytes. */
    private final int chunkShift;
    private final Slab[] buckets;
    private final long[] nonEmpty;
    private final Long2ObjectHashMap<Slab> byChunk = new Long2ObjectHashMap<>();
    /** The slab the last successful {@link #find} returned: puts cluster, so most lookups end here. */
    private Slab lastFound;
    private int slabs;

    SlabSet(int capacity, long slabBytes) {
        this.capacity = capacity;
        this.slabBytes = slabBytes;
        this.chunkShift = 63 - Long.numberOfLeadingZeros(slabBytes);
        this.buckets = new Slab[capacity + 1];
        this.nonEmpty = new long[(capacity + 64) >>> 6];
    }

    void add(Slab slab) {
        byChunk.put(slab.base >>> chunkShift, slab);
        link(slab);
        slabs++;
    }

    void remove(Slab slab) {
        unlink(slab, slab.freeCount());
        byChunk.remove(slab.base >>> chunkShift);
        if (lastFound == slab) {
            lastFound = null;
        }
        slabs--;
    }

    /** The slab containing {@code address}, or null. */
    Slab find(long address) {
        Slab last = lastFound;
        if (last != null && Long.compareUnsigned(address - last.base, slabBytes) < 0) {
            return last;
        }
        long chunk = address >>> chunkShift;
        for (int back = 0; back <= 2 && back <= chunk; back++) {
            Slab slab = byChunk.get(chunk - back);
            if (slab != null && Long.compareUnsigned(slab.base, address) <= 0) {
                // the nearest slab starting at or below the address is the only candidate
                if (address - slab.base < slabBytes) {
                    lastFound = slab;
                    return slab;
                }
                return null;
            }
        }
        return null;
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

    /** Checks buckets, bitmap, map and every slab; returns the number of free items. */
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
                    throw new IllegalStateException("pool '" + pool + "' invariant broken: slab 0x" + Long.toHexString(s.base)
                            + " with " + s.freeCount() + " free items is in bucket " + f);
                }
                if (find(s.base) != s || find(s.base + slabBytes - 1) != s) {
                    throw new IllegalStateException("pool '" + pool + "' invariant broken: lookup misses slab 0x" + Long.toHexString(s.base));
                }
                s.check(pool);
                free += f;
                counted++;
                prev = s;
            }
        }
        if (counted != slabs || byChunk.size() != slabs) {
            throw new IllegalStateException("pool '" + pool + "' invariant broken: " + counted + " slabs in buckets, "
                    + byChunk.size() + " in the map, count says " + slabs);
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

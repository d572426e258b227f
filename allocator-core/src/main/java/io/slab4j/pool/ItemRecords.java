package io.slab4j.pool;

import io.slab4j.arena.Hex;

/**
 * The way from an address to its item's ownership record ({@link Slab}): the slab by
 * {@link SlabSet#find} (lock-free), the index by arithmetic, and the rejections, each naming
 * the address, the pool and what was expected.
 *
 * <h2>The last slab and the recent-slab table</h2>
 * The layer methods ({@link #park}, {@link #unpark}, {@link #parkOwned}) run on every cache
 * put and hit, between the lease's CAS and release store, so every load on their way to the
 * state byte is exposed latency: the directory's way (records → set → directory → top →
 * leaf → slab → states, up to three probes, each step waiting for the one before) costs
 * several times the CAS itself. They try first {@code last}, the slab the directory found
 * most recently: its loads do not depend on the address, so they are done by the time the
 * address is known and only arithmetic is left. Then {@code recent}, a small direct-mapped
 * table of slabs indexed by the address's chunk ({@code address >>> chunkShift}); then the
 * directory, whose answer becomes the table entry and {@code last}. So {@code last} and the
 * entries change only when the directory is consulted (a table miss): threads that work in
 * different slabs do not keep writing one shared field.
 *
 * <p>Why an entry (or {@code last}) needs no validity check against the directory: it may name a slab that has since gone back
 * to the arena (a later slab may even sit at the same address). A slab goes back only when
 * idle, every record FREE, and after it has left the directory no path changes its records
 * again: FREE → OUT happens only under the pool lock on slabs in the set, every other
 * transition starts from OUT or PARKED. So a dead slab's records say FREE forever, and each
 * fast step acts only once the slab has proved itself alive. Unpark and parkOwned, whose
 * caller holds the item (its record PARKED, or OUT), store only after reading the slab's
 * {@code retired} flag false, which proves it because the caller happens-after the get that
 * took the item and so after any removal of an earlier slab at that address (see
 * {@link Slab}). Park checks the flag too, and its CAS succeeds only from OUT, which a dead
 * slab never has even when the flag read is stale (a caller with a stale address has no
 * happens-before edge to the removal). Anything else falls to the table and then the
 * directory, which decides exactly as before (and rejects). Two live slabs of one pool
 * never overlap, so a live slab that holds the address is its slab.
 *
 * <p>Thread-safe. {@code last} and the table's entries are plain fields, written racily by
 * any thread on a table miss and read racily: that is sound because a reader uses only
 * {@link Slab}'s final fields ({@code base}, the records array and {@code groupBytes}, which
 * places each record in it), which the Java memory model shows fully initialised to any
 * thread that sees the reference (JLS 17.5), and the records themselves only through
 * {@link Slab}'s CAS, acquire and release accesses. A stale or lost
 * entry costs a directory lookup, never a wrong answer.
 */
final class ItemRecords {
    /** Entries of the recent-slab table, a power of two. */
    static final int RECENT = 64;

    private final String pool;
    private final Geometry g;
    private final SlabSet slabs;
    /** Recently found slabs by {@code (address >>> chunkShift) & (RECENT - 1)}; racy, see the class comment. */
    private final Slab[] recent = new Slab[RECENT];
    /** The slab the directory found last; racy, see the class comment. */
    private Slab last;
    // the geometry, copied into this object so the fast path loads nothing else
    private final int chunkShift;
    /** {@code itemsPerSlab * stride}: an offset in [0, itemBytes) is in some item of the slab. */
    private final long itemBytes;
    private final long stride;
    private final int strideShift;

    ItemRecords(String pool, Geometry g, SlabSet slabs) {
        this.pool = pool;
        this.g = g;
        this.slabs = slabs;
        this.chunkShift = 63 - Long.numberOfLeadingZeros(g.slabBytes());
        this.stride = g.stride();
        this.strideShift = g.strideShift();
        this.itemBytes = g.itemsPerSlab() * g.stride();
    }

    /** The item index of {@code address} in {@code slab}; throws naming the address when it is not the start of an item. */
    int indexIn(Slab slab, long address, String call) {
        int index = slab == null ? -1 : indexIn(slab, address);
        if (index < 0) {
            throw notAnItem(call, address, slab);
        }
        return index;
    }

    /**
     * Lock-free, any thread: whether {@code address} is the start of an item of {@code slab}
     * whose record says OUT (handed out, or held by a layer that runs with its checks off);
     * false when the slab has retired. The slab comes from {@link #slabFor} (acquire loads of
     * the directory, never the recent-slab table, which is the pool lock's or the last
     * caller's), now or earlier: a caller may keep it past the slab's life as a hint. A slab
     * just removed may still be found; its records all say FREE, so the answer is false.
     */
    boolean isOutIn(Slab slab, long address) {
        int index = indexIn(slab, address);
        return index >= 0 && !slab.retired() && slab.state(index) == Slab.OUT;
    }

    // ------------------------------------------------------------ the layer side

    /** OUT → PARKED by one CAS; throws, changing nothing, when the address is not an item that is out. */
    void park(long address) {
        Slab s = last;
        int index;
        if (s != null && (index = indexIn(s, address)) >= 0 && !s.retired() && s.park(index) == Slab.OUT) {
            return;
        }
        Slab slab = slabOf(address);
        index = indexIn(slab, address, "put");
        byte was = slab.park(index);
        if (was != Slab.OUT) {
            throw rejected("put", address, was);
        }
    }

    /** PARKED → OUT by the layer that holds the item. */
    void unpark(long address) {
        Slab s = last;
        int index;
        if (s != null && (index = indexIn(s, address)) >= 0 && !s.retired()) {
            s.unpark(index);
            return;
        }
        Slab slab = slabOf(address);
        index = slab == null ? -1 : indexIn(slab, address);
        if (index < 0) {
            throw new IllegalStateException("pool '" + pool + "' invariant broken: parked item " + Hex.of(address)
                    + (slab == null ? " has no slab" : " is not the start of an item"));
        }
        slab.unpark(index);
    }

    /** → PARKED by a plain store, for a layer that guarantees a single return. */
    void parkOwned(long address) {
        Slab s = last;
        int index;
        if (s != null && (index = indexIn(s, address)) >= 0 && !s.retired()) {
            s.parkOwned(index);
            return;
        }
        Slab slab = slabOf(address);
        slab.parkOwned(indexIn(slab, address, "put"));
    }

    /**
     * The slab that holds {@code address}, or null: the recent entry when it holds it and is
     * not retired, else the directory's answer, which then becomes the entry and {@code last}.
     */
    private Slab slabOf(long address) {
        int k = slot(address);
        Slab s = recent[k];
        if (s != null && indexIn(s, address) >= 0 && !s.retired()) {
            return s;
        }
        Slab slab = slabs.find(address);
        if (slab != null) {
            recent[k] = slab;
            last = slab;
        }
        return slab;
    }

    /** The slab the directory finds for {@code address}, or null; touches neither the table nor {@code last}. */
    Slab slabFor(long address) {
        return slabs.find(address);
    }

    private int slot(long address) {
        return (int) (address >>> chunkShift) & (RECENT - 1);
    }

    /** The item index of {@code address} in {@code slab} (not null), or -1 when the slab does not hold an item starting there. */
    private int indexIn(Slab slab, long address) {
        long offset = address - slab.base;
        if (Long.compareUnsigned(offset, itemBytes) >= 0) {
            return -1; // below the slab, or past its last item
        }
        if (strideShift >= 0) {
            return (offset & (stride - 1)) == 0 ? (int) (offset >>> strideShift) : -1;
        }
        long index = offset / stride;
        return index * stride == offset ? (int) index : -1;
    }

    /**
     * Checks {@code last} and the recent-slab table: each is a live slab of the pool (the directory finds
     * it at its base) or a dead one whose records all say FREE. Under the pool lock.
     */
    void check() {
        for (int k = 0; k <= RECENT; k++) {
            Slab s = k < RECENT ? recent[k] : last;
            if (s == null || slabs.find(s.base) == s) {
                if (s != null && s.retired()) {
                    throw new IllegalStateException("pool '" + pool + "' invariant broken: slab " + Hex.of(s.base)
                            + " is in the directory but retired");
                }
                continue;
            }
            if (!s.retired()) {
                throw new IllegalStateException("pool '" + pool + "' invariant broken: slab " + Hex.of(s.base)
                        + " has left the directory but is not retired");
            }
            for (int i = 0; i < s.capacity; i++) {
                if (s.state(i) != Slab.FREE) {
                    throw new IllegalStateException("pool '" + pool + "' invariant broken: slab " + Hex.of(s.base)
                            + " has left the pool but item " + i + " is recorded " + Slab.name(s.state(i)));
                }
            }
        }
    }

    // ------------------------------------------------------------------ messages

    IllegalArgumentException notAnItem(String call, long address, Slab slab) {
        if (slab == null) {
            return new IllegalArgumentException(call + "(" + Hex.of(address) + "): address is not an item of pool '" + pool + "'");
        }
        return new IllegalArgumentException(call + "(" + Hex.of(address) + "): address is not the start of an item of pool '"
                + pool + "' (item size " + g.itemSize() + ", stride " + g.stride() + ")");
    }

    IllegalArgumentException rejected(String call, long address, byte state) {
        String why = state == Slab.PARKED
                ? "is already parked in a cache over it (double put, or a put past the cache that holds it)"
                : "is already free (double free?)";
        return new IllegalArgumentException(call + "(" + Hex.of(address) + "): item of pool '" + pool + "' " + why);
    }
}

package io.slab4j.pool;

/**
 * The way from an address to its item's ownership record ({@link Slab}): the slab by
 * {@link SlabSet#find} (lock-free), the index by {@link Geometry#indexOf}, and the
 * rejections, each naming the address, the pool and what was expected.
 *
 * <p>Thread-safe: holds only final references; the methods that move a record without the
 * pool lock ({@link #park}, {@link #unpark}, {@link #parkOwned}) rely on {@link Slab}'s
 * CAS and release stores.
 */
final class ItemRecords {
    private final String pool;
    private final Geometry g;
    private final SlabSet slabs;

    ItemRecords(String pool, Geometry g, SlabSet slabs) {
        this.pool = pool;
        this.g = g;
        this.slabs = slabs;
    }

    /** The item index of {@code address} in {@code slab}; throws naming the address when it is not the start of an item. */
    int indexIn(Slab slab, long address, String call) {
        int index = slab == null ? -1 : g.indexOf(address - slab.base);
        if (index < 0) {
            throw notAnItem(call, address, slab);
        }
        return index;
    }

    /** OUT → PARKED by one CAS; throws, changing nothing, when the address is not an item that is out. */
    void park(long address) {
        Slab slab = slabs.find(address);
        int index = indexIn(slab, address, "put");
        byte was = slab.park(index);
        if (was != Slab.OUT) {
            throw rejected("put", address, was);
        }
    }

    /** PARKED → OUT by the layer that holds the item. */
    void unpark(long address) {
        Slab slab = slabs.find(address);
        if (slab == null) {
            throw new IllegalStateException("pool '" + pool + "' invariant broken: parked item " + Pool.hex(address) + " has no slab");
        }
        slab.unpark(g.indexOf(address - slab.base));
    }

    /** → PARKED by a plain store, for a layer that guarantees a single return. */
    void parkOwned(long address) {
        Slab slab = slabs.find(address);
        slab.parkOwned(indexIn(slab, address, "put"));
    }

    IllegalArgumentException notAnItem(String call, long address, Slab slab) {
        if (slab == null) {
            return new IllegalArgumentException(call + "(" + Pool.hex(address) + "): address is not an item of pool '" + pool + "'");
        }
        return new IllegalArgumentException(call + "(" + Pool.hex(address) + "): address is not the start of an item of pool '"
                + pool + "' (item size " + g.itemSize() + ", stride " + g.stride() + ")");
    }

    IllegalArgumentException rejected(String call, long address, byte state) {
        String why = state == Slab.PARKED
                ? "is already parked in a cache over it (double put, or a put past the cache that holds it)"
                : "is already free (double free?)";
        return new IllegalArgumentException(call + "(" + Pool.hex(address) + "): item of pool '" + pool + "' " + why);
    }
}

package io.slab4j.pool;

import io.slab4j.arena.Hex;
import io.slab4j.arena.Arena;

/**
 * The shape of a {@link Pool}'s slabs, validated once from a builder's values: item size,
 * alignment and stride, slab pages and bytes, items a slab. Pages are the arena's quantum,
 * so a pool over a plain-range arena needs no operating system.
 *
 * @param itemSize     bytes an item, as asked for
 * @param align        item alignment, a power of two
 * @param stride       item size rounded up to the alignment: the distance between items
 * @param strideShift  log2(stride) when the stride is a power of two (a shift finds the item), else -1
 * @param slabPages    arena quanta a slab
 * @param slabBytes    bytes a slab
 * @param slabAlign    alignment of a slab's base: the larger of the quantum and the item alignment
 * @param itemsPerSlab items a slab holds, in [1, {@link Pool#MAX_ITEMS_PER_SLAB}]
 */
record Geometry(long itemSize, long align, long stride, int strideShift, long slabPages, long slabBytes, long slabAlign,
                int itemsPerSlab) {

    /** @throws IllegalArgumentException naming the pool and the bad value */
    static Geometry of(String name, long itemSize, long align, int slabPages, Arena arena) {
        if (itemSize <= 0) {
            throw new IllegalArgumentException("pool '" + name + "': item size " + itemSize + " is not positive");
        }
        if (align <= 0 || Long.bitCount(align) != 1) {
            throw new IllegalArgumentException("pool '" + name + "': alignment " + align + " is not a power of two");
        }
        if (slabPages < 0) {
            throw new IllegalArgumentException("pool '" + name + "': slab pages " + slabPages + " is not positive");
        }
        long page = arena.quantum();
        if (itemSize > arena.size() || align > arena.size()) {
            throw new IllegalArgumentException("pool '" + name + "': item size " + itemSize + " at alignment " + align
                    + " does not fit the arena of " + arena.size() + " bytes");
        }
        long stride = (itemSize + align - 1) & -align;
        long pages = slabPages != 0 ? slabPages : Math.max(1, (stride + page - 1) / page);
        if (pages > arena.size() / page) {
            throw new IllegalArgumentException("pool '" + name + "': a slab of " + pages + " pages (slabPages) of " + page
                    + " bytes is larger than the arena (" + arena.size() + " bytes)");
        }
        long slabBytes = pages * page;
        long slabAlign = Math.max(page, align);
        if (slabBytes > arena.size() || firstFit(arena, slabAlign) + slabBytes > arena.base() + arena.size()) {
            throw new IllegalArgumentException("pool '" + name + "': a slab of " + pages + " pages (slabPages, " + slabBytes
                    + " bytes at alignment " + slabAlign + ") is larger than the arena can ever give (" + arena.size()
                    + " bytes at " + Hex.of(arena.base()) + ")");
        }
        if (itemSize > slabBytes) {
            throw new IllegalArgumentException("pool '" + name + "': item size " + itemSize + " is larger than a slab of "
                    + pages + " pages (" + slabBytes + " bytes)");
        }
        long perSlab = slabBytes / stride;
        if (perSlab == 0) {
            throw new IllegalArgumentException("pool '" + name + "': a slab of " + pages + " pages (" + slabBytes
                    + " bytes) holds no item of item size " + itemSize + " at alignment " + align + " (stride " + stride
                    + "); use more slab pages or a smaller alignment");
        }
        if (perSlab > Pool.MAX_ITEMS_PER_SLAB) {
            throw new IllegalArgumentException("pool '" + name + "': a slab of " + pages + " pages (" + slabBytes
                    + " bytes) would hold " + perSlab + " items of stride " + stride + "; at most " + Pool.MAX_ITEMS_PER_SLAB
                    + " items a slab are supported: use fewer slab pages");
        }
        int shift = Long.bitCount(stride) == 1 ? Long.numberOfTrailingZeros(stride) : -1;
        return new Geometry(itemSize, align, stride, shift, pages, slabBytes, slabAlign, (int) perSlab);
    }

    private static long firstFit(Arena arena, long align) {
        return (arena.base() + align - 1) & -align;
    }

    /** The item index of {@code offset} bytes into a slab, or -1 when that is not the start of an item. */
    int indexOf(long offset) {
        long index = strideShift >= 0 ? offset >>> strideShift : offset / stride;
        return index * stride == offset && index < itemsPerSlab ? (int) index : -1;
    }
}

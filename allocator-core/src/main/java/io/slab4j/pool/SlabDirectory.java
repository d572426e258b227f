package io.slab4j.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Finds the {@link Slab} that holds an address, by arithmetic and without a lock: the
 * lookup that lets a magazine layer check an item's ownership record on its fast path.
 *
 * <p>Layout: the arena's range {@code [arenaBase, arenaBase + arenaSize)} is cut into
 * <b>chunks</b> of the largest power of two not above {@code slabBytes}, so at most one slab
 * starts in each chunk and a slab reaches at most two chunks past the one it starts in.
 * Chunk {@code k} (a shift of {@code address - arenaBase}) maps to the slab that starts in
 * it, so the slab of an address in chunk {@code k} is the one starting in chunk {@code k},
 * {@code k - 1} or {@code k - 2}: at most three probes, one entry a slab, no hashing. The
 * table is two-level (a radix tree of depth two, each level about the square root of the
 * chunk count), and a leaf exists only while a slab of the pool starts in it: the metadata
 * is bounded by the slabs held, plus one small top array.
 *
 * <p>Concurrency: {@link #add} and {@link #remove} run under the pool's lock; {@link #find}
 * runs on any thread without a lock. Entries are published with release stores and read
 * with acquire loads, so a reader that finds a slab sees it fully built. A reader may see
 * a slab that has just been removed; its records then all say FREE (a slab goes back only
 * when idle), so whatever the reader tries with it fails the CAS and is rejected. A reader
 * that got its address from a pool get (happens-before through the pool's lock, or through
 * the caller's own hand-off) always sees that item's slab.
 */
final class SlabDirectory {
    private static final VarHandle ENTRY = MethodHandles.arrayElementVarHandle(Slab[].class);
    private static final VarHandle LEAF = MethodHandles.arrayElementVarHandle(Slab[][].class);

    private final long arenaBase;
    private final long slabBytes;
    private final int chunkShift;
    private final long chunks;
    private final int leafShift;
    private final int leafMask;
    private final Slab[][] leaves;
    /** Slabs starting in each leaf, to drop a leaf when it empties. Pool lock. */
    private final int[] leafUse;

    SlabDirectory(long arenaBase, long arenaSize, long slabBytes) {
        this.arenaBase = arenaBase;
        this.slabBytes = slabBytes;
        this.chunkShift = 63 - Long.numberOfLeadingZeros(slabBytes);
        this.chunks = ((arenaSize - 1) >>> chunkShift) + 1;
        int bits = 64 - Long.numberOfLeadingZeros(Math.max(1, chunks - 1));
        this.leafShift = Math.max(6, (bits + 1) / 2);
        this.leafMask = (1 << leafShift) - 1;
        int tops = (int) (((chunks - 1) >>> leafShift) + 1);
        this.leaves = new Slab[tops][];
        this.leafUse = new int[tops];
    }

    /** Under the pool lock. */
    void add(Slab slab) {
        long chunk = (slab.base - arenaBase) >>> chunkShift;
        int top = (int) (chunk >>> leafShift);
        Slab[] leaf = leaves[top];
        if (leaf == null) {
            leaf = new Slab[1 << leafShift];
            LEAF.setRelease(leaves, top, leaf);
        }
        ENTRY.setRelease(leaf, (int) chunk & leafMask, slab);
        leafUse[top]++;
    }

    /** Under the pool lock. */
    void remove(Slab slab) {
        slab.retire();
        long chunk = (slab.base - arenaBase) >>> chunkShift;
        int top = (int) (chunk >>> leafShift);
        Slab[] leaf = leaves[top];
        ENTRY.setRelease(leaf, (int) chunk & leafMask, null);
        if (--leafUse[top] == 0) {
            LEAF.setRelease(leaves, top, null);
        }
    }

    /** The slab whose span holds {@code address}, or null; any thread, no lock. */
    Slab find(long address) {
        long offset = address - arenaBase;
        if (Long.compareUnsigned(offset >>> chunkShift, chunks) >= 0) {
            return null;
        }
        long chunk = offset >>> chunkShift;
        for (int back = 0; back <= 2 && back <= chunk; back++) {
            long c = chunk - back;
            Slab[] leaf = (Slab[]) LEAF.getAcquire(leaves, (int) (c >>> leafShift));
            if (leaf == null) {
                continue;
            }
            Slab slab = (Slab) ENTRY.getAcquire(leaf, (int) c & leafMask);
            if (slab != null && Long.compareUnsigned(slab.base, address) <= 0) {
                // the nearest slab starting at or below the address is the only candidate
                return address - slab.base < slabBytes ? slab : null;
            }
        }
        return null;
    }
}

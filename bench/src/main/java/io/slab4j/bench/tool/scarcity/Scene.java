package io.slab4j.bench.tool.scarcity;

import io.slab4j.arena.Arena;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.pool.Pool;
import io.slab4j.pool.WaitStrategy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The starting state of one strategy's run, built on one thread before any worker starts:
 * a reserved region, an arena over all of it, the "exec" pool, the items the pool could
 * still grow contiguously (handed to the first getters as already held), and the
 * long-lived small spans that keep the rest of the arena fragmented.
 *
 * <h2>Layout</h2>
 * The arena is {@code limitSlabs + fragmentedSlabs} slabs. The pool first grows
 * {@code limitSlabs - fragmentedSlabs} slabs ({@link WaitStrategy#LOW_WATER_PRIME} primes
 * all {@code limitSlabs} at build). Then everything still free is filled with small spans
 * of 1..{@code smallMaxPages} pages, and all but a few are freed again in address order:
 * a span survives when freeing it would leave a free run of {@code T} pages or more, with
 * {@code T} drawn anew in {@code [slabPages/2, slabPages)} after each survivor. So no free
 * run outside the pool reaches a slab, although most of that space is free — the DESIGN.md
 * scenario — and the fragmenters' later churn only ever shortens free runs.
 *
 * <p>Owned by the run's thread; {@link #close()} unmaps the region.
 */
final class Scene implements AutoCloseable {
    final ScarcityConfig config;
    final VirtualRegion region;
    final Arena arena;
    final Pool pool;
    final long slabBytes;
    final int itemsPerSlab;
    final int limitSlabs;
    /** Items taken from the pool during set-up; the first getters start out holding them. */
    final long[] initialItems;
    /** Long-lived small spans {address, bytes}; freed by the fragmenters when the run ends. */
    final List<long[]> survivors;

    private Scene(ScarcityConfig config, VirtualRegion region, Arena arena, Pool pool, long slabBytes,
                  int itemsPerSlab, int limitSlabs, long[] initialItems, List<long[]> survivors) {
        this.config = config;
        this.region = region;
        this.arena = arena;
        this.pool = pool;
        this.slabBytes = slabBytes;
        this.itemsPerSlab = itemsPerSlab;
        this.limitSlabs = limitSlabs;
        this.initialItems = initialItems;
        this.survivors = survivors;
    }

    /** Items one slab holds, computed as {@code Pool} does (16-byte alignment). */
    static int itemsPerSlab(ScarcityConfig c) {
        long stride = (c.itemSize() + 15) & -16L;
        return (int) Math.min(Integer.MAX_VALUE, (long) c.slabPages() * VirtualRegion.pageSize() / stride);
    }

    static Scene build(ScarcityConfig c, WaitStrategy strategy, SplittableRandom random) {
        long page = VirtualRegion.pageSize();
        long slabBytes = c.slabPages() * page;
        int perSlab = itemsPerSlab(c);
        int limitSlabs = c.hardLimit() / perSlab;
        VirtualRegion region = VirtualRegion.reserve((limitSlabs + (long) c.fragmentedSlabs()) * slabBytes);
        try {
            Arena arena = Arena.builder(region).build();
            Pool pool = Pool.builder("exec", c.itemSize()).slabPages(c.slabPages()).hardLimit(c.hardLimit())
                    .highWater(limitSlabs).waitStrategy(strategy).build(arena);
            long[] initial = new long[(limitSlabs - c.fragmentedSlabs()) * perSlab];
            for (int i = 0; i < initial.length; i++) {
                initial[i] = pool.tryGet();
                if (initial[i] == 0) {
                    throw new IllegalStateException("set-up: the pool could not grow item " + i + " of " + initial.length
                            + "; " + arena.stats());
                }
            }
            List<long[]> survivors = fragment(arena, c, page, random);
            if (arena.stats().largestFree() >= slabBytes) {
                throw new IllegalStateException("set-up: a free run of " + arena.stats().largestFree()
                        + " bytes is left, so a slab of " + slabBytes + " would fit; " + arena.stats());
            }
            arena.checkInvariants();
            return new Scene(c, region, arena, pool, slabBytes, perSlab, limitSlabs, initial, survivors);
        } catch (RuntimeException | Error e) {
            region.close();
            throw e;
        }
    }

    /** Fills the free space with small spans, then frees all but the survivors (see the class comment). */
    private static List<long[]> fragment(Arena arena, ScarcityConfig c, long page, SplittableRandom random) {
        List<long[]> spans = new ArrayList<>();
        while (true) {
            long bytes = (1 + random.nextInt(c.smallMaxPages())) * page;
            long address = arena.tryAlloc(bytes);
            if (address == 0) {
                bytes = page;
                address = arena.tryAlloc(bytes);
                if (address == 0) {
                    break;
                }
            }
            spans.add(new long[]{address, bytes});
        }
        spans.sort(Comparator.comparingLong(s -> s[0]));
        List<long[]> survivors = new ArrayList<>();
        long run = 0;
        long end = -1;
        long limit = runLimit(c, page, random);
        for (long[] s : spans) {
            if (s[0] != end) {
                run = 0; // something else (a pool slab) lies between: the free run starts again
            }
            end = s[0] + s[1];
            if (run + s[1] >= limit) {
                survivors.add(s);
                run = 0;
                limit = runLimit(c, page, random);
            } else {
                arena.free(s[0], s[1]);
                run += s[1];
            }
        }
        return survivors;
    }

    private static long runLimit(ScarcityConfig c, long page, SplittableRandom random) {
        int half = Math.max(1, c.slabPages() / 2);
        return (half + random.nextInt(Math.max(1, c.slabPages() - half))) * page;
    }

    @Override
    public void close() {
        region.close();
    }
}

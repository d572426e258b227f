package io.slab4j.testing;

import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;

/**
 * Test helper: arenas over a plain numeric range (no region, no OS calls, no memory
 * touched), with 4 KiB quanta and instant fit, as the pool and cache tests use them. Each
 * test class passes its own base so that addresses in failure messages say which test made them.
 */
public final class Plain {
    public static final long PAGE = 4096;

    private Plain() {
    }

    /** An arena of {@code pages} quanta of {@link #PAGE} bytes at {@code base}, instant fit. */
    public static Arena arena(long base, long pages) {
        return Arena.builder(base, pages * PAGE).quantum(PAGE).fit(Fit.INSTANT).build();
    }
}

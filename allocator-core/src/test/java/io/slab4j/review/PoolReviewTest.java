package io.slab4j.review;

import io.slab4j.arena.Arena;
import io.slab4j.pool.Pool;
import org.junit.jupiter.api.Test;

import static io.slab4j.review.R.BASE;
import static io.slab4j.review.R.PAGE;
import static org.junit.jupiter.api.Assertions.*;

class PoolReviewTest {

    private static Arena plain(long pages) {
        return Arena.builder(BASE, pages * PAGE).quantum(PAGE).build();
    }

    @Test
    void slabPagesZeroIsRejectedLikeNegative() {
        Arena a = plain(64);
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> Pool.builder("p", 64).slabPages(0).build(a));
        R.namesValue(x, 0);
    }
}

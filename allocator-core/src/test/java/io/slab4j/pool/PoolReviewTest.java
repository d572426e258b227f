package io.slab4j.pool;

import io.slab4j.testing.Messages;
import io.slab4j.testing.Plain;
import io.slab4j.arena.Arena;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class PoolReviewTest {

    private static final long BASE = 1L << 40;

    private static Arena plain(long pages) {
        return Arena.builder(BASE, pages * Plain.PAGE).quantum(Plain.PAGE).build();
    }

    @Test
    void slabPagesZeroIsRejectedLikeNegative() {
        Arena a = plain(64);
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, () -> Pool.builder("p", 64).slabPages(0).build(a));
        Messages.assertNamesValue(x, 0);
    }
}

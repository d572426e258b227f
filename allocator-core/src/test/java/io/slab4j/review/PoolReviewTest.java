package io.slab4j.review;

import io.slab4j.arena.Arena;
import io.slab4j.event.Events;
import io.slab4j.pool.Pool;
import io.slab4j.pool.PoolStats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

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

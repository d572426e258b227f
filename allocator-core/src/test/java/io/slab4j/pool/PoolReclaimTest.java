package io.slab4j.pool;

import io.slab4j.arena.Arena;
import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool's side of reclaim: layers are asked before a get blocks, and periodically while gets wait. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PoolReclaimTest {
    private static final long PAGE = 4096;

    /** A layer holding one item that it gives back only once {@code release} is set. */
    private static final class Holding implements Reclaimer {
        final Pool pool;
        final AtomicBoolean release = new AtomicBoolean();
        final AtomicInteger calls = new AtomicInteger();
        volatile long item;

        Holding(Pool pool, long item) {
            this.pool = pool;
            this.item = item;
        }

        @Override
        public long reclaimIdle() {
            calls.incrementAndGet();
            long a = item;
            if (!release.get() || a == 0) {
                return 0;
            }
            item = 0;
            pool.putHeld(a);
            return 1;
        }

        @Override
        public long parked() {
            return item == 0 ? 0 : 1;
        }
    }

    @Test
    void aBlockedGetIsServedByAPeriodicReclaim() throws Exception {
        Arena arena = Arena.builder(0x7d_0000_0000L, 8 * PAGE).quantum(PAGE).build();
        Pool pool = Pool.builder("tick", PAGE).slabPages(1).hardLimit(1).build(arena);
        Holding layer = new Holding(pool, pool.tryGet());
        pool.addReclaimer(layer);
        CompletableFuture<Long> getter = Background.start("getter", () -> pool.get(Duration.ofSeconds(20)));
        Await.until("the get to block after asking the layer", () -> pool.hasWaiters() && layer.calls.get() >= 1);
        int before = layer.calls.get();
        layer.release.set(true); // the layer's item becomes idle only now: only a later reclaim can find it
        long got = getter.get(10, TimeUnit.SECONDS);
        assertTrue(got != 0, "the periodic reclaim returned the item to the waiting get");
        assertTrue(layer.calls.get() > before);
        assertEquals(1, pool.stats().waits());
        pool.put(got);
        pool.removeReclaimer(layer);
        pool.checkInvariants();
        pool.close();
    }

    @Test
    void closeNamesWhatLayersHoldParked() {
        Arena arena = Arena.builder(0x7d_0000_0000L, 8 * PAGE).quantum(PAGE).build();
        Pool pool = Pool.builder("parked", PAGE).slabPages(1).build(arena);
        Holding layer = new Holding(pool, pool.tryGet());
        pool.addReclaimer(layer);
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, pool::close);
        assertTrue(e.getMessage().contains("1 items parked in caches"), e.getMessage());
        layer.release.set(true);
        assertEquals(1, layer.reclaimIdle());
        pool.removeReclaimer(layer);
        pool.close();
    }
}

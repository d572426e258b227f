package io.slab4j.cache;

import io.slab4j.arena.Arena;
import io.slab4j.event.Events;
import io.slab4j.pool.Pool;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** Round-4 adversarial review of PoolCache (and composing pool events) through the public API. */
class PoolCacheRound4ReviewTest {
    // ------------------------------------------- passes worth keeping (attacks that held); no defect found here

    private static Arena plain() {
        return Arena.builder(0x4000_0000L, 1 << 22).build();
    }

    @Test
    void cacheCloseRacingGetsAndPutsLosesNoItem() {
        // PoolCache.close: later calls throw IllegalStateException, a put that throws did not take the item (so
        // the caller may give it to the pool); conservation: every item is back in the pool at the end.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int round = 0; round < 20; round++) {
                Pool p = Pool.builder("r4c-" + round, 64).hardLimit(512).build(plain());
                PoolCache c = PoolCache.builder(p).magazineSize(8).depotLimit(2).build();
                CountDownLatch go = new CountDownLatch(1);
                AtomicReference<Throwable> bad = new AtomicReference<>();
                List<Thread> ts = new ArrayList<>();
                for (int k = 0; k < 3; k++) {
                    Thread t = new Thread(() -> {
                        List<Long> mine = new ArrayList<>();
                        try {
                            go.await();
                            for (int i = 0; i < 3000; i++) {
                                long a = (i & 1) == 0 ? c.tryGet() : c.get(Duration.ofMillis(1));
                                if (a != 0) {
                                    mine.add(a);
                                }
                                while (mine.size() > 20 || (a == 0 && !mine.isEmpty())) {
                                    long x = mine.remove(mine.size() - 1);
                                    try {
                                        c.put(x);
                                    } catch (IllegalStateException closed) {
                                        mine.add(x);
                                        throw closed;
                                    }
                                }
                                if (i % 500 == 0) {
                                    c.drain();
                                }
                            }
                        } catch (IllegalStateException closed) {
                            // the cache closed
                        } catch (Throwable e) {
                            bad.compareAndSet(null, e);
                        } finally {
                            for (long x : mine) {
                                p.put(x);
                            }
                        }
                    });
                    t.start();
                    ts.add(t);
                }
                go.countDown();
                Thread.sleep(round % 3);
                c.close();
                for (Thread t : ts) {
                    t.join();
                }
                if (bad.get() != null) {
                    throw new AssertionError("round " + round, bad.get());
                }
                assertEquals(0, p.stats().itemsInUse(), "round " + round);
                p.checkInvariants();
            }
        });
    }

    @Test
    void chooseBetweenTwoPoolsTakesExactlyOneItemWhenBothArePutTo() {
        // DESIGN: sync of a choose commits to exactly one branch; nothing is taken on behalf of a branch that lost.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            Arena arena = plain();
            Pool p1 = Pool.builder("r4-c1", 4096).slabPages(1).hardLimit(1).build(arena);
            Pool p2 = Pool.builder("r4-c2", 4096).slabPages(1).hardLimit(1).build(arena);
            long a1 = p1.tryGet();
            long a2 = p2.tryGet();
            for (int round = 0; round < 300; round++) {
                AtomicReference<Object> got = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        got.set(Events.choose(p1.getEvent(), p2.getEvent()).sync());
                    } catch (Throwable e) {
                        got.set(e);
                    }
                });
                t.start();
                while (p1.waiters() + p2.waiters() < 2) {
                    Thread.onSpinWait();
                }
                Thread o = new Thread(() -> p2.put(a2));
                o.start();
                p1.put(a1);
                o.join();
                t.join();
                long x = (Long) got.get();
                assertEquals(1, p1.stats().itemsInUse() + p2.stats().itemsInUse(), "round " + round);
                assertEquals(0, p1.waiters() + p2.waiters());
                if (x == a1) {
                    assertNotEquals(0, p2.tryGet());
                } else {
                    assertEquals(a2, x);
                    assertNotEquals(0, p1.tryGet());
                }
                p1.checkInvariants();
                p2.checkInvariants();
            }
        });
    }
}

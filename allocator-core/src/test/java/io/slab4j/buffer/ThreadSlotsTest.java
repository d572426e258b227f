package io.slab4j.buffer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code BufferPool}'s direct-mapped cache of the threads' tallies by thread id and class
 * ({@code byThread}): two live threads whose ids map to one slot each get their own tally (their
 * own counts and magazines: the second is not handed the first's), an exited thread's entry is
 * taken over by the next thread that maps there, {@code trim()} drops exited threads' tallies,
 * and many classes mean fewer thread slots, not a larger array.
 */
class ThreadSlotsTest {

    /** Starts and joins throwaway threads until a new thread's id maps to {@code id}'s slot of {@code pool}; returns that thread unstarted. */
    private static Thread collidingWith(BufferPool pool, long id, Runnable body) throws InterruptedException {
        int slots = pool.threadSlots();
        for (int tries = 0; tries < 2 * slots; tries++) {
            AtomicBoolean chosen = new AtomicBoolean();
            Thread t = new Thread(() -> {
                if (chosen.get()) {
                    body.run();
                } // else a throwaway: it burns an id and never touches the pool
            }, "collider");
            if ((t.getId() & (slots - 1)) == (id & (slots - 1))) {
                chosen.set(true);
                return t;
            }
            t.start();
            t.join();
        }
        throw new AssertionError("no thread id mapped to the slot of " + id);
    }

    @Test
    void twoLiveThreadsOfOneSlotKeepTheirOwnStateAndCounts() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("slots-collide").reserve(64L << 20).leakDetection(LeakDetection.OFF)
                .build()) {
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            List<PooledBuffer> firstHolds = new ArrayList<>();
            Thread first = new Thread(() -> {
                try {
                    for (int i = 0; i < 3; i++) {
                        firstHolds.add(pool.acquire(64));
                    }
                    pool.acquire(64).close(); // parks one in this thread's magazines
                    holding.countDown();
                    done.await();
                    for (PooledBuffer b : firstHolds) {
                        b.close();
                    }
                } catch (Throwable e) {
                    trouble.compareAndSet(null, e);
                    holding.countDown();
                }
            }, "first");
            first.start();
            holding.await();
            assertNull(trouble.get());
            Thread second = collidingWith(pool, first.getId(), () -> {
                try {
                    for (int i = 0; i < 100; i++) {
                        PooledBuffer b = pool.acquire(64);
                        b.close(); // with the first thread's state this would use its PoolCache.Local and throw
                    }
                    PooledBuffer kept = pool.acquire(64);
                    assertEquals(4, pool.stats().buffersInUse(), "3 of the first thread's, 1 of this one's");
                    kept.close();
                } catch (Throwable e) {
                    trouble.compareAndSet(null, e);
                }
            });
            second.start();
            second.join();
            assertEquals(first, pool.threadInSlotOf(second, 64), "a live thread keeps its slot");
            assertNull(trouble.get(), () -> "the colliding thread failed: " + trouble.get());
            assertEquals(3, pool.stats().buffersInUse());
            done.countDown();
            first.join();
            assertNull(trouble.get());
            assertEquals(0, pool.stats().buffersInUse());
            pool.checkInvariants();
        }
    }

    @Test
    void anExitedThreadsSlotGoesToTheNextThreadAndTrimDropsExitedStates() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("slots-exit").reserve(64L << 20).leakDetection(LeakDetection.OFF)
                .build()) {
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            Runnable use = () -> {
                try {
                    pool.acquire(64).close();
                } catch (Throwable e) {
                    trouble.compareAndSet(null, e);
                }
            };
            Thread first = new Thread(use, "first");
            first.start();
            first.join();
            assertEquals(1, pool.talliesByThread());
            Thread next = collidingWith(pool, first.getId(), use);
            next.start();
            next.join();
            assertNull(trouble.get());
            assertEquals(1, pool.talliesByThread());
            assertEquals(next, pool.threadInSlotOf(first, 64), "the exited thread's state gave its slot to the next one");
            pool.trim();
            assertEquals(0, pool.talliesByThread(), "trim drops exited threads' states");
            pool.acquire(64).close(); // the caller installs its own
            assertEquals(1, pool.talliesByThread());
            pool.trim();
            assertEquals(1, pool.talliesByThread(), "a live thread's state stays");
            assertEquals(0, pool.stats().buffersInUse());
            pool.checkInvariants();
            assertTrue(first.getState() == Thread.State.TERMINATED);
        }
    }

    @Test
    void manyClassesMeanFewerThreadSlots() throws Exception {
        int[] classes = new int[1000];
        for (int i = 0; i < classes.length; i++) {
            classes[i] = 16 * (i + 1);
        }
        try (BufferPool pool = BufferPool.builder().name("slots-many").reserve(256L << 20).sizeClasses(classes)
                .leakDetection(LeakDetection.OFF).build()) {
            assertEquals(16, pool.threadSlots(), "16384 entries / 1000 classes, rounded down to a power of two");
            for (int size : new int[] {1, 16, 17, 8000, 16000}) {
                pool.acquire(size).close();
            }
            assertEquals(4, pool.talliesByThread(), "one entry per class used (1 and 16 share the first)");
            pool.checkInvariants();
        }
        try (BufferPool pool = BufferPool.builder().name("slots-default").reserve(64L << 20).build()) {
            assertEquals(BufferPool.MAX_THREAD_SLOTS, pool.threadSlots());
        }
    }

    /** Large-span acquires find the thread's state through the state cache: a live thread keeps its slot, an exited one's goes to the next, trim drops exited ones. */
    @Test
    void largeAcquiresUseTheStateCacheByTheSameRules() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("slots-large").reserve(64L << 20).leakDetection(LeakDetection.OFF)
                .build()) {
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            CountDownLatch holding = new CountDownLatch(1);
            CountDownLatch done = new CountDownLatch(1);
            Thread first = new Thread(() -> {
                try {
                    PooledBuffer big = pool.acquire(1 << 20);
                    holding.countDown();
                    done.await();
                    big.close();
                } catch (Throwable e) {
                    trouble.compareAndSet(null, e);
                    holding.countDown();
                }
            }, "first");
            first.start();
            holding.await();
            assertEquals(first, pool.stateThreadInSlotOf(first));
            Thread second = collidingWith(pool, first.getId(), () -> {
                try {
                    for (int i = 0; i < 20; i++) {
                        pool.acquire(1 << 20).close();
                    }
                    assertEquals(1, pool.stats().largeBuffersInUse(), "the first thread's");
                } catch (Throwable e) {
                    trouble.compareAndSet(null, e);
                }
            });
            second.start();
            second.join();
            assertNull(trouble.get(), () -> "failed: " + trouble.get());
            assertEquals(first, pool.stateThreadInSlotOf(second), "a live thread keeps its slot");
            done.countDown();
            first.join();
            Thread third = collidingWith(pool, first.getId(), () -> {
                try {
                    pool.acquire(1 << 20).close();
                } catch (Throwable e) {
                    trouble.compareAndSet(null, e);
                }
            });
            third.start();
            third.join();
            assertNull(trouble.get());
            assertEquals(third, pool.stateThreadInSlotOf(first), "the exited thread's slot went to the next one");
            pool.trim();
            assertNull(pool.stateThreadInSlotOf(first), "trim drops exited threads' states");
            assertEquals(0, pool.stats().largeBuffersInUse());
            pool.checkInvariants();
        }
    }
}

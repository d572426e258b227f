package io.slab4j.buffer;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one-item hot slot of each thread's {@link ClassTally}: a close by the acquiring thread
 * parks the item there, and every way memory must come back still reaches it: {@code trim()},
 * the fold of an exited thread's tally, a waiting acquire (a close that parks while someone
 * waits hands the item over), and the class's close (it seals the slots and returns their
 * items, so the pool closes clean). A stress run races alternating owners with a trimming
 * thread and counts every address's owner.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class TallyHotSlotTest {

    private static SizeClassStats classOf(BufferPool pool, int size) {
        for (SizeClassStats s : pool.stats().sizeClasses()) {
            if (s.size() >= size) {
                return s;
            }
        }
        throw new AssertionError("no class for " + size);
    }

    @Test
    void trimReturnsTheCallersHotItem() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("hot-trim").reserve(16L << 20).leakDetection(LeakDetection.OFF).build()) {
            PooledBuffer b = pool.acquire(64);
            long address = b.address();
            b.close();
            assertEquals(1, classOf(pool, 64).slabs());
            assertEquals(0, classOf(pool, 64).idleSlabs(), "the closed buffer is parked in the thread's hot slot, still out");
            PooledBuffer again = pool.acquire(64);
            assertEquals(address, again.address(), "the next acquire of the class takes the hot item back");
            again.close();
            pool.trim();
            assertEquals(0, classOf(pool, 64).slabs(), "trim took the hot item, so the slab went back to the arena");
            pool.checkInvariants();
        }
    }

    @Test
    void anExitedThreadsHotItemGoesBackWhenItsTallyIsFolded() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("hot-exit").reserve(16L << 20).leakDetection(LeakDetection.OFF).build()) {
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try {
                    pool.acquire(64).close();
                } catch (Throwable e) {
                    trouble.set(e);
                }
            });
            t.start();
            t.join();
            assertNull(trouble.get());
            SizeClassStats s = classOf(pool, 64); // stats() folds the exited thread's tally
            assertEquals(1, s.slabs());
            assertEquals(1, s.idleSlabs(), "the exited thread's hot item is back in the pool: " + s);
            assertEquals(0, pool.sizeClassOf(64).tallies());
            pool.checkInvariants();
        }
    }

    @Test
    void aCloseThatParksWhileAnAcquireWaitsHandsTheBufferOver() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("hot-waiter").reserve(1L << 20).leakDetection(LeakDetection.OFF).build()) {
            List<PooledBuffer> all = new ArrayList<>();
            PooledBuffer b;
            while ((b = pool.tryAcquire(64)) != null) {
                all.add(b);
            }
            assertTrue(all.size() > 100, "the reservation is full of 64-byte buffers: " + all.size());
            AtomicReference<PooledBuffer> got = new AtomicReference<>();
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            Thread waiter = new Thread(() -> {
                try {
                    got.set(pool.acquire(64, Duration.ofSeconds(20)));
                } catch (Throwable e) {
                    trouble.set(e);
                }
            }, "waiter");
            waiter.start();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (pool.stats().waiters() == 0 && System.nanoTime() < until) {
                Thread.sleep(1);
            }
            assertEquals(1, pool.stats().waiters(), "the waiter is blocked");
            long start = System.nanoTime();
            all.remove(all.size() - 1).close(); // this thread's hot slot is empty: the close parks there first
            waiter.join(TimeUnit.SECONDS.toMillis(15));
            assertNull(trouble.get());
            assertNotNull(got.get(), "the waiter was served by the close, not by its 20 s timeout");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "served long before its timeout");
            got.get().close();
            for (PooledBuffer x : all) {
                x.close();
            }
            assertEquals(0, pool.stats().buffersInUse());
            pool.checkInvariants();
        }
    }

    @Test
    void theClassesCloseSealsTheSlotsAndReturnsTheirItems() throws Exception {
        BufferPool pool = BufferPool.builder().name("hot-close").reserve(16L << 20).leakDetection(LeakDetection.OFF).build();
        pool.acquire(64).close(); // parked in this thread's hot slot
        pool.checkInvariants();
        SizeClass k = pool.sizeClassOf(64);
        assertTrue(k.close(), "the class's pool closed clean: the sealed slot's item went back first");
        pool.close();
    }

    /** A fault no caller can cause (the handle's CAS prevents it): one item parked in two threads' hot slots; checkInvariants names it. */
    @Test
    void checkInvariantsFindsAnItemInTwoHotSlots() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("hot-check").reserve(16L << 20).leakDetection(LeakDetection.OFF).build()) {
            AtomicReference<Thread> other = new AtomicReference<>();
            AtomicLong parked = new AtomicLong();
            CountDownLatch done = new CountDownLatch(1);
            CountDownLatch checked = new CountDownLatch(1);
            Thread t = new Thread(() -> {
                try {
                    PooledBuffer b = pool.acquire(64);
                    parked.set(b.address());
                    b.close(); // into this thread's hot slot
                    done.countDown();
                    checked.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            other.set(t);
            t.start();
            done.await();
            pool.acquire(64).close(); // this thread's tally exists; its slot now holds its own item
            ClassTally mine = pool.tallyOf(Thread.currentThread(), 64);
            long own = mine.takeHot();
            assertTrue(own != 0 && mine.offerHot(parked.get()), "the fault: the other thread's parked item in this slot too");
            IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, pool::checkInvariants);
            assertTrue(e.getMessage().contains(Long.toHexString(parked.get())), e.getMessage());
            assertEquals(parked.get(), mine.takeHot()); // undo the fault
            assertTrue(mine.offerHot(own));
            pool.checkInvariants();
            checked.countDown();
            t.join();
        }
    }

    /** Two threads alternate acquire and close (through their hot slots) while a third trims; every address has one owner at a time. */
    @Tag("stress")
    @Test
    void alternatingOwnersAndATrimmerConserveEveryBuffer() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("hot-stress").reserve(16L << 20).leakDetection(LeakDetection.OFF).build()) {
            Set<Long> owned = ConcurrentHashMap.newKeySet();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong pairs = new AtomicLong();
            AtomicLong trims = new AtomicLong();
            AtomicReference<Throwable> trouble = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(3);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                int size = i == 0 ? 64 : 100; // one class, and a second one beside it
                threads.add(new Thread(() -> {
                    started.countDown();
                    try {
                        PooledBuffer kept = null;
                        while (!stop.get()) {
                            PooledBuffer b = pool.acquire(size);
                            if (!owned.add(b.address())) {
                                throw new AssertionError("address " + Long.toHexString(b.address()) + " handed out twice");
                            }
                            if (kept == null && (pairs.get() & 7) == 0) {
                                kept = b; // sometimes hold one, so the hot slot and the magazines both fill
                                continue;
                            }
                            owned.remove(b.address());
                            b.close();
                            if (kept != null && (pairs.get() & 3) == 0) {
                                owned.remove(kept.address());
                                kept.close();
                                kept = null;
                            }
                            pairs.incrementAndGet();
                        }
                        if (kept != null) {
                            owned.remove(kept.address());
                            kept.close();
                        }
                    } catch (Throwable e) {
                        trouble.compareAndSet(null, e);
                    }
                }, "owner-" + i));
            }
            threads.add(new Thread(() -> {
                started.countDown();
                try {
                    while (!stop.get()) {
                        pool.trim();
                        trims.incrementAndGet();
                    }
                } catch (Throwable e) {
                    trouble.compareAndSet(null, e);
                }
            }, "trimmer"));
            threads.forEach(Thread::start);
            started.await();
            Thread.sleep(1500);
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            assertNull(trouble.get(), () -> "failed: " + trouble.get());
            assertTrue(pairs.get() > 1000 && trims.get() > 10, pairs + " pairs, " + trims + " trims");
            assertTrue(owned.isEmpty());
            assertEquals(0, pool.stats().buffersInUse());
            pool.checkInvariants();
            pool.trim();
            for (SizeClassStats s : pool.stats().sizeClasses()) {
                assertEquals(0, s.slabs(), "everything came back: " + s);
            }
        }
    }
}

package io.slab4j.buffer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Under a 48 MiB reservation, acquires beyond what is free block, are served in arrival order, and time out cleanly. */
@Timeout(120)
class BackPressureTest {
    private static final long RESERVE = 48L << 20;
    private static final Duration DEADLINE = Duration.ofSeconds(60);
    private BufferPool pool;
    private final List<Thread> threads = new ArrayList<>();

    @AfterEach
    void tearDown() throws InterruptedException {
        for (Thread t : threads) {
            t.interrupt();
            t.join();
        }
        if (pool != null) {
            pool.close();
        }
    }

    static void await(String what, BooleanSupplier condition) {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.onSpinWait();
        }
    }

    /** Blocked acquires registered now: the arena's waiters or the class pools' ones (each test's waiters are all of one kind). */
    private int registered() {
        int inClasses = pool.stats().sizeClasses().stream().mapToInt(SizeClassStats::waiters).sum();
        return Math.max(pool.arenaStats().waiters(), inClasses);
    }

    private List<PooledBuffer> fill(int size) {
        List<PooledBuffer> held = new ArrayList<>();
        PooledBuffer b;
        while ((b = pool.tryAcquire(size)) != null) {
            held.add(b);
        }
        return held;
    }

    /** Starts {@code n} waiters for {@code size} one after another (each registered before the next starts); returns where their ids land. */
    private ConcurrentLinkedQueue<Integer> startWaiters(int n, int size, List<PooledBuffer> got, AtomicReference<Throwable> trouble) {
        ConcurrentLinkedQueue<Integer> served = new ConcurrentLinkedQueue<>();
        for (int i = 0; i < n; i++) {
            int id = i;
            int before = pool.stats().waiters();
            Thread t = new Thread(() -> {
                try {
                    PooledBuffer b = pool.acquire(size);
                    synchronized (got) {
                        got.add(b);
                    }
                    served.add(id);
                } catch (InterruptedException ignored) {
                    // tear-down
                } catch (Throwable e) {
                    trouble.set(e);
                }
            }, "waiter-" + id);
            t.start();
            threads.add(t);
            // counted in waiters() from before its last try, so also wait for its registration
            // (arena or class pool): else a preempted waiter could register after the next one
            await("waiter " + id + " to block", () -> pool.stats().waiters() == before + 1 && registered() == before + 1);
        }
        return served;
    }

    private void closeOneAtATimeAndCheckOrder(List<PooledBuffer> held, ConcurrentLinkedQueue<Integer> served, int waiters,
                                              AtomicReference<Throwable> trouble) {
        for (int i = 0; i < waiters; i++) {
            held.remove(held.size() - 1).close();
            int expected = i + 1;
            await("waiter " + i + " to be served", () -> served.size() == expected || trouble.get() != null);
            assertNull(trouble.get());
            assertEquals(i, List.copyOf(served).get(i), "served in arrival order: " + served);
            assertEquals(waiters - expected, pool.stats().waiters());
        }
    }

    @Test
    void largeAcquiresBlockAndAreServedInArrivalOrder() {
        pool = BufferPool.builder().name("bp-large").reserve(RESERVE).build();
        List<PooledBuffer> held = fill(1 << 20);
        assertEquals(48, held.size());
        List<PooledBuffer> got = new ArrayList<>();
        AtomicReference<Throwable> trouble = new AtomicReference<>();
        ConcurrentLinkedQueue<Integer> served = startWaiters(5, 1 << 20, got, trouble);
        closeOneAtATimeAndCheckOrder(held, served, 5, trouble);
        got.forEach(PooledBuffer::close);
        held.forEach(PooledBuffer::close);
        pool.checkInvariants();
    }

    @Test
    void classAcquiresBlockAndAreServedInArrivalOrder() {
        pool = BufferPool.builder().name("bp-class").reserve(RESERVE).build();
        List<PooledBuffer> held = fill(65536);
        assertTrue(held.size() >= 700, "held " + held.size());
        List<PooledBuffer> got = new ArrayList<>();
        AtomicReference<Throwable> trouble = new AtomicReference<>();
        ConcurrentLinkedQueue<Integer> served = startWaiters(4, 65536, got, trouble);
        closeOneAtATimeAndCheckOrder(held, served, 4, trouble);
        got.forEach(PooledBuffer::close);
        held.forEach(PooledBuffer::close);
        pool.checkInvariants();
    }

    /** A blocked small acquire is served by arena space freed by a large close (the grow branch wins; the put branch is withdrawn). */
    @Test
    void aLargeCloseServesABlockedSmallAcquire() {
        pool = BufferPool.builder().name("bp-cross").reserve(RESERVE).build();
        List<PooledBuffer> held = fill(1 << 20);
        assertEquals(48, held.size());
        List<PooledBuffer> got = new ArrayList<>();
        AtomicReference<Throwable> trouble = new AtomicReference<>();
        ConcurrentLinkedQueue<Integer> served = startWaiters(1, 4096, got, trouble);
        held.remove(0).close();
        await("the small waiter", () -> served.size() == 1 || trouble.get() != null);
        assertNull(trouble.get());
        assertEquals(0, pool.stats().waiters());
        assertEquals(4096, got.get(0).capacity());
        got.forEach(PooledBuffer::close);
        held.forEach(PooledBuffer::close);
        pool.checkInvariants();
    }

    @Test
    void timedAcquiresTimeOutCleanlyWhenNobodyCloses() throws InterruptedException {
        pool = BufferPool.builder().name("bp-timeout").reserve(RESERVE).build();
        List<PooledBuffer> held = fill(1 << 20);
        BufferPoolStats before = pool.stats();
        assertNull(pool.acquire(1 << 20, Duration.ofMillis(50)));
        assertNull(pool.acquire(65536, Duration.ofMillis(50)));
        assertNull(pool.acquire(64, Duration.ofMillis(50)));
        BufferPoolStats after = pool.stats();
        assertEquals(0, after.waiters());
        assertEquals(before.buffersInUse(), after.buffersInUse());
        assertEquals(before.usedBytes(), after.usedBytes());
        pool.checkInvariants();
        held.remove(0).close();
        PooledBuffer b = pool.acquire(1 << 20, Duration.ofMillis(50));
        assertEquals(1 << 20, b.capacity());
        b.close();
        held.forEach(PooledBuffer::close);
        pool.checkInvariants();
    }

    @Test
    void closingThePoolWakesBlockedAcquiresWithIllegalState() {
        pool = BufferPool.builder().name("bp-close").reserve(RESERVE).build();
        List<PooledBuffer> held = fill(1 << 20);
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                pool.acquire(1 << 20);
                outcome.set(new AssertionError("served"));
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        t.start();
        threads.add(t);
        await("the waiter to block", () -> pool.stats().waiters() == 1);
        pool.close();
        await("the waiter to leave", () -> outcome.get() != null);
        assertTrue(outcome.get() instanceof IllegalStateException, String.valueOf(outcome.get()));
        held.forEach(PooledBuffer::close);
    }

    /** The committed cap (the arena's maxCommitted) bounds the pool below its reservation, and waits behave as at the reservation. */
    @Test
    void theCommittedCapHoldsBelowTheReservation() {
        pool = BufferPool.builder().name("bp-cap").reserve(RESERVE).maxCommitted(8L << 20).build();
        List<PooledBuffer> held = fill(1 << 20);
        assertEquals(8, held.size());
        assertTrue(pool.stats().committedBytes() <= 8L << 20, pool.stats()::toString);
        assertTrue(pool.tryAcquire(4096) == null, "a class grow is held back by the cap too");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> pool.tryAcquire(9 << 20));
        assertTrue(e.getMessage().contains("9437184"), e.getMessage());
        List<PooledBuffer> got = new ArrayList<>();
        AtomicReference<Throwable> trouble = new AtomicReference<>();
        ConcurrentLinkedQueue<Integer> served = startWaiters(3, 1 << 20, got, trouble);
        closeOneAtATimeAndCheckOrder(held, served, 3, trouble);
        assertTrue(pool.stats().committedBytes() <= 8L << 20, pool.stats()::toString);
        got.forEach(PooledBuffer::close);
        held.forEach(PooledBuffer::close);
        pool.checkInvariants();
    }
}

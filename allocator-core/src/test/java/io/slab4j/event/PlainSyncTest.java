package io.slab4j.event;

import io.slab4j.testing.Await;

import static io.slab4j.event.Events.always;
import static io.slab4j.event.Events.choose;
import static io.slab4j.event.Events.never;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The plain-event path of {@link Sync}: an event with no guard and no withNack is polled
 * in place. These tests pin what that path must and must not do: a ready leaf commits
 * through {@code tryNow} alone (no waiter, no registration), every leaf is polled exactly
 * once per sync and never twice, wraps run exactly as on the full path, the interrupt rule
 * on entry is unchanged, and the path allocates nothing of its own.
 */
@Timeout(30) // a lost wake-up must fail, not hang the build
class PlainSyncTest {

    @AfterEach
    void clearInterruptFlag() {
        Thread.interrupted();
    }

    /**
     * A source that counts its calls: ready with {@code value} (in tryNow and register)
     * while {@code ready}, else registers; a registration is recorded so tests can prove
     * none was made.
     */
    static final class Counting<T> extends BaseEvent<T> {
        final T value;
        volatile boolean ready;
        final AtomicInteger polls = new AtomicInteger();
        final AtomicInteger registers = new AtomicInteger();
        final AtomicInteger cancels = new AtomicInteger();

        Counting(T value, boolean ready) {
            this.value = value;
            this.ready = ready;
        }

        @Override
        protected T tryNow() {
            polls.incrementAndGet();
            return ready ? value : null;
        }

        @Override
        protected Registration register(Waiter<T> waiter) {
            registers.incrementAndGet();
            if (ready) {
                if (waiter.claim()) {
                    waiter.complete(value);
                }
                return Registration.NONE;
            }
            return cancels::incrementAndGet;
        }
    }

    @Test
    void aReadyBaseEventCommitsThroughTryNowAloneAndRegistersNothing() throws InterruptedException {
        Counting<String> src = new Counting<>("v", true);
        assertEquals("v", src.sync());
        assertEquals(Optional.of("v"), src.poll());
        assertEquals("v!", src.wrap(s -> s + "!").sync());
        assertEquals(3, src.polls.get());
        assertEquals(0, src.registers.get(), "a ready plain event makes no registration");
    }

    @Test
    void aNotReadyBaseEventIsPolledOnceThenRegistered() throws InterruptedException {
        Counting<String> src = new Counting<>("late", false);
        Syncer<String> s = Syncer.start("sync", src.wrap(v -> v + "!"));
        Await.until("registered", () -> src.registers.get() == 1);
        assertEquals(1, src.polls.get(), "the plain poll is not repeated before registering");
        s.interrupt();
        assertInstanceOf(InterruptedException.class, s.failure());
        assertEquals(1, src.cancels.get(), "the registration is withdrawn");

        // ready only by the time it registers: register's re-check under the lock commits
        BaseEvent<String> lateReady = SourceProtocolTest.lateSource(w -> {
            if (w.claim()) {
                w.complete("at-register");
            }
            return Registration.NONE;
        });
        assertEquals("at-register!", lateReady.wrap(v -> v + "!").sync());
    }

    @Test
    void pollOfANotReadyPlainEventRegistersNothing() {
        Counting<String> a = new Counting<>("a", false);
        Counting<String> b = new Counting<>("b", false);
        assertEquals(Optional.empty(), a.poll());
        assertEquals(Optional.empty(), choose(a, b.wrap(v -> v + "!"), never()).poll());
        assertEquals(2, a.polls.get());
        assertEquals(1, b.polls.get());
        assertEquals(0, a.registers.get() + b.registers.get());
    }

    /**
     * Nested choices and wraps, exactly one leaf ready: whatever the random starting leaf,
     * each leaf is polled at most once, the ready one's value comes back through its own
     * wraps (innermost first), and nothing registers.
     */
    @Test
    void aPlainTreePollsEachLeafAtMostOnceAndUnwrapsTheWinner() throws InterruptedException {
        for (int readyLeaf = 0; readyLeaf < 4; readyLeaf++) {
            for (int round = 0; round < 25; round++) {
                List<Counting<String>> leaves = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    leaves.add(new Counting<>("L" + i, i == readyLeaf));
                }
                Event<String> tree = choose(
                        leaves.get(0),
                        choose(leaves.get(1).wrap(v -> v + "a"), leaves.get(2)).wrap(v -> v + "b"),
                        never(),
                        leaves.get(3).wrap(v -> v + "c").wrap(v -> v + "d"));
                String expected = switch (readyLeaf) {
                    case 0 -> "L0";
                    case 1 -> "L1ab";
                    case 2 -> "L2b";
                    default -> "L3cd";
                };
                String got = round % 2 == 0 ? tree.sync() : tree.poll().orElseThrow();
                assertEquals(expected, got);
                int polled = 0;
                for (Counting<String> leaf : leaves) {
                    assertTrue(leaf.polls.get() <= 1, "a leaf was polled twice");
                    assertEquals(0, leaf.registers.get());
                    polled += leaf.polls.get();
                }
                assertTrue(leaves.get(readyLeaf).polls.get() == 1 && polled >= 1);
            }
        }
    }

    /**
     * One wrap shared by two positions, outermost in one and inside another wrap in the
     * other (a wrap with nothing around it is its own list of wraps): each position unwraps
     * its own way, on the plain path, on the full path (inside a guard) and when woken.
     */
    @Test
    void aSharedWrapUnwrapsRightInEveryPosition() throws InterruptedException {
        Counting<Integer> a = new Counting<>(1, false);
        Counting<Integer> b = new Counting<>(10, false);
        Event<Integer> plusOne = a.wrap(v -> v + 1);
        Event<Integer> times = b.wrap(v -> v * 3);
        Event<Integer> tree = choose(plusOne, plusOne.wrap(v -> v * 100), times, times.wrap(v -> -v));
        for (boolean guarded : new boolean[] {false, true}) {
            Event<Integer> e = guarded ? Events.guard(() -> tree) : tree;
            a.ready = true;
            for (int i = 0; i < 40; i++) {
                int got = e.sync();
                assertTrue(got == 2 || got == 200, "got " + got);
            }
            a.ready = false;
            b.ready = true;
            for (int i = 0; i < 40; i++) {
                int got = e.poll().orElseThrow();
                assertTrue(got == 30 || got == -30, "got " + got);
            }
            b.ready = false;
        }
        Channel<Integer> c = new Channel<>();
        Event<Integer> shared = c.recvEvent().wrap(v -> v + 1);
        Syncer<Integer> s = Syncer.start("woken", choose(shared.wrap(v -> v * 100), Events.guard(() -> shared)));
        Await.until("registered", () -> c.waiters() == 2);
        c.send(4);
        int got = s.value();
        assertTrue(got == 5 || got == 500, "got " + got);
    }

    /** None ready: every leaf is polled exactly once, then registered exactly once. */
    @Test
    void aPlainChoiceWithNothingReadyPollsEveryLeafOnceThenRegistersEach() throws InterruptedException {
        Counting<String> a = new Counting<>("a", false);
        Counting<String> b = new Counting<>("b", false);
        Counting<String> c = new Counting<>("c", false);
        Syncer<String> s = Syncer.start("sync", choose(a, choose(b, c.wrap(v -> v))));
        Await.until("registered", () -> a.registers.get() + b.registers.get() + c.registers.get() == 3);
        for (Counting<String> leaf : List.of(a, b, c)) {
            assertEquals(1, leaf.polls.get(), "polled once, not again before registering");
            assertEquals(1, leaf.registers.get());
        }
        s.interrupt();
        assertInstanceOf(InterruptedException.class, s.failure());
        assertEquals(3, a.cancels.get() + b.cancels.get() + c.cancels.get());
    }

    /** Unchanged rule: an interrupted thread gets InterruptedException, even when the event is ready. */
    @Test
    void interruptFlagSetBeforeSyncOnAReadyEventThrowsAndTransfersNothing() {
        Counting<String> src = new Counting<>("v", true);
        for (Event<String> e : List.of(src, src.wrap(v -> v), choose(src, src))) {
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, e::sync);
            assertFalse(Thread.currentThread().isInterrupted(), "the flag is consumed, as by Semaphore.acquire");
        }
        assertEquals(0, src.polls.get(), "nothing was polled, so nothing was taken");
    }

    @Test
    void pollIgnoresTheInterruptFlag() {
        Counting<String> src = new Counting<>("v", true);
        Thread.currentThread().interrupt();
        assertEquals(Optional.of("v"), src.poll());
        assertEquals(Optional.of("v"), choose(src, never()).poll());
        assertTrue(Thread.interrupted(), "poll leaves the flag set");
    }

    @Test
    void failuresOnThePlainPathPropagateAsOnTheFullPath() {
        IllegalStateException closed = new IllegalStateException("closed");
        BaseEvent<Integer> throwing = new BaseEvent<>() {
            @Override
            protected Integer tryNow() {
                throw closed;
            }

            @Override
            protected Registration register(Waiter<Integer> waiter) {
                throw new AssertionError("not reached");
            }
        };
        assertSame(closed, assertThrows(IllegalStateException.class, throwing::sync));
        assertSame(closed, assertThrows(IllegalStateException.class, () -> choose(throwing, never()).poll()));

        Counting<String> src = new Counting<>("v", true);
        NullPointerException e = assertThrows(NullPointerException.class, () -> src.wrap(v -> null).sync());
        assertTrue(e.getMessage().contains("never yields null"), e.getMessage());
        RuntimeException boom = new RuntimeException("boom");
        assertSame(boom, assertThrows(RuntimeException.class, () -> choose(src, src).wrap(v -> {
            throw boom;
        }).poll()));
        assertEquals(0, src.registers.get());
    }

    /** A timeout is a plain leaf: zero is ready at once, a long one lets the sync register and wait. */
    @Test
    void timeoutsInAPlainChoice() throws InterruptedException {
        Counting<String> src = new Counting<>("v", false);
        assertEquals(io.slab4j.event.Timeout.TIMEOUT, choose(src, Events.timeout(Duration.ZERO)).sync());
        assertEquals(Optional.of(io.slab4j.event.Timeout.TIMEOUT), choose(src, Events.timeout(Duration.ofNanos(-5))).poll());
        assertEquals(Optional.empty(), choose(src, Events.timeout(Duration.ofDays(1))).poll());
        assertEquals(0, src.registers.get(), "a ready timeout leaves nothing registered");
        assertEquals("late", choose(src.wrap(v -> "early"), Events.timeout(Duration.ofMillis(50)).wrap(t -> "late")).sync());
        assertEquals(1, src.registers.get());
        assertEquals(1, src.cancels.get());
    }

    /**
     * A fast-path receiver racing a parked waiter on the same channel: every sent value is
     * received exactly once, by one of them, and nothing stays registered or buffered.
     */
    @Test
    void plainPollsRacingAParkedWaiterTransferEachValueOnce() throws InterruptedException {
        int values = 20_000;
        Channel<Integer> c = new Channel<>("raced");
        ConcurrentHashMap<Integer, String> received = new ConcurrentHashMap<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread waiter = new Thread(() -> {
            try {
                for (;;) {
                    Integer v = c.recvEvent().sync();
                    if (received.putIfAbsent(v, "waiter") != null) {
                        failure.compareAndSet(null, new AssertionError(v + " received twice"));
                    }
                }
            } catch (InterruptedException e) {
                // the end of the test
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        }, "waiter");
        Thread poller = new Thread(() -> {
            try {
                Event<Integer> either = choose(c.recvEvent().wrap(v -> v), never());
                for (int i = 0; received.size() < values; i++) {
                    Optional<Integer> v = (i & 1) == 0 ? c.recvEvent().poll() : either.poll();
                    if (v.isPresent() && received.putIfAbsent(v.get(), "poller") != null) {
                        failure.compareAndSet(null, new AssertionError(v.get() + " received twice"));
                    }
                    Thread.onSpinWait();
                }
            } catch (Throwable t) {
                failure.compareAndSet(null, t);
            }
        }, "poller");
        waiter.setDaemon(true);
        poller.setDaemon(true);
        waiter.start();
        poller.start();
        for (int i = 0; i < values; i++) {
            c.send(i);
        }
        poller.join(Await.DEADLINE_SECONDS * 1000);
        assertFalse(poller.isAlive(), "the poller did not see every value received");
        Await.until("waiter parked again", () -> c.waiters() == 1 || failure.get() != null);
        waiter.interrupt();
        waiter.join(Await.DEADLINE_SECONDS * 1000);
        assertNull(failure.get());
        assertEquals(values, received.size());
        assertEquals(values, c.transfers(), "exactly one transfer per value");
        assertEquals(0, c.waiters() + c.buffered());
    }

    /**
     * The plain path makes no object of its own: no Sync, branch, waiter or offer. Measured
     * with the JVM's per-thread allocation counter, so it holds interpreted or compiled:
     * 10 000 syncs of ready plain events allocate less than one Sync would per sync.
     */
    @Test
    void syncsOfReadyPlainEventsAllocateNothingOfTheirOwn() throws InterruptedException {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        assumeTrue(bean instanceof com.sun.management.ThreadMXBean
                && ((com.sun.management.ThreadMXBean) bean).isThreadAllocatedMemorySupported());
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        Event<Long> single = always(1L);
        Event<Long> two = choose(always(2L), always(3L));
        long sum = 0;
        for (int i = 0; i < 1_000; i++) { // first calls: class loading and linkage allocate
            sum += single.sync() + two.sync();
        }
        long id = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(id);
        for (int i = 0; i < 10_000; i++) {
            sum += single.sync() + two.sync();
        }
        long allocated = threads.getThreadAllocatedBytes(id) - before;
        assertTrue(sum > 0);
        assertTrue(allocated < 20_000 * 8,
                "20 000 syncs of ready plain events allocated " + allocated + " bytes");
    }
}

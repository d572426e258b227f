package io.slab4j.event;

import io.slab4j.testing.Await;

import static io.slab4j.event.Events.always;
import static io.slab4j.event.Events.choose;
import static io.slab4j.event.Events.guard;
import static io.slab4j.event.Events.timeout;
import static io.slab4j.event.Events.withNack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A withNack's nack fires exactly once iff its branch is not the one committed, on the
 * syncing thread during clean-up, and can be waited on by any thread.
 */
@org.junit.jupiter.api.Timeout(30) // a lost wake-up must fail, not hang the build
class WithNackTest {

    /** Records the NackEvent of each instantiation and how often its onNack ran. */
    static final class Probe {
        final AtomicReference<NackEvent> nack = new AtomicReference<>();
        final AtomicInteger fired = new AtomicInteger();
        final AtomicReference<Thread> firedOn = new AtomicReference<>();

        <T> Event<T> around(Event<T> inner) {
            return withNack(n -> {
                nack.set(n);
                n.onNack(() -> {
                    fired.incrementAndGet();
                    firedOn.set(Thread.currentThread());
                });
                return inner;
            });
        }

        boolean nackEnabled() {
            return nack.get().poll().isPresent();
        }
    }

    @Test
    void firesWhenAnotherBranchWins() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        Probe p = new Probe();
        assertEquals(5, choose(p.around(c.recvEvent()), always(5)).sync());
        assertEquals(1, p.fired.get());
        assertSame(Thread.currentThread(), p.firedOn.get());
        assertTrue(p.nackEnabled());
        assertEquals(0, c.waiters());
    }

    @Test
    void firesWhenAnotherBranchWinsWhileWaiting() throws InterruptedException {
        Channel<Integer> c1 = new Channel<>("c1");
        Channel<Integer> c2 = new Channel<>("c2");
        Probe p = new Probe();
        Syncer<Integer> s = Syncer.start("sync", choose(p.around(c1.recvEvent()), c2.recvEvent()));
        Await.until("registered", () -> c1.waiters() == 1 && c2.waiters() == 1);
        assertEquals(0, p.fired.get());
        c2.send(2);
        assertEquals(2, s.value());
        assertEquals(1, p.fired.get());
        assertSame(s.thread(), p.firedOn.get(), "onNack runs on the syncing thread");
        assertEquals(0, c1.waiters());
    }

    @Test
    void notFiredWhenItsBranchWins() throws InterruptedException {
        Channel<Integer> c1 = new Channel<>("c1");
        Channel<Integer> c2 = new Channel<>("c2");
        Probe p = new Probe();
        Syncer<Integer> s = Syncer.start("sync", choose(p.around(c1.recvEvent()), c2.recvEvent()));
        Await.until("registered", () -> c1.waiters() == 1 && c2.waiters() == 1);
        c1.send(1);
        assertEquals(1, s.value());
        assertEquals(0, p.fired.get());
        assertFalse(p.nackEnabled());
        c1.send(3);
        assertEquals(Optional.of(3), choose(p.around(c1.recvEvent()), Events.<Integer>never()).poll());
        assertEquals(0, p.fired.get(), "poll committing the branch does not fire it either");
    }

    @Test
    void firesWhenTimeoutWins() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        Probe p = new Probe();
        Object got = choose(p.around(c.recvEvent()), timeout(Duration.ofMillis(20))).sync();
        assertEquals(Timeout.TIMEOUT, got);
        assertEquals(1, p.fired.get());
        assertEquals(0, c.waiters());
    }

    @Test
    void notFiredWhenItWrapsTheWinningTimeout() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        Probe p = new Probe();
        Probe other = new Probe();
        Object got = choose(other.around(c.recvEvent()), p.around(timeout(Duration.ofMillis(1)))).sync();
        assertEquals(Timeout.TIMEOUT, got);
        assertEquals(0, p.fired.get());
        assertEquals(1, other.fired.get());
    }

    @Test
    void firesWhenInterrupted() throws InterruptedException {
        Channel<Integer> c1 = new Channel<>("c1");
        Channel<Integer> c2 = new Channel<>("c2");
        Probe p = new Probe();
        Syncer<Integer> s = Syncer.start("sync", choose(p.around(c1.recvEvent()), c2.recvEvent()));
        Await.until("registered", () -> c1.waiters() == 1 && c2.waiters() == 1);
        s.interrupt();
        assertInstanceOf(InterruptedException.class, s.failure());
        assertEquals(1, p.fired.get());
        assertSame(s.thread(), p.firedOn.get());
        assertEquals(0, c1.waiters() + c2.waiters());
    }

    @Test
    void firesWhenPollCommitsSomethingElse() {
        Channel<Integer> c = new Channel<>();
        Probe p = new Probe();
        assertEquals(Optional.of(1), choose(p.around(c.recvEvent()), always(1)).poll());
        assertEquals(1, p.fired.get());
    }

    @Test
    void firesWhenPollCommitsNothing() {
        Channel<Integer> c = new Channel<>();
        Probe p = new Probe();
        assertEquals(Optional.empty(), p.around(c.recvEvent()).poll());
        assertEquals(1, p.fired.get());
        assertEquals(0, c.waiters());
    }

    /** withNack(choose(c1, c2)) vs c3: the nack fires iff c3 wins. */
    @Test
    void nestedChooseInsideWithNack() throws InterruptedException {
        for (int winner = 1; winner <= 3; winner++) {
            Channel<Integer> c1 = new Channel<>("c1");
            Channel<Integer> c2 = new Channel<>("c2");
            Channel<Integer> c3 = new Channel<>("c3");
            Probe p = new Probe();
            Event<Integer> e = choose(p.around(choose(c1.recvEvent(), c2.recvEvent())), c3.recvEvent());
            assertNackFiresIff(winner == 3, winner, e, p, c1, c2, c3);
        }
    }

    /** guard(withNack(guard(choose(c1, c2)))) vs c3: guards inside and outside the scope. */
    @Test
    void nestedInsideGuards() throws InterruptedException {
        for (int winner = 1; winner <= 3; winner++) {
            Channel<Integer> c1 = new Channel<>("c1");
            Channel<Integer> c2 = new Channel<>("c2");
            Channel<Integer> c3 = new Channel<>("c3");
            Probe p = new Probe();
            Event<Integer> e = choose(
                    guard(() -> p.around(guard(() -> choose(c1.recvEvent(), c2.recvEvent())))),
                    c3.recvEvent());
            assertNackFiresIff(winner == 3, winner, e, p, c1, c2, c3);
        }
    }

    private static void assertNackFiresIff(boolean expected, int winner, Event<Integer> e, Probe p,
            Channel<Integer> c1, Channel<Integer> c2, Channel<Integer> c3) throws InterruptedException {
        Syncer<Integer> s = Syncer.start("sync", e);
        Await.until("registered", () -> c1.waiters() == 1 && c2.waiters() == 1 && c3.waiters() == 1);
        List<Channel<Integer>> cs = List.of(c1, c2, c3);
        cs.get(winner - 1).send(winner);
        assertEquals(winner, s.value());
        assertEquals(expected ? 1 : 0, p.fired.get(), "winner c" + winner);
        assertEquals(expected, p.nackEnabled(), "winner c" + winner);
        assertEquals(0, c1.waiters() + c2.waiters() + c3.waiters());
    }

    /** withNack(outer: choose(withNack(inner: c1), c2)) vs c3. */
    @Test
    void nestedWithNacks() throws InterruptedException {
        int[][] expectedOuterInner = {{0, 0}, {0, 1}, {1, 1}};
        for (int winner = 1; winner <= 3; winner++) {
            Channel<Integer> c1 = new Channel<>("c1");
            Channel<Integer> c2 = new Channel<>("c2");
            Channel<Integer> c3 = new Channel<>("c3");
            Probe outer = new Probe();
            Probe inner = new Probe();
            Event<Integer> e = choose(outer.around(choose(inner.around(c1.recvEvent()), c2.recvEvent())),
                    c3.recvEvent());
            List.of(c1, c2, c3).get(winner - 1).send(winner);
            assertEquals(winner, e.sync());
            assertEquals(expectedOuterInner[winner - 1][0], outer.fired.get(), "outer, winner c" + winner);
            assertEquals(expectedOuterInner[winner - 1][1], inner.fired.get(), "inner, winner c" + winner);
        }
    }

    @Test
    void onNackRunsExactlyOnceAlsoWhenAddedAfterFiring() throws InterruptedException {
        Probe p = new Probe();
        AtomicInteger before = new AtomicInteger();
        AtomicInteger after = new AtomicInteger();
        Event<Integer> e = choose(withNack(n -> {
            p.nack.set(n);
            n.onNack(before::incrementAndGet);
            n.onNack(before::incrementAndGet);
            return Events.<Integer>never();
        }), always(1));
        assertEquals(1, e.sync());
        assertEquals(2, before.get(), "each action once");
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        p.nack.get().onNack(() -> {
            after.incrementAndGet();
            ranOn.set(Thread.currentThread());
        });
        assertEquals(1, after.get(), "runs at once when already fired");
        assertSame(Thread.currentThread(), ranOn.get());
        assertEquals(2, before.get(), "no refire");
        assertEquals(1, after.get());
    }

    /** onNack racing with the fire: every action runs exactly once, before or after. */
    @Test
    void onNackRacingTheFireRunsEachActionOnce() throws InterruptedException {
        for (int round = 0; round < 200; round++) {
            AtomicReference<NackEvent> nack = new AtomicReference<>();
            CountDownLatch published = new CountDownLatch(1);
            AtomicInteger runs = new AtomicInteger();
            Channel<Integer> c = new Channel<>();
            Syncer<Object> s = Syncer.start("sync", choose(withNack(n -> {
                nack.set(n);
                published.countDown();
                return c.recvEvent();
            }), timeout(Duration.ofNanos(round * 1000L))));
            assertTrue(published.await(Await.DEADLINE_SECONDS, TimeUnit.SECONDS));
            for (int i = 0; i < 10; i++) {
                nack.get().onNack(runs::incrementAndGet);
            }
            assertEquals(Timeout.TIMEOUT, s.value());
            assertEquals(10, runs.get(), "round " + round);
        }
    }

    @Test
    void nackCanBeSyncedByAnotherThread() throws InterruptedException {
        Channel<Integer> c1 = new Channel<>("c1");
        Channel<Integer> c2 = new Channel<>("c2");
        AtomicReference<Syncer<Nack>> helper = new AtomicReference<>();
        Syncer<Integer> s = Syncer.start("sync", choose(withNack(n -> {
            helper.set(Syncer.start("nack-helper", n.wrap(x -> x)));
            return c1.recvEvent();
        }), c2.recvEvent()));
        Await.until("registered", () -> c1.waiters() == 1 && c2.waiters() == 1 && helper.get() != null);
        Await.parked(helper.get().thread());
        assertFalse(helper.get().isFinished());
        c2.send(2);
        assertEquals(2, s.value());
        assertEquals(Nack.NACK, helper.get().value());
    }

    @Test
    void nackOfTheWinningBranchNeverFires() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        c.send(1);
        Probe p = new Probe();
        assertEquals(1, p.around(c.recvEvent()).sync());
        Syncer<Nack> helper = Syncer.start("nack-helper", p.nack.get());
        Await.parked(helper.thread());
        helper.interrupt();
        assertInstanceOf(InterruptedException.class, helper.failure());
        assertEquals(Optional.empty(), p.nack.get().poll());
        assertEquals(0, p.fired.get());
    }

    @Test
    void throwingWithNackFunctionFiresItsOwnNack() {
        AtomicReference<NackEvent> captured = new AtomicReference<>();
        IllegalStateException boom = new IllegalStateException("boom");
        Event<Integer> e = withNack(n -> {
            captured.set(n);
            throw boom;
        });
        assertSame(boom, assertThrows(IllegalStateException.class, e::sync));
        assertTrue(captured.get().poll().isPresent());
        assertThrows(NullPointerException.class, () -> withNack(n -> null).poll());
    }

    @Test
    void throwingOnNackActionPropagatesAfterTheOthersRan() {
        List<String> ran = new ArrayList<>();
        IllegalStateException boom = new IllegalStateException("boom");
        Probe other = new Probe();
        Event<Integer> e = choose(withNack(n -> {
            n.onNack(() -> ran.add("a"));
            n.onNack(() -> {
                throw boom;
            });
            n.onNack(() -> ran.add("c"));
            return Events.<Integer>never();
        }), other.around(Events.<Integer>never()));
        assertSame(boom, assertThrows(IllegalStateException.class, e::poll));
        assertEquals(List.of("a", "c"), ran);
        assertEquals(1, other.fired.get(), "the other nack still fired");
    }

    @Test
    void aThrowingOnNackActionDoesNotDropTheWinnersValue() throws InterruptedException {
        IllegalStateException boom = new IllegalStateException("boom");
        List<Throwable> reported = new ArrayList<>();
        Thread self = Thread.currentThread();
        Thread.UncaughtExceptionHandler previous = self.getUncaughtExceptionHandler();
        self.setUncaughtExceptionHandler((t, e) -> reported.add(e));
        try {
            Event<Integer> e = choose(Events.always(7), withNack(n -> {
                n.onNack(() -> {
                    throw boom;
                });
                return Events.<Integer>never();
            }));
            assertEquals(7, e.sync(), "the value already won is delivered");
            assertEquals(List.of(boom), reported, "and the clean-up failure is reported, not swallowed");
            assertEquals(7, e.poll().orElseThrow());
            assertEquals(List.of(boom, boom), reported);
        } finally {
            self.setUncaughtExceptionHandler(previous);
        }
    }
}

package io.slab4j.event;

import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Review 20 (reviewer a): the event layer's composition through its public API only — interrupts on entry,
 * wraps that throw on a withNack's winning branch, the clean-up order seen from a wrap, nested syncs inside
 * nack actions, duplicate branches, clamped and non-positive timeouts.
 */
@org.junit.jupiter.api.Timeout(value = 20, unit = TimeUnit.SECONDS)
class Review20EventTest {

    // ------------------------------------------------------------------ interrupts

    @Test
    void anInterruptBeforeTheSyncRunsNoWithNackOrGuardOrElseFiresItsNack() {
        // Event.sync: "an interrupted thread gets InterruptedException without the event being performed
        // (checked on entry)"; a withNack's nack fires iff its branch is not the one committed. So either the
        // function never ran, or its nack fired; and the ready value stays in the channel.
        Channel<String> ch = new Channel<>("r20-entry");
        ch.send("kept");
        AtomicInteger made = new AtomicInteger();
        AtomicInteger fired = new AtomicInteger();
        AtomicInteger guarded = new AtomicInteger();
        Event<String> e = Events.guard(() -> {
            guarded.incrementAndGet();
            return Events.withNack(n -> {
                made.incrementAndGet();
                n.onNack(fired::incrementAndGet);
                return ch.recvEvent();
            });
        });
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, e::sync);
        assertFalse(Thread.currentThread().isInterrupted(), "the InterruptedException consumed the interrupt");
        assertEquals(made.get(), fired.get(), "a withNack function ran on entry without its nack firing");
        assertEquals(1, ch.buffered(), "the interrupted sync took the ready value");
        assertEquals(0, ch.waiters());
        ch.checkInvariants();
    }

    @Test
    void aZeroTimeoutSyncedWithTheInterruptFlagSetThrows() {
        // Event.sync checks the interrupt on entry, whatever the event: even a timeout that is ready at once.
        // (Distinct from BufferPool's zero timeout, which never waits and keeps the flag.)
        for (Duration d : new Duration[] {Duration.ZERO, Duration.ofSeconds(-3)}) {
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, () -> Events.timeout(d).sync(), "timeout(" + d + ")");
            assertFalse(Thread.interrupted());
            // poll ignores the flag, and a non-positive timeout is ready there
            Thread.currentThread().interrupt();
            assertEquals(Optional.of(Timeout.TIMEOUT), Events.timeout(d).poll());
            assertTrue(Thread.interrupted(), "poll consumed the interrupt flag");
        }
    }

    @Test
    void anInterruptWhileWaitingWithAThrowingNackActionIsNotLost() throws Exception {
        // Sync: an interrupt while waiting "withdraws every registration, fires every nack and throws"; a nack
        // action's exception "propagates from the sync that fired the nack (after its clean-up) when nothing won".
        // Whichever of the two the caller sees, the interrupt must not be lost: either InterruptedException, or
        // the action's exception with the interrupt flag set again.
        Channel<String> ch = new Channel<>("r20-int-throw");
        AtomicInteger fired = new AtomicInteger();
        Event<String> e = Events.withNack(n -> {
            n.onNack(() -> {
                fired.incrementAndGet();
                throw new IllegalStateException("r20 nack action");
            });
            return ch.recvEvent();
        });
        AtomicReference<Thread> self = new AtomicReference<>();
        CompletableFuture<String> f = Background.start("r20-int-throw", () -> {
            self.set(Thread.currentThread());
            try {
                e.sync();
                return "returned";
            } catch (InterruptedException ie) {
                return "interrupted";
            } catch (IllegalStateException ise) {
                return Thread.currentThread().isInterrupted() ? "action-with-flag" : "action-flag-lost";
            }
        });
        Await.until("syncer registered", () -> ch.waiters() == 1);
        Await.parkedInSync(self.get());
        self.get().interrupt();
        String outcome = f.get(10, TimeUnit.SECONDS);
        assertTrue(outcome.equals("interrupted") || outcome.equals("action-with-flag"),
                "the interrupt was lost: " + outcome);
        assertEquals(1, fired.get());
        assertEquals(0, ch.waiters());
        ch.send("after");
        assertEquals(1, ch.buffered(), "a value sent after the interrupted sync went to a gone waiter");
    }

    // ------------------------------------------------------------------ withNack and wrap

    @Test
    void aWrapThatThrowsOnTheWinningBranchDoesNotFireThatBranchsNack() {
        // Event.wrap: "An exception from f propagates from sync/poll (the commit has happened)"; Events.withNack:
        // "The nack fires iff none of that event's branches is the one committed". The wrap's failure after the
        // commit is not a loss of the branch: its nack must stay silent; the other withNack's nack fires.
        for (int inner = 0; inner < 2; inner++) {
            AtomicInteger winnerNack = new AtomicInteger();
            AtomicInteger loserNack = new AtomicInteger();
            boolean wrapInside = inner == 0;
            Event<Integer> winner = Events.withNack(n -> {
                n.onNack(winnerNack::incrementAndGet);
                Event<Integer> ready = Events.always(1);
                return wrapInside ? ready.wrap(v -> { throw new ArithmeticException("r20 wrap"); }) : ready;
            });
            if (!wrapInside) {
                winner = winner.wrap(v -> { throw new ArithmeticException("r20 wrap"); });
            }
            Event<Integer> loser = Events.withNack(n -> {
                n.onNack(loserNack::incrementAndGet);
                return Events.never();
            });
            Event<Integer> both = Events.choose(winner, loser);
            assertThrows(ArithmeticException.class, both::sync);
            assertEquals(0, winnerNack.get(), "the winning branch's nack fired (wrap inside: " + wrapInside + ")");
            assertEquals(1, loserNack.get(), "the losing branch's nack (wrap inside: " + wrapInside + ")");
            assertThrows(ArithmeticException.class, both::poll);
            assertEquals(0, winnerNack.get(), "poll: the winning branch's nack fired (wrap inside: " + wrapInside + ")");
            assertEquals(2, loserNack.get());
        }
    }

    @Test
    void ofTwoReadyWithNackBranchesExactlyTheLosersNackFires() throws InterruptedException {
        // withNack: the nack fires iff its branch is not committed; choose commits to exactly one branch.
        int[] wins = new int[2];
        for (int i = 0; i < 400; i++) {
            AtomicInteger[] nacks = {new AtomicInteger(), new AtomicInteger()};
            List<Event<Integer>> branches = new ArrayList<>();
            for (int b = 0; b < 2; b++) {
                int id = b;
                branches.add(Events.withNack(n -> {
                    n.onNack(nacks[id]::incrementAndGet);
                    return Events.always(id);
                }));
            }
            Event<Integer> e = Events.choose(branches);
            int won = i % 2 == 0 ? e.sync() : e.poll().orElseThrow();
            wins[won]++;
            assertEquals(0, nacks[won].get(), "round " + i + ": the winner's nack fired");
            assertEquals(1, nacks[1 - won].get(), "round " + i + ": the loser's nack fired " + nacks[1 - won].get() + " times");
        }
        assertTrue(wins[0] > 0 && wins[1] > 0, "one branch always preferred: " + wins[0] + "/" + wins[1]);
    }

    @Test
    void aWrapOfTheWinnerRunsAfterTheCleanUpIsComplete() throws Exception {
        // package doc, step 5 then 6: "withdraw every registration, fire the nack of every withNack the winner is
        // not inside; then run the winner's wraps". A wrap therefore sees the losers' nacks fired and no
        // registration of its sync left on any source.
        Channel<String> idle = new Channel<>("r20-idle");
        Channel<String> served = new Channel<>("r20-served");
        AtomicReference<NackEvent> loserNack = new AtomicReference<>();
        AtomicReference<String> seenInWrap = new AtomicReference<>();
        Event<String> e = Events.choose(
                Events.withNack(n -> {
                    loserNack.set(n);
                    return idle.recvEvent();
                }),
                served.recvEvent().wrap(v -> {
                    seenInWrap.set("nackFired=" + loserNack.get().poll().isPresent()
                            + " idleWaiters=" + idle.waiters() + " servedWaiters=" + served.waiters());
                    return v;
                }));
        CompletableFuture<String> f = Background.start("r20-wrap-order", e::sync);
        Await.until("both registered", () -> idle.waiters() == 1 && served.waiters() == 1);
        served.send("v");
        assertEquals("v", f.get(10, TimeUnit.SECONDS));
        assertEquals("nackFired=true idleWaiters=0 servedWaiters=0", seenInWrap.get());
    }

    @Test
    void aNackActionMaySyncOtherEventsIncludingItsOwnWithNacks() throws InterruptedException {
        // NackEvent.onNack: the action runs "on the syncing thread, during clean-up, holding no lock"; the sync
        // holds no lock ever, so a nack action may itself sync (here: a choice with its own withNack).
        Channel<String> side = new Channel<>("r20-side");
        side.send("side-value");
        AtomicReference<String> got = new AtomicReference<>();
        AtomicInteger innerNack = new AtomicInteger();
        Event<String> e = Events.choose(
                Events.withNack(n -> {
                    n.onNack(() -> {
                        try {
                            got.set(Events.choose(side.recvEvent(),
                                    Events.withNack(m -> {
                                        m.onNack(innerNack::incrementAndGet);
                                        return Events.<String>never();
                                    })).sync());
                        } catch (InterruptedException ex) {
                            Thread.currentThread().interrupt();
                        }
                    });
                    return Events.<String>never();
                }),
                Events.timeout(Duration.ofMillis(5)).wrap(x -> "timed out"));
        assertEquals("timed out", e.sync());
        assertEquals("side-value", got.get());
        assertEquals(1, innerNack.get());
        assertEquals(0, side.buffered());
        assertEquals(0, side.waiters());
    }

    @Test
    void theSameWithNackEventTwiceInAChoiceGetsTwoNacksAndExactlyTheLosersFires() throws InterruptedException {
        // "each sync/poll re-runs ... withNack functions (a fresh instance of the event each time)" and a choose
        // commits to one branch; an event appearing twice in a tree is two branches, each with its own nack.
        List<NackEvent> nacks = new ArrayList<>();
        Event<Integer> once = Events.withNack(n -> {
            nacks.add(n);
            return Events.always(7);
        });
        assertEquals(7, Events.choose(once, once).sync());
        assertEquals(2, nacks.size(), "the withNack function ran " + nacks.size() + " times");
        int firedCount = 0;
        for (NackEvent n : nacks) {
            firedCount += n.poll().isPresent() ? 1 : 0;
        }
        assertEquals(1, firedCount, "exactly the losing copy's nack fires");
    }

    // ------------------------------------------------------------------ choose

    @Test
    void theSameBaseEventTwiceInAChoiceTakesOneValueAndLeavesNoRegistration() throws Exception {
        // choose commits to exactly one branch; on return no registration is left on any source.
        Channel<Integer> ch = new Channel<>("r20-dup");
        Event<Integer> e = Events.choose(ch.recvEvent(), ch.recvEvent().wrap(v -> v + 1000));
        CompletableFuture<Integer> f = Background.start("r20-dup", e::sync);
        Await.until("registered twice", () -> ch.waiters() == 2);
        ch.send(1);
        int v = f.get(10, TimeUnit.SECONDS);
        assertTrue(v == 1 || v == 1001, "value " + v);
        assertEquals(0, ch.waiters(), "a registration of the finished sync stayed on the channel");
        ch.send(2);
        assertEquals(1, ch.buffered(), "the second value went to the finished sync");
        assertEquals(1, ch.transfers());
        ch.checkInvariants();
    }

    // ------------------------------------------------------------------ timeouts

    @Test
    void theLongestDurationsAreClampedAndNeverReadyNorOverflowing() throws Exception {
        // Events.timeout: longer than 2^62 ns is clamped; a positive timeout is never ready in a poll and must not
        // overflow into "already due" in a sync either.
        Duration[] huge = {Duration.ofSeconds(Long.MAX_VALUE, 999_999_999), Duration.ofNanos(Long.MAX_VALUE),
                Duration.ofNanos(1L << 62), Duration.ofDays(365L * 300)};
        for (Duration d : huge) {
            assertEquals(Optional.empty(), Events.timeout(d).poll(), d.toString());
            assertEquals("v", Events.choose(Events.timeout(d).wrap(x -> "timeout"), Events.always("v")).sync());
            Channel<String> ch = new Channel<>("r20-huge");
            CompletableFuture<String> f = Background.start("r20-huge",
                    () -> Events.choose(ch.recvEvent(), Events.timeout(d).wrap(x -> "timeout")).sync());
            Await.until("registered", () -> ch.waiters() == 1);
            assertFalse(f.isDone(), d + ": the clamped timeout fired at once: " + (f.isDone() ? f.get() : ""));
            ch.send("sent");
            assertEquals("sent", f.get(10, TimeUnit.SECONDS), d.toString());
        }
    }

    @Test
    void aNonPositiveTimeoutBeatsAWaitingBranchAndFiresItsNack() throws InterruptedException {
        // timeout: "Zero or negative durations are ready at once"; the withNack branch that lost has its nack fired
        // and leaves no registration.
        for (Duration d : new Duration[] {Duration.ZERO, Duration.ofMillis(-1), Duration.ofSeconds(Long.MIN_VALUE)}) {
            Channel<String> ch = new Channel<>("r20-nonpos");
            AtomicInteger fired = new AtomicInteger();
            Event<Object> e = Events.choose(
                    Events.withNack(n -> {
                        n.onNack(fired::incrementAndGet);
                        return ch.recvEvent();
                    }),
                    Events.timeout(d));
            assertSame(Timeout.TIMEOUT, e.sync(), d.toString());
            assertEquals(1, fired.get(), d.toString());
            assertEquals(0, ch.waiters());
            assertSame(Timeout.TIMEOUT, e.poll().orElseThrow(), d.toString());
            assertEquals(2, fired.get());
        }
    }

    @Test
    void aTimeoutInsideAWithNackThatWinsKeepsItsNackSilentAndFiresTheOthers() throws InterruptedException {
        // withNack wrapping a timeout that wins: its nack never fires; the channel branch's nack fires.
        Channel<String> ch = new Channel<>("r20-timed-nack");
        AtomicInteger timerNack = new AtomicInteger();
        AtomicInteger chNack = new AtomicInteger();
        Event<Object> e = Events.choose(
                Events.withNack(n -> {
                    n.onNack(timerNack::incrementAndGet);
                    return Events.timeout(Duration.ofMillis(20));
                }),
                Events.withNack(n -> {
                    n.onNack(chNack::incrementAndGet);
                    return Events.guard(() -> Events.withNack(m -> {
                        m.onNack(chNack::incrementAndGet);
                        return ch.recvEvent();
                    }));
                }));
        assertSame(Timeout.TIMEOUT, e.sync());
        assertEquals(0, timerNack.get());
        assertEquals(2, chNack.get(), "both nested nacks of the losing branch fire once each");
        assertEquals(0, ch.waiters());
    }
}

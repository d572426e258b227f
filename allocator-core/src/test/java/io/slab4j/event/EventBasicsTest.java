package io.slab4j.event;

import io.slab4j.testing.Await;

import static io.slab4j.event.Events.always;
import static io.slab4j.event.Events.choose;
import static io.slab4j.event.Events.never;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** always, never, poll and plain sync on one source. */
@Timeout(30) // a lost wake-up must fail, not hang the build
class EventBasicsTest {

    @AfterEach
    void clearInterruptFlag() {
        Thread.interrupted();
    }

    @Test
    void alwaysIsReadyForSyncAndPoll() throws InterruptedException {
        assertEquals(7, always(7).sync());
        assertEquals(Optional.of("x"), always("x").poll());
    }

    @Test
    void alwaysRejectsNull() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> always(null));
        assertTrue(e.getMessage().contains("never yields null"), e.getMessage());
    }

    @Test
    void neverIsNotReady() {
        assertEquals(Optional.empty(), never().poll());
        assertEquals(Optional.empty(), choose().poll());
        assertEquals(Optional.empty(), choose(never(), never()).poll());
    }

    @Test
    void syncOnNeverWaitsUntilInterrupted() throws InterruptedException {
        Syncer<Object> s = Syncer.start("never", never());
        Await.parked(s.thread());
        assertFalse(s.isFinished());
        s.interrupt();
        assertInstanceOf(InterruptedException.class, s.failure());
    }

    @Test
    void pollTakesABufferedValueAndRegistersNothingWhenEmpty() {
        Channel<Integer> c = new Channel<>();
        assertEquals(Optional.empty(), c.recvEvent().poll());
        assertEquals(0, c.waiters());
        c.send(1);
        assertEquals(Optional.of(1), c.recvEvent().poll());
        assertEquals(Optional.empty(), c.recvEvent().poll());
        assertEquals(1, c.transfers());
    }

    @Test
    void syncWaitsForASendAndLeavesNoRegistration() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        Syncer<Integer> s = Syncer.start("recv", c.recvEvent());
        Await.until("registered", () -> c.waiters() == 1);
        c.send(42);
        assertEquals(42, s.value());
        assertEquals(0, c.waiters());
        assertEquals(0, c.buffered());
    }

    @Test
    void sourceServesWaitersOldestFirst() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        List<Syncer<Integer>> syncers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            syncers.add(Syncer.start("recv-" + i, c.recvEvent()));
            int registered = i + 1;
            Await.until(registered + " registered", () -> c.waiters() == registered);
        }
        for (int i = 0; i < 3; i++) {
            c.send(i);
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(i, syncers.get(i).value());
        }
    }

    @Test
    void interruptedThreadGetsInterruptedExceptionWithoutPerforming() {
        Channel<Integer> c = new Channel<>();
        c.send(1);
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> c.recvEvent().sync());
        assertFalse(Thread.currentThread().isInterrupted(), "flag consumed, as JDK blocking calls do");
        assertEquals(1, c.buffered(), "the value was not taken");
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> always(1).sync());
    }

    @Test
    void pollIgnoresTheInterruptFlag() {
        Thread.currentThread().interrupt();
        assertEquals(Optional.of(1), always(1).poll());
        assertTrue(Thread.interrupted());
    }

    @Test
    void eventsAreReusable() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        Event<Integer> e = c.recvEvent().wrap(v -> v + 1);
        for (int i = 0; i < 5; i++) {
            c.send(i);
            assertEquals(i + 1, e.sync());
        }
    }
}

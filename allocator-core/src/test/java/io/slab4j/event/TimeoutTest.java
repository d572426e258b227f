package io.slab4j.event;

import io.slab4j.testing.Await;

import static io.slab4j.event.Events.always;
import static io.slab4j.event.Events.choose;
import static io.slab4j.event.Events.guard;
import static io.slab4j.event.Events.timeout;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * timeout counts from the start of each sync (CML timeOutEvt) and never leaves a
 * registration behind. Timing assertions are lower bounds only.
 */
@org.junit.jupiter.api.Timeout(30) // a lost wake-up must fail, not hang the build
class TimeoutTest {
    private static final Duration D = Duration.ofMillis(150);

    @Test
    void countsFromSyncStartNotFromCreation() throws InterruptedException {
        Event<Timeout> e = timeout(D);
        Thread.sleep(D.toMillis() + 50); // the point of the test: the event ages before sync
        long start = System.nanoTime();
        assertEquals(Timeout.TIMEOUT, e.sync());
        long waited = System.nanoTime() - start;
        assertTrue(waited >= D.toNanos(), "waited only " + waited + " ns");
        // and again: each sync restarts the clock
        start = System.nanoTime();
        assertEquals(Timeout.TIMEOUT, e.sync());
        assertTrue(System.nanoTime() - start >= D.toNanos());
    }

    @Test
    void countsFromSyncStartInsideAGuardToo() throws InterruptedException {
        Event<Timeout> e = guard(() -> timeout(D));
        long start = System.nanoTime();
        assertEquals(Timeout.TIMEOUT, e.sync());
        assertTrue(System.nanoTime() - start >= D.toNanos());
    }

    @Test
    void pollFindsItReadyOnlyWhenNotPositive() {
        assertEquals(Optional.of(Timeout.TIMEOUT), timeout(Duration.ZERO).poll());
        assertEquals(Optional.of(Timeout.TIMEOUT), timeout(Duration.ofSeconds(-5)).poll());
        assertEquals(Optional.empty(), timeout(Duration.ofHours(1)).poll());
        assertEquals(Optional.empty(), timeout(Duration.ofSeconds(Long.MAX_VALUE)).poll());
    }

    @Test
    void leavesNoRegistrationAndLosesNoValue() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        Object got = choose(c.recvEvent(), timeout(Duration.ofMillis(20))).sync();
        assertEquals(Timeout.TIMEOUT, got);
        assertEquals(0, c.waiters());
        c.send(1);
        assertEquals(1, c.buffered(), "a later send is kept, not handed to the departed sync");
    }

    @Test
    void earliestTimeoutWins() throws InterruptedException {
        Event<String> e = choose(
                timeout(Duration.ofSeconds(30)).wrap(t -> "late"),
                timeout(Duration.ofMillis(10)).wrap(t -> "early"),
                timeout(Duration.ofSeconds(20)).wrap(t -> "later"));
        assertEquals("early", e.sync());
    }

    @Test
    void aValueBeforeTheDeadlineWins() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        Syncer<Object> s = Syncer.start("sync", choose(c.recvEvent(), timeout(Duration.ofSeconds(30))));
        Await.until("registered", () -> c.waiters() == 1);
        c.send(3);
        assertEquals(3, s.value());
    }

    @Test
    void readyTimeoutCompetesFairlyWithOtherReadyBranches() throws InterruptedException {
        boolean sawTimeout = false;
        boolean sawValue = false;
        for (int i = 0; i < 200 && !(sawTimeout && sawValue); i++) {
            Object got = choose(always(1), timeout(Duration.ZERO)).sync();
            sawTimeout |= got == Timeout.TIMEOUT;
            sawValue |= got.equals(1);
        }
        assertTrue(sawTimeout && sawValue);
    }

    @Test
    void rejectsNull() {
        assertThrows(NullPointerException.class, () -> timeout(null));
    }
}

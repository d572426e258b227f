package io.slab4j.event;

import io.slab4j.testing.Await;

import static io.slab4j.event.Events.choose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * An interrupt withdraws every registration and fires every nack, unless a source had
 * already claimed the sync: then the claimed value is returned, never dropped, with the
 * interrupt flag set again.
 */
@Timeout(30) // a lost wake-up must fail, not hang the build
class InterruptTest {

    @Test
    void interruptWhileWaitingWithdrawsEveryRegistrationAndFiresNacks() throws InterruptedException {
        Channel<Integer> c1 = new Channel<>("c1");
        Channel<Integer> c2 = new Channel<>("c2");
        Channel<Integer> c3 = new Channel<>("c3");
        WithNackTest.Probe p = new WithNackTest.Probe();
        Syncer<Object> s = Syncer.start("sync", choose(c1.recvEvent(), p.around(c2.recvEvent()),
                c3.recvEvent(), Events.timeout(Duration.ofSeconds(60))));
        Await.until("registered", () -> c1.waiters() == 1 && c2.waiters() == 1 && c3.waiters() == 1);
        s.interrupt();
        assertInstanceOf(InterruptedException.class, s.failure());
        assertEquals(0, c1.waiters() + c2.waiters() + c3.waiters(), "registrations withdrawn");
        assertEquals(1, p.fired.get());
        c1.send(1);
        assertEquals(1, c1.buffered(), "nothing is handed to the departed sync");
    }

    /** The race of step 4: the interrupt arrives while a source holds its claim. */
    @Test
    void interruptRacingAClaimReturnsTheValueWithTheFlagSet() throws InterruptedException {
        GatedSource<Integer> gated = new GatedSource<>();
        Channel<Integer> c = new Channel<>();
        WithNackTest.Probe p = new WithNackTest.Probe();
        Syncer<Integer> s = Syncer.start("sync", choose(gated, p.around(c.recvEvent())));
        Await.until("registered", () -> gated.waiters() == 1 && c.waiters() == 1);

        CountDownLatch claimed = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        Thread deliverer = gated.deliverAsync(42, claimed, proceed, false);
        assertTrue(claimed.await(Await.DEADLINE_SECONDS, TimeUnit.SECONDS));
        s.interrupt();
        Await.parked(s.thread()); // it saw the interrupt (flag consumed) and waits for DONE
        assertFalse(s.isFinished());
        proceed.countDown();

        assertEquals(42, s.value(), "a claimed value is never dropped");
        assertTrue(s.interruptFlagOnReturn(), "the interrupt is re-asserted");
        assertEquals(0, c.waiters());
        assertEquals(1, p.fired.get(), "the losing branch's nack fired");
        deliverer.join();
    }

    /** Interrupt during a claim that is then abandoned: the sync gives up with the interrupt. */
    @Test
    void interruptDuringAClaimThatIsAbandonedThrows() throws InterruptedException {
        GatedSource<Integer> gated = new GatedSource<>();
        Channel<Integer> c = new Channel<>();
        Syncer<Integer> s = Syncer.start("sync", choose(gated, c.recvEvent()));
        Await.until("registered", () -> gated.waiters() == 1 && c.waiters() == 1);
        CountDownLatch claimed = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        Thread deliverer = gated.deliverAsync(42, claimed, proceed, true);
        assertTrue(claimed.await(Await.DEADLINE_SECONDS, TimeUnit.SECONDS));
        s.interrupt();
        Await.parked(s.thread());
        proceed.countDown();
        assertInstanceOf(InterruptedException.class, s.failure());
        assertEquals(0, c.waiters() + gated.waiters());
        deliverer.join();
    }

    /** A timeout expiring during a claim does not win: the claimed value does. */
    @Test
    void deadlinePassingDuringAClaimReturnsTheValue() throws InterruptedException {
        GatedSource<Integer> gated = new GatedSource<>();
        Syncer<Object> s = Syncer.start("sync", choose(gated, Events.timeout(Duration.ofMillis(200))));
        Await.until("registered", () -> gated.waiters() == 1);
        CountDownLatch claimed = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        long start = System.nanoTime();
        Thread deliverer = gated.deliverAsync(42, claimed, proceed, false);
        assertTrue(claimed.await(Await.DEADLINE_SECONDS, TimeUnit.SECONDS));
        Await.until("deadline passed", () -> System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(300));
        proceed.countDown();
        assertEquals(42, s.value());
        deliverer.join();
    }
}

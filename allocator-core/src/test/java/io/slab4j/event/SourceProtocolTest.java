package io.slab4j.event;

import io.slab4j.testing.Await;

import static io.slab4j.event.Events.choose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The BaseEvent SPI: claim before transfer, failed claims drop and move on, strict misuse checks. */
@Timeout(30) // a lost wake-up must fail, not hang the build
class SourceProtocolTest {

    /** A source that is never ready in tryNow and then behaves as {@code onRegister} says in register. */
    static <T> BaseEvent<T> lateSource(Function<Waiter<T>, Registration> onRegister) {
        return new BaseEvent<T>() {
            @Override
            protected T tryNow() {
                return null;
            }

            @Override
            protected Registration register(Waiter<T> waiter) {
                return onRegister.apply(waiter);
            }
        };
    }

    /**
     * While sync A is claimed by the gated source, a send on c1 finds A's registration
     * stale (claim fails), drops it and serves the next waiter, B.
     */
    @Test
    void failedClaimDropsTheWaiterAndMovesOn() throws InterruptedException {
        GatedSource<Integer> gated = new GatedSource<>();
        Channel<Integer> c1 = new Channel<>("c1");
        Syncer<Integer> a = Syncer.start("A", choose(gated, c1.recvEvent()));
        Await.until("A registered", () -> gated.waiters() == 1 && c1.waiters() == 1);
        Syncer<Integer> b = Syncer.start("B", c1.recvEvent());
        Await.until("B registered", () -> c1.waiters() == 2);

        CountDownLatch claimed = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        Thread deliverer = gated.deliverAsync(100, claimed, proceed, false);
        assertTrue(claimed.await(Await.DEADLINE_SECONDS, TimeUnit.SECONDS));

        c1.send(1);
        assertEquals(1, b.value(), "the next waiter got it");
        assertEquals(1, c1.failedClaims(), "A's stale registration was dropped");
        proceed.countDown();
        assertEquals(100, a.value());
        assertEquals(0, c1.waiters() + c1.buffered() + gated.waiters());
        deliverer.join();
    }

    /**
     * A claim is abandoned (the transfer failed) after c1 dropped the sync's registration:
     * the sync re-registers everywhere, so c1's value still reaches it.
     */
    @Test
    void abandonedClaimMakesTheSyncRegisterAgain() throws InterruptedException {
        GatedSource<Integer> gated = new GatedSource<>();
        Channel<Integer> c1 = new Channel<>("c1");
        Syncer<Integer> a = Syncer.start("A", choose(gated, c1.recvEvent()));
        Await.until("A registered", () -> gated.waiters() == 1 && c1.waiters() == 1);

        CountDownLatch claimed = new CountDownLatch(1);
        CountDownLatch proceed = new CountDownLatch(1);
        Thread deliverer = gated.deliverAsync(100, claimed, proceed, true);
        assertTrue(claimed.await(Await.DEADLINE_SECONDS, TimeUnit.SECONDS));
        c1.send(7); // A is claimed: c1 drops it and buffers
        assertEquals(1, c1.failedClaims());
        assertEquals(1, c1.buffered());
        proceed.countDown(); // the gated transfer fails: abandon

        assertEquals(7, a.value(), "re-registration found the buffered value");
        assertEquals(0, c1.waiters() + c1.buffered() + gated.waiters());
        deliverer.join();
    }

    @Test
    void readyAtRegisterCompletesWithoutLeavingRegistrations() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        AtomicReference<Waiter<Integer>> seen = new AtomicReference<>();
        BaseEvent<Integer> late = lateSource(w -> {
            seen.set(w);
            assertTrue(w.isLive());
            if (w.claim()) {
                w.complete(9);
            }
            return Registration.NONE;
        });
        for (int i = 0; i < 20; i++) { // either registration order
            assertEquals(9, choose(c.recvEvent(), late).sync());
            assertEquals(0, c.waiters());
            assertFalse(seen.get().isLive(), "the waiter is stale once the sync committed");
            assertFalse(seen.get().claim());
        }
    }

    @Test
    void completeWithoutClaimIsRejected() {
        BaseEvent<Integer> bad = lateSource(w -> {
            w.complete(1);
            return Registration.NONE;
        });
        IllegalStateException e = assertThrows(IllegalStateException.class, bad::sync);
        assertTrue(e.getMessage().contains("claim()"), e.getMessage());
    }

    @Test
    void completeWithNullIsRejectedAndReleasesTheClaim() {
        Channel<Integer> c = new Channel<>();
        BaseEvent<Integer> bad = lateSource(w -> {
            assertTrue(w.claim());
            w.complete(null);
            return Registration.NONE;
        });
        NullPointerException e = assertThrows(NullPointerException.class, () -> choose(bad, c.recvEvent()).sync());
        assertTrue(e.getMessage().contains("never yields null"), e.getMessage());
        assertEquals(0, c.waiters());
    }

    @Test
    void abandonWithoutClaimIsRejected() {
        BaseEvent<Integer> bad = lateSource(w -> {
            w.abandon();
            return Registration.NONE;
        });
        assertThrows(IllegalStateException.class, bad::sync);
    }

    @Test
    void throwingRegisterWithdrawsTheOthersFiresNacksAndPropagates() {
        Channel<Integer> c = new Channel<>();
        IllegalStateException closed = new IllegalStateException("source closed");
        BaseEvent<Integer> bad = lateSource(w -> {
            throw closed;
        });
        WithNackTest.Probe p = new WithNackTest.Probe();
        for (int i = 0; i < 20; i++) { // either registration order
            assertSame(closed, assertThrows(IllegalStateException.class,
                    () -> choose(p.around(c.recvEvent()), bad).sync()));
            assertEquals(0, c.waiters());
            assertEquals(i + 1, p.fired.get());
        }
    }

    @Test
    void throwingTryNowPropagatesFromPollAndSyncAfterFiringNacks() {
        IllegalStateException closed = new IllegalStateException("source closed");
        BaseEvent<Integer> bad = new BaseEvent<>() {
            @Override
            protected Integer tryNow() {
                throw closed;
            }

            @Override
            protected Registration register(Waiter<Integer> waiter) {
                throw new AssertionError("not reached");
            }
        };
        WithNackTest.Probe p = new WithNackTest.Probe();
        assertSame(closed, assertThrows(IllegalStateException.class, () -> p.around(bad).poll()));
        assertEquals(1, p.fired.get());
        assertSame(closed, assertThrows(IllegalStateException.class, () -> p.around(bad).sync()));
        assertEquals(2, p.fired.get());
    }

    @Test
    void registerMustNotReturnNull() {
        BaseEvent<Integer> bad = lateSource(w -> null);
        NullPointerException e = assertThrows(NullPointerException.class, bad::sync);
        assertTrue(e.getMessage().contains("Registration.NONE"), e.getMessage());
    }
}

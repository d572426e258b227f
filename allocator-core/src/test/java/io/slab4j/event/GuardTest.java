package io.slab4j.event;

import io.slab4j.testing.Await;

import static io.slab4j.event.Events.always;
import static io.slab4j.event.Events.choose;
import static io.slab4j.event.Events.guard;
import static io.slab4j.event.Events.withNack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** guard runs its supplier at each sync and poll, on the syncing thread. */
@Timeout(30) // a lost wake-up must fail, not hang the build
class GuardTest {

    @Test
    void runsAtEachSyncAndPoll() throws InterruptedException {
        AtomicInteger runs = new AtomicInteger();
        Event<Integer> e = guard(() -> always(runs.incrementAndGet()));
        assertEquals(0, runs.get(), "making the event runs nothing");
        assertEquals(1, e.sync());
        assertEquals(2, e.poll().orElseThrow());
        assertEquals(3, e.sync());
        assertEquals(4, e.poll().orElseThrow());
    }

    @Test
    void runsOnTheSyncingThread() throws InterruptedException {
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        Channel<Integer> c = new Channel<>();
        Syncer<Integer> s = Syncer.start("guarded", guard(() -> {
            ranOn.set(Thread.currentThread());
            return c.recvEvent();
        }));
        Await.until("registered", () -> c.waiters() == 1);
        c.send(1);
        assertEquals(1, s.value());
        assertSame(s.thread(), ranOn.get());
    }

    @Test
    void throwingGuardFiresTheNacksAlreadyCreatedAndPropagates() {
        AtomicReference<NackEvent> nack = new AtomicReference<>();
        AtomicInteger fired = new AtomicInteger();
        IllegalStateException boom = new IllegalStateException("boom");
        Event<Integer> e = choose(
                withNack(n -> {
                    nack.set(n);
                    n.onNack(fired::incrementAndGet);
                    return Events.<Integer>never();
                }),
                guard(() -> {
                    throw boom;
                }));
        assertSame(boom, assertThrows(IllegalStateException.class, e::sync));
        assertEquals(1, fired.get());
        assertTrue(nack.get().poll().isPresent());
        assertSame(boom, assertThrows(IllegalStateException.class, e::poll));
        assertEquals(2, fired.get(), "a fresh nack per instantiation");
    }

    @Test
    void nullFromSupplierIsRejected() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> guard(() -> null).sync());
        assertTrue(e.getMessage().contains("returned null"), e.getMessage());
        assertThrows(NullPointerException.class, () -> guard(null));
    }
}

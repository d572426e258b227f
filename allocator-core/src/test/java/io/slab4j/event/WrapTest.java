package io.slab4j.event;

import io.slab4j.testing.Await;

import static io.slab4j.event.Events.always;
import static io.slab4j.event.Events.choose;
import static io.slab4j.event.Events.withNack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** wrap runs after the commit, on the syncing thread, holding no lock, only for the winner. */
@Timeout(30) // a lost wake-up must fail, not hang the build
class WrapTest {

    @Test
    void runsAfterCommitOnTheSyncingThreadOnlyForTheWinner() throws InterruptedException {
        Channel<Integer> c1 = new Channel<>("c1");
        Channel<Integer> c2 = new Channel<>("c2");
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        AtomicReference<String> stateSeen = new AtomicReference<>();
        Event<String> e = choose(
                c1.recvEvent().wrap(v -> {
                    ranOn.set(Thread.currentThread());
                    // committed and cleaned up: the value is taken, no registration remains
                    stateSeen.set("transfers=" + c1.transfers() + " waiters=" + (c1.waiters() + c2.waiters()));
                    return "c1:" + v;
                }),
                c2.recvEvent().wrap(v -> fail("the losing branch's wrap ran")));
        Syncer<String> s = Syncer.start("wrap", e);
        Await.until("registered", () -> c1.waiters() == 1 && c2.waiters() == 1);
        c1.send(9);
        assertEquals("c1:9", s.value());
        assertSame(s.thread(), ranOn.get());
        assertEquals("transfers=1 waiters=0", stateSeen.get());
    }

    /** The wrap function can use the same source from another thread: no lock is held. */
    @Test
    void runsHoldingNoLock() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        c.send(1);
        Event<Integer> e = c.recvEvent().wrap(v -> {
            Thread other = new Thread(() -> c.send(2));
            other.start();
            try {
                other.join(TimeUnit.SECONDS.toMillis(Await.DEADLINE_SECONDS));
            } catch (InterruptedException ex) {
                throw new AssertionError(ex);
            }
            assertTrue(!other.isAlive(), "the other thread blocked on a lock held during wrap");
            return v;
        });
        assertEquals(1, e.sync());
        assertEquals(1, c.buffered());
    }

    @Test
    void composesInnermostFirst() throws InterruptedException {
        assertEquals(30, always(2).wrap(x -> x + 1).wrap(x -> x * 10).sync());
        assertEquals(Integer.valueOf(30), always(2).wrap(x -> x + 1).wrap(x -> x * 10).poll().orElseThrow());
    }

    @Test
    void nullResultIsRejectedAfterTheCommit() {
        Channel<Integer> c = new Channel<>();
        c.send(1);
        AtomicInteger nacks = new AtomicInteger();
        Event<Object> e = choose(
                c.recvEvent().wrap(v -> null),
                withNack(n -> {
                    n.onNack(nacks::incrementAndGet);
                    return Events.never();
                }));
        NullPointerException ex = assertThrows(NullPointerException.class, e::sync);
        assertTrue(ex.getMessage().contains("returned null"), ex.getMessage());
        assertEquals(1, c.transfers(), "the commit happened");
        assertEquals(1, nacks.get(), "clean-up ran before the wrap");
        assertThrows(NullPointerException.class, () -> always(1).wrap(v -> null).poll());
    }

    @Test
    void exceptionFromWrapPropagates() {
        IllegalStateException boom = new IllegalStateException("boom");
        Function<Integer, Integer> thrower = v -> {
            throw boom;
        };
        assertSame(boom, assertThrows(IllegalStateException.class, () -> always(1).wrap(thrower).sync()));
    }

    @Test
    void rejectsNullFunction() {
        assertThrows(NullPointerException.class, () -> always(1).wrap(null));
    }
}

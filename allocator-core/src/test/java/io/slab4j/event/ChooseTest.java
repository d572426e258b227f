package io.slab4j.event;

import io.slab4j.testing.Await;

import static io.slab4j.event.Events.always;
import static io.slab4j.event.Events.choose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** choose commits to exactly one branch, with no branch always preferred. */
@Timeout(30) // a lost wake-up must fail, not hang the build
class ChooseTest {

    @Test
    void syncCommitsExactlyOneOfSeveralReadyBranches() throws InterruptedException {
        for (int round = 0; round < 50; round++) {
            List<Channel<Integer>> cs = Arrays.asList(new Channel<>("a"), new Channel<>("b"), new Channel<>("c"));
            for (int i = 0; i < cs.size(); i++) {
                cs.get(i).send(i);
            }
            int got = choose(cs.get(0).recvEvent(), cs.get(1).recvEvent(), cs.get(2).recvEvent()).sync();
            assertExactlyOneTransfer(cs, got);
        }
    }

    @Test
    void pollCommitsExactlyOneOfSeveralReadyBranches() {
        for (int round = 0; round < 50; round++) {
            List<Channel<Integer>> cs = Arrays.asList(new Channel<>("a"), new Channel<>("b"), new Channel<>("c"));
            for (int i = 0; i < cs.size(); i++) {
                cs.get(i).send(i);
            }
            int got = choose(cs.get(0).recvEvent(), cs.get(1).recvEvent(), cs.get(2).recvEvent())
                    .poll().orElseThrow();
            assertExactlyOneTransfer(cs, got);
        }
    }

    private static void assertExactlyOneTransfer(List<Channel<Integer>> cs, int got) {
        long transfers = 0;
        for (int i = 0; i < cs.size(); i++) {
            transfers += cs.get(i).transfers();
            assertEquals(i == got ? 0 : 1, cs.get(i).buffered(), cs.get(i) + " buffer");
            assertEquals(0, cs.get(i).waiters());
        }
        assertEquals(1, transfers, "exactly one transfer");
    }

    /** Two senders race for one waiting choose: one value delivered, the other kept. */
    @Test
    void concurrentSendsToAWaitingChooseDeliverExactlyOne() throws Exception {
        for (int round = 0; round < 200; round++) {
            Channel<Integer> c1 = new Channel<>("c1");
            Channel<Integer> c2 = new Channel<>("c2");
            Syncer<Integer> s = Syncer.start("choose", choose(c1.recvEvent(), c2.recvEvent()));
            Await.until("registered on both", () -> c1.waiters() == 1 && c2.waiters() == 1);
            CyclicBarrier go = new CyclicBarrier(2);
            Thread t1 = sender(go, c1, 1);
            Thread t2 = sender(go, c2, 2);
            int got = s.value();
            t1.join();
            t2.join();
            assertTrue(got == 1 || got == 2, "got " + got);
            assertEquals(1, c1.transfers() + c2.transfers(), "exactly one transfer");
            assertEquals(got == 1 ? 0 : 1, c1.buffered());
            assertEquals(got == 2 ? 0 : 1, c2.buffered());
            assertEquals(0, c1.waiters() + c2.waiters(), "no registration left");
            c1.checkInvariants();
            c2.checkInvariants();
        }
    }

    private static Thread sender(CyclicBarrier go, Channel<Integer> c, int v) {
        Thread t = new Thread(() -> {
            try {
                go.await();
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            c.send(v);
        }, "send-" + c);
        t.start();
        return t;
    }

    @Test
    void noBranchIsAlwaysPreferred() throws InterruptedException {
        Set<Integer> seenBySync = new HashSet<>();
        Set<Integer> seenByPoll = new HashSet<>();
        Event<Integer> e = choose(always(1), always(2), always(3));
        for (int i = 0; i < 300; i++) {
            seenBySync.add(e.sync());
            seenByPoll.add(e.poll().orElseThrow());
        }
        assertEquals(Set.of(1, 2, 3), seenBySync);
        assertEquals(Set.of(1, 2, 3), seenByPoll);
    }

    @Test
    void nestedChoicesFlatten() throws InterruptedException {
        Channel<Integer> c = new Channel<>();
        c.send(5);
        Event<Integer> e = choose(choose(Events.never(), choose(c.recvEvent())), Events.never());
        assertEquals(5, e.sync());
    }

    @Test
    void listOverloadAndSingletonChoice() throws InterruptedException {
        Event<Integer> one = always(1);
        assertSame(one, choose(one));
        assertEquals(2, choose(List.of(always(2))).sync());
        assertEquals(3, choose(List.of(always(3), always(3))).sync());
    }

    @Test
    void rejectsNullWithItsPosition() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> choose(always(1), null));
        assertTrue(e.getMessage().contains("event 1 of 2"), e.getMessage());
        assertThrows(NullPointerException.class, () -> choose((Event<Integer>[]) null));
        assertThrows(NullPointerException.class, () -> choose(Arrays.asList(always(1), null)));
    }
}

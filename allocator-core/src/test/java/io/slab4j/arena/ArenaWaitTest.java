package io.slab4j.arena;

import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import io.slab4j.testing.ManualSource;
import io.slab4j.event.Event;
import io.slab4j.event.Events;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Waiting for space: FIFO service, withdrawal of losing registrations, timeouts and interrupts. */
class ArenaWaitTest {
    private static final long Q = 4096;

    private static Arena arena(long base, int quanta) {
        return Arena.builder(base, quanta * Q).quantum(Q).fit(Fit.INSTANT).build();
    }

    @Test
    void aFreeServesTheWaiterDirectly() throws Exception {
        Arena arena = arena(0x60_0000_0000L, 4);
        long all = arena.tryAlloc(4 * Q);
        CompletableFuture<Long> waiting = Background.start("waiter", () -> arena.alloc(2 * Q));
        Await.until("the alloc to wait", () -> arena.waiters() == 1);
        assertEquals(0, arena.tryAlloc(Q), "a newcomer does not overtake a queued waiter");
        arena.free(all, 4 * Q);
        assertEquals(all, waiting.get(5, TimeUnit.SECONDS));
        assertEquals(0, arena.waiters());
        assertEquals(2 * Q, arena.stats().allocated());
        arena.checkInvariants();
    }

    @Test
    void aNewcomerDoesNotOvertakeAQueuedWaiter() throws Exception {
        Arena arena = arena(0x68_0000_0000L, 4);
        long three = arena.tryAlloc(3 * Q);
        CompletableFuture<Long> two = Background.start("waiter", () -> arena.alloc(2 * Q));
        Await.until("the two-quantum request to queue", () -> arena.waiters() == 1);
        assertEquals(0, arena.tryAlloc(Q), "one quantum is free, but it is not the newcomer's to take");
        assertEquals(0, arena.alloc(Q, Duration.ofMillis(10)), "a waiting newcomer queues behind, and times out");
        arena.free(three, 3 * Q);
        assertEquals(three, two.get(5, TimeUnit.SECONDS));
        assertTrue(arena.tryAlloc(Q) != 0, "with the queue empty, newcomers allocate again");
        arena.checkInvariants();
    }

    @Test
    void waitersAreServedInArrivalOrder() throws Exception {
        Arena arena = arena(0x61_0000_0000L, 8);
        long all = arena.tryAlloc(8 * Q);
        CompletableFuture<Long> big = Background.start("waiter", () -> arena.alloc(6 * Q));
        Await.until("the big request to queue", () -> arena.waiters() == 1);
        CompletableFuture<Long> small = Background.start("waiter", () -> arena.alloc(Q));
        Await.until("the small request to queue behind it", () -> arena.waiters() == 2);
        arena.free(all, 8 * Q);
        long bigSpan = big.get(5, TimeUnit.SECONDS);
        long smallSpan = small.get(5, TimeUnit.SECONDS);
        assertTrue(smallSpan >= bigSpan + 6 * Q || smallSpan + Q <= bigSpan);
        arena.checkInvariants();
    }

    @Test
    void aTimedOutHeadUnblocksTheWaitersBehindIt() throws Exception {
        Arena arena = arena(0x62_0000_0000L, 4);
        long three = arena.tryAlloc(3 * Q);
        long one = arena.tryAlloc(Q);
        arena.free(one, Q); // one quantum free, but the big head does not fit
        CompletableFuture<Long> big = Background.start("waiter", () -> arena.alloc(4 * Q, Duration.ofMillis(200)));
        Await.until("the big request to queue", () -> arena.waiters() == 1);
        CompletableFuture<Long> small = Background.start("waiter", () -> arena.alloc(Q));
        Await.until("the small request to queue", () -> arena.waiters() == 2);
        assertEquals(0L, big.get(5, TimeUnit.SECONDS), "the big one times out with the 0 sentinel");
        assertEquals(one, small.get(5, TimeUnit.SECONDS), "its leaving lets the small one, which fits, through");
        assertEquals(0, arena.waiters());
        arena.free(three, 3 * Q);
        arena.checkInvariants();
    }

    /**
     * A request for half the arena, queued first, is not starved by a thread churning
     * single quanta: the churn may take space the request cannot use (outside the window
     * the blocked head keeps), but never space inside the span the request ends up with.
     */
    @Test
    void aLargeRequestIsNotStarvedBySmallChurn() throws Exception {
        Arena arena = arena(0x63_0000_0000L, 16);
        long[] singles = new long[16];
        for (int i = 0; i < 16; i++) {
            singles[i] = arena.tryAlloc(Q);
        }
        CompletableFuture<Long> half = Background.start("waiter", () -> arena.alloc(8 * Q));
        Await.until("the half-arena request to queue", () -> arena.waiters() == 1);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong churned = new AtomicLong();
        AtomicLong attempts = new AtomicLong();
        AtomicLong overtakes = new AtomicLong();
        java.util.concurrent.ConcurrentLinkedQueue<Long> overtaken = new java.util.concurrent.ConcurrentLinkedQueue<>();
        CompletableFuture<Long> churn = Background.start("waiter", () -> {
            ArrayDeque<Long> held = new ArrayDeque<>();
            while (!stop.get()) {
                attempts.incrementAndGet();
                long a = arena.alloc(Q, Duration.ofMillis(1));
                if (a != 0) {
                    held.addLast(a);
                    churned.incrementAndGet();
                    if (arena.waiters() > 0) {
                        overtakes.incrementAndGet(); // the only other waiter is the big one: we went past it
                        overtaken.add(a);
                    }
                }
                // holding up to ten of sixteen quanta: were it allowed to overtake, no eight would ever be free together
                if (held.size() > 9 || (a == 0 && !held.isEmpty())) {
                    arena.free(held.removeFirst(), Q);
                }
            }
            while (!held.isEmpty()) {
                arena.free(held.removeFirst(), Q);
            }
            return 0L;
        });
        // free the singles one at a time, scattered, giving the churn a few tries at each
        int[] order = {3, 11, 7, 0, 15, 5, 9, 1, 13, 6, 10, 2, 14, 4, 8, 12};
        for (int i : order) {
            arena.free(singles[i], Q);
            long seen = attempts.get();
            Await.until("the churn to try again", () -> attempts.get() >= seen + 3 || half.isDone());
        }
        long span = half.get(10, TimeUnit.SECONDS);
        stop.set(true);
        churn.get(10, TimeUnit.SECONDS);
        assertTrue(span != 0);
        for (long a : overtaken) {
            assertTrue(a + Q <= span || a >= span + 8 * Q, "the churn took 0x" + Long.toHexString(a)
                    + " inside the big request's span 0x" + Long.toHexString(span) + " while it was queued");
        }
        arena.free(span, 8 * Q);
        assertEquals(0, arena.stats().allocated());
        assertEquals(0, arena.waiters());
        arena.checkInvariants();
        System.out.printf("ArenaWaitTest: the churn took %d single quanta, %d of them outside the big request's window"
                + " while it waited%n", churned.get(), overtakes.get());
    }

    /**
     * The nack case: another branch wins, so the arena holds no registration afterwards,
     * and a later free that would have fitted the big request leaves the space free.
     */
    @Test
    void aLosingArenaBranchIsWithdrawnAndTakesNothing() throws Exception {
        Arena arena = arena(0x64_0000_0000L, 8);
        Arena other = arena(0x65_0000_0000L, 1);
        long all = arena.tryAlloc(8 * Q);
        long otherAll = other.tryAlloc(Q);
        AtomicBoolean nacked = new AtomicBoolean();
        Event<Long> big = Events.withNack(nack -> {
            nack.onNack(() -> nacked.set(true));
            return arena.allocEvent(4 * Q);
        });
        CompletableFuture<Long> chosen = Background.start("waiter", () -> Events.choose(big, other.allocEvent(Q).wrap(a -> -a)).sync());
        Await.until("both branches to register", () -> arena.waiters() == 1 && other.waiters() == 1);
        other.free(otherAll, Q);
        assertEquals(-otherAll, chosen.get(5, TimeUnit.SECONDS), "the other branch won");
        assertTrue(nacked.get(), "the arena branch's nack fired");
        assertEquals(0, arena.waiters(), "no registration is left in the losing arena");
        arena.free(all, 8 * Q);
        ArenaStats stats = arena.stats();
        assertEquals(0, stats.allocated(), "the free that would have fitted the big request left the space free");
        assertEquals(1, stats.allocations());
        arena.checkInvariants();
        other.checkInvariants();
    }

    @Test
    void anInterruptedWaitLeavesNoRegistration() throws Exception {
        Arena arena = arena(0x66_0000_0000L, 2);
        long all = arena.tryAlloc(2 * Q);
        List<Thread> thread = new ArrayList<>();
        CompletableFuture<Long> waiting = Background.start("waiter", () -> {
            thread.add(Thread.currentThread());
            return arena.alloc(Q);
        });
        Await.until("the alloc to wait", () -> arena.waiters() == 1);
        thread.get(0).interrupt();
        ExecutionException e = assertThrows(ExecutionException.class, () -> waiting.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof InterruptedException, e.toString());
        assertEquals(0, arena.waiters());
        arena.free(all, 2 * Q);
        assertEquals(0, arena.stats().allocated(), "nothing was carved for the interrupted waiter");
        arena.checkInvariants();
    }

    @Test
    void pollTakesOnlyWhatIsFreeNow() {
        Arena arena = arena(0x67_0000_0000L, 2);
        assertTrue(arena.allocEvent(2 * Q).poll().isPresent());
        assertFalse(arena.allocEvent(Q).poll().isPresent());
        assertEquals(0, arena.waiters());
        assertThrows(IllegalArgumentException.class, () -> arena.allocEvent(0));
        assertThrows(IllegalArgumentException.class, () -> arena.allocEvent(Q, 3));
    }

    /**
     * A stale head (its sync already won elsewhere) dropped by another thread's tryAlloc,
     * which does not serve the queue: the owner's later cancel must still serve the waiter
     * behind it, which fits (found in review: it slept until an unrelated free).
     */
    @Test
    void aStaleHeadDroppedElsewhereStillLetsTheNextWaiterIn() throws Exception {
        Arena arena = arena(0x69_0000_0000L, 4);
        long three = arena.tryAlloc(3 * Q); // one quantum free
        ManualSource other = new ManualSource();
        other.onCancel = () -> arena.tryAlloc(Q); // another thread's tryAlloc inside A's clean-up
        CompletableFuture<Long> a = Background.start("A", () -> Events.choose(other, arena.allocEvent(2 * Q)).sync());
        Await.until("A to queue", () -> arena.waiters() == 1 && other.waiters() == 1);
        CompletableFuture<Long> b = Background.start("B", () -> arena.alloc(Q));
        Await.until("B to queue behind A", () -> arena.waiters() == 2);
        assertTrue(other.fire(42L));
        assertEquals(42L, a.get(5, TimeUnit.SECONDS));
        assertEquals(three + 3 * Q, b.get(5, TimeUnit.SECONDS), "with A gone, B fits and is served");
        assertEquals(0, arena.waiters());
        arena.checkInvariants();
    }
}

package io.slab4j.pool;

import io.slab4j.arena.Arena;
import io.slab4j.arena.FailingCommits;
import io.slab4j.arena.Hex;
import io.slab4j.cache.PoolCache;
import io.slab4j.event.Event;
import io.slab4j.event.Events;
import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.Await;
import io.slab4j.testing.Background;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Review 20 (reviewer a): Pool, PoolCache and Arena through their public API — the OS refusing commits under a
 * pool (the {@link FailingCommits} seam; no pool-level probe used it before), the layer methods ({@code park},
 * {@code putAll}, {@code isOut}), composed {@code getEvent} syncs, timeouts and interrupts of a get waiting on a
 * grow, a thread-bound cache handle whose owner exited, and bad inputs that must name their value and change
 * nothing. Conservation is counted: every address has one owner, the arena's allocated bytes are the pool's slabs.
 */
@org.junit.jupiter.api.Timeout(value = 20, unit = TimeUnit.SECONDS)
class Review20PoolTest {
    private static final long PAGE = VirtualRegion.pageSize();

    /** An arena over a real region, page-exact commit chunks (one commit call per one-page slab), commits failing on demand. */
    private static final class Rig implements AutoCloseable {
        final VirtualRegion region;
        final FailingCommits seam = new FailingCommits();
        final Arena arena;

        Rig(int pages) {
            region = VirtualRegion.reserve(pages * PAGE);
            arena = seam.arenaOver(region).commitChunk(PAGE).build();
        }

        @Override
        public void close() {
            seam.failAll(false);
            region.close();
        }
    }

    private static Arena plain(long bytes) {
        return Arena.builder(0x5000_0000L, bytes).build();
    }

    /** Every slab the pool holds is one arena span, and the arena holds nothing else. */
    private static void assertSlabsAreTheArenasSpans(Pool p, Arena a, String when) {
        PoolStats s = p.stats();
        assertEquals(s.slabs() * p.slabBytes(), a.stats().allocated(),
                when + ": the arena's allocated bytes are not the pool's slabs: " + s + " / " + a.stats());
        p.checkInvariants();
        a.checkInvariants();
    }

    // ------------------------------------------------------------- refused commits under a pool

    @Test
    void aBuildWhosePrimeMeetsARefusedCommitLeaksNoSlab() {
        // Pool.Builder.build primes lowWater slabs; "@throws IllegalStateException the arena cannot give the slabs
        // to prime now", and the pool is then never handed to anyone. A refused commit on the second slab must not
        // strand the first one in the arena (README: "state consistent after a fault"; Round 4's probe of this
        // covered only missing space).
        try (Rig rig = new Rig(64)) {
            rig.seam.failAfter(1); // the first slab commits, the second is refused
            RuntimeException e = assertThrows(RuntimeException.class,
                    () -> Pool.builder("r20-prime-refused", 512).slabPages(1).lowWater(3).highWater(3).build(rig.arena));
            assertTrue(e instanceof IllegalStateException || e instanceof NativeMemoryException, e.toString());
            assertEquals(0, rig.arena.stats().allocated(),
                    "a build that threw " + e + " left " + rig.arena.stats().allocated()
                            + " bytes of primed slabs allocated in the arena, owned by no pool anyone holds");
            rig.arena.checkInvariants();
        }
    }

    @Test
    void tryGetThatTheOsRefusesThrowsAndTakesNothing() {
        // Pool.tryGet: "@throws NativeMemoryException the OS refused to commit the new slab (nothing taken)".
        try (Rig rig = new Rig(16)) {
            Pool p = Pool.builder("r20-tryget-refused", 256).slabPages(1).build(rig.arena);
            rig.seam.failAll(true);
            PoolStats before = p.stats();
            assertThrows(NativeMemoryException.class, p::tryGet);
            PoolStats after = p.stats();
            assertEquals(0, after.slabs());
            assertEquals(0, after.pendingItems(), "the refused grow's reservation outlived the call");
            assertEquals(0, after.itemsInUse());
            assertEquals(before.requests(), after.requests());
            assertEquals(0, rig.arena.waiters());
            assertSlabsAreTheArenasSpans(p, rig.arena, "after the refusal");
            rig.seam.failAll(false);
            long a = p.tryGet();
            assertNotEquals(0, a);
            p.put(a);
            p.close();
            assertEquals(0, rig.arena.stats().allocated());
        }
    }

    @Test
    void zeroAndNegativeTimeoutsThrowWhatTryGetThrowsAndCountNoWait() throws InterruptedException {
        // Pool.get(Duration): "A zero or negative timeout only tries (and counts no wait), and throws what tryGet
        // throws".
        try (Rig rig = new Rig(16)) {
            Pool p = Pool.builder("r20-zero-refused", 256).slabPages(1).build(rig.arena);
            rig.seam.failAll(true);
            for (Duration d : new Duration[] {Duration.ZERO, Duration.ofNanos(-1), Duration.ofSeconds(Long.MIN_VALUE)}) {
                Thread.currentThread().interrupt(); // only tries: the flag plays no part and stays
                assertThrows(NativeMemoryException.class, () -> p.get(d), d.toString());
                assertTrue(Thread.interrupted(), d + ": the flag was consumed by a call that never waits");
            }
            PoolStats s = p.stats();
            assertEquals(0, s.waits(), s.toString());
            assertEquals(0, s.pendingItems());
            assertSlabsAreTheArenasSpans(p, rig.arena, "after the refusals");
            p.close();
        }
    }

    @Test
    void aWaitingGetWaitsOutARefusedCommitAndTheRetryServesIt() throws Exception {
        // Pool.get(): "A slab whose commit the OS refuses is waited out like missing space: the arena retries it
        // (Arena's 'Failed commits'), so a transient ENOMEM delays the get instead of failing it." The retry runs
        // by itself, even if nothing else calls the arena.
        try (Rig rig = new Rig(16)) {
            Pool p = Pool.builder("r20-get-refused", 256).slabPages(1).build(rig.arena);
            rig.seam.failAll(true);
            CompletableFuture<Long> f = Background.start("r20-get-refused", () -> p.get(Duration.ofSeconds(15)));
            Await.until("the get waits", () -> p.waiters() == 1 && rig.seam.failed() >= 1);
            assertFalse(f.isDone());
            rig.seam.failAll(false);
            long a = f.get(15, TimeUnit.SECONDS);
            assertNotEquals(0, a, "the get timed out although the OS recovered");
            assertEquals(0, p.waiters());
            assertEquals(0, rig.arena.waiters());
            assertEquals(1, p.stats().itemsInUse());
            assertEquals(0, p.stats().pendingItems());
            assertSlabsAreTheArenasSpans(p, rig.arena, "after the served get");
            p.put(a);
            p.close();
        }
    }

    @Test
    void aPollOfGetEventUnderARefusedCommitTakesNothing() {
        // Pool.getEvent is choose(put, withNack(grow)); Event.poll "leaves no registration behind", and a nack of a
        // grow that lost releases its reservation. A refused commit during the poll may read as not ready or be
        // thrown (BaseEvent.tryNow: "An exception propagates ... so the transfer must not have happened"), but
        // nothing may stay reserved or allocated.
        try (Rig rig = new Rig(16)) {
            Pool p = Pool.builder("r20-poll-refused", 256).slabPages(1).hardLimit(16).build(rig.arena);
            rig.seam.failAll(true);
            for (int i = 0; i < 5; i++) {
                try {
                    Optional<Long> got = p.getEvent().poll();
                    assertEquals(Optional.empty(), got, "a poll delivered while every commit fails");
                } catch (NativeMemoryException e) {
                    // documented as possible for a source's tryNow
                }
                PoolStats s = p.stats();
                assertEquals(0, s.pendingItems(), "round " + i + ": a reservation outlived the poll: " + s);
                assertEquals(0, s.waiters());
                assertEquals(0, rig.arena.waiters());
                assertSlabsAreTheArenasSpans(p, rig.arena, "round " + i);
            }
            rig.seam.failAll(false);
            long a = p.getEvent().poll().orElseThrow();
            p.put(a);
            p.close();
        }
    }

    @Test
    void primeMeetingARefusedCommitKeepsEverySlabItMadeInThePool() {
        // Pool.prime: "Grows the pool, without waiting, until it holds at least items items or the hard limit or
        // the arena stops it; returns the items it holds." Whether a refusal returns or throws, each slab the arena
        // gave is in the pool (counted) and nothing else is allocated.
        try (Rig rig = new Rig(32)) {
            Pool p = Pool.builder("r20-prime-mid", 512).slabPages(1).build(rig.arena);
            int per = p.itemsPerSlab();
            rig.seam.failAfter(2);
            long held;
            try {
                held = p.prime(5L * per);
            } catch (NativeMemoryException e) {
                held = -1;
            }
            PoolStats s = p.stats();
            assertEquals(2, s.slabs(), "slabs made before the refusal: " + s);
            if (held >= 0) {
                assertEquals(2L * per, held);
            }
            assertEquals(0, s.pendingItems());
            assertSlabsAreTheArenasSpans(p, rig.arena, "after the refused prime");
            assertEquals(5L * per, p.prime(5L * per), "a second prime after the OS recovered");
            assertSlabsAreTheArenasSpans(p, rig.arena, "after the second prime");
            p.close();
            assertEquals(0, rig.arena.stats().allocated());
        }
    }

    @Test
    void aCacheGetWithAZeroTimeoutThrowsTheRefusalAndTakesNothing() throws InterruptedException {
        // PoolCache.get(Duration): "As get(), trying first and then waiting up to timeout in the pool" — with no time
        // to wait it is the pool's get(Duration.ZERO), which throws what tryGet throws; tryGet likewise.
        try (Rig rig = new Rig(16)) {
            Pool p = Pool.builder("r20-cache-refused", 256).slabPages(1).build(rig.arena);
            PoolCache c = PoolCache.builder(p).build();
            rig.seam.failAll(true);
            assertThrows(NativeMemoryException.class, () -> c.get(Duration.ZERO));
            assertThrows(NativeMemoryException.class, c::tryGet);
            assertEquals(0, p.stats().pendingItems());
            assertEquals(0, c.parked());
            assertSlabsAreTheArenasSpans(p, rig.arena, "after the refusals");
            c.checkInvariants();
            rig.seam.failAll(false);
            long a = c.get(Duration.ZERO);
            assertNotEquals(0, a);
            c.put(a);
            c.close();
            p.close();
        }
    }

    @Test
    void aTimedGetUnderRefusedCommitsTimesOutAndTheRetryCarvesNothingForIt() throws InterruptedException {
        // Pool.get(Duration): 0 when the time runs out, the refused commit waited out meanwhile; Arena "Failed commits":
        // the shared retry tries queued waiters again, and "nothing is taken for a waiter who has left".
        try (Rig rig = new Rig(16)) {
            Pool p = Pool.builder("r20-timed-refused", 256).slabPages(1).build(rig.arena);
            rig.seam.failAll(true);
            assertEquals(0, p.get(Duration.ofMillis(80)));
            PoolStats s = p.stats();
            assertEquals(0, s.pendingItems(), s.toString());
            assertEquals(0, s.waiters());
            assertEquals(1, s.failures());
            assertEquals(0, rig.arena.waiters(), "the timed-out grow is still queued in the arena");
            rig.seam.failAll(false);
            Await.until("the commit retry thread is gone", () -> FailingCommits.retryThreads().isEmpty());
            assertEquals(0, rig.arena.stats().allocated(), "the retry carved a slab for the get that left");
            assertSlabsAreTheArenasSpans(p, rig.arena, "after the retry");
            p.close();
        }
    }

    @Test
    void closeUnderRefusedDecommitsSucceedsAndRetryReleasesTakesThemBackLater() throws InterruptedException {
        // Pool.close "returns every slab to the arena"; Arena.free: "Once the span is accepted this returns normally: a
        // failure to release its memory is counted"; Arena.retryReleases "returns the bytes it made inaccessible now".
        try (Rig rig = new Rig(16)) {
            Pool p = Pool.builder("r20-close-refused", 256).slabPages(1).highWater(8).build(rig.arena);
            List<Long> items = new ArrayList<>();
            for (int i = 0; i < 3 * p.itemsPerSlab(); i++) {
                items.add(p.get());
            }
            items.forEach(p::put);
            assertEquals(3, p.stats().slabs());
            rig.seam.failDecommits(true);
            p.close();
            assertTrue(p.isClosed());
            assertEquals(0, p.stats().slabReturnFailures(), "arena.free threw although it accepted the span");
            var a = rig.arena.stats();
            assertEquals(0, a.allocated());
            assertTrue(a.releaseFailures() >= 1, a.toString());
            assertTrue(a.accessible() >= 3 * PAGE, "the refused chunks stay accessible until retried: " + a);
            assertEquals(0, rig.arena.retryReleases(), "a retry while the OS still refuses gives nothing back");
            rig.seam.failDecommits(false);
            assertEquals(a.accessible(), rig.arena.retryReleases());
            assertEquals(0, rig.arena.stats().accessible());
            assertEquals(0, rig.arena.retryReleases(), "nothing is pending any more");
            rig.arena.checkInvariants();
        }
    }

    @Test
    void theHardLimitIsWholeSlabsAndAGetBeyondItWaitsOnPutsAlone() throws Exception {
        // Pool: "since slabs come whole, the usable limit is the largest multiple of itemsPerSlab not above it"; at the
        // limit a get waits on puts alone (no grow is registered in the arena, though the arena has room).
        Arena a = plain(64 * PAGE);
        Pool p = Pool.builder("r20-whole-slabs", 512).slabPages(1).hardLimit(12).build(a);
        int per = p.itemsPerSlab();
        assertEquals(8, per);
        Set<Long> held = new HashSet<>();
        for (int i = 0; i < per; i++) {
            assertTrue(held.add(p.tryGet()));
        }
        assertEquals(0, p.tryGet(), "a second slab would pass the hard limit of 12");
        assertEquals(0, p.get(Duration.ofMillis(20)));
        CompletableFuture<Long> f = Background.start("r20-whole-slabs", p::get);
        Await.until("the get waits", () -> p.waiters() == 1);
        assertEquals(0, a.waiters(), "a get at the limit registered a grow in the arena");
        assertEquals(0, p.stats().pendingItems());
        long back = held.iterator().next();
        p.put(back);
        assertEquals(back, f.get(10, TimeUnit.SECONDS));
        held.forEach(p::put);
        assertEquals(1, p.stats().slabs());
        assertSlabsAreTheArenasSpans(p, a, "at the end");
        p.close();
    }

    // ------------------------------------------------------------- a get waiting on a grow

    /** A pool of one-page slabs over an arena of one page that another holder has taken. */
    private static final class FullArena {
        final Arena arena = plain(PAGE);
        final long taken = arena.tryAlloc(PAGE);
        final Pool pool;

        FullArena(String name) {
            assertNotEquals(0, taken);
            pool = Pool.builder(name, 512).slabPages(1).build(arena);
        }
    }

    @Test
    void aTimedOutGetOnAGrowLeavesNoReservationAndNoArenaWaiterAndTheSpaceStaysFree() throws InterruptedException {
        // Pool.get(Duration): 0 when the time runs out; PoolStats.failures counts timeouts; a grow that lost releases
        // its reservation; DESIGN: "nothing is ever taken on behalf of a waiter who has left".
        FullArena f = new FullArena("r20-timed-grow");
        Pool p = f.pool;
        assertEquals(0, p.get(Duration.ofMillis(30)));
        PoolStats s = p.stats();
        assertEquals(0, s.pendingItems(), s.toString());
        assertEquals(0, s.waiters());
        assertEquals(1, s.failures());
        assertEquals(1, s.waits(), "a get that queued counts one wait");
        assertEquals(0, f.arena.waiters(), "the grow's registration stayed in the arena");
        f.arena.free(f.taken, PAGE);
        assertEquals(0, f.arena.stats().allocated(), "the arena carved the freed space for the gone get");
        assertEquals(0, p.stats().slabs());
        long a = p.tryGet();
        assertNotEquals(0, a);
        p.put(a);
        p.close();
        assertSlabsAreTheArenasSpans(p, f.arena, "after close");
    }

    @Test
    void anInterruptedGetOnAGrowWithdrawsFromTheArenaAndTakesNothing() throws Exception {
        // Checked InterruptedException on every blocking call (STYLE); the interrupt withdraws every registration
        // and the grow's nack releases its reservation.
        FullArena f = new FullArena("r20-int-grow");
        Pool p = f.pool;
        AtomicReference<Thread> t = new AtomicReference<>();
        CompletableFuture<String> got = Background.start("r20-int-grow", () -> {
            t.set(Thread.currentThread());
            try {
                return "returned " + p.get();
            } catch (InterruptedException e) {
                return "interrupted";
            }
        });
        Await.until("the get waits on the arena", () -> p.waiters() == 1 && f.arena.waiters() == 1);
        t.get().interrupt();
        assertEquals("interrupted", got.get(10, TimeUnit.SECONDS));
        assertEquals(0, p.waiters());
        assertEquals(0, f.arena.waiters());
        assertEquals(0, p.stats().pendingItems());
        f.arena.free(f.taken, PAGE);
        assertEquals(0, f.arena.stats().allocated());
        assertSlabsAreTheArenasSpans(p, f.arena, "after the interrupt");
        p.close();
    }

    @Test
    void aGetEventChosenAgainstAZeroTimeoutLosesNoItemAndNoReservation() throws InterruptedException {
        // getEvent composes with timeout: both may be ready at once; whichever wins, an item is either returned or
        // stays free in the pool, and a grow that lost is withdrawn (its nack). Counted over many rounds.
        Arena a = plain(64 * PAGE);
        Pool p = Pool.builder("r20-zero-choice", 1024).slabPages(1).hardLimit(64).build(a);
        Event<Long> e = Events.choose(p.getEvent(), Events.timeout(Duration.ZERO).wrap(x -> 0L));
        Set<Long> held = new HashSet<>();
        int timeouts = 0;
        for (int i = 0; i < 300; i++) {
            long v = (i & 1) == 0 ? e.sync() : e.poll().orElseThrow();
            if (v == 0) {
                timeouts++;
            } else {
                assertTrue(held.add(v), "item " + Hex.of(v) + " handed out twice");
            }
            if (held.size() > 20) {
                for (long x : held) {
                    p.put(x);
                }
                held.clear();
            }
            PoolStats s = p.stats();
            assertEquals(0, s.pendingItems(), "round " + i + ": " + s);
            assertEquals(held.size(), s.itemsInUse(), "round " + i + ": " + s);
        }
        assertTrue(timeouts > 0, "the timeout never won a round");
        for (long x : held) {
            p.put(x);
        }
        assertEquals(0, a.waiters());
        assertSlabsAreTheArenasSpans(p, a, "after the rounds");
        p.close();
        assertEquals(0, a.stats().allocated());
    }

    @Test
    void closeWhileAGetEventSyncIsRegisteredIsRefusedAndChangesNothing() throws Exception {
        // Pool.close: "Refuses, loudly, while ... gets are waiting or grows are pending (nothing changes)". A sync of
        // getEvent inside a user's choice is such a get.
        Arena a = plain(4 * PAGE);
        Pool p = Pool.builder("r20-close-event", 4096).slabPages(1).hardLimit(1).build(a);
        long only = p.tryGet();
        assertNotEquals(0, only);
        Event<Long> other = Events.guard(Events::<Long>never); // a user's branch beside the pool's
        CompletableFuture<Long> f = Background.start("r20-close-event",
                () -> Events.choose(p.getEvent(), other).sync());
        Await.until("the sync waits on the pool", () -> p.waiters() == 1);
        IllegalStateException e = assertThrows(IllegalStateException.class, p::close);
        assertTrue(e.getMessage().contains("r20-close-event"), e.getMessage());
        assertFalse(p.isClosed());
        assertEquals(1, p.waiters());
        p.put(only); // serves the waiter
        assertEquals(only, f.get(10, TimeUnit.SECONDS));
        p.put(only);
        p.close();
        assertTrue(p.isClosed());
        assertEquals(0, a.stats().allocated());
    }

    @Test
    void everyWaitStrategysTimedOutOrInterruptedGrowLeavesNothingBehind() throws Exception {
        // PoolStats.pendingItems: items of grows waiting for arena space; a get that returns (0 on timeout, or by
        // InterruptedException) has no grow pending any more, whatever the strategy, and nothing is carved for it.
        for (WaitStrategy ws : new WaitStrategy[] {WaitStrategy.NACK, WaitStrategy.NAIVE, WaitStrategy.PENDING_GROW_COUNT}) {
            Arena a = plain(PAGE);
            long taken = a.tryAlloc(PAGE);
            Pool p = Pool.builder("r20-ws-" + ws, 512).slabPages(1).waitStrategy(ws).build(a);
            assertEquals(0, p.get(Duration.ofMillis(20)), ws.toString());
            assertEquals(0, p.stats().pendingItems(), ws + " after a timeout: " + p.stats());
            assertEquals(0, a.waiters(), ws + " after a timeout");
            AtomicReference<Thread> t = new AtomicReference<>();
            CompletableFuture<String> f = Background.start("r20-ws-" + ws, () -> {
                t.set(Thread.currentThread());
                try {
                    return "got " + p.get();
                } catch (InterruptedException e) {
                    return "interrupted";
                }
            });
            Await.until(ws + ": the get waits in the arena", () -> a.waiters() == 1);
            Await.parkedInSync(t.get());
            t.get().interrupt();
            assertEquals("interrupted", f.get(10, TimeUnit.SECONDS), ws.toString());
            assertEquals(0, p.stats().pendingItems(), ws + " after an interrupt: " + p.stats());
            assertEquals(0, a.waiters(), ws + " after an interrupt");
            a.free(taken, PAGE);
            assertEquals(0, a.stats().allocated(), ws + ": space carved for a get that left");
            assertSlabsAreTheArenasSpans(p, a, ws.toString());
            p.close();
        }
    }

    @Test
    void aGetBlockedOnAGrowIsCountedAsAWaiterUnderEveryStrategy() throws Exception {
        // Pool.waiters(): "Gets waiting on this pool now, one each (a get waiting on a put and a grow counts once)";
        // PoolStats.waiters: "gets waiting now, one each". A get blocked in Pool.get() is waiting whatever its
        // strategy waits for; the same get is counted in PoolStats.waits ("gets that had to wait (queued on the pool)").
        List<String> wrong = new ArrayList<>();
        for (WaitStrategy ws : new WaitStrategy[] {WaitStrategy.NACK, WaitStrategy.NAIVE, WaitStrategy.PENDING_GROW_COUNT}) {
            Arena a = plain(PAGE);
            long taken = a.tryAlloc(PAGE);
            Pool p = Pool.builder("r20-count-" + ws, 512).slabPages(1).waitStrategy(ws).build(a);
            AtomicReference<Thread> t = new AtomicReference<>();
            CompletableFuture<Long> f = Background.start("r20-count-" + ws, () -> {
                t.set(Thread.currentThread());
                return p.get();
            });
            Await.until(ws + ": the get's grow waits in the arena", () -> a.waiters() == 1);
            Await.parkedInSync(t.get());
            PoolStats s = p.stats();
            if (p.waiters() != 1 || s.waiters() != 1) {
                wrong.add(ws + ": waiters() " + p.waiters() + ", stats " + s.waiters() + " (waits " + s.waits() + ")");
            }
            a.free(taken, PAGE); // serves the get through its grow
            long got = f.get(10, TimeUnit.SECONDS);
            assertEquals(0, p.waiters());
            p.put(got);
            p.close();
        }
        assertTrue(wrong.isEmpty(), "a get blocked on its grow is not counted as waiting: " + wrong);
    }

    @Test
    void aChoiceOfTwoPoolsGrowingInOneFullArenaTakesExactlyOneSlab() throws Exception {
        // Two grow branches of one sync queue in the same arena (BaseEvent.forward): one free that fits either is
        // carved once, for the winner; the loser's reservation is released (its nack) and nothing else is allocated.
        Arena a = plain(2 * PAGE);
        long t1 = a.tryAlloc(PAGE);
        long t2 = a.tryAlloc(PAGE);
        Pool p1 = Pool.builder("r20-two-a", 512).slabPages(1).build(a);
        Pool p2 = Pool.builder("r20-two-b", 1024).slabPages(1).build(a);
        CompletableFuture<Long> f = Background.start("r20-two",
                () -> Events.choose(p1.getEvent(), p2.getEvent()).sync());
        Await.until("both grows queue in the arena", () -> a.waiters() == 2 && p1.waiters() == 1 && p2.waiters() == 1);
        a.free(t1, PAGE);
        long got = f.get(10, TimeUnit.SECONDS);
        Pool winner = p1.isOut(got, null) != null ? p1 : p2;
        Pool loser = winner == p1 ? p2 : p1;
        assertNotNull(winner.isOut(got, null), Hex.of(got) + " is out in neither pool");
        assertEquals(1, winner.stats().slabs());
        assertEquals(0, loser.stats().slabs());
        assertEquals(0, loser.stats().pendingItems(), "the losing pool's grow is still reserved");
        assertEquals(0, winner.stats().pendingItems());
        assertEquals(0, a.waiters(), "a registration of the finished sync stayed in the arena");
        assertEquals(2 * PAGE, a.stats().allocated(), "one slab and the other holder's page, nothing more");
        winner.put(got);
        p1.close();
        p2.close();
        a.free(t2, PAGE);
        assertEquals(0, a.stats().allocated());
        a.checkInvariants();
    }

    @Test
    void aChoiceOfTwoAlignedAllocEventsCarvesOneAlignedSpan() throws Exception {
        // Arena.allocEvent(size, align): the span is a multiple of align; a choice of two registrations on one arena
        // commits to one and carves nothing for the other.
        Arena a = plain(8 * PAGE);
        long all = a.tryAlloc(8 * PAGE);
        Event<Long> e = Events.choose(a.allocEvent(PAGE, 4 * PAGE), a.allocEvent(2 * PAGE, 2 * PAGE).wrap(x -> -x));
        CompletableFuture<Long> f = Background.start("r20-aligned", e::sync);
        Await.until("both registered", () -> a.waiters() == 2);
        a.free(all, 8 * PAGE);
        long v = f.get(10, TimeUnit.SECONDS);
        long addr = Math.abs(v);
        long size = v > 0 ? PAGE : 2 * PAGE;
        long align = v > 0 ? 4 * PAGE : 2 * PAGE;
        assertEquals(0, addr % align, Hex.of(addr) + " is not " + align + "-aligned");
        assertEquals(size, a.stats().allocated(), "the losing registration was carved too: " + a.stats());
        assertTrue(a.isAllocated(addr, size));
        assertEquals(0, a.waiters());
        a.free(addr, size);
        a.checkInvariants();
    }

    // ------------------------------------------------------------- the layer methods

    @Test
    void putAllReturnsEveryGoodItemPastBadOnesAndThrowsTheFirstWithTheOthersSuppressed() {
        // Pool.putAll: "Every acceptable item is returned even past a bad one; then the first rejection is thrown
        // (with the others suppressed)."
        Arena a = plain(16 * PAGE);
        Pool p = Pool.builder("r20-putall", 256).slabPages(1).build(a);
        long x = p.tryGet();
        long y = p.tryGet();
        long z = p.tryGet();
        for (long v : new long[] {x, y, z}) {
            p.park(v);
        }
        long foreign = 0x10L;
        long interior = x + 8;
        long[] batch = {x, foreign, y, y, interior, z};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.putAll(batch, batch.length));
        assertTrue(e.getMessage().contains(Hex.of(foreign)), "the first rejection names the foreign address: " + e.getMessage());
        assertEquals(2, e.getSuppressed().length, "the duplicate and the interior address are suppressed: "
                + java.util.Arrays.toString(e.getSuppressed()));
        PoolStats s = p.stats();
        assertEquals(0, s.itemsInUse(), "good items past the bad ones were not returned: " + s);
        for (long v : new long[] {x, y, z}) {
            assertNull(p.isOut(v, null), Hex.of(v) + " still reads as out");
        }
        p.checkInvariants();
        p.close();
        assertEquals(0, a.stats().allocated());
    }

    @Test
    void parkRefusesWhatIsNotOutAndPutRefusesWhatIsParkedAndNothingChanges() {
        // Pool.park: "@throws IllegalArgumentException not an item of this pool ..., already free, or already
        // parked; nothing changes"; Pool.put: refuses an item "parked in a layer (a cache) over this pool".
        Arena a = plain(16 * PAGE);
        Pool p = Pool.builder("r20-park", 256).slabPages(1).build(a);
        long x = p.tryGet();
        long y = p.tryGet();
        p.put(y); // y is free
        PoolStats before = p.stats();
        IllegalArgumentException freeOne = assertThrows(IllegalArgumentException.class, () -> p.park(y));
        assertTrue(freeOne.getMessage().contains(Hex.of(y)), freeOne.getMessage());
        p.park(x);
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> p.park(x));
        assertTrue(twice.getMessage().contains(Hex.of(x)), twice.getMessage());
        IllegalArgumentException putParked = assertThrows(IllegalArgumentException.class, () -> p.put(x));
        assertTrue(putParked.getMessage().contains(Hex.of(x)), putParked.getMessage());
        assertThrows(IllegalArgumentException.class, () -> p.park(x + 16));
        assertThrows(IllegalArgumentException.class, () -> p.park(0));
        PoolStats after = p.stats();
        assertEquals(before.itemsInUse(), after.itemsInUse());
        assertEquals(before.releases(), after.releases());
        p.checkInvariants();
        p.unpark(x);
        assertNotNull(p.isOut(x, null));
        p.put(x);
        assertNull(p.isOut(x, null));
        p.close();
    }

    @Test
    void isOutAnswersExactlyWhatIsOutWhateverTheHint() {
        // Pool.isOut: the start of an item that is out now → a hint; else null; "a stale one costs a directory
        // lookup, never a wrong answer".
        Arena a = plain(16 * PAGE);
        Pool p = Pool.builder("r20-isout", 256).slabPages(1).build(a);
        Pool other = Pool.builder("r20-isout-other", 256).slabPages(1)
                .build(Arena.builder(0x6000_0000L, 16 * PAGE).build()); // a range of its own
        long x = p.tryGet();
        long y = p.tryGet();
        long foreign = other.tryGet();
        Object hint = p.isOut(x, null);
        assertNotNull(hint);
        assertNotNull(p.isOut(y, hint));
        assertNull(p.isOut(x + 16, hint), "an interior address reads as out");
        assertNull(p.isOut(foreign, hint), "another pool's item reads as out");
        assertNull(p.isOut(0, hint));
        assertNull(p.isOut(-1, hint));
        assertNotNull(p.isOut(x, "not a hint of this pool"), "x is out: a foreign hint must cost a lookup only");
        p.put(x);
        assertNull(p.isOut(x, hint), "a put item reads as out through its stale hint");
        assertNotNull(p.isOut(y, "junk"));
        p.put(y);
        assertNull(p.isOut(y, hint), "a put item reads as out through a fresh hint of its slab");
        other.put(foreign);
        p.checkInvariants();
        p.close();
        other.close();
    }

    @Test
    void badPutAddressesAreRefusedNamingThemAndChangeNothing() {
        // DESIGN: put of an address "not from this pool, not item-aligned, or already free → IllegalArgumentException";
        // STYLE: messages name the bad value; the structure is unchanged.
        Arena a = plain(16 * PAGE);
        Pool p = Pool.builder("r20-badput", 256).slabPages(1).build(a);
        long x = p.tryGet();
        PoolStats before = p.stats();
        for (long bad : new long[] {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, a.base() - 256, a.base() + a.size(), x + 1,
                x + 256 + 128}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.put(bad), Hex.of(bad));
            assertTrue(e.getMessage().contains(Hex.of(bad)) || e.getMessage().contains(Long.toString(bad)),
                    "the message does not name " + Hex.of(bad) + ": " + e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> p.putHeld(bad), "putHeld " + Hex.of(bad));
        }
        assertEquals(before, p.stats());
        p.checkInvariants();
        p.put(x);
        IllegalArgumentException again = assertThrows(IllegalArgumentException.class, () -> p.put(x));
        assertTrue(again.getMessage().contains(Hex.of(x)), again.getMessage());
        p.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> p.put(x));
        assertTrue(closed.getMessage().contains("r20-badput"), closed.getMessage());
    }

    // ------------------------------------------------------------- the cache layer

    @Test
    void aLocalHandleOfAnExitedOwnerIsRefusedAndItsParkedItemsStillServeGets() throws Exception {
        // PoolCache.Local: "a call from any other thread is refused with IllegalStateException naming both threads,
        // before anything changes"; package doc: "An exited thread is an idle thread that never returns: its items
        // are reclaimed the same way".
        Arena a = plain(16 * PAGE);
        Pool p = Pool.builder("r20-local-exit", 1024).slabPages(1).hardLimit(4).build(a);
        PoolCache c = PoolCache.builder(p).build();
        List<Long> parkedByOwner = new ArrayList<>();
        AtomicReference<PoolCache.Local> handle = new AtomicReference<>();
        Thread owner = new Thread(() -> {
            PoolCache.Local l = c.local();
            try {
                for (int i = 0; i < 4; i++) {
                    parkedByOwner.add(l.get());
                }
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
            parkedByOwner.forEach(l::put);
            handle.set(l);
        }, "r20-local-owner");
        owner.setDaemon(true);
        owner.start();
        owner.join(10_000);
        assertFalse(owner.isAlive());
        PoolCache.Local l = handle.get();
        assertEquals(4, p.stats().itemsInUse(), "the owner's items are parked (out, as the pool counts them)");
        IllegalStateException get = assertThrows(IllegalStateException.class, l::tryGet);
        assertTrue(get.getMessage().contains("r20-local-owner") && get.getMessage().contains(Thread.currentThread().getName()),
                "names both threads: " + get.getMessage());
        long mine = parkedByOwner.get(0);
        assertThrows(IllegalStateException.class, () -> l.put(mine));
        assertEquals(4, p.stats().itemsInUse());
        Set<Long> got = new HashSet<>();
        for (int i = 0; i < 4; i++) {
            long v = c.get(Duration.ofSeconds(5));
            assertNotEquals(0, v, "get " + i + " was not served by the exited owner's items");
            assertTrue(got.add(v));
        }
        assertEquals(new HashSet<>(parkedByOwner), got);
        got.forEach(c::put);
        c.close();
        assertEquals(0, p.stats().itemsInUse());
        p.close();
    }

    @Test
    void aPutOnAClosedCacheTakesNothingAndThePoolTakesTheItemAfter() {
        // PoolCache.put: "@throws IllegalStateException the cache is closed (the item was not taken)".
        Arena a = plain(16 * PAGE);
        Pool p = Pool.builder("r20-closed-cache", 256).slabPages(1).build(a);
        PoolCache c = PoolCache.builder(p).build();
        long x = c.tryGet();
        long y = c.tryGet();
        c.put(y);
        c.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.put(x));
        assertNotNull(e.getMessage());
        assertThrows(IllegalStateException.class, () -> c.putExclusive(x));
        assertThrows(IllegalStateException.class, c::tryGet);
        assertThrows(IllegalStateException.class, c::drain);
        assertNotNull(p.isOut(x, null), "the refused put changed the item's record");
        assertEquals(1, p.stats().itemsInUse(), "close returned the parked item; only x is out");
        p.put(x);
        p.checkInvariants();
        p.close();
        assertEquals(0, a.stats().allocated());
    }

    @Test
    void cacheBuilderBadValuesAreRefusedNamingThemAndTheBuilderStaysUsable() {
        // PoolCache.Builder: magazineSize in [1, MAX_MAGAZINE_SIZE], depotLimit in [0, MAX_DEPOT_LIMIT]; bad values →
        // IllegalArgumentException naming them (STYLE), at the setter or at build(); a closed pool → IllegalStateException.
        Arena a = plain(16 * PAGE);
        Pool p = Pool.builder("r20-cache-builder", 256).slabPages(1).build(a);
        int[] badSizes = {0, -1, PoolCache.MAX_MAGAZINE_SIZE + 1, Integer.MIN_VALUE, Integer.MAX_VALUE};
        for (int bad : badSizes) {
            PoolCache.Builder b = PoolCache.builder(p);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.magazineSize(bad).build(),
                    "magazineSize(" + bad + ")");
            assertTrue(e.getMessage().contains(Integer.toString(bad)), e.getMessage());
        }
        int[] badDepots = {-1, PoolCache.MAX_DEPOT_LIMIT + 1, Integer.MIN_VALUE};
        for (int bad : badDepots) {
            PoolCache.Builder b = PoolCache.builder(p);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.depotLimit(bad).build(),
                    "depotLimit(" + bad + ")");
            assertTrue(e.getMessage().contains(Integer.toString(bad)), e.getMessage());
        }
        PoolCache edge = PoolCache.builder(p).magazineSize(PoolCache.MAX_MAGAZINE_SIZE).depotLimit(0).build();
        assertEquals(PoolCache.MAX_MAGAZINE_SIZE, edge.magazineSize());
        long v = edge.tryGet();
        edge.put(v);
        edge.close();
        p.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> PoolCache.builder(p).build());
        assertTrue(closed.getMessage().contains("r20-cache-builder"), closed.getMessage());
    }

    @Test
    void anInterruptedCacheGetLosesNoItemParkedByABusyThread() throws Exception {
        // A cache get that blocks is the pool's get: interrupted, it takes nothing and leaves no waiter; items
        // parked elsewhere stay accounted (pool in use = held + parked).
        Arena a = plain(16 * PAGE);
        Pool p = Pool.builder("r20-cache-int", 4096).slabPages(1).hardLimit(2).build(a);
        PoolCache c = PoolCache.builder(p).build();
        long x = c.tryGet();
        long y = c.tryGet();
        AtomicReference<Thread> t = new AtomicReference<>();
        CompletableFuture<String> f = Background.start("r20-cache-int", () -> {
            t.set(Thread.currentThread());
            try {
                return "got " + c.get();
            } catch (InterruptedException e) {
                return "interrupted";
            }
        });
        Await.until("the cache get waits in the pool", () -> p.waiters() == 1);
        t.get().interrupt();
        assertEquals("interrupted", f.get(10, TimeUnit.SECONDS));
        assertEquals(0, p.waiters());
        assertEquals(2, p.stats().itemsInUse());
        c.put(x);
        c.put(y);
        assertEquals(2, p.stats().itemsInUse(), "parked items count as in use");
        c.drain();
        assertEquals(0, p.stats().itemsInUse());
        c.close();
        p.close();
        assertEquals(0, a.stats().allocated());
    }

    // ------------------------------------------------------------- the arena's own inputs

    @Test
    void arenaBadSizesAndAlignmentsAreRefusedNamingThemAndChangeNothing() {
        // Arena.tryAlloc(size, align): "@throws IllegalArgumentException size ≤ 0 or beyond the arena or its cap; align
        // not a power of two, below the quantum, or such that no aligned address of the range has room"; allocEvent and
        // alloc reject the same; free of a wrong size or an interior address changes nothing.
        Arena a = plain(16 * PAGE);
        long s = a.tryAlloc(2 * PAGE);
        assertNotEquals(0, s);
        var before = a.stats();
        long[][] bad = {{0, PAGE}, {-1, PAGE}, {Long.MIN_VALUE, PAGE}, {17 * PAGE, PAGE}, {Long.MAX_VALUE, PAGE},
                {PAGE, 3 * PAGE}, {PAGE, 0}, {PAGE, -PAGE}, {PAGE, PAGE / 2}, {PAGE, Long.MIN_VALUE}, {PAGE, 1L << 62}};
        for (long[] b : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.tryAlloc(b[0], b[1]),
                    "tryAlloc(" + b[0] + ", " + b[1] + ")");
            String m = e.getMessage();
            boolean namesSize = m.contains(Long.toString(b[0])) || m.contains(Hex.of(b[0]));
            boolean namesAlign = m.contains(Long.toString(b[1])) || m.contains(Hex.of(b[1]));
            assertTrue(namesSize || namesAlign, "tryAlloc(" + b[0] + ", " + b[1] + "): names neither: " + m);
            assertThrows(IllegalArgumentException.class, () -> a.allocEvent(b[0], b[1]));
        }
        assertThrows(IllegalArgumentException.class, () -> a.alloc(0, Duration.ofMillis(1)));
        assertThrows(IllegalArgumentException.class, () -> a.free(s, PAGE), "a free of the wrong size");
        assertThrows(IllegalArgumentException.class, () -> a.free(s + PAGE, PAGE), "a free of an interior address");
        assertThrows(IllegalArgumentException.class, () -> a.free(s, 0));
        assertThrows(IllegalArgumentException.class, () -> a.free(s, -PAGE));
        assertFalse(a.isAllocated(s, -1));
        assertFalse(a.isAllocated(s, Long.MAX_VALUE));
        assertFalse(a.isAllocated(s + PAGE, PAGE));
        assertTrue(a.isAllocated(s, 2 * PAGE));
        assertEquals(before, a.stats());
        a.checkInvariants();
        a.free(s, 2 * PAGE);
        assertEquals(0, a.stats().allocated());
    }

    @Test
    void arenaAllocWithAZeroTimeoutUnderARefusedCommitThrowsAndAPositiveOneWaitsItOut() throws Exception {
        // Arena.alloc(size, timeout): "A zero or negative timeout only tries ... and throws what tryAlloc throws; with a
        // positive one, a commit the OS refuses is waited out like missing space"; and the span goes back on failure.
        try (Rig rig = new Rig(8)) {
            rig.seam.failAll(true);
            assertThrows(NativeMemoryException.class, () -> rig.arena.alloc(PAGE, Duration.ZERO));
            assertThrows(NativeMemoryException.class, () -> rig.arena.alloc(PAGE, Duration.ofSeconds(-1)));
            assertEquals(0, rig.arena.stats().allocated());
            assertEquals(0, rig.arena.waiters());
            CompletableFuture<Long> f = Background.start("r20-arena-wait", () -> rig.arena.alloc(PAGE, Duration.ofSeconds(15)));
            Await.until("the alloc waits", () -> rig.arena.waiters() == 1);
            rig.seam.failAll(false);
            long got = f.get(15, TimeUnit.SECONDS);
            assertNotEquals(0, got, "the alloc timed out although the OS recovered");
            assertEquals(PAGE, rig.arena.stats().allocated());
            rig.arena.free(got, PAGE);
            rig.arena.checkInvariants();
        }
    }
}

package io.slab4j.arena;

import io.slab4j.testing.StressRun;
import io.slab4j.event.Channel;
import io.slab4j.event.Event;
import io.slab4j.event.Events;
import io.slab4j.nativemem.NativeMemoryException;
import io.slab4j.nativemem.VirtualRegion;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Conservation under stress: four threads each sync on {@code choose(arena space, a span
 * from a shared channel, a random timeout)}, with random interrupts; they free spans or
 * pass them on through the channel. Every span is owned by one thread, the channel, or
 * nobody (free); at the end all come back, the invariants hold and no waiter is left.
 * Bounded in time; the seed is printed.
 */
@Tag("stress")
class ArenaChoiceStressTest {
    private static final int THREADS = 4;
    private static final long Q = 4096;
    private static final long RUN_MILLIS = Long.getLong("slab4j.stress.millis", 2_000);

    /** A span on the move: its address and size. */
    private record Span(long address, long size) {
    }

    @Test
    void everySpanHasOneOwnerAndNoneIsLost() throws Exception {
        run(Arena.builder(0x70_0000_0000L, 64 * Q).quantum(Q).fit(Fit.INSTANT).build(), null);
    }

    /**
     * The same over a region whose commits, decommits and releases fail 3% of the time: failures
     * reach non-waiting callers, served waiters keep waiting, frees never throw, and
     * nothing is lost or spun on.
     */
    @Test
    void injectedCommitFailuresLoseNothing() throws Exception {
        try (VirtualRegion region = VirtualRegion.reserve(64 * Q)) {
            FaultyPages pages = new FaultyPages(region);
            pages.failPercent = 3;
            Arena arena = pages.arena().commitChunk(VirtualRegion.pageSize()).build();
            run(arena, pages);
            pages.failPercent = 0;
            assertTrue(arena.stats().commitFailures() > 0 && arena.stats().releaseFailures() > 0,
                    "the run should meet injected failures: " + arena.stats());
        }
    }

    private void run(Arena arena, FaultyPages pages) throws Exception {
        long seed = Long.getLong("slab4j.seed", 7);
        System.out.printf("ArenaChoiceStressTest: seed %d, %d ms, %s%n", seed, RUN_MILLIS, pages == null ? "plain" : pages);
        AtomicLong commitFailures = new AtomicLong();
        Channel<Span> channel = new Channel<>("spans");
        ConcurrentHashMap<Long, Object> owners = new ConcurrentHashMap<>();
        AtomicLong fromArena = new AtomicLong();
        AtomicLong fromChannel = new AtomicLong();
        AtomicLong timeouts = new AtomicLong();
        AtomicLong interrupts = new AtomicLong();
        StressRun.run("arena-stress", THREADS, seed, RUN_MILLIS, (random, run) -> {
            List<Span> held = new ArrayList<>();
            try {
                while (run.running()) {
                    if (held.size() > 6 || (!held.isEmpty() && random.nextInt(100) < 40)) {
                        Span span = held.remove(random.nextInt(held.size()));
                        if (owners.get(span.address) != Thread.currentThread()) {
                            throw new AssertionError("releasing a span this thread does not own");
                        }
                        if (random.nextBoolean()) {
                            owners.put(span.address, channel);
                            channel.send(span);
                        } else {
                            owners.remove(span.address);
                            arena.free(span.address, span.size);
                        }
                        continue;
                    }
                    long size = Q * (1 + random.nextInt(random.nextInt(8) == 0 ? 24 : 4));
                    Event<Span> choice = Events.choose(
                            arena.allocEvent(size).wrap(a -> new Span(a, size)),
                            channel.recvEvent(),
                            Events.timeout(Duration.ofMillis(random.nextInt(6))).wrap(t -> new Span(0, 0)));
                    Span got;
                    try {
                        got = choice.sync();
                    } catch (InterruptedException e) {
                        interrupts.incrementAndGet();
                        continue;
                    } catch (NativeMemoryException e) {
                        if (pages == null) {
                            throw e;
                        }
                        commitFailures.incrementAndGet(); // a poll's commit failed: the caller sees it, nothing taken
                        continue;
                    }
                    if (Thread.interrupted()) {
                        interrupts.incrementAndGet(); // the value won the race with the interrupt: keep it
                    }
                    if (got.address == 0) {
                        timeouts.incrementAndGet();
                        continue;
                    }
                    Object previous = owners.put(got.address, Thread.currentThread());
                    if (previous == null) {
                        fromArena.incrementAndGet();
                    } else if (previous == channel) {
                        fromChannel.incrementAndGet();
                    } else {
                        throw new AssertionError("span 0x" + Long.toHexString(got.address) + " already owned by " + previous);
                    }
                    held.add(got);
                }
            } finally {
                Thread.interrupted();
                for (Span span : held) {
                    owners.remove(span.address);
                    arena.free(span.address, span.size);
                }
            }
        });
        System.out.printf("ArenaChoiceStressTest: %d spans from the arena, %d through the channel, %d timeouts, %d interrupts,"
                + " %d failed commits seen by callers, %s%n",
                fromArena.get(), fromChannel.get(), timeouts.get(), interrupts.get(), commitFailures.get(), arena.stats());
        assertTrue(fromArena.get() > 1000 && fromChannel.get() > 100, "the run should exercise both branches");
        for (Span span : channel.drain()) {
            assertEquals(channel, owners.remove(span.address), "a buffered span belongs to the channel");
            arena.free(span.address, span.size);
        }
        assertTrue(owners.isEmpty(), "spans unaccounted for: " + owners.size());
        ArenaStats stats = arena.stats();
        assertEquals(0, stats.allocated(), "every span came back");
        assertEquals(stats.allocations(), stats.frees());
        assertEquals(0, arena.waiters());
        assertEquals(0, channel.waiters());
        arena.checkInvariants();
        channel.checkInvariants();
    }
}

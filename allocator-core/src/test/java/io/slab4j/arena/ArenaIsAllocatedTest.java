package io.slab4j.arena;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Arena#isAllocated}: exact on both of its paths (the lock-free read of a short span's
 * head tag, the locked read of a long one, 8192 quanta and up), false without throwing for any
 * input {@link Arena#free} would refuse, and, with threads allocating, freeing and probing at
 * random, always true for a span's holder and false for a span its own thread has freed.
 */
class ArenaIsAllocatedTest {
    private static final long Q = 64;
    /** Two long spans' worth: 8192 quanta and up keep their length in EXT words, checked under the lock. */
    private static final int QUANTA = 3 * Tags.HUGE;
    private static final long BASE = 0x7f10_0000_0000L;

    private static Arena arena() {
        return Arena.builder(BASE, QUANTA * Q).quantum(Q).build();
    }

    @Test
    void trueExactlyForAnAllocatedSpanAtItsStartWithTheSizeFreeWouldAccept() {
        Arena arena = arena();
        for (long size : new long[] {Q, 3 * Q - 1, 100 * Q, (Tags.HUGE - 1) * Q, Tags.HUGE * Q, Tags.HUGE * Q + 1}) {
            long at = arena.tryAlloc(size);
            String what = size + " bytes at " + Long.toHexString(at);
            long quanta = (size + Q - 1) / Q;
            assertTrue(arena.isAllocated(at, size), what);
            assertTrue(arena.isAllocated(at, quanta * Q), what + ", asked with its size rounded up");
            assertTrue(arena.isAllocated(at, (quanta - 1) * Q + 1), what + ", asked with the least size of as many quanta");
            assertFalse(arena.isAllocated(at, (quanta + 1) * Q), what + ", asked one quantum longer");
            if (quanta > 1) {
                assertFalse(arena.isAllocated(at, (quanta - 1) * Q), what + ", asked one quantum shorter");
                assertFalse(arena.isAllocated(at + Q, size - Q), what + ", asked at its second quantum");
            }
            assertFalse(arena.isAllocated(at + quanta * Q, size), what + ", asked just past it");
            arena.free(at, size);
            assertFalse(arena.isAllocated(at, size), what + ", after its free");
            arena.checkInvariants();
        }
    }

    @Test
    void falseWithoutThrowingForWhatFreeWouldRefuse() {
        Arena arena = arena();
        long at = arena.tryAlloc(4 * Q);
        for (long[] bad : new long[][] {
                {at, 0}, {at, -1}, {at, Long.MIN_VALUE}, {at, QUANTA * Q + 1}, {at, Long.MAX_VALUE},
                {at + 1, 4 * Q}, {at + Q / 2, 4 * Q}, {BASE - Q, 4 * Q}, {BASE + QUANTA * Q, 4 * Q},
                {0, 4 * Q}, {-1, 4 * Q}, {Long.MAX_VALUE, 4 * Q}}) {
            assertFalse(arena.isAllocated(bad[0], bad[1]), "isAllocated(" + Long.toHexString(bad[0]) + ", " + bad[1] + ")");
        }
        assertTrue(arena.isAllocated(at, 4 * Q));
        arena.checkInvariants();
        assertEquals(1, arena.stats().spans(), "nothing changed");
    }

    /**
     * Three holders allocate spans of random sizes (some long), check each while holding it
     * and free it; the first also checks each span right after its own free, with nobody else
     * allocating that size. A fourth thread probes random addresses and sizes throughout,
     * where the tags change under its reads.
     */
    @Test
    void holdersAlwaysSeeTheirSpansAndProbesNeverThrow() throws InterruptedException {
        Arena arena = arena();
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicLong holderChecks = new AtomicLong();
        AtomicLong probesTrue = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int h = 0; h < 3; h++) {
            int holder = h;
            threads.add(new Thread(() -> {
                SplittableRandom random = new SplittableRandom(0xA11_0C8L + holder);
                List<long[]> held = new ArrayList<>();
                while (!stop.get()) {
                    if (held.size() < 6 && (held.isEmpty() || random.nextBoolean())) {
                        long size = holder == 0
                                ? 7 * Q // only holder 0 allocates spans of 7 quanta: its own free makes them false
                                : random.nextInt(20) == 0 ? Tags.HUGE * Q / 2 + random.nextInt(Tags.HUGE) * Q : (1 + random.nextInt(40)) * Q;
                        if (size == 7 * Q && holder != 0) {
                            size = 8 * Q;
                        }
                        long at = arena.tryAlloc(size);
                        if (at != 0) {
                            held.add(new long[] {at, size});
                        }
                    } else {
                        long[] span = held.remove(random.nextInt(held.size()));
                        arena.free(span[0], span[1]);
                        if (holder == 0 && arena.isAllocated(span[0], span[1])) {
                            failures.add("holder 0 freed " + Long.toHexString(span[0]) + " and still saw it allocated");
                        }
                    }
                    for (long[] span : held) {
                        holderChecks.incrementAndGet();
                        if (!arena.isAllocated(span[0], span[1])) {
                            failures.add("holder " + holder + " holds " + span[1] + " bytes at " + Long.toHexString(span[0]) + ", not allocated");
                        }
                    }
                }
                for (long[] span : held) {
                    arena.free(span[0], span[1]);
                }
            }, "holder-" + h));
        }
        threads.add(new Thread(() -> {
            SplittableRandom random = new SplittableRandom(0xB0BL);
            while (!stop.get()) {
                long at = BASE + random.nextInt(QUANTA) * Q;
                long size = (1 + random.nextInt(random.nextInt(10) == 0 ? 2 * Tags.HUGE : 41)) * Q;
                try {
                    if (arena.isAllocated(at, size)) {
                        probesTrue.incrementAndGet();
                    }
                } catch (RuntimeException e) {
                    failures.add("probe of " + size + " bytes at " + Long.toHexString(at) + " threw " + e);
                }
            }
        }, "prober"));
        threads.forEach(Thread::start);
        Thread.sleep(1500);
        stop.set(true);
        for (Thread t : threads) {
            t.join(10_000);
            assertFalse(t.isAlive(), t.getName() + " did not stop");
        }
        assertTrue(failures.isEmpty(), failures.size() + " failures, first: " + failures.peek());
        assertTrue(holderChecks.get() > 10_000, "holder checks: " + holderChecks.get());
        assertTrue(probesTrue.get() > 0, "no probe ever hit a live span; the test did not race anything");
        arena.checkInvariants();
        assertEquals(0, arena.stats().spans());
    }
}

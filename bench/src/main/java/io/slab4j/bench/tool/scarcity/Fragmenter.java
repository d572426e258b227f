package io.slab4j.bench.tool.scarcity;

import io.slab4j.arena.Arena;

import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;

/**
 * A thread that fragments the pool's arena with small spans, as the rest of a program
 * would: every step it frees the spans whose life is over, then (while it holds less than
 * its share) tries one small allocation with {@code tryAlloc} — it never waits, so a
 * refusal is counted, not slept on. Most spans are short-lived (a few steps); a configured
 * share live long (a tenth to a half of the run). It also owns some of the set-up's
 * survivors, which live for the whole run.
 *
 * <p>Note the arena's FIFO policy: while a pool's grow waits at the head of the arena's
 * queue, every {@code tryAlloc} is refused, so a hung grow also starves these threads;
 * the refusals column shows it.
 *
 * <h2>Concurrency</h2>
 * {@link #run} on its own thread; every field is confined to it until {@link Thread#join}.
 */
final class Fragmenter implements Runnable {
    private static final long STEP_NANOS = 200_000;

    private final Arena arena;
    private final CountDownLatch start;
    private final RunFlag stop;
    private final SplittableRandom random;
    private final long page;
    private final int maxPages;
    private final int longLivedPercent;
    private final long durationNanos;
    private final long targetBytes;
    private final List<long[]> survivors;
    /** {expiry step, address, bytes}. */
    private final PriorityQueue<long[]> shortLived = new PriorityQueue<>((a, b) -> Long.compare(a[0], b[0]));
    /** {expiry nanoTime, address, bytes}. */
    private final PriorityQueue<long[]> longLived = new PriorityQueue<>((a, b) -> Long.compare(a[0], b[0]));
    private long liveBytes;

    long attempts;
    long refused;
    Throwable failure;

    Fragmenter(Arena arena, CountDownLatch start, RunFlag stop, SplittableRandom random, ScarcityConfig c, long page,
               long targetBytes, List<long[]> survivors) {
        this.arena = arena;
        this.start = start;
        this.stop = stop;
        this.random = random;
        this.page = page;
        this.maxPages = c.smallMaxPages();
        this.longLivedPercent = c.longLivedPercent();
        this.durationNanos = c.durationMs() * 1_000_000;
        this.targetBytes = targetBytes;
        this.survivors = new ArrayList<>(survivors);
    }

    @Override
    public void run() {
        try {
            start.await();
            long step = 0;
            while (!stop.isSet()) {
                step++;
                long now = System.nanoTime();
                freeDue(shortLived, step);
                freeDue(longLived, now);
                if (liveBytes < targetBytes) {
                    allocateOne(step, now);
                }
                LockSupport.parkNanos(STEP_NANOS);
            }
        } catch (InterruptedException e) {
            // stopped before the start
        } catch (Throwable t) {
            failure = t;
        } finally {
            freeAll();
        }
    }

    private void allocateOne(long step, long now) {
        long bytes = (1 + random.nextInt(maxPages)) * page;
        attempts++;
        long address = arena.tryAlloc(bytes);
        if (address == 0) {
            refused++;
            return;
        }
        liveBytes += bytes;
        if (random.nextInt(100) < longLivedPercent) {
            long life = durationNanos / 10 + (long) (random.nextDouble() * (durationNanos * 4 / 10));
            longLived.add(new long[]{now + life, address, bytes});
        } else {
            shortLived.add(new long[]{step + 1 + random.nextInt(64), address, bytes});
        }
    }

    private void freeDue(PriorityQueue<long[]> spans, long now) {
        while (!spans.isEmpty() && spans.peek()[0] <= now) {
            long[] s = spans.poll();
            arena.free(s[1], s[2]);
            liveBytes -= s[2];
        }
    }

    private void freeAll() {
        for (PriorityQueue<long[]> q : List.of(shortLived, longLived)) {
            for (long[] s : q) {
                arena.free(s[1], s[2]);
            }
            q.clear();
        }
        for (long[] s : survivors) {
            arena.free(s[0], s[1]);
        }
        survivors.clear();
        liveBytes = 0;
    }
}

package io.slab4j.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Test helper for bounded stress runs: starts the workers (worker i gets a random
 * seeded {@code seed + i}), interrupts random workers every few milliseconds until all are
 * done, joins them, and fails with the first worker failure. A worker loops while
 * {@link #running()} and returns what it holds in its own {@code finally}.
 */
public final class StressRun {
    /** One worker's body. */
    public interface Worker {
        void run(SplittableRandom random, StressRun run) throws Throwable;
    }

    private final long deadline;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    private StressRun(long millis) {
        this.deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    }

    /** True until the time is up or some worker has failed. */
    public boolean running() {
        return System.nanoTime() < deadline && failure.get() == null;
    }

    /** Records a failure (the first one is reported); the other workers stop soon after. */
    public void fail(Throwable e) {
        failure.compareAndSet(null, e);
    }

    public static void run(String name, int threads, long seed, long millis, Worker worker) throws InterruptedException {
        StressRun run = new StressRun(millis);
        CountDownLatch done = new CountDownLatch(threads);
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < threads; w++) {
            SplittableRandom random = new SplittableRandom(seed + w);
            Thread thread = new Thread(() -> {
                try {
                    worker.run(random, run);
                } catch (Throwable e) {
                    run.fail(e);
                } finally {
                    done.countDown();
                }
            }, name + "-" + w);
            workers.add(thread);
            thread.start();
        }
        SplittableRandom chaos = new SplittableRandom(seed);
        while (done.getCount() > 0) {
            Thread.sleep(1 + chaos.nextInt(3)); // pacing the interrupts, not synchronisation
            workers.get(chaos.nextInt(workers.size())).interrupt();
        }
        for (Thread thread : workers) {
            thread.join();
        }
        Throwable failed = run.failure.get();
        if (failed != null) {
            throw new AssertionError("worker failed: " + failed, failed);
        }
    }
}

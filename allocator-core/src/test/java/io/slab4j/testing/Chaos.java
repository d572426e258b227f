package io.slab4j.testing;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;

/** Test helper for stress tests: interrupts random workers every few milliseconds until all are done, then joins them. */
public final class Chaos {
    private Chaos() {
    }

    public static void interruptUntilDone(List<Thread> workers, CountDownLatch done, long seed) throws InterruptedException {
        SplittableRandom chaos = new SplittableRandom(seed);
        while (done.getCount() > 0) {
            Thread.sleep(1 + chaos.nextInt(3)); // pacing the interrupts, not synchronisation
            workers.get(chaos.nextInt(workers.size())).interrupt();
        }
        for (Thread worker : workers) {
            worker.join();
        }
    }
}

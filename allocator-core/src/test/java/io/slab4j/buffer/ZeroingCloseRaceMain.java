package io.slab4j.buffer;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Run in a child JVM by {@link ZeroingCloseRaceTest}: a zeroing pool is closed while another
 * thread acquires large buffers in a loop, so that the close lands inside an acquire's zeroing
 * (a memset of 64 MiB takes milliseconds, the rest of the loop microseconds). If close unmapped
 * the region under the memset, this JVM would die of SIGSEGV instead of printing its result.
 */
public final class ZeroingCloseRaceMain {
    static final int SIZE = 64 << 20;

    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        long acquired = 0;
        long refused = 0;
        for (int r = 0; r < rounds; r++) {
            BufferPool pool = BufferPool.builder().name("zero-close-" + r).reserve(256L << 20).zeroOnAcquire(true)
                    .leakDetection(LeakDetection.OFF).build();
            AtomicLong got = new AtomicLong();
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            CountDownLatch first = new CountDownLatch(1);
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        first.countDown();
                        PooledBuffer b = pool.tryAcquire(SIZE);
                        if (b != null) {
                            got.incrementAndGet();
                            b.close();
                        }
                    }
                } catch (IllegalStateException closed) {
                    if (!String.valueOf(closed.getMessage()).contains("is closed")) {
                        unexpected.set(closed);
                    }
                } catch (Throwable e) {
                    unexpected.set(e);
                }
            }, "acquirer-" + r);
            t.start();
            first.await();
            Thread.sleep(ThreadLocalRandom.current().nextInt(3)); // land anywhere in the loop, most likely in a memset
            pool.close();
            t.join();
            if (unexpected.get() != null) {
                throw new AssertionError("round " + r + ": the acquirer failed unexpectedly", unexpected.get());
            }
            acquired += got.get();
            refused++;
        }
        System.out.println("ZERO-CLOSE-OK rounds=" + rounds + " acquired=" + acquired + " ended-by-close=" + refused);
    }
}

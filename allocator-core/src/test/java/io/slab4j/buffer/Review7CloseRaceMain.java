package io.slab4j.buffer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Run in a child JVM by {@code Review7Test}: a zeroing pool is closed while three threads
 * acquire buffers of every size class and large spans (one page, odd page counts, 1 and 2 MiB,
 * 8 MiB), with {@code tryAcquire}, a timed and an untimed {@code acquire}, close them (some on
 * the next thread), trim, and a fourth waits blocked on a full committed cap. Every racing call
 * must return a buffer or null, or throw an {@code IllegalStateException} saying something "is
 * closed" (which one is {@code Review7Test}'s own test), and no buffer's {@code close()} may throw; the close must return (a join bound catches a hang) and the JVM
 * must survive. Prints {@code R7-CLOSE-OK} at the end, or the first unexpected failure.
 */
public final class Review7CloseRaceMain {
    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        long acquired = 0;
        for (int r = 0; r < rounds; r++) {
            String name = "r7-close-" + r;
            BufferPool pool = BufferPool.builder().name(name).reserve(96L << 20).maxCommitted(48L << 20).zeroOnAcquire(true)
                    .leakDetection(r % 2 == 0 ? LeakDetection.OFF : LeakDetection.ALL).idleDecay(Duration.ofMillis(1)).build();
            int[] classes = pool.sizeClasses();
            int page = io.slab4j.nativemem.VirtualRegion.pageSize();
            int[] large = {classes[classes.length - 1] + 1, 3 * page, 257 * page, 1 << 20, 2 << 20, 8 << 20};
            AtomicLong got = new AtomicLong();
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            int threads = 4;
            CountDownLatch started = new CountDownLatch(threads);
            List<Thread> ts = new ArrayList<>();
            java.util.concurrent.ConcurrentLinkedQueue<PooledBuffer> handoff = new java.util.concurrent.ConcurrentLinkedQueue<>();
            for (int i = 0; i < threads; i++) {
                int me = i;
                Thread t = new Thread(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    List<PooledBuffer> held = new ArrayList<>();
                    try {
                        started.countDown();
                        while (true) {
                            int size = rnd.nextInt(3) == 0 ? large[rnd.nextInt(large.length)] : 1 + rnd.nextInt(classes[classes.length - 1]);
                            PooledBuffer b;
                            switch (me) {
                                case 0 -> b = pool.tryAcquire(size);
                                case 1 -> b = pool.acquire(size, Duration.ofMillis(rnd.nextInt(3)));
                                case 2 -> b = pool.acquire(size);
                                default -> b = pool.acquire(8 << 20, Duration.ofSeconds(30)); // mostly blocked on the cap
                            }
                            if (b != null) {
                                got.incrementAndGet();
                                if (b.capacity() < (me == 3 ? 8 << 20 : size)) {
                                    throw new AssertionError("capacity " + b.capacity() + " < " + size);
                                }
                                held.add(b);
                            }
                            if (held.size() > (me == 3 ? 4 : 3)) {
                                PooledBuffer old = held.remove(0);
                                if (rnd.nextBoolean()) {
                                    handoff.add(old);
                                } else {
                                    closeQuietly(old, unexpected);
                                }
                            }
                            PooledBuffer other = handoff.poll();
                            if (other != null) {
                                closeQuietly(other, unexpected);
                            }
                            if (rnd.nextInt(64) == 0) {
                                pool.trim();
                            }
                        }
                    } catch (IllegalStateException e) {
                        // any layer's "is closed" is accepted here: the message itself is Review7Test's own test
                        if (!String.valueOf(e.getMessage()).contains("is closed")) {
                            unexpected.compareAndSet(null, e);
                        }
                    } catch (Throwable e) {
                        unexpected.compareAndSet(null, e);
                    } finally {
                        for (PooledBuffer b : held) {
                            closeQuietly(b, unexpected);
                        }
                    }
                }, name + "-t" + i);
                t.setDaemon(true);
                ts.add(t);
                t.start();
            }
            started.await();
            Thread.sleep(1 + ThreadLocalRandom.current().nextInt(20));
            Thread closer = new Thread(pool::close, name + "-closer");
            closer.setDaemon(true);
            closer.start();
            closer.join(TimeUnit.SECONDS.toMillis(20));
            if (closer.isAlive()) {
                System.out.println("R7-CLOSE-HANG round " + r + ": close did not return in 20 s");
                System.exit(3);
            }
            for (Thread t : ts) {
                t.join(TimeUnit.SECONDS.toMillis(20));
                if (t.isAlive()) {
                    StringBuilder sb = new StringBuilder();
                    for (StackTraceElement e : t.getStackTrace()) {
                        sb.append("\n  at ").append(e);
                    }
                    System.out.println("R7-CLOSE-HANG round " + r + ": " + t.getName() + " still runs after the close" + sb);
                    System.exit(4);
                }
            }
            if (unexpected.get() != null) {
                System.out.println("R7-CLOSE-UNEXPECTED round " + r + ":");
                unexpected.get().printStackTrace(System.out);
                System.exit(5);
            }
            acquired += got.get();
        }
        System.out.println("R7-CLOSE-OK rounds=" + rounds + " acquired=" + acquired);
    }

    /** A buffer's close never throws once the buffer was open, even racing the pool's close. */
    private static void closeQuietly(PooledBuffer b, AtomicReference<Throwable> unexpected) {
        try {
            b.close();
        } catch (Throwable e) {
            unexpected.compareAndSet(null, new AssertionError("PooledBuffer.close() threw", e));
        }
    }
}

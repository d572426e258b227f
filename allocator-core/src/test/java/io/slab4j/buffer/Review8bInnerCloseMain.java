package io.slab4j.buffer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Review8bTest.aHoldThatClosesThePoolOnABlockedAcquiresSecondTryHangs, in a child JVM: a
 * hold() that closes the pool, reached through a blocked acquireRaw (its second try, which
 * before the fix ran the hold inside the pool's waiter count, or its hand-out after the sync). Prints "CLOSED" when that close returned, "HANG iteration N" when it did
 * not within 3 s, "NOHIT" when the window was never hit in 5 s; exits 0 (killing a hung daemon).
 */
public final class Review8bInnerCloseMain {
    public static void main(String[] args) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        SplittableRandom r = new SplittableRandom(1);
        long slab = SizeClasses.slabBytes(64);
        for (int iter = 0; System.nanoTime() < deadline; iter++) {
            BufferPool p = BufferPool.builder().name("r8b-innerclose-" + iter).sizeClasses(64).reserve(slab).maxCommitted(slab)
                    .leakDetection(LeakDetection.OFF).build();
            List<Review8bTest.Box> hog = new ArrayList<>();
            for (Review8bTest.Box b = new Review8bTest.Box(); p.tryAcquireRaw(64, b); b = new Review8bTest.Box()) {
                hog.add(b);
            }
            AtomicInteger path = new AtomicInteger();
            AtomicInteger waitersAtHold = new AtomicInteger(-1);
            Review8bTest.Box closer = new Review8bTest.Box() {
                @Override
                public void hold(long address, int capacity, Object token) {
                    super.hold(address, capacity, token);
                    StackTraceElement[] st = new Throwable().getStackTrace();
                    for (int k = 1; k < st.length; k++) {
                        if (st[k].getMethodName().equals("awaitTake")) { // either of the blocked acquire's hand-outs
                            waitersAtHold.set(p.waiters());
                            path.set(1);
                            p.close();
                            return;
                        }
                    }
                }
            };
            Thread a = new Thread(() -> {
                try {
                    p.acquireRaw(64, Duration.ofSeconds(2), closer);
                } catch (Throwable e) {
                    // the close's refusal
                }
            });
            a.setDaemon(true);
            a.start();
            long spin = r.nextLong(1, 300_000);
            long t0 = System.nanoTime();
            while (System.nanoTime() - t0 < spin) {
                Thread.onSpinWait();
            }
            hog.remove(0).release(p);
            a.join(3000);
            if (path.get() == 1) {
                System.out.println(a.isAlive() ? "HANG iteration " + iter + ", waiters " + p.waiters() : "CLOSED iteration " + iter + ", waiters at hold " + waitersAtHold.get());
                System.out.flush();
                System.exit(0);
            }
            hog.forEach(b -> b.release(p));
            if (closer.calls.get() > 0) {
                closer.release(p);
            }
            p.close();
        }
        System.out.println("NOHIT");
        System.exit(0);
    }
}

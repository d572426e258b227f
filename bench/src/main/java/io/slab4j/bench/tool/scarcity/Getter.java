package io.slab4j.bench.tool.scarcity;

import io.slab4j.pool.Pool;
import org.HdrHistogram.Histogram;

import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One thread of the exec-like workload: {@code get} an item, hold it for a while, {@code put}
 * it back, think, repeat, until the run stops. Each get's duration goes into this getter's
 * own histogram (merged after the run).
 *
 * <h2>Watchdog handshake</h2>
 * Around each {@code get} the getter publishes the wait ({@link #beginWait}, {@link #endWait})
 * under its own monitor; the {@link Watchdog} inspects and, when it suspects a hang,
 * interrupts the thread under the same monitor ({@link #interruptIfHung}). So an interrupt
 * is only ever sent during the wait it was meant for; one that arrives as the get returns
 * anyway is cleared by {@link #endWait}. The wait counts as hung only if the interrupt
 * aborted it ({@link #confirmHung}). A get that the interrupt aborts took nothing (the
 * pool's contract), and the getter simply tries again. The run's stop is a volatile flag
 * plus an interrupt, checked after every wait and every hold.
 *
 * <h2>Concurrency</h2>
 * {@link #run} on its own thread. The wait fields are guarded by {@code this}; counters are
 * written by the getter only and read by the run's thread after {@link Thread#join}.
 */
final class Getter implements Runnable {
    private final Pool pool;
    private final AtomicLong puts;
    private final CountDownLatch start;
    private final RunFlag stop;
    private final SplittableRandom random;
    private final double holdNanos;
    private final double thinkNanos;
    private long held;

    final Histogram waits = new Histogram(3);
    Thread thread;
    long completed;
    long returned;
    Throwable failure;

    // guarded by this
    private long waitStart;
    private long waitId;
    private long putsAtStart;
    private long declaredFor = -1;
    private long hungWaits;

    Getter(Pool pool, AtomicLong puts, CountDownLatch start, RunFlag stop, SplittableRandom random,
           ScarcityConfig c, long initialItem) {
        this.pool = pool;
        this.puts = puts;
        this.start = start;
        this.stop = stop;
        this.random = random;
        this.holdNanos = c.holdMs() * 1e6;
        this.thinkNanos = c.thinkMs() * 1e6;
        this.held = initialItem;
    }

    @Override
    public void run() {
        try {
            start.await();
            loop();
        } catch (InterruptedException e) {
            // stopped before the start: nothing to do
        } catch (Throwable t) {
            failure = t;
        } finally {
            if (held != 0) {
                pool.put(held);
                held = 0;
                returned++;
            }
        }
    }

    private void loop() {
        while (!stop.isSet()) {
            if (held == 0) {
                long t0 = beginWait();
                try {
                    held = pool.get();
                    completed++;
                } catch (InterruptedException e) {
                    confirmHung();
                } finally {
                    endWait();
                }
                waits.recordValue(Math.max(1, System.nanoTime() - t0));
                if (held == 0) {
                    continue;
                }
            }
            pause(holdNanos);
            pool.put(held);
            held = 0;
            returned++;
            puts.incrementAndGet();
            pause(thinkNanos);
        }
    }

    /** Exponential, capped at 20 means; returns early on the stop interrupt. */
    private void pause(double meanNanos) {
        if (meanNanos <= 0) {
            return;
        }
        double n = -Math.log(1 - random.nextDouble()) * meanNanos;
        LockSupport.parkNanos((long) Math.min(n, 20 * meanNanos));
    }

    private synchronized long beginWait() {
        waitId++;
        putsAtStart = puts.get();
        waitStart = System.nanoTime();
        return waitStart;
    }

    private void endWait() {
        synchronized (this) {
            waitStart = 0;
        }
        Thread.interrupted(); // a watchdog interrupt that lost to the get's return; stop is re-read from the flag
    }

    /**
     * Called by the watchdog: suspects the current wait of hanging, and interrupts it, when it
     * has lasted more than {@code hangNanos} while at least {@code puts} items were put back.
     * Returns true when it interrupted.
     */
    synchronized boolean interruptIfHung(long now, long hangNanos, long putsNow, long puts) {
        if (waitStart == 0 || declaredFor == waitId || now - waitStart <= hangNanos || putsNow - putsAtStart < puts) {
            return false;
        }
        declaredFor = waitId;
        thread.interrupt();
        return true;
    }

    /**
     * The get ended with {@code InterruptedException}: if the watchdog's interrupt did it, the
     * wait was really hung (a get that had already been served returns its item instead, the
     * interrupt losing to the claim — e.g. a served thread that was not scheduled in time).
     */
    private synchronized void confirmHung() {
        if (declaredFor == waitId) {
            hungWaits++;
        }
    }

    /** True while a get is in progress (for the end-of-run count). */
    synchronized boolean waiting() {
        return waitStart != 0;
    }

    synchronized long hungWaits() {
        return hungWaits;
    }
}

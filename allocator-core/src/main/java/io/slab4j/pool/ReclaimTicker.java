package io.slab4j.pool;

import java.lang.ref.WeakReference;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The periodic half of reclaiming parked items: while a pool has {@link Reclaimer}s, every
 * {@link Pool#RECLAIM_INTERVAL_MILLIS} ms, if gets wait on the pool, run its reclaimers. It
 * covers the one case the reclaim before blocking cannot: a thread that was inside a layer
 * call at that moment, and parked items and went idle after it.
 *
 * <p>One daemon thread for the whole JVM, started on first use. A tick holds its pool only
 * weakly, so a pool nobody references stops its ticking; a tick never throws (a reclaimer
 * failure is logged). Liveness only: no correctness depends on this thread running.
 */
final class ReclaimTicker implements Runnable {
    private static final class Lazy {
        static final ScheduledThreadPoolExecutor EXECUTOR = newExecutor();

        private static ScheduledThreadPoolExecutor newExecutor() {
            ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "slab4j-reclaim");
                t.setDaemon(true);
                return t;
            });
            executor.setRemoveOnCancelPolicy(true);
            return executor;
        }
    }

    private final WeakReference<Pool> pool;
    private volatile ScheduledFuture<?> future;

    private ReclaimTicker(Pool pool) {
        this.pool = new WeakReference<>(pool);
    }

    /** The interval set by system property {@code property}, clamped to [1, 1000] ms, default 100. */
    static long readInterval(String property) {
        String value = System.getProperty(property, "100").trim();
        try {
            return Math.max(1, Math.min(1000, Long.parseLong(value)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + property + "=" + value + " is not a number of milliseconds", e);
        }
    }

    static ReclaimTicker start(Pool pool, long intervalMillis) {
        ReclaimTicker ticker = new ReclaimTicker(pool);
        ticker.future = Lazy.EXECUTOR.scheduleWithFixedDelay(ticker, intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
        return ticker;
    }

    void stop() {
        ScheduledFuture<?> f = future;
        if (f != null) {
            f.cancel(false);
        }
    }

    @Override
    public void run() {
        Pool p = pool.get();
        if (p == null) {
            stop();
            return;
        }
        if (p.hasWaiters()) {
            p.runReclaimers();
        }
    }
}

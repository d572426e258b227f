package io.slab4j.pool;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The {@link Reclaimer}s (magazine layers) over one {@link Pool}, and the periodic tick
 * that asks them for idle parked items while gets wait ({@link ReclaimTicker}).
 *
 * <p>Concurrency: {@link #add} and {@link #remove} run under the pool's lock and publish a
 * new array (copy on write, a volatile write); {@link #reclaimIdle} and {@link #parked} read
 * it without any lock and call the layers holding none of the pool's locks.
 */
final class Reclaimers {
    private static final System.Logger LOG = System.getLogger(Pool.class.getName());
    private static final Reclaimer[] NONE = new Reclaimer[0];

    private final Pool pool;
    private volatile Reclaimer[] all = NONE;
    /** Running while any reclaimer is registered and the pool is open. Pool lock. */
    private ReclaimTicker ticker;

    Reclaimers(Pool pool) {
        this.pool = pool;
    }

    boolean any() {
        return all.length > 0;
    }

    /** Under the pool lock. */
    void add(Reclaimer reclaimer) {
        Reclaimer[] now = Arrays.copyOf(all, all.length + 1);
        now[now.length - 1] = reclaimer;
        all = now;
        if (ticker == null) {
            ticker = ReclaimTicker.start(pool, Pool.RECLAIM_INTERVAL_MILLIS);
        }
    }

    /** Under the pool lock. */
    void remove(Reclaimer reclaimer) {
        List<Reclaimer> now = new ArrayList<>(Arrays.asList(all));
        if (now.remove(reclaimer)) {
            all = now.toArray(NONE);
        }
        if (now.isEmpty()) {
            stop();
        }
    }

    /** Under the pool lock: the pool closed. */
    void stop() {
        if (ticker != null) {
            ticker.stop();
            ticker = null;
        }
    }

    /** No pool lock held: every layer returns its idle parked items now; how many came back. Never throws. */
    long reclaimIdle() {
        long back = 0;
        for (Reclaimer r : all) {
            try {
                back += r.reclaimIdle();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "pool '" + pool.name() + "': reclaiming parked items from " + r + " failed", e);
            }
        }
        return back;
    }

    /** No pool lock held: the items the layers say they hold parked (an estimate). */
    long parked() {
        long parked = 0;
        for (Reclaimer r : all) {
            parked += r.parked();
        }
        return parked;
    }
}

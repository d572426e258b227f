package io.slab4j.bench.tool.scarcity;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Finds hung waiters: a get is hung when it has waited longer than the configured time
 * while items were put back to its pool — at least as many puts as there are getters, so
 * that no FIFO order of the waiters ahead of it explains the wait — and is then
 * interrupted, which withdraws its registrations and lets the run go on. It is counted as
 * hung only when that interrupt really aborted the get ({@link Getter}); a get that waits
 * at the hard limit with no put happening is not hung, only waiting.
 *
 * <p>Called from the run's monitor thread only; each check goes through the getter's
 * monitor ({@link Getter#interruptIfHung}).
 */
final class Watchdog {
    private final List<Getter> getters;
    private final AtomicLong puts;
    private final long hangNanos;

    Watchdog(List<Getter> getters, AtomicLong puts, long hangNanos) {
        this.getters = getters;
        this.puts = puts;
        this.hangNanos = hangNanos;
    }

    void check(long now) {
        long putsNow = puts.get();
        for (Getter g : getters) {
            g.interruptIfHung(now, hangNanos, putsNow, getters.size());
        }
    }
}

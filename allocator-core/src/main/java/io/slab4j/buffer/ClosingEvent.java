package io.slab4j.buffer;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

import java.util.ArrayList;
import java.util.List;

/**
 * An event enabled once its {@link BufferPool} closes, yielding {@code 0L}: the third branch
 * of every blocked acquire, so that closing the pool wakes its waiters (they then throw
 * {@code IllegalStateException}) instead of leaving them parked on pools that no longer exist.
 * A source in the sense of {@link BaseEvent}: it claims each waiter before completing it and
 * never blocks.
 *
 * <p>Concurrency: {@code lock} guards {@code fired} and {@code waiters}; waiters are
 * completed outside it.
 */
final class ClosingEvent extends BaseEvent<Long> {
    private static final Long CLOSED = 0L;

    private final Object lock = new Object();
    /** Guarded by lock. */
    private boolean fired;
    /** Guarded by lock; null once fired. */
    private List<Waiter<Long>> waiters = new ArrayList<>();

    @Override
    protected Long tryNow() {
        synchronized (lock) {
            return fired ? CLOSED : null;
        }
    }

    @Override
    protected Registration register(Waiter<Long> waiter) {
        synchronized (lock) {
            if (!fired) {
                waiters.add(waiter);
                return () -> {
                    synchronized (lock) {
                        if (waiters != null) {
                            waiters.remove(waiter);
                        }
                    }
                };
            }
        }
        if (waiter.claim()) {
            waiter.complete(CLOSED);
        }
        return Registration.NONE;
    }

    /** Enables the event and completes every registered waiter whose claim succeeds; once. */
    void fire() {
        List<Waiter<Long>> toWake;
        synchronized (lock) {
            if (fired) {
                return;
            }
            fired = true;
            toWake = waiters;
            waiters = null;
        }
        for (Waiter<Long> waiter : toWake) {
            if (waiter.claim()) {
                waiter.complete(CLOSED);
            }
        }
    }
}

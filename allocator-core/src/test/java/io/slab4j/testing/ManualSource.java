package io.slab4j.testing;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

import java.util.ArrayDeque;

/**
 * Test source driven by hand: never ready by itself; the test fires its oldest waiter, or
 * claims it and abandons the claim (a transfer that failed). {@link #onCancel} runs inside
 * each registration's cancel, to place another thread's action in a sync's clean-up
 * window deterministically.
 */
public final class ManualSource extends BaseEvent<Long> {
    private final Object lock = new Object();
    private final ArrayDeque<Waiter<Long>> waiters = new ArrayDeque<>();
    public volatile Runnable onCancel = () -> { };

    @Override
    protected Long tryNow() {
        return null;
    }

    @Override
    protected Registration register(Waiter<Long> waiter) {
        synchronized (lock) {
            waiters.add(waiter);
        }
        return () -> {
            synchronized (lock) {
                waiters.remove(waiter);
            }
            onCancel.run();
        };
    }

    public int waiters() {
        synchronized (lock) {
            return waiters.size();
        }
    }

    /** Claims the oldest waiter and completes it with {@code value}; false if there was none or it was won elsewhere. */
    public boolean fire(long value) {
        Waiter<Long> w = oldest();
        if (w == null || !w.claim()) {
            return false;
        }
        w.complete(value);
        return true;
    }

    /** Claims the oldest waiter and abandons the claim, as a source whose transfer failed. */
    public boolean claimAndAbandon() {
        Waiter<Long> w = oldest();
        if (w == null || !w.claim()) {
            return false;
        }
        w.abandon();
        return true;
    }

    private Waiter<Long> oldest() {
        synchronized (lock) {
            return waiters.poll();
        }
    }
}

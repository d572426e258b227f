package io.slab4j.event;

import io.slab4j.testing.Await;

import java.util.ArrayDeque;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Test-only source that is never ready by itself and whose transfer can be held open:
 * {@link #deliver} claims the oldest waiter, signals {@code claimed}, blocks until
 * {@code proceed}, then completes (or abandons, simulating a failed transfer). This
 * deliberately breaks the "never block between claim and complete" rule so tests can
 * place an interrupt, a competing source or a timeout inside the CLAIMED window
 * deterministically.
 */
final class GatedSource<T> extends BaseEvent<T> {
    private final Object lock = new Object();
    private final ArrayDeque<Waiter<T>> waiters = new ArrayDeque<>();

    @Override
    protected T tryNow() {
        return null;
    }

    @Override
    protected Registration register(Waiter<T> waiter) {
        synchronized (lock) {
            waiters.addLast(waiter);
        }
        return () -> {
            synchronized (lock) {
                waiters.remove(waiter);
            }
        };
    }

    int waiters() {
        synchronized (lock) {
            return waiters.size();
        }
    }

    /**
     * Claims the oldest waiter whose claim succeeds, then, outside the lock, waits for
     * {@code proceed} and completes it with {@code value} — or abandons the claim if
     * {@code failTransfer}.
     *
     * @return true if a waiter was claimed and completed
     */
    boolean deliver(T value, CountDownLatch claimed, CountDownLatch proceed, boolean failTransfer)
            throws InterruptedException {
        Waiter<T> won = null;
        synchronized (lock) {
            for (Waiter<T> w; (w = waiters.poll()) != null; ) {
                if (w.claim()) {
                    won = w;
                    break;
                }
            }
        }
        claimed.countDown();
        if (won == null) {
            return false;
        }
        if (!proceed.await(Await.DEADLINE_SECONDS, TimeUnit.SECONDS)) {
            won.abandon();
            throw new AssertionError("proceed latch never opened");
        }
        if (failTransfer) {
            won.abandon();
            return false;
        }
        won.complete(value);
        return true;
    }

    /** Runs {@link #deliver} on a new thread. */
    Thread deliverAsync(T value, CountDownLatch claimed, CountDownLatch proceed, boolean failTransfer) {
        Thread t = new Thread(() -> {
            try {
                deliver(value, claimed, proceed, failTransfer);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "gated-deliver");
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Override
    public String toString() {
        return "gated";
    }
}

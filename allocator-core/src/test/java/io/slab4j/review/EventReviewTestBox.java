package io.slab4j.review;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/** A test source: ready when it holds a value; counts its live registrations. */
final class EventReviewTestBox<T> extends BaseEvent<T> {
    final ConcurrentLinkedQueue<Waiter<T>> queue = new ConcurrentLinkedQueue<>();
    final AtomicInteger registered = new AtomicInteger();
    volatile T value;
    RuntimeException tryNowThrows;

    @Override
    protected synchronized T tryNow() {
        if (tryNowThrows != null) {
            throw tryNowThrows;
        }
        T v = value;
        value = null;
        return v;
    }

    @Override
    protected synchronized Registration register(Waiter<T> waiter) {
        T v = value;
        if (v != null) {
            if (waiter.claim()) {
                value = null;
                waiter.complete(v);
            }
            return Registration.NONE;
        }
        queue.add(waiter);
        registered.incrementAndGet();
        return () -> {
            synchronized (EventReviewTestBox.this) {
                if (queue.remove(waiter)) {
                    registered.decrementAndGet();
                }
            }
        };
    }

    synchronized void drop(Waiter<T> w) {
        if (queue.remove(w)) {
            registered.decrementAndGet();
        }
    }

    synchronized boolean offer(T v) {
        Waiter<T> w;
        while ((w = queue.poll()) != null) {
            registered.decrementAndGet();
            if (w.claim()) {
                w.complete(v);
                return true;
            }
        }
        value = v;
        return false;
    }
}

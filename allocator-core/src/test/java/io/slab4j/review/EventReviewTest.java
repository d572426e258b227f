package io.slab4j.review;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Event;
import io.slab4j.event.Events;
import io.slab4j.event.Nack;
import io.slab4j.event.NackEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.Timeout;
import io.slab4j.event.Waiter;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.*;

class EventReviewTest {

    /** A source that is ready when it has a value; counts its live registrations. */
    static final class Box<T> extends BaseEvent<T> {
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
                synchronized (Box.this) {
                    if (queue.remove(waiter)) {
                        registered.decrementAndGet();
                    }
                }
            };
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

    /**
     * Event.poll: "{@code timeout(d)} is ready here only if {@code d <= 0}". A positive timeout
     * polled is ready if any time passes between the poll's start and its look at the clock.
     */
    @Test
    void pollOfPositiveTimeoutIsNeverReady() {
        assertEquals(Optional.of(Timeout.TIMEOUT), Events.timeout(Duration.ZERO).poll());
        assertEquals(Optional.of(Timeout.TIMEOUT), Events.timeout(Duration.ofNanos(-1)).poll());
        // a guard that takes 2 ms to instantiate, beside a 1 ms timeout
        Event<Object> slowGuard = Events.guard(() -> {
            long t0 = System.nanoTime();
            R.until("2 ms passed", () -> System.nanoTime() - t0 > 2_000_000L);
            return Events.never();
        });
        Optional<Object> r = Events.choose(slowGuard, Events.timeout(Duration.ofMillis(1)).wrap(t -> (Object) t)).poll();
        assertEquals(Optional.empty(), r, "poll of timeout(1 ms) committed");
        assertEquals(Optional.empty(), Events.timeout(Duration.ofNanos(1)).poll(), "poll of timeout(1 ns) committed");
    }
}

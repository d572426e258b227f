package io.slab4j.event;

import io.slab4j.testing.Await;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.*;

class EventReviewTest {

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
            Await.until("2 ms passed", () -> System.nanoTime() - t0 > 2_000_000L);
            return Events.never();
        });
        Optional<Object> r = Events.choose(slowGuard, Events.timeout(Duration.ofMillis(1)).wrap(t -> (Object) t)).poll();
        assertEquals(Optional.empty(), r, "poll of timeout(1 ms) committed");
        assertEquals(Optional.empty(), Events.timeout(Duration.ofNanos(1)).poll(), "poll of timeout(1 ns) committed");
    }
}

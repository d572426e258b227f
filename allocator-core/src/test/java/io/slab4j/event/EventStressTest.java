package io.slab4j.event;

import io.slab4j.testing.Await;

import static io.slab4j.event.Events.choose;
import static io.slab4j.event.Events.timeout;
import static io.slab4j.event.Events.withNack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Conservation under timeouts and interrupts, which Lincheck cannot model: producers send
 * unique values on two channels while consumers sync on
 * {@code choose(withNack(c1), c2, timeout)} and a chaos thread interrupts them. Every
 * value sent must be received exactly once or still be buffered at the end; a value
 * returned with the interrupt flag set counts (claimed values are never dropped); each
 * nack fires iff its branch lost; no registration survives its sync. Bounded in time.
 */
@Tag("stress")
@org.junit.jupiter.api.Timeout(60)
class EventStressTest {
    private static final long RUN_MILLIS = 2_000;

    @Test
    void valuesAreConservedUnderTimeoutsAndInterrupts() throws InterruptedException {
        long seed = Long.getLong("slab4j.test.seed", System.nanoTime());
        System.out.println("EventStressTest seed " + seed + " (rerun with -Dslab4j.test.seed=" + seed + ")");
        Channel<Long> c1 = new Channel<>("c1");
        Channel<Long> c2 = new Channel<>("c2");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong nextValue = new AtomicLong();
        AtomicLong nackErrors = new AtomicLong();
        AtomicLong timeouts = new AtomicLong();
        AtomicLong interrupts = new AtomicLong();
        AtomicLong keptDespiteInterrupt = new AtomicLong();

        List<List<Long>> sentBy = new ArrayList<>();
        List<List<Long>> receivedBy = new ArrayList<>();
        List<Thread> producers = new ArrayList<>();
        List<Thread> consumers = new ArrayList<>();
        for (int p = 0; p < 2; p++) {
            List<Long> sent = new ArrayList<>();
            sentBy.add(sent);
            Random rnd = new Random(seed + p);
            producers.add(new Thread(() -> {
                while (!stop.get()) {
                    long v = nextValue.incrementAndGet();
                    (rnd.nextBoolean() ? c1 : c2).send(v);
                    sent.add(v);
                    if (rnd.nextInt(4) == 0) {
                        Thread.yield();
                    }
                }
            }, "producer-" + p));
        }
        for (int k = 0; k < 3; k++) {
            List<Long> received = new ArrayList<>();
            receivedBy.add(received);
            Random rnd = new Random(seed + 100 + k);
            consumers.add(new Thread(() -> {
                while (!stop.get()) {
                    boolean[] created = {false};
                    boolean[] nacked = {false};
                    boolean[] fromC1 = {false};
                    Event<Object> e = choose(
                            withNack(n -> {
                                created[0] = true;
                                n.onNack(() -> nacked[0] = true);
                                return c1.recvEvent().wrap(v -> {
                                    fromC1[0] = true;
                                    return v;
                                });
                            }),
                            c2.recvEvent(),
                            timeout(Duration.ofNanos(rnd.nextInt(200_000))));
                    try {
                        Object got = e.sync();
                        if (Thread.interrupted()) {
                            keptDespiteInterrupt.incrementAndGet();
                        }
                        if (got == Timeout.TIMEOUT) {
                            timeouts.incrementAndGet();
                        } else {
                            received.add((Long) got);
                        }
                        if (!created[0] || nacked[0] == fromC1[0]) {
                            nackErrors.incrementAndGet();
                        }
                    } catch (InterruptedException ex) {
                        interrupts.incrementAndGet();
                        // interrupted on entry: nothing instantiated, no nack to fire
                        if (nacked[0] != created[0]) {
                            nackErrors.incrementAndGet();
                        }
                    }
                }
            }, "consumer-" + k));
        }
        Random chaosRnd = new Random(seed + 1000);
        Thread chaos = new Thread(() -> {
            while (!stop.get()) {
                consumers.get(chaosRnd.nextInt(consumers.size())).interrupt();
                LockSupportPause.pauseMicros(chaosRnd.nextInt(500));
            }
        }, "chaos");

        producers.forEach(Thread::start);
        consumers.forEach(Thread::start);
        chaos.start();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);
        Await.until("run time", () -> System.nanoTime() - deadline > 0);
        stop.set(true);
        chaos.join();
        for (Thread t : producers) {
            t.join();
        }
        for (Thread t : consumers) {
            t.interrupt(); // in case one sits in sync on an empty choice
            t.join(TimeUnit.SECONDS.toMillis(Await.DEADLINE_SECONDS));
            assertTrue(!t.isAlive(), t.getName() + " did not stop");
        }

        List<Long> sent = new ArrayList<>();
        sentBy.forEach(sent::addAll);
        List<Long> accounted = new ArrayList<>();
        receivedBy.forEach(accounted::addAll);
        long received = accounted.size();
        accounted.addAll(c1.drain());
        accounted.addAll(c2.drain());
        Collections.sort(sent);
        Collections.sort(accounted);
        System.out.printf("EventStressTest: sent %d, received %d, timeouts %d, interrupts %d,"
                + " returned with the interrupt flag set %d%n", sent.size(), received, timeouts.get(),
                interrupts.get(), keptDespiteInterrupt.get());
        assertEquals(sent.size(), accounted.size(), "values lost or duplicated");
        assertEquals(sent, accounted, "values lost or duplicated");
        assertEquals(0, nackErrors.get(), "nacks that fired for the winner, or not for a loser");
        assertEquals(0, c1.waiters() + c2.waiters(), "registrations left behind");
        assertTrue(received > 0 && timeouts.get() > 0 && interrupts.get() > 0,
                "the run exercised values, timeouts and interrupts");
    }

    /** A short pause without Thread.sleep's interrupt handling noise. */
    private static final class LockSupportPause {
        static void pauseMicros(long micros) {
            java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(micros));
        }
    }
}

package io.slab4j.event;

import io.slab4j.testing.Scenarios;
import static io.slab4j.event.Events.choose;
import static io.slab4j.testing.Scenarios.call;
import static io.slab4j.testing.Scenarios.scenario;
import static io.slab4j.testing.Scenarios.thread;

import java.util.ArrayDeque;
import java.util.List;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of the blocking path (poll, register, park, claim, complete,
 * clean up) on one channel: {@code recv} syncs on two branches of the same source, so
 * every send meets a sync registered twice and must deliver once. Custom scenarios only:
 * each gives every blocking {@code recv} a send it can take, so a hang (which Lincheck
 * reports) can only be a lost value or a lost wake-up. Results must be linearizable
 * against a FIFO queue whose {@code recv} on empty returns a value the real one never
 * does, so only orders where each recv follows a send are accepted.
 */
public class BlockingChannelLincheckTest {
    private static final int BLOCKED = Integer.MIN_VALUE;
    private final Channel<Integer> c = new Channel<>();

    @Operation
    public void send(int v) {
        c.send(v);
    }

    @Operation(blocking = true)
    public int recv() throws InterruptedException {
        return choose(c.recvEvent(), c.recvEvent().wrap(x -> x)).sync();
    }

    @Operation
    public int poll() {
        return c.recvEvent().poll().orElse(-1);
    }

    @Validate
    public void noRegistrationLeft() {
        if (c.waiters() != 0) {
            throw new AssertionError("syncs returned but left " + c.waiters() + " registrations");
        }
        c.checkInvariants();
    }

    /** The sequential specification: a FIFO queue. */
    public static class Spec {
        private final ArrayDeque<Integer> q = new ArrayDeque<>();

        public void send(int v) {
            q.addLast(v);
        }

        public int recv() {
            Integer v = q.pollFirst();
            return v == null ? BLOCKED : v;
        }

        public int poll() {
            Integer v = q.pollFirst();
            return v == null ? -1 : v;
        }
    }

    @Test
    void linearizableUnderModelChecking() {
        Class<?> k = BlockingChannelLincheckTest.class;
        new ModelCheckingOptions()
                .iterations(0).invocationsPerIteration(500)
                // two receivers park, the sends wake them in FIFO order
                .addCustomScenario(scenario(List.of(
                        thread(call(k, "recv"), call(k, "recv")),
                        thread(call(k, "send", 1), call(k, "send", 2)),
                        thread(call(k, "send", 3), call(k, "recv"))), List.of(call(k, "poll"))))
                // a poll competes with parked receivers for the sends
                .addCustomScenario(scenario(List.of(
                        thread(call(k, "recv")),
                        thread(call(k, "recv"), call(k, "poll")),
                        thread(call(k, "send", 1), call(k, "send", 2), call(k, "send", 3))),
                        List.of(call(k, "poll"))))
                // each thread both sends and receives
                .addCustomScenario(scenario(List.of(
                        thread(call(k, "send", 1), call(k, "recv")),
                        thread(call(k, "recv"), call(k, "send", 2)),
                        thread(call(k, "send", 3), call(k, "send", 4))), List.of(call(k, "poll"))))
                .sequentialSpecification(Spec.class)
                .check(k);
    }
}

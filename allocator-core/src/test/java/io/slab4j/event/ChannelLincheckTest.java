package io.slab4j.event;

import io.slab4j.testing.Scenarios;
import static io.slab4j.event.Events.choose;
import static io.slab4j.event.Events.guard;
import static io.slab4j.event.Events.withNack;

import java.util.ArrayDeque;
import java.util.List;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking, random scenarios: one {@link Channel} used only through the
 * event layer is a linearizable FIFO queue. Non-blocking operations only (random
 * scenarios cannot promise a blocking receive a matching send; see
 * {@link BlockingChannelLincheckTest}). Two branches on the same source
 * ({@code pollChoice}) must still take at most one value.
 *
 * <p>Note why there is no two-channel operation here: {@code choose(c1, c2).poll()} polls
 * one branch after the other, so "empty" is not an atomic snapshot of both channels,
 * and which ready branch wins is random; no deterministic sequential specification fits.
 * {@link ChooseLincheckTest} checks conservation for that case instead.
 */
@Param(name = "value", gen = IntGen.class, conf = "1:9")
public class ChannelLincheckTest {
    private final Channel<Integer> c = new Channel<>();

    @Operation
    public void send(@Param(name = "value") int v) {
        c.send(v);
    }

    @Operation
    public int poll() {
        return c.recvEvent().poll().orElse(-1);
    }

    @Operation
    public int pollChoice() {
        return choose(c.recvEvent(), c.recvEvent().wrap(x -> x)).poll().orElse(-1);
    }

    @Operation
    public int pollGuardedWithNack() {
        return withNack(n -> guard(() -> c.recvEvent())).poll().orElse(-1);
    }

    @Validate
    public void noRegistrationLeft() {
        if (c.waiters() != 0) {
            throw new AssertionError("a poll left " + c.waiters() + " registrations");
        }
        c.checkInvariants();
    }

    /** The sequential specification: a FIFO queue. */
    public static class Spec {
        private final ArrayDeque<Integer> q = new ArrayDeque<>();

        public void send(int v) {
            q.addLast(v);
        }

        public int poll() {
            Integer v = q.pollFirst();
            return v == null ? -1 : v;
        }

        public int pollChoice() {
            return poll();
        }

        public int pollGuardedWithNack() {
            return poll();
        }
    }

    @Test
    void linearizableUnderModelChecking() {
        Class<?> k = ChannelLincheckTest.class;
        new ModelCheckingOptions()
                .iterations(6).invocationsPerIteration(200)
                .threads(3).actorsPerThread(2).actorsBefore(1).actorsAfter(1)
                // the classic: every kind of poll racing for one value while another arrives
                .addCustomScenario(Scenarios.scenario(List.of(
                        Scenarios.thread(Scenarios.call(k, "send", 1), Scenarios.call(k, "poll")),
                        Scenarios.thread(Scenarios.call(k, "pollChoice"), Scenarios.call(k, "send", 2)),
                        Scenarios.thread(Scenarios.call(k, "pollGuardedWithNack"), Scenarios.call(k, "pollChoice"))),
                        List.of(Scenarios.call(k, "poll"))))
                .sequentialSpecification(Spec.class)
                .check(k);
    }
}

package io.slab4j.event;

import io.slab4j.testing.Scenarios;
import static io.slab4j.event.Events.always;
import static io.slab4j.event.Events.choose;
import static io.slab4j.event.Events.withNack;
import static io.slab4j.testing.Scenarios.call;
import static io.slab4j.testing.Scenarios.scenario;
import static io.slab4j.testing.Scenarios.thread;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionResult;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.kotlinx.lincheck.util.LincheckResult;
import org.jetbrains.kotlinx.lincheck.util.ValueResult;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import org.jetbrains.lincheck.datastructures.verifier.Verifier;
import org.junit.jupiter.api.Test;

/**
 * Lincheck model checking of {@code choose} across two sources: every interleaving
 * Lincheck explores must conserve values — each value sent is received exactly once or
 * still buffered at the end, never lost, never delivered twice — and the nack of a
 * withNack branch must fire iff that branch lost. Two sources racing to claim one sync,
 * stale registrations dropped by a send, and clean-up racing sends are all in play.
 *
 * <p>Not linearizability: which ready branch wins is random and "none ready" is not an
 * atomic snapshot of both channels, so no deterministic sequential specification exists;
 * {@link Conservation} checks the results instead. Values sent on c1 are 11..19, on c2
 * 21..29, so a result names its channel. Custom scenarios give every blocking receive a
 * send it can take: a hang (reported by Lincheck) means a lost value or wake-up.
 */
public class ChooseLincheckTest {
    private final Channel<Integer> c1 = new Channel<>("c1");
    private final Channel<Integer> c2 = new Channel<>("c2");

    @Operation
    public void send1(int v) {
        c1.send(v);
    }

    @Operation
    public void send2(int v) {
        c2.send(v);
    }

    @Operation(blocking = true)
    public int recvEither() throws InterruptedException {
        return choose(c1.recvEvent(), c2.recvEvent()).sync();
    }

    /** As recvEither with the c1 branch under a withNack; returns value * 10 + (nack fired ? 1 : 0). */
    @Operation(blocking = true)
    public int recvEitherNacked() throws InterruptedException {
        boolean[] nacked = {false};
        int v = choose(withNack(n -> {
            n.onNack(() -> nacked[0] = true);
            return c1.recvEvent();
        }), c2.recvEvent()).sync();
        return v * 10 + (nacked[0] ? 1 : 0);
    }

    @Operation
    public int pollEither() {
        return choose(c1.recvEvent(), c2.recvEvent()).poll().orElse(-1);
    }

    @Operation
    public int syncEitherOrAlways() throws InterruptedException {
        return choose(c1.recvEvent(), c2.recvEvent(), always(-1)).sync();
    }

    /** The values still buffered, sorted, as "11 21". */
    @Operation
    public String drain() {
        List<Integer> left = new ArrayList<>(c1.drain());
        left.addAll(c2.drain());
        Collections.sort(left);
        StringBuilder sb = new StringBuilder();
        for (int v : left) {
            sb.append(sb.length() == 0 ? "" : " ").append(v);
        }
        return sb.toString();
    }

    @Validate
    public void noRegistrationLeft() {
        if (c1.waiters() + c2.waiters() != 0) {
            throw new AssertionError("syncs returned but left registrations: c1 "
                    + c1.waiters() + ", c2 " + c2.waiters());
        }
        c1.checkInvariants();
        c2.checkInvariants();
    }

    /**
     * Sent values = received values + drained values, as multisets; nack flags agree with
     * the channel the value came from.
     */
    public static class Conservation implements Verifier {
        public Conservation(Class<?> sequentialSpecification) {
        }

        @Override
        public boolean verifyResults(ExecutionScenario scenario, ExecutionResult results) {
            List<Integer> sent = new ArrayList<>();
            List<Integer> delivered = new ArrayList<>();
            for (Scenarios.Outcome o : Scenarios.outcomes(scenario, results)) {
                Actor a = o.actor();
                LincheckResult r = o.result();
                String op = o.operation();
                if (op.startsWith("send")) {
                    sent.add((Integer) a.getArguments().get(0));
                    continue;
                }
                if (!(r instanceof ValueResult)) {
                    return false; // an exception
                }
                Object v = ((ValueResult) r).getValue();
                switch (op) {
                    case "recvEither":
                    case "pollEither":
                    case "syncEitherOrAlways":
                        if ((Integer) v != -1) {
                            delivered.add((Integer) v);
                        }
                        break;
                    case "recvEitherNacked":
                        int value = (Integer) v / 10;
                        boolean nacked = (Integer) v % 10 == 1;
                        if (nacked != (value / 10 == 2)) {
                            return false; // nack fired although c1 won, or not although c2 won
                        }
                        delivered.add(value);
                        break;
                    case "drain":
                        for (String s : ((String) v).split(" ")) {
                            if (!s.isEmpty()) {
                                delivered.add(Integer.parseInt(s));
                            }
                        }
                        break;
                    default:
                        throw new IllegalStateException("unknown operation " + op);
                }
            }
            Collections.sort(sent);
            Collections.sort(delivered);
            return sent.equals(delivered);
        }
    }

    @Test
    void conservesValuesUnderModelChecking() {
        Class<?> k = ChooseLincheckTest.class;
        List<Scenarios.Call> drain = List.of(call(k, "drain"));
        new ModelCheckingOptions()
                .iterations(0).invocationsPerIteration(450)
                // two sources race to claim one parked sync; the loser must buffer
                .addCustomScenario(scenario(List.of(
                        thread(call(k, "recvEither")),
                        thread(call(k, "send1", 11)),
                        thread(call(k, "send2", 21))), drain))
                // two syncs registered on both channels; nack exactness under races
                .addCustomScenario(scenario(List.of(
                        thread(call(k, "recvEitherNacked")),
                        thread(call(k, "recvEither")),
                        thread(call(k, "send1", 11), call(k, "send2", 21))), drain))
                // polls and an always-fallback sync compete with a parked sync
                .addCustomScenario(scenario(List.of(
                        thread(call(k, "recvEither"), call(k, "pollEither")),
                        thread(call(k, "send2", 21), call(k, "syncEitherOrAlways")),
                        thread(call(k, "send1", 11), call(k, "send1", 12), call(k, "send2", 22))), drain))
                // stale registrations: a sync that won on one channel is still queued on the other
                .addCustomScenario(scenario(List.of(
                        thread(call(k, "recvEitherNacked")),
                        thread(call(k, "send2", 21), call(k, "recvEitherNacked")),
                        thread(call(k, "send1", 11), call(k, "send1", 12))), drain))
                .verifier(Conservation.class)
                .check(k);
    }
}

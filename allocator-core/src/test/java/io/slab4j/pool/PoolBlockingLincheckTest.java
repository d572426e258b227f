package io.slab4j.pool;

import io.slab4j.testing.Scenarios;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.Operation;
import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * Lincheck model checking of the blocking {@link Pool#get()} against puts, tryGets,
 * grows and shrinks. Custom scenarios only: each gives every blocking get an item it can
 * have (two items are taken before the parallel part, and every put returns one), so a
 * hang can only be a lost wake-up or a lost item. Results must be linearizable against
 * the counter specification, in which a get at the limit would block (a value the real
 * get never returns), so only orders where each get finds an item are accepted.
 */
public class PoolBlockingLincheckTest extends PoolLincheckHarness {
    private static final int BLOCKED = Integer.MIN_VALUE;

    @Operation(blocking = true)
    public int get() throws InterruptedException {
        held.push(pool.get());
        return 1;
    }

    /** The sequential specification: items in use and items held, bounded by the hard limit. */
    public static class Spec {
        int inUse;

        public int tryGet() {
            if (inUse == 2) {
                return 0;
            }
            inUse++;
            return 1;
        }

        public int put() {
            if (inUse == 0) {
                return -1;
            }
            inUse--;
            return 1;
        }

        public int get() {
            return inUse == 2 ? BLOCKED : tryGet();
        }
    }

    @Test
    void linearizableUnderModelChecking() {
        Class<?> k = PoolBlockingLincheckTest.class;
        List<Scenarios.Call> takeTwo = List.of(Scenarios.call(k, "tryGet"), Scenarios.call(k, "tryGet"));
        new ModelCheckingOptions()
                .iterations(0).invocationsPerIteration(400)
                // two gets blocked at the limit, two puts: each get gets one item
                .addCustomScenario(Scenarios.scenario(takeTwo, List.of(
                        Scenarios.thread(Scenarios.call(k, "get")),
                        Scenarios.thread(Scenarios.call(k, "get")),
                        Scenarios.thread(Scenarios.call(k, "put"), Scenarios.call(k, "put"))),
                        List.of(Scenarios.call(k, "put"))))
                // a get racing a put and a tryGet for what the put returns
                .addCustomScenario(Scenarios.scenario(takeTwo, List.of(
                        Scenarios.thread(Scenarios.call(k, "get"), Scenarios.call(k, "put")),
                        Scenarios.thread(Scenarios.call(k, "put"), Scenarios.call(k, "tryGet")),
                        Scenarios.thread(Scenarios.call(k, "put"))),
                        List.of()))
                .sequentialSpecification(Spec.class)
                .check(k);
    }
}

package io.slab4j.pool;

import io.slab4j.testing.Scenarios;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionResult;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import org.jetbrains.kotlinx.lincheck.util.ValueResult;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import org.jetbrains.lincheck.datastructures.verifier.Verifier;
import org.junit.jupiter.api.Test;


/**
 * Lincheck model checking of {@link Pool} tryGet/put, random scenarios: a pool of
 * one-item slabs with a hard limit of two and high water 0 (every put that idles a slab
 * gives it back to the arena, so grows and shrinks interleave). Items taken are kept in
 * a shared stack; {@code put} returns one of them.
 *
 * <p>What is checked, over every interleaving explored: {@code @Validate} — the pool's and
 * arena's invariants, no registration left, items in use are exactly the items held, no
 * item held twice; {@link Conservation} — no operation threw, and successful takes minus
 * successful puts lie within the hard limit. Not linearizability against a counter:
 * the harness's stack is updated a step after the pool, so a put can find the stack
 * empty while the pool counts an item in use, and no deterministic specification fits
 * that lag (Lincheck found exactly this when tried). {@link PoolBlockingLincheckTest}
 * checks linearizability of the blocking get in scenarios without that lag.
 */
public class PoolLincheckTest extends PoolLincheckHarness {
    /** No operation threw; takes minus puts is within [0, hard limit]. */
    public static class Conservation implements Verifier {
        public Conservation(Class<?> sequentialSpecification) {
        }

        @Override
        public boolean verifyResults(ExecutionScenario scenario, ExecutionResult results) {
            int balance = 0;
            for (Scenarios.Outcome o : Scenarios.outcomes(scenario, results)) {
                if (!(o.result() instanceof ValueResult result)) {
                    return false;
                }
                if ((Integer) result.getValue() == 1) {
                    balance += o.operation().equals("put") ? -1 : 1;
                }
            }
            return balance >= 0 && balance <= 2;
        }
    }

    @Test
    void conservedUnderModelChecking() {
        new ModelCheckingOptions()
                .iterations(6).invocationsPerIteration(200)
                .threads(3).actorsPerThread(2).actorsBefore(1).actorsAfter(1)
                .verifier(Conservation.class)
                .check(PoolLincheckTest.class);
    }
}

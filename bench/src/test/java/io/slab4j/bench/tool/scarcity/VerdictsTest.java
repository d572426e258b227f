package io.slab4j.bench.tool.scarcity;

import io.slab4j.bench.tool.Percentiles;
import io.slab4j.pool.WaitStrategy;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The verdict columns follow the measurements, and say so when they disagree with the expectation. */
class VerdictsTest {
    private static final long ITEM = 256 * 1024;

    private static ScarcityResult result(WaitStrategy s, long hung, long lost, long meanWasted, long shrinks) {
        return new ScarcityResult(s, 100, 10, hung, hung > 0 ? 1 : 0, 0, lost, 0, 0, 0, meanWasted, meanWasted, 0,
                shrinks, 0, 0, new Percentiles(0, 0, 0, 0, 0, 0), List.of(), null);
    }

    @Test
    void theExpectedStory() {
        List<ScarcityResult> judged = Verdicts.judge(List.of(
                result(WaitStrategy.NAIVE, 5, 0, ITEM, 0),
                result(WaitStrategy.LOW_WATER_PRIME, 0, 0, 4 * ITEM, 0),
                result(WaitStrategy.PENDING_GROW_COUNT, 0, 0, ITEM / 2, 300),
                result(WaitStrategy.NACK, 0, 0, ITEM / 3, 0)), ITEM);
        for (ScarcityResult r : judged) {
            assertTrue(r.verdict().agrees(), r.strategy() + ": " + r.verdict());
        }
        assertEquals("hangs (5 gets in 1 threads)", judged.get(0).verdict().measured());
        assertEquals("completes, wastes", judged.get(1).verdict().measured());
        assertEquals("completes, least waste, 300 slab round trips", judged.get(2).verdict().measured());
        assertEquals("completes, least waste", judged.get(3).verdict().measured());
    }

    @Test
    void aDisagreementIsReported() {
        List<ScarcityResult> judged = Verdicts.judge(List.of(
                result(WaitStrategy.NAIVE, 0, 0, ITEM, 0),
                result(WaitStrategy.NACK, 2, 1, 0, 0)), ITEM);
        assertFalse(judged.get(0).verdict().agrees(), "NAIVE did not hang this time");
        assertEquals("completes, least waste", judged.get(0).verdict().measured());
        assertFalse(judged.get(1).verdict().agrees());
        assertEquals("loses 1 items, hangs (2 gets in 1 threads)", judged.get(1).verdict().measured());
    }
}

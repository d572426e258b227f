package io.slab4j.bench.tool.scarcity;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns the measurements of all strategies into the verdict columns: what the seed's
 * discussion expected of each cure, what this run shows, and whether they agree. The
 * expectation never decides the measured text; if a run disagrees, the table says so.
 *
 * <ul>
 *   <li>{@code NAIVE} — expected to hang: agrees when the watchdog declared a get hung.
 *   <li>{@code LOW_WATER_PRIME} — expected to waste: agrees when it completes and its mean
 *       wasted bytes exceed the least of the completing strategies by at least one item.
 *   <li>{@code PENDING_GROW_COUNT} — expected to race (a slab goes back to the arena so a
 *       pending grow may take it): agrees when it hung, or when slabs round-tripped.
 *   <li>{@code NACK} — expected to complete with the least waste: agrees when nothing hung
 *       or was lost and its mean waste is within one item of the least.
 * </ul>
 * "Completing" means no hung get and no lost item. Stateless.
 */
final class Verdicts {
    private Verdicts() {
    }

    static List<ScarcityResult> judge(List<ScarcityResult> results, long itemBytes) {
        long least = Long.MAX_VALUE;
        for (ScarcityResult r : results) {
            if (completes(r)) {
                least = Math.min(least, r.meanWasted());
            }
        }
        List<ScarcityResult> judged = new ArrayList<>();
        for (ScarcityResult r : results) {
            judged.add(r.withVerdict(verdict(r, least, itemBytes)));
        }
        return judged;
    }

    static boolean completes(ScarcityResult r) {
        return r.hungWaits() == 0 && r.lostItems() == 0;
    }

    static ScarcityResult.Verdict verdict(ScarcityResult r, long leastWaste, long itemBytes) {
        boolean wastes = completes(r) && r.meanWasted() >= leastWaste + itemBytes;
        boolean leastWasteToo = completes(r) && r.meanWasted() < leastWaste + itemBytes;
        String expected;
        boolean agrees;
        switch (r.strategy()) {
            case NAIVE -> {
                expected = "hangs";
                agrees = r.hungWaits() > 0;
            }
            case LOW_WATER_PRIME -> {
                expected = "wastes";
                agrees = wastes;
            }
            case PENDING_GROW_COUNT -> {
                expected = "races";
                agrees = r.hungWaits() > 0 || r.slabShrinks() > 0;
            }
            case NACK -> {
                expected = "completes, least waste";
                agrees = leastWasteToo;
            }
            default -> throw new IllegalArgumentException("no expectation for " + r.strategy());
        }
        return new ScarcityResult.Verdict(expected, measured(r, wastes, leastWasteToo), agrees);
    }

    private static String measured(ScarcityResult r, boolean wastes, boolean leastWaste) {
        List<String> parts = new ArrayList<>();
        if (r.lostItems() > 0) {
            parts.add("loses " + r.lostItems() + " items");
        }
        if (r.hungWaits() > 0) {
            parts.add("hangs (" + r.hungWaits() + " gets in " + r.hungThreads() + " threads)");
        } else if (r.lostItems() == 0) {
            parts.add("completes");
        }
        if (wastes) {
            parts.add("wastes");
        } else if (leastWaste) {
            parts.add("least waste");
        }
        if (r.slabShrinks() > 0) {
            parts.add(r.slabShrinks() + " slab round trips");
        }
        return String.join(", ", parts);
    }
}

package io.slab4j.arena;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Randomized model test: every fit policy against a bitmap of quanta, with
 * {@code checkInvariants()} after every operation. Seeds are fixed and printed; rerun one
 * with {@code -Dslab4j.seed=N}.
 */
class ArenaModelTest {
    private static final int QUANTA = 1024;
    private static final long QUANTUM = 64;
    /** Quantum-aligned but not page-aligned, so alignment must be of addresses, not offsets. */
    private static final long BASE = 0x7f00_0000_0040L;
    private static final int OPERATIONS = 40_000;

    static Stream<Arguments> runs() {
        Long chosen = Long.getLong("slab4j.seed");
        long[] seeds = chosen != null ? new long[] {chosen} : new long[] {0x5EED_0001L, 0x5EED_0002L, 0x5EED_0003L};
        List<Arguments> runs = new ArrayList<>();
        for (Fit fit : Fit.values()) {
            for (long seed : seeds) {
                runs.add(Arguments.of(fit, seed));
            }
        }
        return runs.stream();
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("runs")
    void agreesWithBitmapModel(Fit fit, long seed) {
        System.out.printf("ArenaModelTest: fit %s seed %d (rerun with -Dslab4j.seed=%d)%n", fit, seed, seed);
        SplittableRandom random = new SplittableRandom(seed);
        Arena arena = Arena.builder(BASE, QUANTA * QUANTUM).quantum(QUANTUM).fit(fit).build();
        boolean[] used = new boolean[QUANTA];
        List<long[]> live = new ArrayList<>(); // {address, requested bytes}
        int allocs = 0;
        int failures = 0;
        for (int op = 0; op < OPERATIONS; op++) {
            int choice = random.nextInt(100);
            String step = "op " + op + " (fit " + fit + ", seed " + seed + ")";
            if (choice < 55 || live.isEmpty()) {
                long bytes = randomSize(random);
                long align = QUANTUM << random.nextInt(random.nextInt(4) == 0 ? 8 : 1);
                long address = arena.tryAlloc(bytes, align);
                int n = (int) ((bytes + QUANTUM - 1) / QUANTUM);
                if (address == 0) {
                    failures++;
                    int fitAt = firstFit(used, n, align);
                    if (fitAt >= 0) {
                        fail(step + ": tryAlloc(" + bytes + ", " + align + ") returned 0 but quantum " + fitAt + " fits");
                    }
                } else {
                    allocs++;
                    assertEquals(0, address % align, step + ": misaligned " + Long.toHexString(address));
                    int at = (int) ((address - BASE) / QUANTUM);
                    assertTrue(at >= 0 && at + n <= QUANTA, step + ": span outside the range");
                    for (int q = at; q < at + n; q++) {
                        assertTrue(!used[q], step + ": quantum " + q + " handed out twice");
                        used[q] = true;
                    }
                    live.add(new long[] {address, bytes});
                }
            } else if (choice < 95) {
                long[] span = live.remove(random.nextInt(live.size()));
                arena.free(span[0], span[1]);
                int at = (int) ((span[0] - BASE) / QUANTUM);
                int n = (int) ((span[1] + QUANTUM - 1) / QUANTUM);
                for (int q = at; q < at + n; q++) {
                    used[q] = false;
                }
            } else {
                badFree(arena, random, live, used);
            }
            arena.checkInvariants();
            compareStats(arena, used, live.size(), step);
        }
        System.out.printf("ArenaModelTest: fit %s seed %d: %d allocations, %d no-fit failures, %d live at end%n",
                fit, seed, allocs, failures, live.size());
        assertTrue(allocs > OPERATIONS / 4 && failures > 0, "the run should exercise both fits and failures");
        for (long[] span : live) {
            arena.free(span[0], span[1]);
        }
        arena.checkInvariants();
        ArenaStats empty = arena.stats();
        assertEquals(0, empty.allocated());
        assertEquals(1, empty.freeSegments());
        assertEquals(QUANTA * QUANTUM, empty.largestFree());
    }

    /** From one quantum to a quarter of the range, log-uniform, not always quantum multiples. */
    private static long randomSize(SplittableRandom random) {
        long max = QUANTA * QUANTUM / 4;
        double log = random.nextDouble() * Math.log(max);
        return Math.max(1, Math.min(max, (long) Math.exp(log) - random.nextInt(8)));
    }

    /** A rejected free of each kind: the arena must throw IllegalArgumentException and stay unchanged. */
    private static void badFree(Arena arena, SplittableRandom random, List<long[]> live, boolean[] used) {
        ArenaStats before = arena.stats();
        long[] span = live.get(random.nextInt(live.size()));
        int n = (int) ((span[1] + QUANTUM - 1) / QUANTUM);
        switch (random.nextInt(4)) {
            case 0 -> assertThrows(IllegalArgumentException.class, () -> arena.free(span[0], span[1] + n * QUANTUM));
            case 1 -> assertThrows(IllegalArgumentException.class, () -> arena.free(BASE - QUANTUM, QUANTUM));
            case 2 -> {
                if (n > 1) {
                    assertThrows(IllegalArgumentException.class, () -> arena.free(span[0] + QUANTUM, QUANTUM));
                }
            }
            default -> {
                int q = random.nextInt(QUANTA);
                if (!used[q]) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> arena.free(BASE + q * QUANTUM, QUANTUM));
                    assertTrue(e.getMessage().contains("double free"), e.getMessage());
                }
            }
        }
        ArenaStats after = arena.stats();
        assertEquals(before, after, "a rejected free changed the arena");
    }

    private static void compareStats(Arena arena, boolean[] used, int liveSpans, String step) {
        ArenaStats stats = arena.stats();
        int usedQuanta = 0;
        int runs = 0;
        int longest = 0;
        int run = 0;
        for (int q = 0; q < QUANTA; q++) {
            if (used[q]) {
                usedQuanta++;
                run = 0;
            } else {
                if (run == 0) {
                    runs++;
                }
                run++;
                longest = Math.max(longest, run);
            }
        }
        assertEquals(usedQuanta * QUANTUM, stats.allocated(), step + ": allocated bytes");
        assertEquals(liveSpans, stats.spans(), step + ": spans");
        assertEquals(runs, stats.freeSegments(), step + ": free segments (coalescing)");
        assertEquals(longest * QUANTUM, stats.largestFree(), step + ": largest free");
    }

    /** The reference: the first aligned run of n free quanta, or -1. */
    private static int firstFit(boolean[] used, int n, long align) {
        for (int at = 0; at + n <= QUANTA; at++) {
            if ((BASE + at * QUANTUM) % align != 0) {
                continue;
            }
            boolean free = true;
            for (int q = at; q < at + n && free; q++) {
                free = !used[q];
            }
            if (free) {
                return at;
            }
        }
        return -1;
    }
}

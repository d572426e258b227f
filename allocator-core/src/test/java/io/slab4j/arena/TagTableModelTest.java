package io.slab4j.arena;

import org.junit.jupiter.api.Test;
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
 * Randomized model test of the boundary-tag table ({@link TagTable}, through the
 * {@link Table} contract) against a map of quanta, with
 * {@code check()} after every step: allocations for every fit with random alignments
 * over a base that is not page-aligned, frees in one step and in two (the releasing
 * state), bad frees with their exact messages, and the counters. NEXT fit's exact
 * placement (address-order first fit from the end of the previous NEXT allocation, the
 * rule the arena's previous {@code SegmentTable}, now in the bench module, follows too) is
 * checked by {@link #nextFitInLockstep}. Seeds are fixed and printed; rerun one with {@code -Dslab4j.seed=N}.
 */
class TagTableModelTest {
    private static final int QUANTA = 1000;
    private static final long QUANTUM = 64;
    /** Quantum-aligned but not page-aligned, so alignment must be of addresses, not offsets. */
    private static final long BASE = 0x7f00_0000_0040L;
    private static final long BASE_QUANTA = BASE / QUANTUM;
    private static final int OPERATIONS = 20_000;
    /** Leaves of 64 quanta, so the range crosses leaves (and ends in a short one). */
    private static final int LEAF_SHIFT = 6;

    static Stream<Arguments> runs() {
        List<Arguments> runs = new ArrayList<>();
        for (TableKind kind : TableKind.values()) {
            for (Fit fit : Fit.values()) {
                for (long seed : seeds()) {
                    runs.add(Arguments.of(kind, fit, seed));
                }
            }
        }
        return runs.stream();
    }

    private static long[] seeds() {
        Long chosen = Long.getLong("slab4j.seed");
        return chosen != null ? new long[] {chosen} : new long[] {0x7A6_0001L, 0x7A6_0002L, 0x7A6_0003L};
    }

    @ParameterizedTest(name = "{0} {1} seed {2}")
    @MethodSource("runs")
    void agreesWithQuantumModel(TableKind kind, Fit fit, long seed) {
        System.out.printf("TagTableModelTest: %s fit %s seed %d (rerun with -Dslab4j.seed=%d)%n", kind, fit, seed, seed);
        SplittableRandom random = new SplittableRandom(seed);
        Table table = kind.make(QUANTA, BASE_QUANTA, LEAF_SHIFT);
        Model model = new Model(QUANTA);
        int allocs = 0;
        int failures = 0;
        for (int op = 0; op < OPERATIONS; op++) {
            String step = kind + " op " + op + " (fit " + fit + ", seed " + seed + ")";
            int choice = random.nextInt(100);
            if (choice < 45 || model.live.isEmpty()) {
                int n = randomQuanta(random);
                long alignQ = 1L << (random.nextInt(4) == 0 ? random.nextInt(9) : 0);
                int expectedFit = model.firstFit(n, alignQ);
                assertEquals(expectedFit >= 0, table.canFit(n, alignQ), step + ": canFit(" + n + ", " + alignQ + ")");
                int at = table.allocate(n, alignQ, fit);
                if (at == TagTable.NONE) {
                    failures++;
                    if (expectedFit >= 0) {
                        fail(step + ": allocate(" + n + ", " + alignQ + ") found nothing but quantum " + expectedFit + " fits");
                    }
                } else {
                    allocs++;
                    assertTrue(expectedFit >= 0, step + ": allocated although nothing fits");
                    assertEquals(0, (BASE_QUANTA + at) % alignQ, step + ": misaligned start " + at);
                    int run = model.freeRunLength(at);
                    if (fit == Fit.BEST) {
                        assertEquals(model.smallestFittingRun(n, alignQ), run, step + ": BEST did not take the smallest fit");
                    }
                    model.allocate(at, n, step);
                }
            } else if (choice < 80) {
                int[] span = model.live.remove(random.nextInt(model.live.size()));
                if (random.nextInt(3) != 0) {
                    table.free(span[0], span[1]);
                    model.free(span[0], span[1]);
                } else {
                    int handle = table.beginRelease(span[0], span[1]);
                    model.releasing.add(new int[] {span[0], span[1], handle});
                }
            } else if (choice < 95) {
                if (!model.releasing.isEmpty()) {
                    int[] span = model.releasing.remove(random.nextInt(model.releasing.size()));
                    table.finishRelease(span[2]);
                    model.free(span[0], span[1]);
                }
            } else {
                badFree(table, model, random, step);
            }
            table.check();
            model.compareCounters(table, step);
        }
        System.out.printf("TagTableModelTest: %s fit %s seed %d: %d allocations, %d no-fit failures%n", kind, fit, seed, allocs, failures);
        assertTrue(allocs > OPERATIONS / 8 && failures > 0, "the run should exercise both fits and failures");
        for (int[] span : model.releasing) {
            table.finishRelease(span[2]);
        }
        for (int[] span : model.live) {
            table.free(span[0], span[1]);
        }
        table.check();
        assertEquals(0, table.allocatedQuanta());
        assertEquals(1, table.freeSegments());
        assertEquals(QUANTA, table.largestFree());
    }

    /**
     * NEXT fit is address-order first fit from the end of the previous NEXT allocation,
     * wrapping once: the table must place every span where the model's scan does.
     */
    @Test
    void nextFitInLockstep() {
        for (long seed : seeds()) {
            System.out.printf("TagTableModelTest.nextFitInLockstep: seed %d%n", seed);
            SplittableRandom random = new SplittableRandom(seed);
            Table tags = TableKind.TAGS.make(QUANTA, BASE_QUANTA, LEAF_SHIFT);
            Model model = new Model(QUANTA);
            int rotorPosition = 0;
            for (int op = 0; op < OPERATIONS; op++) {
                String step = "lockstep op " + op + " (seed " + seed + ")";
                if (random.nextInt(100) < 55 || model.live.isEmpty()) {
                    int n = randomQuanta(random);
                    long alignQ = 1L << (random.nextInt(4) == 0 ? random.nextInt(9) : 0);
                    assertEquals(model.firstFit(n, alignQ) >= 0, tags.canFit(n, alignQ), step + ": canFit");
                    int expected = model.nextFit(n, alignQ, rotorPosition);
                    int at = tags.allocate(n, alignQ, Fit.NEXT);
                    assertEquals(expected, at, step + ": NEXT fit placed differently from the model");
                    if (at != TagTable.NONE) {
                        model.allocate(at, n, step);
                        rotorPosition = at + n;
                    }
                } else if (random.nextInt(10) == 0) {
                    int q = random.nextInt(QUANTA + 2) - 1;
                    int n = randomQuanta(random);
                    String expected = model.badFreeMessage(q, n);
                    if (expected != null) { // not a valid free by chance
                        assertEquals(expected, message(() -> tags.free(q, n)), step + ": TagTable's bad free message");
                    }
                } else {
                    int[] span = model.live.remove(random.nextInt(model.live.size()));
                    tags.free(span[0], span[1]);
                    model.free(span[0], span[1]);
                }
                tags.check();
                model.compareCounters(tags, step);
            }
        }
    }

    /**
     * A blocked head's window and the carves outside it ({@link TagWindow}) against the
     * model: the window is aligned and holds as few allocated quanta as any aligned run of
     * its size; a carve outside it never overlaps it, finds a place iff the model has one,
     * and for BEST takes the smallest free run that has one.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("fits")
    void windowAndCarvesOutsideItAgreeWithModel(Fit fit) {
        for (long seed : seeds()) {
            for (int longLength : new int[] {Tags.HUGE, 8}) { // default, and long lengths from 8 quanta
                System.out.printf("TagTableModelTest.window: fit %s seed %d long lengths from %d%n", fit, seed, longLength);
                SplittableRandom random = new SplittableRandom(seed);
                TagTable table = new TagTable(QUANTA, BASE_QUANTA, LEAF_SHIFT, longLength);
                Model model = new Model(QUANTA);
                int outside = 0;
                for (int op = 0; op < OPERATIONS / 4; op++) {
                    String step = "window op " + op + " (fit " + fit + ", seed " + seed + ")";
                    int choice = random.nextInt(100);
                    if (choice < 50 || model.live.isEmpty()) {
                        int n = randomQuanta(random);
                        int at = table.allocate(n, 1, fit);
                        if (at != TagTable.NONE) {
                            model.allocate(at, n, step);
                        }
                    } else if (choice < 85) {
                        int[] span = model.live.remove(random.nextInt(model.live.size()));
                        table.free(span[0], span[1], TagTableModelTest::describe);
                        model.free(span[0], span[1]);
                    } else {
                        int head = 1 + random.nextInt(QUANTA / 2);
                        long headAlign = 1L << (random.nextInt(3) == 0 ? random.nextInt(7) : 0);
                        int lo = table.leastOccupiedWindow(head, headAlign);
                        int hi = lo + head;
                        assertTrue(lo >= 0 && hi <= QUANTA && (BASE_QUANTA + lo) % headAlign == 0, step + ": window [" + lo + ", " + hi + ")");
                        assertEquals(model.leastOccupied(head, headAlign), model.occupied(lo, head),
                                step + ": the window of " + head + " at " + lo + " is not least occupied");
                        int n = randomQuanta(random);
                        long alignQ = 1L << (random.nextInt(4) == 0 ? random.nextInt(5) : 0);
                        int smallest = model.smallestRunOutside(n, alignQ, lo, hi);
                        int at = table.allocateOutside(n, alignQ, fit, lo, hi);
                        if (at == TagTable.NONE) {
                            assertEquals(Integer.MAX_VALUE, smallest, step + ": nothing carved outside [" + lo + ", " + hi + ") but a place exists");
                        } else {
                            outside++;
                            assertTrue(at + n <= lo || at >= hi, step + ": carved " + at + " inside the window [" + lo + ", " + hi + ")");
                            assertEquals(0, (BASE_QUANTA + at) % alignQ, step + ": misaligned start " + at);
                            if (fit == Fit.BEST) {
                                assertEquals(smallest, model.freeRunLength(at), step + ": BEST outside the window did not take the smallest run");
                            }
                            model.allocate(at, n, step);
                        }
                    }
                    table.check();
                    model.compareCounters(tableOf(table), step);
                }
                assertTrue(outside > 100, "the run should carve outside windows: " + outside);
            }
        }
    }

    static Stream<Fit> fits() {
        return Stream.of(Fit.values());
    }

    /** The counters of a table, for {@link Model#compareCounters}. */
    private static Table tableOf(TagTable t) {
        return new Table() {
            @Override
            public int allocate(int n, long alignQ, Fit fit) {
                throw new UnsupportedOperationException();
            }

            @Override
            public boolean canFit(int n, long alignQ) {
                throw new UnsupportedOperationException();
            }

            @Override
            public int beginRelease(int at, int n) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void finishRelease(int handle) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void free(int at, int n) {
                throw new UnsupportedOperationException();
            }

            @Override
            public long allocatedQuanta() {
                return t.allocatedQuanta();
            }

            @Override
            public int spans() {
                return t.spans();
            }

            @Override
            public int freeSegments() {
                return t.freeSegments();
            }

            @Override
            public int largestFree() {
                return t.largestFree();
            }

            @Override
            public void check() {
                t.check();
            }
        };
    }

    private static String message(Runnable call) {
        try {
            call.run();
            return "(no exception)";
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    /** One quantum to an eighth of the range, log-uniform. */
    private static int randomQuanta(SplittableRandom random) {
        return Math.max(1, (int) Math.exp(random.nextDouble() * Math.log(QUANTA / 8.0)));
    }

    /** A rejected free of each kind: exact message, and nothing changes. */
    private static void badFree(Table table, Model model, SplittableRandom random, String step) {
        int at;
        int n;
        int[] span = model.live.isEmpty() ? null : model.live.get(random.nextInt(model.live.size()));
        switch (random.nextInt(6)) {
            case 0 -> { // wrong length
                if (span == null) {
                    return;
                }
                at = span[0];
                n = span[1] + 1 + random.nextInt(3);
            }
            case 1 -> { // interior or foot
                if (span == null || span[1] == 1) {
                    return;
                }
                at = random.nextBoolean() ? span[0] + span[1] - 1 : span[0] + 1 + random.nextInt(span[1] - 1);
                n = 1;
            }
            case 2 -> { // a span being released: double free
                if (model.releasing.isEmpty()) {
                    return;
                }
                int[] r = model.releasing.get(random.nextInt(model.releasing.size()));
                at = r[0] + (random.nextBoolean() ? 0 : random.nextInt(r[1]));
                n = r[1];
            }
            case 3 -> { // outside
                at = random.nextBoolean() ? -1 : QUANTA;
                n = 1;
            }
            default -> { // anywhere: often free (double free)
                at = random.nextInt(QUANTA);
                n = randomQuanta(random);
            }
        }
        String expected = model.badFreeMessage(at, n);
        if (expected == null) {
            return; // a valid free, by chance
        }
        long allocated = table.allocatedQuanta();
        int spans = table.spans();
        int frees = table.freeSegments();
        int finalAt = at;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> table.free(finalAt, n), step);
        assertEquals(expected, e.getMessage(), step + ": bad free message");
        assertEquals(allocated, table.allocatedQuanta(), step + ": a rejected free changed the table");
        assertEquals(spans, table.spans(), step + ": a rejected free changed the table");
        assertEquals(frees, table.freeSegments(), step + ": a rejected free changed the table");
    }

    static String describe(long q) {
        return "0x" + Long.toHexString(BASE + q * QUANTUM);
    }

    /** The reference: the owner of every quantum, and the spans out. */
    static final class Model {
        final int quanta;
        /** Start of the span holding quantum q (allocated or releasing), or -1 when q is free. */
        final int[] owner;
        final int[] length;
        final List<int[]> live = new ArrayList<>();
        /** {start, length, handle} of spans between beginRelease and finishRelease. */
        final List<int[]> releasing = new ArrayList<>();

        Model(int quanta) {
            this.quanta = quanta;
            owner = new int[quanta];
            length = new int[quanta];
            java.util.Arrays.fill(owner, -1);
        }

        void allocate(int at, int n, String step) {
            assertTrue(at >= 0 && at + n <= quanta, step + ": span outside the range");
            for (int q = at; q < at + n; q++) {
                assertEquals(-1, owner[q], step + ": quantum " + q + " handed out twice");
                owner[q] = at;
            }
            length[at] = n;
            live.add(new int[] {at, n});
        }

        void free(int at, int n) {
            for (int q = at; q < at + n; q++) {
                owner[q] = -1;
            }
        }

        int firstFit(int n, long alignQ) {
            for (int at = 0; at + n <= quanta; at++) {
                if ((BASE_QUANTA + at) % alignQ == 0 && freeRun(at, n)) {
                    return at;
                }
            }
            return -1;
        }

        /** Address-order first fit at or after {@code from}, then from 0: NEXT fit with its rotor at {@code from}. */
        int nextFit(int n, long alignQ, int from) {
            for (int pass = 0; pass < 2; pass++) {
                for (int at = pass == 0 ? from : 0; at + n <= quanta; at++) {
                    if ((BASE_QUANTA + at) % alignQ == 0 && freeRun(at, n)) {
                        return at;
                    }
                }
            }
            return -1;
        }

        /** Allocated (or releasing) quanta in {@code [at, at + n)}. */
        int occupied(int at, int n) {
            int count = 0;
            for (int q = at; q < at + n; q++) {
                count += owner[q] != -1 ? 1 : 0;
            }
            return count;
        }

        /** The fewest allocated quanta in an aligned run of n. */
        int leastOccupied(int n, long alignQ) {
            int least = Integer.MAX_VALUE;
            for (int at = 0; at + n <= quanta; at++) {
                if ((BASE_QUANTA + at) % alignQ == 0) {
                    least = Math.min(least, occupied(at, n));
                }
            }
            return least;
        }

        /** The shortest free run holding n aligned free quanta that miss {@code [lo, hi)}; MAX_VALUE when none. */
        int smallestRunOutside(int n, long alignQ, int lo, int hi) {
            int best = Integer.MAX_VALUE;
            for (int at = 0; at + n <= quanta; at++) {
                if ((BASE_QUANTA + at) % alignQ == 0 && (at + n <= lo || at >= hi) && freeRun(at, n)) {
                    best = Math.min(best, freeRunLength(at));
                }
            }
            return best;
        }

        private boolean freeRun(int at, int n) {
            for (int q = at; q < at + n; q++) {
                if (owner[q] != -1) {
                    return false;
                }
            }
            return true;
        }

        /** Length of the maximal free run that holds quantum q (before q is allocated). */
        int freeRunLength(int q) {
            int s = q;
            while (s > 0 && owner[s - 1] == -1) {
                s--;
            }
            int e = q;
            while (e < quanta && owner[e] == -1) {
                e++;
            }
            return e - s;
        }

        int smallestFittingRun(int n, long alignQ) {
            int best = Integer.MAX_VALUE;
            for (int s = 0; s < quanta; ) {
                if (owner[s] != -1) {
                    s++;
                    continue;
                }
                int e = s;
                while (e < quanta && owner[e] == -1) {
                    e++;
                }
                long at = s + Math.floorMod(-(BASE_QUANTA + s), alignQ);
                if (at + n <= e) {
                    best = Math.min(best, e - s);
                }
                s = e;
            }
            return best;
        }

        boolean isReleasing(int start) {
            for (int[] r : releasing) {
                if (r[0] == start) {
                    return true;
                }
            }
            return false;
        }

        /** What a free of (at, n) must say, or null when it is a valid free. */
        String badFreeMessage(int at, int n) {
            String what = "free(" + describe(at) + "): ";
            if (at < 0 || at >= quanta) {
                return what + "address is outside the arena";
            }
            int o = owner[at];
            if (o == -1) {
                return what + "address is not allocated (it lies in a free segment: double free?)";
            }
            if (isReleasing(o)) {
                return what + "span is already being freed (double free?)";
            }
            if (o != at) {
                return what + "address is inside the span allocated at " + describe(o) + ", not at its start";
            }
            if (length[at] != n) {
                return "free(" + describe(at) + ", " + n + " quanta): the span at that address has " + length[at]
                        + " quanta; free with the size it was allocated with";
            }
            return null;
        }

        void compareCounters(Table table, String step) {
            long used = 0;
            int runs = 0;
            int longest = 0;
            int run = 0;
            for (int q = 0; q < quanta; q++) {
                if (owner[q] != -1) {
                    used++;
                    run = 0;
                } else {
                    runs += run == 0 ? 1 : 0;
                    run++;
                    longest = Math.max(longest, run);
                }
            }
            assertEquals(used, table.allocatedQuanta(), step + ": allocated quanta");
            assertEquals(live.size(), table.spans(), step + ": spans");
            assertEquals(runs, table.freeSegments(), step + ": free segments (coalescing)");
            assertEquals(longest, table.largestFree(), step + ": largest free");
        }
    }
}

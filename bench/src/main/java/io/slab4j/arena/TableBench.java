package io.slab4j.arena;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The arena's boundary-tag table alone, without the arena's lock and address arithmetic:
 * today's {@link SegmentTable} against {@link TagTable}, side by side in one run, on
 * the workload of {@code io.slab4j.bench.ArenaBench} translated to quanta.
 *
 * <h2>Workload</h2>
 * <ol>
 *   <li>Setup: a table of twice the prefill's quanta; allocate {@code live * 3 / 2}
 *       spans of random sizes, then free a random third, so {@code live} spans stay
 *       allocated with holes of assorted sizes between them.
 *   <li>{@link #churn}: free a random live span and allocate a replacement of the next
 *       size from a precomputed table: the steady state of a long-running arena.
 *   <li>{@link #allocThenFree}: allocate the next size and free it at once.
 *   <li>{@link #harness}: the random index, table reads and array writes of
 *       {@code churn} without the table: this benchmark's own bookkeeping.
 * </ol>
 * Sizes in quanta are "log-uniform" up to 64, as in {@code ArenaBench} (mean about 20): the
 * same distribution, seeds and steps, but drawn with {@code int} bounds where ArenaBench
 * draws {@code long}s, so the two replay different sequences of sizes. Figures of the two
 * benchmarks compare as distributions, not draw for draw.
 * Seeds are fixed, so every fork replays the same layout. Setup prints the table's
 * metadata (measured heap growth; for {@code TAGS} also its own count).
 *
 * <p>This class sits in {@code io.slab4j.arena} (the bench module's class path splits
 * the package) to reach the package-private tables. Concurrency: one benchmark thread
 * per state; run with {@code -t 1}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED", "-Xms4g", "-Xmx4g"})
public class TableBench {
    static final long SEED = 0x5EED_A7E4AL;
    /** ArenaBench's base (2^40) over its 4 KiB quantum: alignment is of absolute quanta. */
    static final long BASE_QUANTA = (1L << 40) / 4096;
    static final int SIZE_TABLE = 1 << 16;
    static final int MAX_QUANTA = 64;

    /** Which table: today's segments and hash map, or tag words. */
    public enum Kind {
        SEGMENTS,
        TAGS
    }

    /** The two tables behind the calls the benchmark makes. */
    interface Table {
        int allocate(int n, long alignQ, Fit fit);

        void free(int at, int n);

        int spans();

        void check();
    }

    static String describe(long q) {
        return "quantum " + q;
    }

    static Table make(Kind kind, int quanta) {
        if (kind == Kind.SEGMENTS) {
            SegmentTable t = new SegmentTable(quanta, BASE_QUANTA);
            return new Table() {
                @Override
                public int allocate(int n, long alignQ, Fit fit) {
                    return t.allocate(n, alignQ, fit);
                }

                @Override
                public void free(int at, int n) {
                    t.free(at, n, TableBench::describe);
                }

                @Override
                public int spans() {
                    return t.spans();
                }

                @Override
                public void check() {
                    t.check();
                }
            };
        }
        TagTable t = new TagTable(quanta, BASE_QUANTA);
        return new Table() {
            @Override
            public int allocate(int n, long alignQ, Fit fit) {
                return t.allocate(n, alignQ, fit);
            }

            @Override
            public void free(int at, int n) {
                t.free(at, n, TableBench::describe);
            }

            @Override
            public int spans() {
                return t.spans();
            }

            @Override
            public void check() {
                t.check();
            }

            @Override
            public String toString() {
                return "TagTable: " + t.metadataBytes() + " bytes of tags and bins";
            }
        };
    }

    /** A table with {@code live} spans, and the list of those spans. */
    @State(Scope.Thread)
    public static class Churn {
        @Param({"SEGMENTS", "TAGS"})
        public Kind table;

        @Param({"INSTANT", "BEST", "NEXT"})
        public Fit fit;

        @Param({"1024", "65536", "1048576"})
        public int live;

        Table t;
        /** Start and length in quanta of live span i, for i in [0, live). */
        int[] start;
        int[] length;
        final int[] sizeTable = sizeTable(SEED + 1);
        int nextSize;
        long rng = SEED + 2;

        @Setup(Level.Trial)
        public void setUp() {
            int made = live + live / 2;
            int[] a = new int[made];
            int[] b = new int[made];
            SplittableRandom random = new SplittableRandom(SEED);
            long total = 0;
            for (int i = 0; i < made; i++) {
                b[i] = randomQuanta(random);
                total += b[i];
            }
            long heapBefore = usedHeap();
            t = make(table, (int) (2 * total));
            for (int i = 0; i < made; i++) {
                a[i] = allocOrFail(b[i]);
            }
            for (int i = made - 1; i > 0; i--) { // free a random third: shuffle, free the tail
                int j = random.nextInt(i + 1);
                int x = a[i];
                a[i] = a[j];
                a[j] = x;
                x = b[i];
                b[i] = b[j];
                b[j] = x;
            }
            for (int i = live; i < made; i++) {
                t.free(a[i], b[i]);
            }
            long heapAfter = usedHeap();
            System.out.printf("%n%s %s live %d: %d quanta; heap grew by %.1f MiB for the table%s%n", table, fit, live, 2 * total,
                    (heapAfter - heapBefore) / 1048576.0, table == Kind.TAGS ? " (" + t + ")" : "");
            start = Arrays.copyOf(a, live);
            length = Arrays.copyOf(b, live);
        }

        @TearDown(Level.Trial)
        public void check() {
            t.check();
            if (t.spans() != live) {
                throw new IllegalStateException("live spans drifted: " + t.spans());
            }
        }

        int allocOrFail(int n) {
            int at = t.allocate(n, 1, fit);
            if (at == TagTable.NONE) {
                throw new IllegalStateException("no fit for " + n + " quanta");
            }
            return at;
        }

        /** A uniformly random live index: xorshift64, then multiply-high into [0, live). */
        int nextIndex() {
            long x = rng;
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            rng = x;
            return (int) (((x >>> 32) * live) >>> 32);
        }

        int nextSize() {
            return sizeTable[nextSize++ & (SIZE_TABLE - 1)];
        }
    }

    /** The harness alone: same arrays, same index and size streams, no table. */
    @State(Scope.Thread)
    public static class Harness {
        @Param({"1024", "65536", "1048576"})
        public int live;

        int[] start;
        int[] length;
        final int[] sizeTable = sizeTable(SEED + 1);
        int nextSize;
        long rng = SEED + 2;

        @Setup(Level.Trial)
        public void setUp() {
            start = new int[live];
            length = new int[live];
            for (int i = 0; i < live; i++) {
                start[i] = i;
                length[i] = 1;
            }
        }
    }

    @Benchmark
    public int churn(Churn s) {
        int i = s.nextIndex();
        s.t.free(s.start[i], s.length[i]);
        int n = s.nextSize();
        int at = s.allocOrFail(n);
        s.start[i] = at;
        s.length[i] = n;
        return at;
    }

    @Benchmark
    public int allocThenFree(Churn s) {
        int n = s.nextSize();
        int at = s.allocOrFail(n);
        s.t.free(at, n);
        return at;
    }

    @Benchmark
    public int harness(Harness s) {
        long x = s.rng;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        s.rng = x;
        int i = (int) (((x >>> 32) * s.live) >>> 32);
        int old = s.start[i] + s.length[i];
        int n = s.sizeTable[s.nextSize++ & (SIZE_TABLE - 1)];
        s.start[i] = old;
        s.length[i] = n;
        return old;
    }

    static long usedHeap() {
        Runtime r = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return r.totalMemory() - r.freeMemory();
    }

    static int randomQuanta(SplittableRandom random) {
        int c = random.nextInt(7);
        int low = 1 << c;
        return Math.min(MAX_QUANTA, low + random.nextInt(low));
    }

    static int[] sizeTable(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] table = new int[SIZE_TABLE];
        for (int i = 0; i < table.length; i++) {
            table[i] = randomQuanta(random);
        }
        return table;
    }
}

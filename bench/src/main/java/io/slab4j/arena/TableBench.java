package io.slab4j.arena;

import io.slab4j.bench.SpanWorkload;
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

import java.util.concurrent.TimeUnit;

/**
 * The arena's boundary-tag table alone, without the arena's lock and address arithmetic:
 * the previous layout ({@link SegmentTable}, kept here in the bench module) against the
 * one the {@link Arena} now runs on ({@link TagTable}), side by side in one run.
 *
 * <h2>Workload</h2>
 * {@link SpanWorkload}, the one {@code io.slab4j.bench.ArenaBench} replays too, draw for
 * draw, in quanta: the same prefill, index stream and replacement sizes.
 * <ol>
 *   <li>Setup: a table of twice the prefill's quanta; allocate the {@code live * 3 / 2}
 *       prefill spans, then free a random third, so {@code live} spans stay allocated with
 *       holes of assorted sizes between them.
 *   <li>{@link #churn}: free a random live span and allocate a replacement of the next
 *       size: the steady state of a long-running arena.
 *   <li>{@link #allocThenFree}: allocate the next size and free it at once.
 *   <li>{@link #harness}: the random index, table reads and array writes of
 *       {@code churn} without the table: this benchmark's own bookkeeping.
 * </ol>
 * Setup prints the table's metadata (measured heap growth; for {@code TAGS} also its own
 * count).
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
    /** ArenaBench's base (2^40) over its 4 KiB quantum: alignment is of absolute quanta. */
    static final long BASE_QUANTA = (1L << 40) / 4096;

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
        SpanWorkload workload;

        @Setup(Level.Trial)
        public void setUp() {
            workload = new SpanWorkload(live);
            int[] prefill = workload.prefill;
            int[] a = new int[prefill.length];
            long quanta = 2 * workload.totalQuanta();
            long heapBefore = usedHeap();
            t = make(table, (int) quanta);
            for (int i = 0; i < prefill.length; i++) {
                a[i] = allocOrFail(prefill[i]);
            }
            int[] order = workload.order;
            for (int i = live; i < order.length; i++) {
                t.free(a[order[i]], prefill[order[i]]);
            }
            long heapAfter = usedHeap();
            System.out.printf("%n%s %s live %d: %d quanta; heap grew by %.1f MiB for the table%s%n", table, fit, live, quanta,
                    (heapAfter - heapBefore) / 1048576.0, table == Kind.TAGS ? " (" + t + ")" : "");
            start = new int[live];
            length = new int[live];
            for (int i = 0; i < live; i++) {
                start[i] = a[order[i]];
                length[i] = prefill[order[i]];
            }
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
    }

    /** The harness alone: same arrays, same index and size streams, no table. */
    @State(Scope.Thread)
    public static class Harness {
        @Param({"1024", "65536", "1048576"})
        public int live;

        int[] start;
        int[] length;
        SpanWorkload workload;

        @Setup(Level.Trial)
        public void setUp() {
            workload = new SpanWorkload(live);
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
        int i = s.workload.nextIndex();
        s.t.free(s.start[i], s.length[i]);
        int n = s.workload.nextSize();
        int at = s.allocOrFail(n);
        s.start[i] = at;
        s.length[i] = n;
        return at;
    }

    @Benchmark
    public int allocThenFree(Churn s) {
        int n = s.workload.nextSize();
        int at = s.allocOrFail(n);
        s.t.free(at, n);
        return at;
    }

    @Benchmark
    public int harness(Harness s) {
        int i = s.workload.nextIndex();
        int old = s.start[i] + s.length[i];
        int n = s.workload.nextSize();
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
}

package io.slab4j.bench;

import io.slab4j.arena.Arena;
import io.slab4j.arena.Fit;
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
 * Cost of one {@link Arena} allocate/free pair, single-threaded (the arena lock is taken
 * but never contended), with {@code live} spans already allocated over a fragmented
 * range.
 *
 * <h2>Workload</h2>
 * {@link SpanWorkload}, shared with {@code io.slab4j.arena.TableBench} (the arena's table
 * alone), at a 4 KiB quantum over a plain address range (no OS calls, no memory touched)
 * of twice the prefill, so a fit always exists and a failed allocation means a bug (it
 * throws).
 * <ol>
 *   <li>Setup: the workload's prefill: {@code live * 3 / 2} spans, a random third freed.
 *   <li>{@link #churn}: free a random live span and allocate a replacement of the next
 *       size, keeping the live count constant: the steady state of a long-running arena.
 *       Replacement sizes differ from the freed one, so the holes keep changing shape.
 *   <li>{@link #allocThenFree}: allocate the next size and free it at once: the shortest
 *       path through both calls (the freed span coalesces back into the same hole).
 *   <li>{@link #harness}: the random index, table reads and array writes of
 *       {@code churn} without the arena calls: the part of {@code churn} that is this
 *       benchmark's own bookkeeping (mostly cache misses on its arrays at 1M spans).
 * </ol>
 * Sizes are drawn as TableBench draws them (see {@link SpanWorkload}); rounds up to 3
 * drew them with {@code nextLong}, another sequence of the same distribution.
 *
 * <p>Concurrency: one benchmark thread per {@link Churn} state ({@code Scope.Thread});
 * run with {@code -t 1}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.ADD_EXPORTS, "-Xms4g", "-Xmx4g"})
public class ArenaBench {
    static final long QUANTUM = 4096;
    /** Any positive quantum-aligned base: the range is never touched. */
    static final long BASE = 1L << 40;

    /** The arena with {@code live} spans, and the table of those spans. */
    @State(Scope.Thread)
    public static class Churn {
        @Param({"INSTANT", "BEST"})
        public Fit fit;

        @Param({"1024", "65536", "1048576"})
        public int live;

        Arena arena;
        /** Address and size in bytes of live span i, for i in [0, live). */
        long[] address;
        long[] bytes;
        SpanWorkload workload;

        @Setup(Level.Trial)
        public void setUp() {
            workload = new SpanWorkload(live);
            int[] prefill = workload.prefill;
            long[] a = new long[prefill.length];
            arena = Arena.builder(BASE, 2 * workload.totalQuanta() * QUANTUM).quantum(QUANTUM).fit(fit).build();
            for (int i = 0; i < prefill.length; i++) {
                a[i] = allocOrFail(prefill[i] * QUANTUM);
            }
            int[] order = workload.order;
            for (int i = live; i < order.length; i++) {
                arena.free(a[order[i]], prefill[order[i]] * QUANTUM);
            }
            address = new long[live];
            bytes = new long[live];
            for (int i = 0; i < live; i++) {
                address[i] = a[order[i]];
                bytes[i] = prefill[order[i]] * QUANTUM;
            }
        }

        @TearDown(Level.Trial)
        public void check() {
            arena.checkInvariants();
            if (arena.stats().spans() != live) {
                throw new IllegalStateException("live spans drifted: " + arena.stats());
            }
        }

        long allocOrFail(long size) {
            long at = arena.tryAlloc(size);
            if (at == 0) {
                throw new IllegalStateException("no fit for " + size + " bytes: " + arena.stats());
            }
            return at;
        }

        long nextSize() {
            return workload.nextSize() * QUANTUM;
        }
    }

    /** The harness alone: same arrays, same index and size streams, no arena. */
    @State(Scope.Thread)
    public static class Harness {
        @Param({"1024", "65536", "1048576"})
        public int live;

        long[] address;
        long[] bytes;
        SpanWorkload workload;

        @Setup(Level.Trial)
        public void setUp() {
            workload = new SpanWorkload(live);
            address = new long[live];
            bytes = new long[live];
            for (int i = 0; i < live; i++) {
                address[i] = BASE + (long) i * QUANTUM;
                bytes[i] = QUANTUM;
            }
        }
    }

    @Benchmark
    public long churn(Churn s) {
        int i = s.workload.nextIndex();
        s.arena.free(s.address[i], s.bytes[i]);
        long size = s.nextSize();
        long at = s.allocOrFail(size);
        s.address[i] = at;
        s.bytes[i] = size;
        return at;
    }

    @Benchmark
    public long allocThenFree(Churn s) {
        long size = s.nextSize();
        long at = s.allocOrFail(size);
        s.arena.free(at, size);
        return at;
    }

    @Benchmark
    public long harness(Harness s) {
        int i = s.workload.nextIndex();
        long old = s.address[i] + s.bytes[i];
        long size = s.workload.nextSize() * QUANTUM;
        s.address[i] = old;
        s.bytes[i] = size;
        return old;
    }
}

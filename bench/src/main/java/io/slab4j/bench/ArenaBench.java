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

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Cost of one {@link Arena} allocate/free pair, single-threaded (the arena lock is taken
 * but never contended), with {@code live} spans already allocated over a fragmented
 * range.
 *
 * <h2>Workload</h2>
 * <ol>
 *   <li>Setup: over a plain address range (no OS calls, no memory touched), allocate
 *       {@code live * 3 / 2} spans of random sizes, then free a random third of them, so
 *       {@code live} spans stay allocated with holes of assorted sizes between them.
 *   <li>{@link #churn}: free a random live span and allocate a replacement of the next
 *       size from a precomputed table, keeping the live count constant: the steady state
 *       of a long-running arena. Replacement sizes differ from the freed one, so the
 *       holes keep changing shape.
 *   <li>{@link #allocThenFree}: allocate the next size and free it at once: the shortest
 *       path through both calls (the freed span coalesces back into the same hole).
 *   <li>{@link #harness}: the random index, table reads and array writes of
 *       {@code churn} without the arena calls: the part of {@code churn} that is this
 *       benchmark's own bookkeeping (mostly cache misses on its arrays at 1M spans).
 * </ol>
 *
 * <h2>Sizes</h2>
 * In quanta, "log-uniform" up to 64: a power-of-two class 2^c (c in 0..6) is chosen
 * uniformly, then a size uniformly in [2^c, 2^(c+1)) capped at 64. Small spans dominate
 * by count, large ones by space, as with pools' slabs beside big buffers. Mean about 20
 * quanta. The arena holds twice the prefill's total, so a fit always exists and a failed
 * allocation means a bug (it throws).
 *
 * <p>Seeds are fixed ({@link #SEED}), so every fork replays the same layout.
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
    static final long SEED = 0x5EED_A7E4AL;
    static final long QUANTUM = 4096;
    /** Any positive quantum-aligned base: the range is never touched. */
    static final long BASE = 1L << 40;
    /** Power of two, so the size table is cycled with a mask. */
    static final int SIZE_TABLE = 1 << 16;
    static final int MAX_QUANTA = 64;

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
        final long[] sizeTable = sizeTable(SEED + 1);
        int nextSize;
        long rng = SEED + 2;

        @Setup(Level.Trial)
        public void setUp() {
            int made = live + live / 2;
            long[] a = new long[made];
            long[] b = new long[made];
            SplittableRandom random = new SplittableRandom(SEED);
            long total = 0;
            for (int i = 0; i < made; i++) {
                b[i] = randomQuanta(random) * QUANTUM;
                total += b[i];
            }
            arena = Arena.builder(BASE, 2 * total).quantum(QUANTUM).fit(fit).build();
            for (int i = 0; i < made; i++) {
                a[i] = allocOrFail(b[i]);
            }
            // free a random third: shuffle, free the tail, keep the head as the live table
            for (int i = made - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                long t = a[i];
                a[i] = a[j];
                a[j] = t;
                t = b[i];
                b[i] = b[j];
                b[j] = t;
            }
            for (int i = live; i < made; i++) {
                arena.free(a[i], b[i]);
            }
            address = Arrays.copyOf(a, live);
            bytes = Arrays.copyOf(b, live);
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

        /** A uniformly random live index: xorshift64, then multiply-high into [0, live). */
        int nextIndex() {
            long x = rng;
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            rng = x;
            return (int) (((x >>> 32) * live) >>> 32);
        }

        long nextSize() {
            return sizeTable[nextSize++ & (SIZE_TABLE - 1)];
        }
    }

    /** The harness alone: same arrays, same index and size streams, no arena. */
    @State(Scope.Thread)
    public static class Harness {
        @Param({"1024", "65536", "1048576"})
        public int live;

        long[] address;
        long[] bytes;
        final long[] sizeTable = sizeTable(SEED + 1);
        int nextSize;
        long rng = SEED + 2;

        @Setup(Level.Trial)
        public void setUp() {
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
        int i = s.nextIndex();
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
        long x = s.rng;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        s.rng = x;
        int i = (int) (((x >>> 32) * s.live) >>> 32);
        long old = s.address[i] + s.bytes[i];
        long size = s.sizeTable[s.nextSize++ & (SIZE_TABLE - 1)];
        s.address[i] = old;
        s.bytes[i] = size;
        return old;
    }

    static long randomQuanta(SplittableRandom random) {
        int c = random.nextInt(7);
        long low = 1L << c;
        return Math.min(MAX_QUANTA, low + random.nextLong(low));
    }

    static long[] sizeTable(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long[] table = new long[SIZE_TABLE];
        for (int i = 0; i < table.length; i++) {
            table[i] = randomQuanta(random) * QUANTUM;
        }
        return table;
    }
}

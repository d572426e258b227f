package io.slab4j.bench;

import io.slab4j.arena.Arena;
import io.slab4j.nativemem.VirtualRegion;
import org.agrona.concurrent.UnsafeBuffer;
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

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Cost of growing by one 2 MiB slab and writing it for the first time: what a pool pays
 * when it grows, with the arena's grow advice off and on ({@link Arena.Builder#prefault},
 * {@link Arena.Builder#hugePages}).
 *
 * <h2>Workload ({@link #growAndWrite})</h2>
 * <ol>
 *   <li>Over a 64 MiB region reserved at huge-page alignment (default commit chunks), allocate a slab of 2 MiB at 2 MiB
 *       alignment: its chunks are committed ({@code mprotect}), and with the advice on its
 *       frame is advised huge and/or its pages are prefaulted.
 *   <li>Write one {@code long} per 4 KiB page of it: the first touch, which without
 *       prefault takes one page fault per page (or one huge-page fault, with huge pages alone).
 *   <li>Free it. It is the only span, so its chunks are decommitted ({@code madvise(DONTNEED)}
 *       then {@code mprotect(PROT_NONE)}): the next round starts from pages the kernel has
 *       taken back, and faults again. The setup checks that (the resident memory of the
 *       region falls to 0 after a free, and a re-allocated slab reads zeros), and every
 *       iteration's teardown checks the region holds no resident page.
 * </ol>
 * {@link #growAndWriteUntimedFree} times the first two steps alone (the free runs untimed,
 * after each call), since with 4 KiB pages the free costs a good part of the round too and
 * no advice changes it much. {@link #writeOnly} writes a slab that stays resident: the
 * floor of the writes alone.
 *
 * <p>{@link Advice}: {@code OFF} (today's arena), {@code PREFAULT}, {@code HUGE} (huge-page
 * advice alone: one fault maps the frame), {@code PREFAULT_HUGE}. Where the machine has no
 * transparent huge pages, the huge variants measure the same as the others and the setup
 * says so on stderr.
 *
 * <p>Concurrency: one benchmark thread per {@link Grow} state ({@code Scope.Thread}); run
 * with {@code -t 1}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.ADD_EXPORTS})
public class GrowBench {
    static final long SLAB = 2L << 20;
    static final long REGION = 64L << 20;
    static final long PAGE = 4096;

    /** The arena's grow advice. */
    public enum Advice {
        OFF(false, false), PREFAULT(true, false), HUGE(false, true), PREFAULT_HUGE(true, true);

        final boolean prefault;
        final boolean hugePages;

        Advice(boolean prefault, boolean hugePages) {
            this.prefault = prefault;
            this.hugePages = hugePages;
        }
    }

    /** A region-backed arena with the advice under test, and a view to write through. */
    @State(Scope.Thread)
    public static class Grow {
        @Param({"OFF", "PREFAULT", "HUGE", "PREFAULT_HUGE"})
        public Advice advice;

        VirtualRegion region;
        Arena arena;
        final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);

        @Setup(Level.Trial)
        public void setUp() {
            region = VirtualRegion.reserve(REGION, Math.max(VirtualRegion.pageSize(), VirtualRegion.hugePageSize()));
            arena = Arena.builder(region).prefault(advice.prefault).hugePages(advice.hugePages).build();
            for (int round = 0; round < 3; round++) {
                long slab = arena.tryAlloc(SLAB, SLAB);
                view.wrap(slab, (int) SLAB);
                long before = resident();
                long huge = hugePageBytes();
                writePages(view, round + 1);
                long after = resident();
                if (view.getLong(0) != round + 1 || after < SLAB) {
                    throw new IllegalStateException(advice + ": the slab is not resident after its writes: " + after);
                }
                arena.free(slab, SLAB);
                if (resident() != 0) {
                    throw new IllegalStateException(advice + ": the free left " + resident()
                            + " bytes resident: the benchmark would not measure a grow");
                }
                long again = arena.tryAlloc(SLAB, SLAB);
                view.wrap(again, (int) SLAB);
                if (view.getLong((int) (SLAB - PAGE)) != 0) {
                    throw new IllegalStateException(advice + ": a re-allocated slab kept its old contents");
                }
                arena.free(again, SLAB);
                if (round == 0) {
                    System.err.printf("GrowBench %s: after the grow %d bytes resident (%d in huge pages),"
                                    + " after the writes %d, after the free %d; huge page size %d%n",
                            advice, before, huge, after, resident(), VirtualRegion.hugePageSize());
                }
            }
        }

        @TearDown(Level.Iteration)
        public void checkDropped() {
            if (resident() != 0) {
                throw new IllegalStateException(advice + ": " + resident() + " bytes resident between rounds");
            }
            arena.checkInvariants();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            region.close();
        }

        long resident() {
            return smapsBytes("Rss:");
        }

        long hugePageBytes() {
            return smapsBytes("AnonHugePages:");
        }

        /** One smaps field summed over the region's mappings, in bytes. */
        private long smapsBytes(String field) {
            long start = region.address();
            long end = start + region.size();
            long total = 0;
            boolean inside = false;
            for (String line : readSmaps().split("\n")) {
                int dash = line.indexOf('-');
                int space = line.indexOf(' ');
                if (dash > 0 && space > dash && line.substring(0, dash).chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                    long s = Long.parseUnsignedLong(line.substring(0, dash), 16);
                    long e = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                    inside = Long.compareUnsigned(s, start) >= 0 && Long.compareUnsigned(e, end) <= 0;
                } else if (inside && line.startsWith(field)) {
                    total += Long.parseLong(line.trim().split("\\s+")[1]) * 1024;
                }
            }
            return total;
        }

        private static String readSmaps() {
            try {
                return Files.readString(Path.of("/proc/self/smaps"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** {@link Grow}, whose slab is freed after each call, outside the timing, for {@link #growAndWriteUntimedFree}. */
    @State(Scope.Thread)
    public static class GrowUntimedFree extends Grow {
        /** The slab the last call allocated, 0 once freed. */
        long held;

        @TearDown(Level.Invocation)
        public void freeHeld() {
            if (held != 0) {
                arena.free(held, SLAB);
                held = 0;
            }
        }
    }

    /** A slab that stays allocated and resident, for {@link #writeOnly}. */
    @State(Scope.Thread)
    public static class Resident {
        VirtualRegion region;
        final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);

        @Setup(Level.Trial)
        public void setUp() {
            region = VirtualRegion.reserve(SLAB);
            region.commit(0, SLAB);
            view.wrap(region.address(), (int) SLAB);
            writePages(view, 1);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            region.close();
        }
    }

    /** Allocate a 2 MiB slab, write one long per 4 KiB page, free it (decommitted: the next round faults again). */
    @Benchmark
    public long growAndWrite(Grow g) {
        long slab = g.arena.tryAlloc(SLAB, SLAB);
        g.view.wrap(slab, (int) SLAB);
        writePages(g.view, slab);
        g.arena.free(slab, SLAB);
        return slab;
    }

    /**
     * {@link #growAndWrite} without the free in the timing: allocate and write only; the free
     * (decommit) runs in an invocation teardown. Per-call fixtures add a timestamp pair per
     * call, negligible at this call's millisecond scale.
     */
    @Benchmark
    public long growAndWriteUntimedFree(GrowUntimedFree g) {
        long slab = g.arena.tryAlloc(SLAB, SLAB);
        g.view.wrap(slab, (int) SLAB);
        writePages(g.view, slab);
        g.held = slab;
        return slab;
    }

    /** The same writes to a slab that is already resident: no grow, no fault. */
    @Benchmark
    public long writeOnly(Resident r) {
        writePages(r.view, r.region.address());
        return r.view.getLong(0);
    }

    static void writePages(UnsafeBuffer view, long value) {
        for (int offset = 0; offset < SLAB; offset += (int) PAGE) {
            view.putLong(offset, value);
        }
    }
}

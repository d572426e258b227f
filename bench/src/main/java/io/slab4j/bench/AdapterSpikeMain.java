package io.slab4j.bench;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.BufferPoolStats;
import io.slab4j.buffer.PooledBuffer;
import io.slab4j.buffer.SizeClassStats;
import io.slab4j.netty.SlabByteBufAllocator;
import org.agrona.UnsafeApi;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A reproducer for the {@code -t 2} spikes of {@link NettyAllocatorBench}: {@code threads}
 * threads run {@code directBuffer(size)} + {@code release()} (mode {@code netty}; mode
 * {@code adaptive}: the same on Netty's {@code AdaptiveByteBufAllocator}) or a bare
 * {@code BufferPool.tryAcquire(size)} + {@code close()} (mode {@code pool}) in a loop for
 * {@code seconds}, over one shared pool. Every {@code windowMs} the main thread prints one line:
 * the window's ns per operation and thread by the wall clock and by the workers' CPU time
 * (on a loaded machine the two differ by the share of a core the workers got; a CPU figure
 * far above the one-thread figure is a real cost, such as a cache line two workers write),
 * the slowest batch of {@value #BATCH} operations, the GC count and time, the request's size
 * class (slabs, idle slabs, pool requests and failures in the window) and the pool's waiters.
 * A jump in requests or slabs next to a slow window points at the pool's slow path (magazines
 * taken, slab churn); GC time next to it, at the collector.
 *
 * <p>Options (system properties): {@code slab4j.spike.probe=true} appends the two workers'
 * nearest hot objects and their items (see {@link HotObjects}); {@code slab4j.spike.spread=true}
 * makes worker {@code i} first hold {@code i} slabs' worth of items, so that the items the
 * workers cycle sit in different slabs.
 *
 * <pre>
 *   java --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -Dio.netty.leakDetection.level=disabled \
 *        -cp bench/target/benchmarks.jar io.slab4j.bench.AdapterSpikeMain netty 4096 2 20 250 [idleDecaySeconds]
 * </pre>
 * Figures go to the report, not here. A measuring tool, not a test: it throws only when the
 * pool is left with buffers open or its invariants are broken.
 */
public final class AdapterSpikeMain {
    /** Operations between two progress publications of a worker. */
    static final int BATCH = 1024;

    private AdapterSpikeMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            throw new IllegalArgumentException("usage: AdapterSpikeMain netty|adaptive|pool SIZE THREADS SECONDS WINDOW_MS [IDLE_DECAY_S]; got "
                    + List.of(args));
        }
        String mode = args[0];
        if (!mode.equals("netty") && !mode.equals("pool") && !mode.equals("adaptive")) {
            throw new IllegalArgumentException("mode " + mode + ": expected netty, adaptive or pool");
        }
        int size = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        long seconds = Long.parseLong(args[3]);
        long windowMs = Long.parseLong(args[4]);
        BufferPool.Builder b = BufferPool.builder().name("spike-" + System.nanoTime());
        if (args.length > 5) {
            b.idleDecay(Duration.ofSeconds(Long.parseLong(args[5])));
        }
        BufferPool pool = b.build();
        ByteBufAllocator alloc = mode.equals("adaptive") ? new AdaptiveByteBufAllocator(true, true) : new SlabByteBufAllocator(pool);
        int cls = classIndex(pool, size);

        AtomicLongArray ops = new AtomicLongArray(threads * 8); // [i * 8]: ops; [i * 8 + 1]: slowest batch ns, reset by the reader
        AtomicBoolean stop = new AtomicBoolean();
        boolean probe = Boolean.getBoolean("slab4j.spike.probe");
        // spread: worker i first holds i slabs' worth of items, so the items the workers cycle sit in different slabs
        boolean spread = Boolean.getBoolean("slab4j.spike.spread");
        int perSlab = cls < 0 ? 0 : (int) (pool.stats().sizeClasses().get(cls).slabBytes() / pool.sizeClasses()[cls]);
        Object[][] hot = new Object[threads][];
        Thread[] workers = new Thread[threads];
        for (int i = 0; i < threads; i++) {
            int slot = i * 8;
            workers[i] = new Thread(() -> {
                long done = 0;
                java.lang.management.ThreadMXBean tm = ManagementFactory.getThreadMXBean();
                List<PooledBuffer> held = new java.util.ArrayList<>();
                for (int k = 0; spread && k < (slot / 8) * perSlab; k++) {
                    held.add(pool.tryAcquire(size));
                }
                if (probe) {
                    pool.tryAcquire(size).close(); // registers this thread's state with the pool
                    hot[slot / 8] = HotObjects.of(pool, cls);
                }
                while (!stop.get()) {
                    long t0 = System.nanoTime();
                    for (int k = 0; k < BATCH; k++) {
                        if (!mode.equals("pool")) {
                            ByteBuf buf = alloc.directBuffer(size);
                            buf.release();
                        } else {
                            PooledBuffer p = pool.tryAcquire(size);
                            p.close();
                        }
                    }
                    long took = System.nanoTime() - t0;
                    done += BATCH;
                    ops.lazySet(slot + 2, tm.getCurrentThreadCpuTime());
                    ops.lazySet(slot, done);
                    if (took > ops.get(slot + 1)) {
                        ops.lazySet(slot + 1, took);
                    }
                }
                held.forEach(PooledBuffer::close);
            }, "spike-" + i);
        }
        System.out.printf("mode %s size %d threads %d class %d; columns: t_ms ns/op/thread cpu_ns/op slowestBatch_us gcCount gcMs "
                + "slabs idle requests failures waiters%n", mode, size, threads, cls >= 0 ? pool.sizeClasses()[cls] : -1);
        for (Thread w : workers) {
            w.start();
        }
        long start = System.nanoTime();
        long lastOps = 0;
        long lastCpu = 0;
        long lastT = start;
        long[] lastGc = gc();
        SizeClassStats lastS = stats(pool, cls);
        long end = start + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            Thread.sleep(windowMs);
            long now = System.nanoTime();
            long total = 0;
            long slowest = 0;
            long cpu = 0;
            for (int i = 0; i < threads; i++) {
                total += ops.get(i * 8);
                cpu += ops.get(i * 8 + 2);
                slowest = Math.max(slowest, ops.getAndSet(i * 8 + 1, 0));
            }
            long[] g = gc();
            BufferPoolStats ps = pool.stats();
            SizeClassStats s = stats(pool, cls);
            double nsPerOp = total == lastOps ? Double.POSITIVE_INFINITY : (double) (now - lastT) * threads / (total - lastOps);
            double cpuPerOp = total == lastOps ? Double.POSITIVE_INFINITY : (double) (cpu - lastCpu) / (total - lastOps);
            lastCpu = cpu;
            String near = probe ? " " + HotObjects.nearest(hot) : "";
            System.out.printf("%6d %8.1f %8.1f %9.1f %3d %4d %4d %4d %9d %5d %3d%s%n", (now - start) / 1_000_000, nsPerOp, cpuPerOp, slowest / 1e3,
                    g[0] - lastGc[0], g[1] - lastGc[1], s == null ? -1 : s.slabs(), s == null ? -1 : s.idleSlabs(),
                    s == null ? -1 : s.requests() - lastS.requests(), s == null ? -1 : s.failures() - lastS.failures(),
                    ps.waiters(), near);
            lastOps = total;
            lastT = now;
            lastGc = g;
            lastS = s;
        }
        stop.set(true);
        for (Thread w : workers) {
            w.join();
        }
        if (pool.stats().buffersInUse() != 0) {
            throw new IllegalStateException("buffers left open: " + pool.stats());
        }
        pool.checkInvariants();
        pool.close();
    }

    /**
     * The objects of one worker that its fast path writes on every operation, reached by
     * reflection (this is a measuring tool): its {@code ThreadState} (random sequence), its
     * {@code ClassTally} (counters), its {@code ThreadMagazines} (lease CAS, counters) and the
     * two {@code Magazine}s with their rounds arrays. {@link #nearest} reports the two objects of
     * different workers whose starts are closest in memory now (a collection moves them), by
     * address (Agrona's {@code UnsafeApi} on a compressed oop, zero based with shift 3: run with a
     * heap below 32 GiB).
     */
    static final class HotObjects {
        private static final String[] KINDS = {"ThreadState", "ClassTally", "ThreadMagazines", "loaded", "loaded.rounds",
                "previous", "previous.rounds"};

        private static final long BASE = UnsafeApi.arrayBaseOffset(Object[].class);

        static Object[] of(BufferPool pool, int cls) {
            try {
                ThreadLocal<?> local = (ThreadLocal<?>) field(pool, "local");
                Object state = local.get();
                Object tally = ((Object[]) field(state, "tallies"))[cls];
                Object mags = field(field(tally, "local"), "mine");
                Object loaded = field(mags, "loaded");
                Object previous = field(mags, "previous");
                return new Object[] {state, tally, mags, loaded, field(loaded, "rounds"), previous,
                        previous == null ? null : field(previous, "rounds")};
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("the probe no longer matches allocator-core's fields", e);
            }
        }

        /**
         * Where the item records of the slab last found by the class's pool sit: the
         * {@code Slab} object, its {@code states} byte array (one record byte per item, kept a
         * line apart from its neighbours' since round 5; written by every cache get and put with
         * checks on) and its free stack, as "slab@A states@+B free@+C"
         * (offsets from the slab object, bytes; a states array within 64 bytes of the slab's
         * fields shares their cache line).
         */
        private static String slab(Object[] mine) {
            try {
                Object records = field(field(field(mine[1], "sizeClass"), "pool"), "records");
                Object slab = field(records, "last");
                if (slab == null) {
                    return "slab=?";
                }
                long at = address(slab);
                Object free = field(slab, "freeStack");
                return "slab@" + Long.toHexString(at) + " states@+" + (address(field(slab, "states")) - at) + " free@"
                        + (free == null ? "-" : "+" + (address(free) - at));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("the probe no longer matches allocator-core's fields", e);
            }
        }

        /** The first round of the worker's loaded magazine: the item it keeps taking and putting back, in steady state. */
        private static String item(Object[] mine) {
            long[] rounds = (long[]) mine[4];
            return Long.toHexString(rounds[0]);
        }

        private static Object field(Object o, String name) throws ReflectiveOperationException {
            for (Class<?> c = o.getClass(); c != null; c = c.getSuperclass()) {
                try {
                    java.lang.reflect.Field f = c.getDeclaredField(name);
                    f.setAccessible(true);
                    return f.get(o);
                } catch (NoSuchFieldException next) {
                    // a superclass may declare it
                }
            }
            throw new NoSuchFieldException(name + " in " + o.getClass());
        }

        private static long address(Object o) {
            Object[] box = {o};
            long narrow = UnsafeApi.getInt(box, BASE) & 0xffffffffL;
            return narrow << 3;
        }

        /** "min=<bytes> <kind of worker 0>/<kind of worker 1>": the closest pair of hot objects of workers 0 and 1. */
        static String nearest(Object[][] hot) {
            if (hot.length < 2 || hot[0] == null || hot[1] == null) {
                return "min=?";
            }
            long best = Long.MAX_VALUE;
            String pair = "";
            for (int i = 0; i < KINDS.length; i++) {
                for (int j = 0; j < KINDS.length; j++) {
                    if (hot[0][i] == null || hot[1][j] == null) {
                        continue;
                    }
                    long d = Math.abs(address(hot[0][i]) - address(hot[1][j]));
                    if (d < best) {
                        best = d;
                        pair = KINDS[i] + "/" + KINDS[j];
                    }
                }
            }
            return "min=" + best + " " + pair + " items " + item(hot[0]) + " " + item(hot[1]) + " " + slab(hot[0]);
        }
    }

    private static int classIndex(BufferPool pool, int size) {
        int[] sizes = pool.sizeClasses();
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] >= size) {
                return i;
            }
        }
        return -1;
    }

    private static SizeClassStats stats(BufferPool pool, int cls) {
        return cls < 0 ? null : pool.stats().sizeClasses().get(cls);
    }

    private static long[] gc() {
        long n = 0;
        long ms = 0;
        for (GarbageCollectorMXBean g : ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, g.getCollectionCount());
            ms += Math.max(0, g.getCollectionTime());
        }
        return new long[] {n, ms};
    }
}

package io.slab4j.bench;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.BufferPoolStats;
import io.slab4j.netty.SlabByteBufAllocator;
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
 * {@code directBuffer(size)} + {@code release()} through Netty's {@code ByteBufAllocator}
 * interface, per operation, for slab4j's {@link SlabByteBufAllocator} (over a
 * {@link BufferPool} in its default configuration: magazines, put checks and {@code SAMPLED}
 * leak watching on) and Netty's {@code AdaptiveByteBufAllocator} and
 * {@code PooledByteBufAllocator} (thread cache on for all threads), set up as in
 * {@link PoolBench}. One allocator per trial ({@link #allocator}), so the interface call is
 * monomorphic in each fork, as it is in a server that uses one allocator. Run at {@code -t 1}
 * and {@code -t 2}; the allocator is one shared instance.
 *
 * <ul>
 *   <li>{@link #allocateRelease}: the allocation alone.
 *   <li>{@link #write1KiBRelease}: {@code writeBytes} of 1 KiB from a heap array before the
 *       release; at 64 B that write grows the buffer (to 1 KiB, a move to another buffer of
 *       the allocator), so that row also measures growth.
 * </ul>
 * Netty's leak detector is off for all three ({@link BenchFlags#NETTY_NO_LEAK_DETECTION}), as
 * in the other benchmarks. Heap per operation: {@code -prof gc}, {@code gc.alloc.rate.norm}
 * (budget 96 B; slab4j allocates the 64-byte {@code SlabByteBuf} alone, holding pool memory
 * without a {@code PooledBuffer} handle).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.ADD_EXPORTS, BenchFlags.TRY_REFLECTION, BenchFlags.OPEN_NIO,
        BenchFlags.OPEN_MISC, BenchFlags.NETTY_NO_LEAK_DETECTION})
@State(Scope.Benchmark)
public class NettyAllocatorBench {
    /** {@code -Dslab4j.bench.iterationStats=true}: see {@link #iterationStats()}. */
    static final boolean ITERATION_STATS = Boolean.getBoolean("slab4j.bench.iterationStats");

    @Param({"64", "4096", "65536", "1048576"})
    public int size;

    @Param({"slab4j", "nettyAdaptive", "nettyPooled"})
    public String allocator;

    BufferPool pool;
    ByteBufAllocator alloc;
    final byte[] kib = new byte[1024];

    @Setup(Level.Trial)
    public void setUp() {
        switch (allocator) {
            case "slab4j" -> {
                pool = BufferPool.builder().name("bench-netty-" + System.nanoTime()).build();
                alloc = new SlabByteBufAllocator(pool);
            }
            case "nettyAdaptive" -> alloc = new AdaptiveByteBufAllocator(true, true);
            case "nettyPooled" -> alloc = new PooledByteBufAllocator(true,
                    PooledByteBufAllocator.defaultNumHeapArena(), PooledByteBufAllocator.defaultNumDirectArena(),
                    PooledByteBufAllocator.defaultPageSize(), PooledByteBufAllocator.defaultMaxOrder(),
                    PooledByteBufAllocator.defaultSmallCacheSize(), PooledByteBufAllocator.defaultNormalCacheSize(),
                    true);
            default -> throw new IllegalArgumentException("allocator " + allocator + ": slab4j, nettyAdaptive or nettyPooled");
        }
    }

    /**
     * With {@code -Dslab4j.bench.iterationStats=true}, the pool's figures after each iteration
     * (waiters, the class of {@code size}: slabs, idle slabs, pool requests, failures), to see
     * what a slow iteration did differently; see also {@link AdapterSpikeMain}. Pass it with
     * {@code -jvmArgsPrepend}: {@code -jvmArgsAppend} on the command line replaces the
     * {@code @Fork} flags above (Netty's leak detector would be back on). Runs between
     * iterations, outside the measurement.
     */
    @TearDown(Level.Iteration)
    public void iterationStats() {
        if (pool != null && ITERATION_STATS) {
            BufferPoolStats s = pool.stats();
            String cls = s.sizeClasses().stream().filter(c -> c.size() >= size).findFirst().map(Object::toString)
                    .orElse("large: " + s.largeBuffersInUse() + " in use, " + s.cachedLargeBytes() + " bytes cached");
            System.out.println("\n  stats: waiters " + s.waiters() + ", committed " + s.committedBytes() + ", " + cls);
        }
    }

    @TearDown(Level.Trial)
    public void check() {
        if (pool != null) {
            if (pool.stats().buffersInUse() != 0) {
                throw new IllegalStateException("benchmark left buffers open: " + pool.stats());
            }
            pool.checkInvariants();
            pool.close();
        }
    }

    @Benchmark
    public boolean allocateRelease() {
        ByteBuf buf = alloc.directBuffer(size);
        return buf.release();
    }

    @Benchmark
    public boolean write1KiBRelease() {
        ByteBuf buf = alloc.directBuffer(size);
        buf.writeBytes(kib);
        return buf.release();
    }
}

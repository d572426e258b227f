package io.slab4j.bench;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.PooledBuffer;
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

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * One acquire and one release of a {@code size}-byte direct buffer per operation: slab4j's
 * {@link BufferPool} in its default configuration (magazines, {@code PoolCache} put checks
 * and {@code SAMPLED} leak detection on) against its peers, in the same run, at 64 B, 4 KiB,
 * 64 KiB and 1 MiB (1 MiB is above the largest default class: a cached page span). Run at
 * {@code -t 1} and {@code -t 2}; every allocator is one shared instance.
 *
 * <ul>
 *   <li>{@link #slab4j}: {@code acquire(size)} + {@code close()}.
 *   <li>{@link #slab4jByteBuffer}: the same plus {@code byteBuffer()} on the fresh buffer, so
 *       the cost of the lazily made, detachable view is known.
 *   <li>{@link #nettyAdaptive}, {@link #nettyPooled}: {@code directBuffer(size)} +
 *       {@code release()}, set up as in {@link PoolBench} (Netty's leak detector off, said in
 *       RESULTS.md; slab4j's stays on).
 *   <li>{@link #byteBufferAllocateDirect}: left to its {@code Cleaner}.
 *   <li>{@link #unsafeMalloc}: {@code Unsafe.allocateMemory} + {@code freeMemory}.
 * </ul>
 * Heap per operation: {@code -prof gc}, {@code gc.alloc.rate.norm}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.ADD_EXPORTS, BenchFlags.TRY_REFLECTION, BenchFlags.OPEN_NIO,
        BenchFlags.OPEN_MISC, BenchFlags.NETTY_NO_LEAK_DETECTION})
@State(Scope.Benchmark)
public class BufferPoolBench {
    @Param({"64", "4096", "65536", "1048576"})
    public int size;

    BufferPool pool;
    ByteBufAllocator adaptive;
    ByteBufAllocator pooled;

    @Setup(Level.Trial)
    public void setUp() {
        pool = BufferPool.builder().name("bench-" + System.nanoTime()).build();
        adaptive = new AdaptiveByteBufAllocator(true, true);
        pooled = new PooledByteBufAllocator(true,
                PooledByteBufAllocator.defaultNumHeapArena(), PooledByteBufAllocator.defaultNumDirectArena(),
                PooledByteBufAllocator.defaultPageSize(), PooledByteBufAllocator.defaultMaxOrder(),
                PooledByteBufAllocator.defaultSmallCacheSize(), PooledByteBufAllocator.defaultNormalCacheSize(),
                true);
    }

    @TearDown(Level.Trial)
    public void check() {
        if (pool.stats().buffersInUse() != 0) {
            throw new IllegalStateException("benchmark left buffers open: " + pool.stats());
        }
        pool.checkInvariants();
        pool.close();
    }

    @Benchmark
    public long slab4j() throws InterruptedException {
        PooledBuffer b = pool.acquire(size);
        long address = b.address();
        b.close();
        return address;
    }

    @Benchmark
    public int slab4jByteBuffer() throws InterruptedException {
        PooledBuffer b = pool.acquire(size);
        int limit = b.byteBuffer().limit();
        b.close();
        return limit;
    }

    @Benchmark
    public long nettyAdaptive() {
        ByteBuf buf = adaptive.directBuffer(size);
        long address = buf.memoryAddress();
        buf.release();
        return address;
    }

    @Benchmark
    public long nettyPooled() {
        ByteBuf buf = pooled.directBuffer(size);
        long address = buf.memoryAddress();
        buf.release();
        return address;
    }

    @Benchmark
    public ByteBuffer byteBufferAllocateDirect() {
        return ByteBuffer.allocateDirect(size);
    }

    @Benchmark
    public long unsafeMalloc() {
        long address = UnsafeMemory.allocate(size);
        UnsafeMemory.free(address);
        return address;
    }
}

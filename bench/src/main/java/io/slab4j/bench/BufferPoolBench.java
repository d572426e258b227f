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
import org.openjdk.jmh.infra.Blackhole;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * One acquire and one release of a {@code size}-byte direct buffer per operation: slab4j's
 * {@link BufferPool} in its default configuration (magazines and {@code SAMPLED} leak
 * detection on; its size classes' caches skip the put checks by design, the handle's CAS
 * standing in for them, see {@code SizeClass}) against its peers, in the same run, at 64 B, 4 KiB,
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
 *   <li>{@link #floorHandle}: no allocator at all, only the irreducible work of a sound pair
 *       as slab4j builds one (see {@link Floor}): what 3x against Netty must fit beside.
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
    /** Each thread's floor magazine, made by that thread (so in its own TLAB, as a {@code ThreadMagazines} is). */
    final ThreadLocal<Floor> floor = ThreadLocal.withInitial(Floor::new);
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

    /**
     * The sound floor of one acquire + close as built: one {@code ThreadLocal} lookup, a
     * lease CAS and release store around a pop from the thread's array, a fresh 24-byte
     * handle (made to escape, as a {@code PooledBuffer} does), one CAS on it to close it, and a
     * push under another lease CAS and release store. No memory is touched and {@code size}
     * does not matter (the same figure at every size is expected).
     */
    @Benchmark
    public long floorHandle(Blackhole bh) {
        Floor f = floor.get();
        long address = f.pop();
        Floor.Handle h = new Floor.Handle(address, f);
        bh.consume(h);
        h.close();
        return address;
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

    /**
     * One thread's magazine of fake addresses under a lease word, and the handle of the floor
     * pair: the same atomic instructions, ordering and allocation as slab4j's fast path, and
     * nothing else (no tally, no size class, no sampling, no closed flags).
     */
    static final class Floor {
        private static final VarHandle LEASE;
        private static final int ROUNDS = 32;

        static {
            try {
                LEASE = MethodHandles.lookup().findVarHandle(Floor.class, "lease", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        @SuppressWarnings("unused")
        private volatile int lease;
        private final long[] rounds = new long[ROUNDS];
        private int count;

        Floor() {
            for (int i = 0; i < ROUNDS / 2; i++) {
                push(0x10000L + 64L * i);
            }
        }

        /** Lease CAS, pop, release store. */
        long pop() {
            if (!LEASE.compareAndSet(this, 0, 1)) {
                throw new IllegalStateException("floor lease held");
            }
            long a = rounds[--count];
            LEASE.setRelease(this, 0);
            return a;
        }

        /** Lease CAS, push, release store. */
        void push(long address) {
            if (!LEASE.compareAndSet(this, 0, 1)) {
                throw new IllegalStateException("floor lease held");
            }
            rounds[count++] = address;
            LEASE.setRelease(this, 0);
        }

        /** 24 bytes with compressed oops: header 12, link 4, word 8. */
        static final class Handle {
            private static final VarHandle WORD;

            static {
                try {
                    WORD = MethodHandles.lookup().findVarHandle(Handle.class, "word", long.class);
                } catch (ReflectiveOperationException e) {
                    throw new ExceptionInInitializerError(e);
                }
            }

            @SuppressWarnings({"unused", "FieldMayBeFinal"})
            private long word;
            private final Floor link;

            Handle(long address, Floor link) {
                this.word = address;
                this.link = link;
            }

            /** One volatile read and one CAS, as {@code PooledBuffer.close()}; the winner pushes. */
            void close() {
                long w = (long) WORD.getVolatile(this);
                if ((w & 1) == 0 && WORD.compareAndSet(this, w, w | 1)) {
                    link.push(w);
                }
            }
        }
    }
}

package io.slab4j.bench;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.slab4j.arena.Arena;
import io.slab4j.cache.PoolCache;
import io.slab4j.pool.Pool;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One get and one put of a 4 KiB item (or allocate + release of a 4 KiB direct buffer)
 * per operation, slab4j against its floor and its peers, in the same run. Run at
 * {@code -t 1} and {@code -t 2}: every allocator is one shared instance (its state is
 * {@code Scope.Benchmark}); what is per thread is each allocator's own business.
 *
 * <ul>
 *   <li>{@link #pool}: {@code Pool.get()} + {@code put()}: the slow path, one lock.
 *   <li>{@link #floor}: a {@code long[]} stack reached through a {@code ThreadLocal},
 *       pop + push, each through its own {@code ThreadLocal.get()} as a magazine layer
 *       must: the least a per-thread cache can cost.
 *   <li>{@link #floorOneLookup}: the same stack, one {@code ThreadLocal.get()} for the
 *       pair: how much of the floor is the second lookup (a caller that keeps its cache
 *       handle between get and put would pay this).
 *   <li>{@link #floorLeased}: {@link #floor} plus the lease {@code PoolCache} takes on each
 *       call so that a reclaimer may take an idle thread's magazines (a CAS to enter, a
 *       release store to leave): {@code floorLeased - floor} is the fast-path cost of the
 *       reclaim mechanism, measured without the rest of the cache.
 *   <li>{@link #floorLeasedLocal}: {@link #floorLeased} without the lookups: the stack
 *       and its lease held by the thread, as a {@code PoolCache.Local} holds its magazines.
 *   <li>{@link #nettyAdaptive}: {@code new AdaptiveByteBufAllocator(true, true)}
 *       (preferDirect, useCacheForNonEventLoopThreads: JMH threads are not event-loop
 *       threads), {@code directBuffer(4096)} + {@code release()}.
 *   <li>{@link #nettyPooled}: {@code PooledByteBufAllocator} with Netty's default arena
 *       counts, page size, order and cache sizes but {@code useCacheForAllThreads=true}
 *       (4.2's default turns the thread cache off for non-event-loop threads).
 *   <li>{@link #byteBufferAllocateDirect}: {@code ByteBuffer.allocateDirect(4096)}, left
 *       to its {@code Cleaner}: includes zeroing and the amortised cost of reference
 *       processing and {@code Bits.reserveMemory}.
 *   <li>{@link #unsafeMalloc}: {@code Unsafe.allocateMemory} + {@code freeMemory}: glibc
 *       malloc/free.
 * </ul>
 *
 * <h2>PoolCache</h2>
 * {@link #poolCache}: {@code PoolCache.get()} + {@code put()} over the same kind of pool,
 * with its put checks OFF ({@code -Dslab4j.cache.checks=false}, set on that method's
 * fork): the magazine fast path the goals are about. {@link #poolCacheChecked}: the same
 * with the checks at their default (on: the item's ownership record, found from the
 * address by arithmetic, takes a plain store on each get and one CAS on each put). Each runs in its own fork since the property is read once per JVM; a
 * setup refuses to run if the fork's mode is not the one the method's name promises.
 * {@link #poolCacheLocal}: as {@code poolCacheChecked} (checks on) through the thread's
 * {@code PoolCache.Local} handle, taken once per thread: no {@code ThreadLocal} lookup.
 * Its floor is {@link #floorLeasedLocal}: the leased stack reached without a lookup, so
 * the lease's CAS and release store on each call are all that is left.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.ADD_EXPORTS, BenchFlags.TRY_REFLECTION, BenchFlags.OPEN_NIO,
        BenchFlags.OPEN_MISC, BenchFlags.NETTY_NO_LEAK_DETECTION})
public class PoolBench {
    static final int ITEM = 4096;

    /** A pool of 4 KiB items over a plain range: no OS calls, no memory touched. */
    @State(Scope.Benchmark)
    public static class PoolState {
        Arena arena;
        Pool pool;

        @Setup(Level.Trial)
        public void setUp() {
            arena = Arena.builder(1L << 40, 64L << 20).quantum(ITEM).build();
            // 16-item slabs, one primed and kept: two threads holding one item each never grow it
            pool = Pool.builder("bench-4k", ITEM).slabPages(16).lowWater(1).highWater(1).build(arena);
        }

        @TearDown(Level.Trial)
        public void check() {
            pool.checkInvariants();
            pool.close();
            arena.checkInvariants();
        }
    }

    /** A {@link PoolCache} over a pool like {@link PoolState}'s; its checks as the fork's property says. */
    @State(Scope.Benchmark)
    public static class CacheState {
        Arena arena;
        Pool pool;
        PoolCache cache;

        /** Builds the cache, then refuses a fork whose check mode is not the one the benchmark's name promises. */
        @Setup(Level.Trial)
        public void setUp(BenchmarkParams params) {
            build();
            boolean wantChecks = !params.getBenchmark().endsWith(".poolCache");
            if (cache.checksEnabled() != wantChecks) {
                throw new IllegalStateException(params.getBenchmark() + " needs checks " + (wantChecks ? "on" : "off")
                        + " but this fork has " + PoolCache.configuration());
            }
            System.out.println("PoolCache: " + PoolCache.configuration());
        }

        void build() {
            arena = Arena.builder(1L << 40, 64L << 20).quantum(ITEM).build();
            pool = Pool.builder("bench-4k-cached", ITEM).slabPages(16).lowWater(1).highWater(1).build(arena);
            cache = PoolCache.builder(pool).build();
        }

        @TearDown(Level.Trial)
        public void check() {
            cache.checkInvariants();
            pool.checkInvariants();
            cache.close(); // takes every benchmark thread's magazines back (they are idle now)
            pool.close();
        }
    }

    @State(Scope.Benchmark)
    public static class FloorState {
        final ThreadLocal<LongStack> stacks = ThreadLocal.withInitial(() -> new LongStack(64));
    }

    /** {@link FloorState}'s stacks, each under a lease as {@code PoolCache}'s magazines are. */
    @State(Scope.Benchmark)
    public static class LeasedFloorState {
        final ThreadLocal<LeasedStack> stacks = ThreadLocal.withInitial(() -> new LeasedStack(64));
    }

    /** One benchmark thread's handle on {@link CacheState}'s cache, taken on that thread. */
    @State(Scope.Thread)
    public static class LocalState {
        PoolCache.Local local;

        @Setup(Level.Trial)
        public void setUp(CacheState s) {
            local = s.cache.local();
        }
    }

    /** One benchmark thread's leased stack, held directly (no lookup), as a {@code PoolCache.Local} holds its magazines. */
    @State(Scope.Thread)
    public static class LeasedLocalState {
        final LeasedStack stack = new LeasedStack(64);
    }

    /** A {@link LongStack} with {@code ThreadMagazines}' lease: 0 outside a call, 1 inside. */
    static final class LeasedStack {
        final LongStack stack;
        final AtomicInteger lease = new AtomicInteger();

        LeasedStack(int capacity) {
            stack = new LongStack(capacity);
        }

        long pop() {
            if (!lease.compareAndSet(0, 1)) {
                throw new IllegalStateException("lease taken");
            }
            long item = stack.pop();
            lease.lazySet(0);
            return item;
        }

        void push(long item) {
            if (!lease.compareAndSet(0, 1)) {
                throw new IllegalStateException("lease taken");
            }
            stack.push(item);
            lease.lazySet(0);
        }
    }

    @State(Scope.Benchmark)
    public static class NettyAdaptive {
        ByteBufAllocator allocator;

        @Setup(Level.Trial)
        public void setUp() {
            allocator = new AdaptiveByteBufAllocator(true, true);
        }
    }

    @State(Scope.Benchmark)
    public static class NettyPooled {
        ByteBufAllocator allocator;

        @Setup(Level.Trial)
        public void setUp() {
            allocator = new PooledByteBufAllocator(true,
                    PooledByteBufAllocator.defaultNumHeapArena(), PooledByteBufAllocator.defaultNumDirectArena(),
                    PooledByteBufAllocator.defaultPageSize(), PooledByteBufAllocator.defaultMaxOrder(),
                    PooledByteBufAllocator.defaultSmallCacheSize(), PooledByteBufAllocator.defaultNormalCacheSize(),
                    true);
        }
    }

    @Benchmark
    public long pool(PoolState s) throws InterruptedException {
        long item = s.pool.get();
        s.pool.put(item);
        return item;
    }

    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {BenchFlags.ADD_EXPORTS, BenchFlags.TRY_REFLECTION, BenchFlags.OPEN_NIO,
            BenchFlags.OPEN_MISC, BenchFlags.NETTY_NO_LEAK_DETECTION, BenchFlags.CACHE_CHECKS_OFF})
    public long poolCache(CacheState s) throws InterruptedException {
        long item = s.cache.get();
        s.cache.put(item);
        return item;
    }

    @Benchmark
    public long poolCacheChecked(CacheState s) throws InterruptedException {
        long item = s.cache.get();
        s.cache.put(item);
        return item;
    }

    @Benchmark
    public long poolCacheLocal(LocalState s) throws InterruptedException {
        long item = s.local.get();
        s.local.put(item);
        return item;
    }

    @Benchmark
    public long floor(FloorState s) {
        long item = s.stacks.get().pop();
        s.stacks.get().push(item);
        return item;
    }

    @Benchmark
    public long floorLeased(LeasedFloorState s) {
        long item = s.stacks.get().pop();
        s.stacks.get().push(item);
        return item;
    }

    @Benchmark
    public long floorLeasedLocal(LeasedLocalState s) {
        long item = s.stack.pop();
        s.stack.push(item);
        return item;
    }

    @Benchmark
    public long floorOneLookup(FloorState s) {
        LongStack stack = s.stacks.get();
        long item = stack.pop();
        stack.push(item);
        return item;
    }

    @Benchmark
    public long nettyAdaptive(NettyAdaptive s) {
        ByteBuf buf = s.allocator.directBuffer(ITEM);
        long address = buf.memoryAddress();
        buf.release();
        return address;
    }

    @Benchmark
    public long nettyPooled(NettyPooled s) {
        ByteBuf buf = s.allocator.directBuffer(ITEM);
        long address = buf.memoryAddress();
        buf.release();
        return address;
    }

    @Benchmark
    public ByteBuffer byteBufferAllocateDirect() {
        return ByteBuffer.allocateDirect(ITEM);
    }

    @Benchmark
    public long unsafeMalloc() {
        long address = UnsafeMemory.allocate(ITEM);
        UnsafeMemory.free(address);
        return address;
    }
}

/**
 * {@code SlabByteBufAllocator}: Netty's {@code ByteBufAllocator} over a slab4j
 * {@link io.slab4j.buffer.BufferPool} (see DESIGN.md, section {@code io.slab4j.netty}).
 *
 * <h2>Layout</h2>
 * <pre>
 *   SlabByteBufAllocator (AbstractByteBufAllocator, ByteBufAllocatorMetricProvider)
 *     ├─ direct: SlabByteBuf (AbstractByteBuf, a RawHolder) over one piece of pool memory at a time,
 *     │          wrapped by Netty's toLeakAwareBuffer at the detector's level
 *     ├─ heap:   CountedHeapByteBuf (Netty's UnpooledHeapByteBuf, counted)
 *     ├─ at the cap on an event loop: BufferPoolExhaustedException, or (FALLBACK_UNPOOLED)
 *     │          Netty's UnpooledDirectByteBuf
 *     └─ SlabByteBufAllocatorMetric: usedDirectMemory / usedHeapMemory and the pool's stats
 *   NativeMemory: loads, stores and copies by address (sun.misc.Unsafe, its only user)
 * </pre>
 *
 * <h2>Ownership rule</h2>
 * A {@code SlabByteBuf} holds exactly one piece of pool memory while its reference count is
 * positive, and none after. It holds it through the pool's raw API
 * ({@code io.slab4j.buffer.RawHolder}): no {@code PooledBuffer} handle per allocation, so the
 * buffer's own reference count is the one guard against a second return (the handle's CAS
 * would only repeat it, at 24 bytes of heap and one atomic instruction per allocation). A
 * capacity change gets new memory before it releases the old; the transition of the count to 0
 * releases the current one, and that transition happens once. Derived buffers (Netty's slices
 * and duplicates, also the retained ones, and the leak detector's wrappers) own nothing: they
 * share their parent's count and reach its memory through it. So memory goes back to the pool
 * exactly once, through {@code BufferPool.releaseRaw}.
 *
 * <h2>Public Netty API only</h2>
 * The classes here extend Netty's public bases ({@code AbstractByteBufAllocator},
 * {@code AbstractByteBuf}, {@code UnpooledHeapByteBuf}) and call only their public and
 * protected members; nothing lives in {@code io.netty.*} and nothing reflects into Netty. The
 * module works on a plain JVM: {@code NativeMemory} uses {@code sun.misc.Unsafe} from module
 * {@code jdk.unsupported}, and {@code BufferPool.rawView} needs no flag either.
 *
 * <h2>Threads</h2>
 * The allocator is thread-safe and holds no lock; a blocked allocation waits inside
 * {@code BufferPool.acquireRaw(size, timeout, holder)} only, and never on an event-loop thread. Buffers
 * follow Netty's rules: the reference count is atomic, the rest belongs to one thread at a
 * time.
 */
package io.slab4j.netty;

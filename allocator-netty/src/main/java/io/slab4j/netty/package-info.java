/**
 * {@code SlabByteBufAllocator}: Netty's {@code ByteBufAllocator} over a slab4j
 * {@link io.slab4j.buffer.BufferPool} (see DESIGN.md, section {@code io.slab4j.netty}).
 *
 * <h2>Layout</h2>
 * <pre>
 *   SlabByteBufAllocator (AbstractByteBufAllocator, ByteBufAllocatorMetricProvider)
 *     ├─ direct: SlabByteBuf (AbstractByteBuf) over one PooledBuffer at a time,
 *     │          wrapped by Netty's toLeakAwareBuffer at the detector's level
 *     ├─ heap:   CountedHeapByteBuf (Netty's UnpooledHeapByteBuf, counted)
 *     ├─ at the cap on an event loop: BufferPoolExhaustedException, or (FALLBACK_UNPOOLED)
 *     │          Netty's UnpooledDirectByteBuf
 *     └─ SlabByteBufAllocatorMetric: usedDirectMemory / usedHeapMemory and the pool's stats
 *   NativeMemory: loads, stores and copies by address (sun.misc.Unsafe, its only user)
 * </pre>
 *
 * <h2>Ownership rule</h2>
 * A {@code SlabByteBuf} owns exactly one open {@code PooledBuffer} while its reference count
 * is positive, and none after. A capacity change swaps in a new {@code PooledBuffer} before it
 * closes the old one; the transition of the count to 0 closes the current one. Derived buffers
 * (Netty's slices and duplicates, also the retained ones, and the leak detector's wrappers)
 * own nothing: they share their parent's count and reach its memory through it. So memory goes
 * back to the pool exactly once, and only through {@code PooledBuffer.close()}, whose own CAS
 * would reject a second return anyway.
 *
 * <h2>Public Netty API only</h2>
 * The classes here extend Netty's public bases ({@code AbstractByteBufAllocator},
 * {@code AbstractByteBuf}, {@code UnpooledHeapByteBuf}) and call only their public and
 * protected members; nothing lives in {@code io.netty.*} and nothing reflects into Netty. The
 * module works on a plain JVM: {@code NativeMemory} uses {@code sun.misc.Unsafe} from module
 * {@code jdk.unsupported}, and {@code PooledBuffer.byteBuffer()} needs no flag either.
 *
 * <h2>Threads</h2>
 * The allocator is thread-safe and holds no lock; a blocked allocation waits inside
 * {@code BufferPool.acquire(size, timeout)} only, and never on an event-loop thread. Buffers
 * follow Netty's rules: the reference count is atomic, the rest belongs to one thread at a
 * time.
 */
package io.slab4j.netty;

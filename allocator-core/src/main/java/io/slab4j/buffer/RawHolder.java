package io.slab4j.buffer;

/**
 * An object that holds memory of a {@link BufferPool} without a {@link PooledBuffer} handle:
 * the expert API for adapters that wrap the memory in a buffer object of their own and keep
 * their own exactly-once guard (a reference count, say), so that a second handle per
 * acquire would be pure overhead. {@code SlabByteBuf} of {@code slab4j-netty} is one.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>{@link BufferPool#tryAcquireRaw} or {@link BufferPool#acquireRaw}, when it succeeds,
 *       calls {@link #hold} once, on the acquiring thread, before it returns {@code true}.
 *       From then on the holder owns {@code capacity} bytes at {@code address}.
 *   <li>The holder gives them back exactly once, with
 *       {@link BufferPool#releaseRaw(RawHolder, Object, long) releaseRaw(this, token, address)}.
 *       Nothing in the pool can tell a second release of the same memory from a first one
 *       cheaply, so a second release would hand the memory to two later holders: the guard
 *       that prevents it is the holder's, which is the point of this API. A holder that
 *       cannot guarantee it should use {@link PooledBuffer}, whose {@code close()} is that
 *       guard.
 *   <li>A holder that becomes unreachable while it holds memory is a leak: when the acquire
 *       was sampled by the pool's {@link LeakDetection} the memory goes back and the leak is
 *       reported, as for a handle; otherwise the memory stays out until the pool closes.
 *   <li>If {@code hold} throws, the acquire gives the memory back and rethrows: the holder
 *       owns nothing.
 * </ul>
 * There are no views: {@link BufferPool#rawView} makes a {@code ByteBuffer} over held memory,
 * which the pool never detaches (the holder must not use it after its release).
 */
@FunctionalInterface
public interface RawHolder {
    /**
     * Takes ownership of {@code capacity} bytes at {@code address} (16-byte aligned at least);
     * {@code token} is opaque and goes back with the memory to
     * {@link BufferPool#releaseRaw(RawHolder, Object, long)}.
     */
    void hold(long address, int capacity, Object token);
}

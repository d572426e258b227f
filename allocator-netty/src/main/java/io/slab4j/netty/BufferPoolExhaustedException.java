package io.slab4j.netty;

import java.time.Duration;

/**
 * A {@link SlabByteBufAllocator} found no buffer of the size asked for in its pool within the
 * time it may wait: at once on an event-loop thread, after the configured timeout elsewhere.
 * When the OS refused to commit the memory (not the pool's cap) the cause is the pool's
 * {@code io.slab4j.nativemem.NativeMemoryException}.
 *
 * <p>Unchecked and deliberately not an {@link OutOfMemoryError}: Netty closes a channel whose
 * read fails with an {@code OutOfMemoryError} (or an {@code IOException}), while any other
 * exception reaches {@code exceptionCaught} and leaves the channel open, so a server under
 * back-pressure keeps its connections and retries the read once memory comes back.
 */
public final class BufferPoolExhaustedException extends RuntimeException {
    private final String pool;
    private final int requestedBytes;
    private final boolean onEventLoop;
    private final Duration waited;

    BufferPoolExhaustedException(String message, String pool, int requestedBytes, boolean onEventLoop, Duration waited,
                                 Throwable cause) {
        super(message, cause);
        this.pool = pool;
        this.requestedBytes = requestedBytes;
        this.onEventLoop = onEventLoop;
        this.waited = waited;
    }

    /** The name of the {@code BufferPool} that had nothing free. */
    public String pool() {
        return pool;
    }

    /** The capacity asked for. */
    public int requestedBytes() {
        return requestedBytes;
    }

    /** True when the allocation ran on an event-loop thread (and so did not wait). */
    public boolean onEventLoop() {
        return onEventLoop;
    }

    /** The longest the allocation was allowed to wait: zero on an event loop, the configured timeout elsewhere. */
    public Duration waited() {
        return waited;
    }
}

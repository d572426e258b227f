package io.slab4j.bench;

import org.agrona.UnsafeApi;

/**
 * The one class in bench that allocates through the JDK's {@code Unsafe}: malloc and free for
 * the {@link PoolBench#unsafeMalloc} peer, through Agrona's {@link UnsafeApi} (the JDK's
 * internal {@code Unsafe}, the same {@code os::malloc} that {@code sun.misc.Unsafe} calls).
 * Nothing else; callers own what they allocate.
 *
 * <p>Thread-safe (stateless).
 */
final class UnsafeMemory {
    private UnsafeMemory() {
    }

    /** {@code malloc(bytes)}; never 0 (Unsafe throws OutOfMemoryError instead). */
    static long allocate(long bytes) {
        return UnsafeApi.allocateMemory(bytes);
    }

    static void free(long address) {
        UnsafeApi.freeMemory(address);
    }
}

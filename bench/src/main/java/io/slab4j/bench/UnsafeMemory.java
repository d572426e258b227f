package io.slab4j.bench;

import sun.misc.Unsafe;

import java.lang.reflect.Field;

/**
 * The one class in bench that touches {@code sun.misc.Unsafe}: malloc and free for the
 * {@link PoolBench#unsafeMalloc} peer. Nothing else; callers own what they allocate.
 *
 * <p>Thread-safe (stateless beyond the Unsafe instance).
 */
final class UnsafeMemory {
    private static final Unsafe UNSAFE;

    static {
        try {
            Field f = Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            UNSAFE = (Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private UnsafeMemory() {
    }

    /** {@code malloc(bytes)}; never 0 (Unsafe throws OutOfMemoryError instead). */
    static long allocate(long bytes) {
        return UNSAFE.allocateMemory(bytes);
    }

    static void free(long address) {
        UNSAFE.freeMemory(address);
    }
}

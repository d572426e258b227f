package io.slab4j.nativemem;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;

/**
 * Test-only reads and writes of region memory through {@code sun.misc.Unsafe}, found by
 * reflection so that no production class (and no compile-time reference) depends on it.
 *
 * <p>Bounds-checked against the region and refused on a closed region. It cannot know
 * which pages are committed: touching a decommitted page kills the JVM, so tests only
 * touch ranges they have just committed.
 *
 * <p>Concurrency: stateless; thread-safe as far as the memory accessed is.
 */
final class RawMemory {

    private static final MethodHandle PUT_LONG;
    private static final MethodHandle GET_LONG;

    static {
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field field = unsafeClass.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            Object unsafe = field.get(null);
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            PUT_LONG = lookup.findVirtual(unsafeClass, "putLong",
                    MethodType.methodType(void.class, long.class, long.class)).bindTo(unsafe);
            GET_LONG = lookup.findVirtual(unsafeClass, "getLong",
                    MethodType.methodType(long.class, long.class)).bindTo(unsafe);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private RawMemory() {
    }

    static void putLong(VirtualRegion region, long offset, long value) {
        long address = checkedAddress(region, offset);
        try {
            PUT_LONG.invokeExact(address, value);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static long getLong(VirtualRegion region, long offset) {
        long address = checkedAddress(region, offset);
        try {
            return (long) GET_LONG.invokeExact(address);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static long checkedAddress(VirtualRegion region, long offset) {
        if (!region.isOpen()) {
            throw new IllegalStateException("access at offset " + offset + " of closed " + region);
        }
        if (offset < 0 || offset > region.size() - Long.BYTES || (offset & (Long.BYTES - 1)) != 0) {
            throw new IndexOutOfBoundsException("offset " + offset + " is not an aligned long within " + region);
        }
        return region.address() + offset;
    }
}

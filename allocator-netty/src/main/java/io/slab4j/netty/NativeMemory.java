package io.slab4j.netty;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteOrder;

/**
 * The one class of {@code io.slab4j.netty} that touches memory by address: loads, stores and
 * copies through {@code sun.misc.Unsafe}, in big-endian ({@code BE}) or little-endian
 * ({@code LE}) order whatever the platform's order.
 *
 * <h2>Why Unsafe, and why this way</h2>
 * A {@link SlabByteBuf} is one object over {@code [address, address + capacity)}; going
 * through a {@code ByteBuffer} view of the memory instead would cost at least one more
 * object per buffer, and a bounds check per access that the buffer has already made. {@code sun.misc.Unsafe} lives in module {@code jdk.unsupported}, which opens
 * {@code sun.misc} to everyone, so a plain JVM needs no flag. It is reached through method
 * handles (static final, so the JIT inlines them to the intrinsics) because javac's
 * proprietary-API warning cannot be suppressed and the build uses {@code -Werror}.
 *
 * <h2>Bounds</h2>
 * Nothing here checks an address: every caller is a {@link SlabByteBuf} method that has
 * checked {@code index} and {@code length} against its capacity first (Netty's
 * {@code checkIndex}, or its own checks in the bulk methods). Multi-byte loads and stores may
 * be unaligned, which the platforms slab4j runs on (x86-64, aarch64) allow.
 *
 * <h2>Concurrency</h2>
 * Stateless apart from constants set once in the static initialiser; plain (non-volatile)
 * accesses: ordering between threads is the caller's business, as for any {@code ByteBuf}.
 */
final class NativeMemory {
    private static final boolean NATIVE_BE = ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN;
    /** Copies between the heap and native memory go in pieces of at most this, so a big copy never delays a safepoint for long. */
    private static final long COPY_CHUNK = 1L << 20;

    private static final MethodHandle GET_BYTE;
    private static final MethodHandle PUT_BYTE;
    private static final MethodHandle GET_SHORT;
    private static final MethodHandle PUT_SHORT;
    private static final MethodHandle GET_INT;
    private static final MethodHandle PUT_INT;
    private static final MethodHandle GET_LONG;
    private static final MethodHandle PUT_LONG;
    private static final MethodHandle COPY;
    private static final MethodHandle COPY_OBJECTS;
    private static final MethodHandle SET_MEMORY;
    private static final long BYTE_ARRAY_BASE;

    static {
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true); // jdk.unsupported opens sun.misc to all modules
            Object unsafe = theUnsafe.get(null);
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            GET_BYTE = handle(lookup, unsafeClass, unsafe, "getByte", byte.class, long.class);
            PUT_BYTE = handle(lookup, unsafeClass, unsafe, "putByte", void.class, long.class, byte.class);
            GET_SHORT = handle(lookup, unsafeClass, unsafe, "getShort", short.class, long.class);
            PUT_SHORT = handle(lookup, unsafeClass, unsafe, "putShort", void.class, long.class, short.class);
            GET_INT = handle(lookup, unsafeClass, unsafe, "getInt", int.class, long.class);
            PUT_INT = handle(lookup, unsafeClass, unsafe, "putInt", void.class, long.class, int.class);
            GET_LONG = handle(lookup, unsafeClass, unsafe, "getLong", long.class, long.class);
            PUT_LONG = handle(lookup, unsafeClass, unsafe, "putLong", void.class, long.class, long.class);
            COPY = handle(lookup, unsafeClass, unsafe, "copyMemory", void.class, long.class, long.class, long.class);
            COPY_OBJECTS = handle(lookup, unsafeClass, unsafe, "copyMemory", void.class, Object.class, long.class, Object.class,
                    long.class, long.class);
            SET_MEMORY = handle(lookup, unsafeClass, unsafe, "setMemory", void.class, long.class, long.class, byte.class);
            MethodHandle base = handle(lookup, unsafeClass, unsafe, "arrayBaseOffset", int.class, Class.class);
            BYTE_ARRAY_BASE = (int) base.invokeExact((Class<?>) byte[].class);
        } catch (Throwable e) {
            throw new ExceptionInInitializerError("io.slab4j.netty needs sun.misc.Unsafe (module jdk.unsupported) to reach "
                    + "buffer memory by address: " + e);
        }
    }

    private NativeMemory() {
    }

    private static MethodHandle handle(MethodHandles.Lookup lookup, Class<?> unsafeClass, Object unsafe, String name,
                                       Class<?> returns, Class<?>... parameters) throws ReflectiveOperationException {
        return lookup.findVirtual(unsafeClass, name, MethodType.methodType(returns, parameters)).bindTo(unsafe);
    }

    static byte getByte(long address) {
        try {
            return (byte) GET_BYTE.invokeExact(address);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    static void putByte(long address, byte value) {
        try {
            PUT_BYTE.invokeExact(address, value);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    static short getShortBE(long address) {
        short v = getShort(address);
        return NATIVE_BE ? v : Short.reverseBytes(v);
    }

    static short getShortLE(long address) {
        short v = getShort(address);
        return NATIVE_BE ? Short.reverseBytes(v) : v;
    }

    static void putShortBE(long address, short value) {
        putShort(address, NATIVE_BE ? value : Short.reverseBytes(value));
    }

    static void putShortLE(long address, short value) {
        putShort(address, NATIVE_BE ? Short.reverseBytes(value) : value);
    }

    static int getIntBE(long address) {
        int v = getInt(address);
        return NATIVE_BE ? v : Integer.reverseBytes(v);
    }

    static int getIntLE(long address) {
        int v = getInt(address);
        return NATIVE_BE ? Integer.reverseBytes(v) : v;
    }

    static void putIntBE(long address, int value) {
        putInt(address, NATIVE_BE ? value : Integer.reverseBytes(value));
    }

    static void putIntLE(long address, int value) {
        putInt(address, NATIVE_BE ? Integer.reverseBytes(value) : value);
    }

    static long getLongBE(long address) {
        long v = getLong(address);
        return NATIVE_BE ? v : Long.reverseBytes(v);
    }

    static long getLongLE(long address) {
        long v = getLong(address);
        return NATIVE_BE ? Long.reverseBytes(v) : v;
    }

    static void putLongBE(long address, long value) {
        putLong(address, NATIVE_BE ? value : Long.reverseBytes(value));
    }

    static void putLongLE(long address, long value) {
        putLong(address, NATIVE_BE ? Long.reverseBytes(value) : value);
    }

    /** Copies {@code length} bytes; the ranges may overlap (Unsafe's copy is a memmove). */
    static void copy(long from, long to, long length) {
        try {
            COPY.invokeExact(from, to, length);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    /** Copies {@code length} bytes from {@code address} into {@code array[offset...]}. */
    static void copyToArray(long address, byte[] array, int offset, int length) {
        long done = 0;
        while (done < length) {
            long n = Math.min(COPY_CHUNK, length - done);
            copyObjects(null, address + done, array, BYTE_ARRAY_BASE + offset + done, n);
            done += n;
        }
    }

    /** Copies {@code length} bytes from {@code array[offset...]} to {@code address}. */
    static void copyFromArray(byte[] array, int offset, long address, int length) {
        long done = 0;
        while (done < length) {
            long n = Math.min(COPY_CHUNK, length - done);
            copyObjects(array, BYTE_ARRAY_BASE + offset + done, null, address + done, n);
            done += n;
        }
    }

    static void zero(long address, long length) {
        try {
            SET_MEMORY.invokeExact(address, length, (byte) 0);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    private static void copyObjects(Object fromBase, long fromOffset, Object toBase, long toOffset, long length) {
        try {
            COPY_OBJECTS.invokeExact(fromBase, fromOffset, toBase, toOffset, length);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    private static short getShort(long address) {
        try {
            return (short) GET_SHORT.invokeExact(address);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    private static void putShort(long address, short value) {
        try {
            PUT_SHORT.invokeExact(address, value);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    private static int getInt(long address) {
        try {
            return (int) GET_INT.invokeExact(address);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    private static void putInt(long address, int value) {
        try {
            PUT_INT.invokeExact(address, value);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    private static long getLong(long address) {
        try {
            return (long) GET_LONG.invokeExact(address);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    private static void putLong(long address, long value) {
        try {
            PUT_LONG.invokeExact(address, value);
        } catch (Throwable e) {
            throw fault(e);
        }
    }

    /** Unsafe's accessors throw nothing checked; whatever comes through is a JVM-level fault, rethrown unchanged when unchecked. */
    private static RuntimeException fault(Throwable e) {
        if (e instanceof RuntimeException r) {
            throw r;
        }
        if (e instanceof Error err) {
            throw err;
        }
        throw new IllegalStateException(e);
    }
}

package io.slab4j.buffer;

import io.slab4j.arena.Hex;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.Buffer;
import java.nio.ByteBuffer;

/**
 * The one class of {@code io.slab4j.buffer} that uses {@code sun.misc.Unsafe}: it points a
 * direct {@link ByteBuffer} at pool memory, detaches it again, and zeroes memory.
 *
 * <h2>Why and how</h2>
 * Java 17 has no public way to make a {@code ByteBuffer} over an arbitrary native address,
 * nor to revoke one. {@code sun.misc.Unsafe} (module {@code jdk.unsupported}, which opens
 * {@code sun.misc} to everyone, so no JVM flag is needed) can write the fields of
 * {@code java.nio.Buffer}: {@code objectFieldOffset} of a {@link Field} obtained by
 * {@code getDeclaredField} needs no {@code setAccessible} and no {@code --add-opens}.
 * A view is a {@code duplicate()} of one permanent 1-byte template (so it has no
 * {@code Cleaner} of its own) whose {@code address}, {@code capacity}, {@code limit},
 * {@code position}, {@code mark} and attachment are then rewritten. The attachment
 * ({@code DirectByteBuffer.att}) is set to the {@link PooledBuffer} handle, so a view that
 * is still reachable keeps its handle reachable and the leak detector never returns memory
 * a live view points at. {@code Unsafe} is reached reflectively through method handles
 * because javac's proprietary-API warning cannot be suppressed and the build uses
 * {@code -Werror}.
 *
 * <h2>Bounds</h2>
 * Every method checks its arguments (non-zero address, positive length within an int)
 * before any write; {@link #zero} is called only with a handle's own address and capacity.
 *
 * <h2>Concurrency</h2>
 * Stateless apart from constants set in the static initialiser. {@link #detach} writes
 * plain fields of a buffer: a thread that sees the close happen-before (the handle's CAS)
 * sees the zero length; a thread racing the close is in a data race (documented on
 * {@link PooledBuffer}).
 */
final class DirectViews {
    private static final Object UNSAFE;
    private static final MethodHandle PUT_LONG;
    private static final MethodHandle PUT_INT;
    private static final MethodHandle PUT_OBJECT;
    private static final MethodHandle SET_MEMORY;
    private static final long ADDRESS;
    private static final long CAPACITY;
    private static final long LIMIT;
    private static final long POSITION;
    private static final long MARK;
    private static final long ATTACHMENT;
    /** Never released, so duplicates of it never own native memory. */
    private static final ByteBuffer TEMPLATE = ByteBuffer.allocateDirect(1);

    static {
        try {
            Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
            Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
            theUnsafe.setAccessible(true); // jdk.unsupported opens sun.misc to all modules
            UNSAFE = theUnsafe.get(null);
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            PUT_LONG = lookup.findVirtual(unsafeClass, "putLong", MethodType.methodType(void.class, Object.class, long.class, long.class))
                    .bindTo(UNSAFE);
            PUT_INT = lookup.findVirtual(unsafeClass, "putInt", MethodType.methodType(void.class, Object.class, long.class, int.class))
                    .bindTo(UNSAFE);
            PUT_OBJECT = lookup.findVirtual(unsafeClass, "putObject",
                    MethodType.methodType(void.class, Object.class, long.class, Object.class)).bindTo(UNSAFE);
            SET_MEMORY = lookup.findVirtual(unsafeClass, "setMemory",
                    MethodType.methodType(void.class, long.class, long.class, byte.class)).bindTo(UNSAFE);
            MethodHandle offset = lookup.findVirtual(unsafeClass, "objectFieldOffset", MethodType.methodType(long.class, Field.class))
                    .bindTo(UNSAFE);
            ADDRESS = (long) offset.invokeExact(Buffer.class.getDeclaredField("address"));
            CAPACITY = (long) offset.invokeExact(Buffer.class.getDeclaredField("capacity"));
            LIMIT = (long) offset.invokeExact(Buffer.class.getDeclaredField("limit"));
            POSITION = (long) offset.invokeExact(Buffer.class.getDeclaredField("position"));
            MARK = (long) offset.invokeExact(Buffer.class.getDeclaredField("mark"));
            ATTACHMENT = (long) offset.invokeExact(TEMPLATE.getClass().getDeclaredField("att"));
        } catch (Throwable e) {
            throw new ExceptionInInitializerError("io.slab4j.buffer needs sun.misc.Unsafe (module jdk.unsupported) to make "
                    + "ByteBuffer views: " + e);
        }
    }

    private DirectViews() {
    }

    /** A new direct buffer over {@code [address, address + length)}, position 0, limit {@code length}, attached to {@code owner}. */
    static ByteBuffer view(long address, int length, Object owner) {
        check(address, length);
        ByteBuffer view = TEMPLATE.duplicate();
        try {
            PUT_LONG.invokeExact((Object) view, ADDRESS, address);
            PUT_INT.invokeExact((Object) view, CAPACITY, length);
            PUT_INT.invokeExact((Object) view, LIMIT, length);
            PUT_OBJECT.invokeExact((Object) view, ATTACHMENT, owner);
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
        return view;
    }

    /**
     * Shrinks {@code view} to zero length (and drops its attachment): every later access throws.
     * The address stays the buffer's own: a thread racing the detach (the caller's data race)
     * may combine the old capacity with whatever address it reads, so the address must never
     * change to anything else. Re-pointing it at the template's one byte let a racing
     * {@code duplicate()} pair that byte with the old capacity and write over the C heap.
     */
    static void detach(ByteBuffer view) {
        try {
            PUT_INT.invokeExact((Object) view, LIMIT, 0);
            PUT_INT.invokeExact((Object) view, CAPACITY, 0);
            PUT_INT.invokeExact((Object) view, POSITION, 0);
            PUT_INT.invokeExact((Object) view, MARK, -1);
            PUT_OBJECT.invokeExact((Object) view, ATTACHMENT, (Object) TEMPLATE);
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    /** Writes {@code length} zero bytes from {@code address}. */
    static void zero(long address, long length) {
        if (address == 0 || length < 0) {
            throw new IllegalArgumentException("zero(" + Hex.of(address) + ", " + length + "): bad range");
        }
        try {
            SET_MEMORY.invokeExact(address, length, (byte) 0);
        } catch (Throwable e) {
            throw new AssertionError(e);
        }
    }

    private static void check(long address, int length) {
        if (address == 0 || length <= 0) {
            throw new IllegalArgumentException("view(" + Hex.of(address) + ", " + length
                    + "): the address is 0 or the length is not positive");
        }
    }
}

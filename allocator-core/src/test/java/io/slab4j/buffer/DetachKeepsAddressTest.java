package io.slab4j.buffer;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.Buffer;
import java.nio.ByteBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A detached view keeps its own address and only loses its length. A thread that races the
 * detach (a data race the docs leave to the caller) may read any mix of the old and new fields;
 * if the detach changed the address, a racing {@code duplicate()} could pair the new address with
 * the old capacity and write that many bytes somewhere that is not the buffer at all (before:
 * the template's one malloc'd byte, so over the C heap: review 7b's child JVM died in the JIT's
 * class dictionary). Reads {@code Buffer.address} through {@code sun.misc.Unsafe} (reflection,
 * no flags), as {@code DirectViews} does.
 */
class DetachKeepsAddressTest {

    private static long addressOf(ByteBuffer b) throws ReflectiveOperationException {
        Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
        Field theUnsafe = unsafeClass.getDeclaredField("theUnsafe");
        theUnsafe.setAccessible(true);
        Object unsafe = theUnsafe.get(null);
        Method offset = unsafeClass.getMethod("objectFieldOffset", Field.class);
        Method getLong = unsafeClass.getMethod("getLong", Object.class, long.class);
        long at = (long) offset.invoke(unsafe, Buffer.class.getDeclaredField("address"));
        return (long) getLong.invoke(unsafe, b, at);
    }

    @Test
    void aDetachedViewKeepsItsAddressAndHasNoLength() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("detach-address").reserve(16L << 20).leakDetection(LeakDetection.OFF).build()) {
            for (int size : new int[] {64, 4096, 1 << 20}) {
                PooledBuffer b = pool.acquire(size);
                long address = b.address();
                ByteBuffer v = b.byteBuffer();
                assertEquals(address, addressOf(v));
                b.close();
                assertEquals(0, v.capacity());
                assertEquals(0, v.limit());
                assertEquals(address, addressOf(v), "the detached view of " + size + " bytes points at its own memory, nowhere else");
                assertEquals(0, v.duplicate().capacity());
            }
            PooledBuffer open = pool.acquire(256);
            ByteBuffer w = open.byteBuffer();
            long at = open.address();
            pool.close(); // detaches the views of open buffers the same way
            assertEquals(0, w.capacity());
            assertEquals(at, addressOf(w));
        }
    }
}

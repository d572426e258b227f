package io.slab4j.buffer;

import org.agrona.MutableDirectBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BufferPoolRoundTripTest {
    private BufferPool pool;

    @AfterEach
    void close() {
        if (pool != null) {
            pool.close();
        }
    }

    private static List<Integer> boundarySizes(int[] classes, int largest) {
        List<Integer> sizes = new ArrayList<>();
        for (int c : classes) {
            if (c > 1) {
                sizes.add(c - 1);
            }
            sizes.add(c);
            sizes.add(c + 1);
        }
        sizes.add(largest * 2 + 7);
        sizes.add(1 << 20);
        sizes.add((1 << 20) + 1);
        sizes.add(3 * 1024 * 1024 + 5);
        return sizes;
    }

    @Test
    void everyClassBoundaryAndLargeSpansRoundTripThroughBothViews() throws InterruptedException {
        pool = BufferPool.builder().name("roundtrip").reserve(256L << 20).build();
        int[] classes = pool.sizeClasses();
        int largest = classes[classes.length - 1];
        for (int size : boundarySizes(classes, largest)) {
            PooledBuffer b = pool.acquire(size);
            int cap = b.capacity();
            assertTrue(cap >= size, "capacity " + cap + " for " + size);
            int expected = expectedCapacity(classes, size);
            assertEquals(expected, cap, "capacity for " + size);
            ByteBuffer bb = b.byteBuffer();
            assertTrue(bb.isDirect());
            assertEquals(cap, bb.capacity());
            assertEquals(cap, bb.limit());
            assertEquals(0, bb.position());
            assertTrue(bb == b.byteBuffer(), "one view per handle");
            MutableDirectBuffer ab = b.buffer();
            assertEquals(cap, ab.capacity());
            assertEquals(b.address(), ab.addressOffset());
            for (int i = 0; i < cap; i += Math.max(1, cap / 97)) {
                bb.put(i, (byte) (i * 31 + size));
            }
            bb.put(cap - 1, (byte) 0x5a);
            for (int i = 0; i < cap; i += Math.max(1, cap / 97)) {
                if (i != cap - 1) {
                    assertEquals((byte) (i * 31 + size), ab.getByte(i), "byte " + i + " of " + size);
                }
            }
            assertEquals((byte) 0x5a, ab.getByte(cap - 1));
            ab.putLong(cap - 8, 0x0102030405060708L);
            assertEquals(0x0102030405060708L, bb.order(java.nio.ByteOrder.nativeOrder()).getLong(cap - 8));
            assertThrows(IndexOutOfBoundsException.class, () -> bb.get(cap));
            assertThrows(IndexOutOfBoundsException.class, () -> bb.put(-1, (byte) 1));
            assertThrows(IndexOutOfBoundsException.class, () -> ab.getByte(cap));
            assertThrows(IndexOutOfBoundsException.class, () -> ab.putLong(cap - 7, 1L));
            b.close();
            assertTrue(b.isClosed());
        }
        assertEquals(0, pool.stats().buffersInUse());
        pool.checkInvariants();
    }

    static int expectedCapacity(int[] classes, int size) {
        for (int c : classes) {
            if (c >= size) {
                return c;
            }
        }
        return (size + 4095) / 4096 * 4096;
    }

    @Test
    void tryAcquireAndTimedAcquireHandOutBuffers() throws InterruptedException {
        pool = BufferPool.builder().name("try").reserve(16L << 20).build();
        PooledBuffer a = pool.tryAcquire(100);
        assertNotNull(a);
        assertEquals(112, a.capacity());
        PooledBuffer b = pool.acquire(5000, java.time.Duration.ofSeconds(1));
        assertNotNull(b);
        assertEquals(5120, b.capacity());
        assertEquals(2, pool.stats().buffersInUse());
        assertEquals(112 + 5120, pool.stats().usedBytes());
        a.close();
        b.close();
        a.close();
        assertEquals(0, pool.stats().buffersInUse());
    }
}

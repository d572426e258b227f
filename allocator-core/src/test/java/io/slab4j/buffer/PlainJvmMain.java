package io.slab4j.buffer;

import java.nio.ByteBuffer;

/**
 * Run by {@link PlainJvmTest} in a JVM started without {@code --add-exports} or
 * {@code --add-opens}: every path but {@code buffer()} must work there.
 */
public final class PlainJvmMain {
    private PlainJvmMain() {
    }

    public static void main(String[] args) throws Exception {
        try (BufferPool pool = BufferPool.builder().name("plain").reserve(64L << 20).zeroOnAcquire(true)
                .leakDetection(LeakDetection.ALL).build()) {
            for (int size : new int[] {10, 4096, 65536, 1 << 20}) {
                PooledBuffer b = pool.acquire(size);
                ByteBuffer v = b.byteBuffer();
                v.putLong(0, 42L);
                v.put(b.capacity() - 1, (byte) 7);
                if (v.getLong(0) != 42L || v.capacity() != b.capacity()) {
                    throw new AssertionError("round trip failed at " + size);
                }
                b.close();
                if (v.capacity() != 0) {
                    throw new AssertionError("view not detached at " + size);
                }
            }
            pool.trim();
            pool.checkInvariants();
            System.out.println("PLAIN-OK " + pool.stats().buffersInUse());
        }
    }
}

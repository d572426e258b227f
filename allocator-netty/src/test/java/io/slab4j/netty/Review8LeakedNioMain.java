package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.util.ResourceLeakDetector;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.LeakDetection;

import java.nio.ByteBuffer;

/**
 * Child JVM of {@link Review8NettyTest#aLeakedBuffersNioBufferSurvivesThePoolsClose}: a
 * SlabByteBuf is dropped without release while its nioBuffer() is kept, the pool's leak
 * detector (ALL) returns its memory, the pool closes, and the NIO buffer is read.
 */
public final class Review8LeakedNioMain {
    private Review8LeakedNioMain() {
    }

    public static void main(String[] args) throws Exception {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        BufferPool pool = BufferPool.builder().name("r8n-child").reserve(16L << 20).leakDetection(LeakDetection.ALL).build();
        SlabByteBufAllocator a = new SlabByteBufAllocator(pool);
        ByteBuffer nio = leak(a);
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (pool.stats().leaksDetected() == 0 && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(10);
        }
        System.out.println("R8N-LEAKS " + pool.stats().leaksDetected() + " IN-USE " + pool.stats().buffersInUse());
        pool.close();
        System.out.println("R8N-CLOSED");
        System.out.flush();
        System.out.println("R8N-READ " + nio.getLong(0));
    }

    private static ByteBuffer leak(SlabByteBufAllocator a) {
        ByteBuf b = a.directBuffer(1 << 20).writeLong(7);
        return b.nioBuffer(0, 4096);
    }
}

package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.util.ResourceLeakDetector;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.LeakDetection;
import io.slab4j.buffer.RawHolder;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A {@link SlabByteBuf} holds its memory through the pool's raw API ({@link RawHolder}), with
 * its reference count as the one-return guard: no {@code PooledBuffer} per allocation, and the
 * holder interface, reachable by a cast, cannot re-point a buffer.
 */
class RawMemoryTest {
    @Test
    void holdRefusesToRepointALiveOrReleasedBuffer() {
        ResourceLeakDetector.Level before = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED); // no wrapper: the SlabByteBuf itself
        try (BufferPool pool = BufferPool.builder().name("raw-guard").reserve(16L << 20).leakDetection(LeakDetection.OFF).build()) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
            ByteBuf buf = alloc.directBuffer(64);
            assertThat(buf).isInstanceOf(RawHolder.class);
            buf.writeLong(0x0102030405060708L);
            long at = buf.memoryAddress();
            assertThatThrownBy(() -> ((RawHolder) buf).hold(at + 4096, 1 << 20, "forged"))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("holds memory already");
            assertThat(buf.memoryAddress()).isEqualTo(at);
            assertThat(buf.getLong(0)).isEqualTo(0x0102030405060708L);
            assertThat(((SlabByteBuf) buf).room()).isEqualTo(64);
            buf.release();
            assertThatThrownBy(() -> ((RawHolder) buf).hold(at, 64, "forged")).isInstanceOf(IllegalStateException.class);
            assertThat(pool.stats().buffersInUse()).isZero();
            pool.checkInvariants();
        } finally {
            ResourceLeakDetector.setLevel(before);
        }
    }

    /**
     * Heap per {@code directBuffer(64)} + {@code release()}: the 64-byte {@code SlabByteBuf}
     * alone (it was 88 B with a {@code PooledBuffer} handle beside it). Counted with the thread's
     * allocated-bytes counter, not timed.
     */
    @Test
    void anAllocationAndReleaseAllocateOnlyTheBufferObject() {
        ResourceLeakDetector.Level before = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (BufferPool pool = BufferPool.builder().name("raw-heap").reserve(16L << 20).leakDetection(LeakDetection.OFF).build()) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
            int n = 20_000;
            boolean all = true;
            for (int i = 0; i < n; i++) { // first calls: class loading, this thread's state
                all &= alloc.directBuffer(64).release();
            }
            long id = Thread.currentThread().getId();
            long start = threads.getThreadAllocatedBytes(id);
            for (int i = 0; i < n; i++) {
                all &= alloc.directBuffer(64).release();
            }
            long perOp = (threads.getThreadAllocatedBytes(id) - start) / n;
            assertThat(all).isTrue();
            assertThat(perOp).as("bytes of heap per allocation and release").isLessThanOrEqualTo(72);
            assertThat(pool.stats().buffersInUse()).isZero();
        } finally {
            ResourceLeakDetector.setLevel(before);
        }
    }
}

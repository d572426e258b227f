package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.util.IllegalReferenceCountException;
import io.slab4j.buffer.BufferPool;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A buffer still held when its {@link BufferPool} closes must not touch the unmapped region:
 * like the pool's own views it becomes inaccessible (DESIGN.md, BufferPool close).
 */
class PoolCloseTest {

    @Test
    void aBufferHeldAcrossThePoolsCloseThrowsInsteadOfTouchingUnmappedMemory() {
        BufferPool pool = BufferPool.builder().name("pool-close").reserve(16L << 20).build();
        SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
        ByteBuf small = alloc.directBuffer(100);
        ByteBuf large = alloc.directBuffer(1 << 20);
        small.writeLong(42);
        large.writeLong(43);
        pool.close();

        assertThat(small.refCnt()).isZero();
        assertThatThrownBy(() -> small.getLong(0)).isInstanceOf(IllegalReferenceCountException.class);
        assertThatThrownBy(() -> small.writeByte(1)).isInstanceOf(IllegalReferenceCountException.class);
        assertThatThrownBy(() -> large.setLong(0, 7)).isInstanceOf(IllegalReferenceCountException.class);
        assertThatThrownBy(() -> large.getBytes(0, new byte[8])).isInstanceOf(IllegalReferenceCountException.class);
    }
}

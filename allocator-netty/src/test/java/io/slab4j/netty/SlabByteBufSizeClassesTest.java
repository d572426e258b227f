package io.slab4j.netty;

import io.slab4j.buffer.BufferPool;

/** Netty's suite over the default size classes (16 B to 64 KiB; 4 KiB is a class of its own). */
class SlabByteBufSizeClassesTest extends SlabByteBufContract {
    @Override
    BufferPool.Builder poolConfig() {
        return BufferPool.builder().name("contract-classes").reserve(256L << 20);
    }
}

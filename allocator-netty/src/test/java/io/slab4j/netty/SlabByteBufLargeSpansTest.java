package io.slab4j.netty;

import io.slab4j.buffer.BufferPool;

/** Netty's suite over page spans: one 64-byte class, so every buffer above 64 B is a span of whole pages from the arena. */
class SlabByteBufLargeSpansTest extends SlabByteBufContract {
    @Override
    BufferPool.Builder poolConfig() {
        return BufferPool.builder().name("contract-spans").reserve(256L << 20).sizeClasses(64);
    }
}

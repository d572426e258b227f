package io.slab4j.netty;

import io.slab4j.buffer.BufferPool;

/**
 * Netty's suite over one roomy class: every buffer up to 64 KiB sits in a 64 KiB item, so its
 * capacity is far below its room (growth in place, shrinking that moves), without magazines.
 */
class SlabByteBufRoomyClassTest extends SlabByteBufContract {
    @Override
    BufferPool.Builder poolConfig() {
        return BufferPool.builder().name("contract-roomy").reserve(256L << 20).sizeClasses(65536).magazines(false);
    }
}

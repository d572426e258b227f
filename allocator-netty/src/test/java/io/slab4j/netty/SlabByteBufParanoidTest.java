package io.slab4j.netty;

import io.netty.util.ResourceLeakDetector;
import io.slab4j.buffer.BufferPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Netty's suite with its leak detector at {@code PARANOID}: every buffer of the suite is one of
 * Netty's leak-aware wrappers ({@code AdvancedLeakAwareByteBuf}) around a {@link SlabByteBuf},
 * and so is every slice and duplicate of it.
 */
class SlabByteBufParanoidTest extends SlabByteBufContract {
    private ResourceLeakDetector.Level before;

    @Override
    BufferPool.Builder poolConfig() {
        return BufferPool.builder().name("contract-paranoid").reserve(256L << 20);
    }

    @BeforeAll
    void paranoid() {
        before = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }

    @AfterAll
    void restoreLevel() {
        ResourceLeakDetector.setLevel(before);
    }
}

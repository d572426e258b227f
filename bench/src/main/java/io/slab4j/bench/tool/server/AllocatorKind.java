package io.slab4j.bench.tool.server;

import io.netty.buffer.AdaptiveByteBufAllocator;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;

import java.util.Locale;

/**
 * The allocators the server scenario compares, by their command-line names: slab4j's
 * {@code SlabByteBufAllocator} over a {@code BufferPool}, Netty's {@link AdaptiveByteBufAllocator}
 * and Netty's {@link PooledByteBufAllocator}. Immutable.
 */
public enum AllocatorKind {
    SLAB4J("slab4j"),
    ADAPTIVE("adaptive"),
    POOLED("pooled");

    private final String label;

    AllocatorKind(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** The allocator named {@code text} (case-insensitive), or IllegalArgumentException naming the choices. */
    public static AllocatorKind parse(String text) {
        for (AllocatorKind k : values()) {
            if (k.label.equals(text.trim().toLowerCase(Locale.ROOT))) {
                return k;
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not one of slab4j, adaptive, pooled");
    }

    /** A fresh Netty allocator of this kind (not slab4j, which needs its pool: see {@link ServerChild}). */
    ByteBufAllocator netty() {
        return switch (this) {
            case ADAPTIVE -> new AdaptiveByteBufAllocator(true);
            case POOLED -> new PooledByteBufAllocator(true);
            case SLAB4J -> throw new IllegalStateException("slab4j's allocator is built over a BufferPool");
        };
    }

    @Override
    public String toString() {
        return label;
    }
}

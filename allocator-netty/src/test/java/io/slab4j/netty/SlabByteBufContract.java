package io.slab4j.netty;

import io.netty.buffer.AbstractByteBufTest;
import io.netty.buffer.ByteBuf;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.LeakDetection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Netty's own {@code ByteBuf} contract suite ({@code io.netty.buffer.AbstractByteBufTest}
 * from {@code netty-buffer}'s test jar) over the adapter's direct buffers. Each subclass is
 * one pool configuration, so the suite's capacities (mostly 1 B to 4 KiB, growing to
 * hundreds of KiB) land in different places: the default size classes, one roomy class, or
 * page spans only. Every test of the suite runs. {@link #EXCLUDED} would name a test that cannot
 * apply, with the reason (none does); one test is replaced by name instead,
 * {@link #testMaxFastWritableBytes()}, exactly as Netty's own pooled suite replaces it.
 *
 * <p>One instance per class ({@code PER_CLASS}): the pool lives as long as the class's tests.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(ExcludedByName.class)
abstract class SlabByteBufContract extends AbstractByteBufTest implements ExcludedByName.Exclusions {
    /** Test name → why it cannot apply to a pooled off-heap buffer. Empty: every inherited test applies. */
    static final Map<String, String> EXCLUDED = Map.of();

    private BufferPool pool;
    private SlabByteBufAllocator alloc;

    /** This variant's pool. */
    abstract BufferPool.Builder poolConfig();

    @BeforeAll
    void openPool() {
        pool = poolConfig().leakDetection(LeakDetection.ALL).build();
        alloc = new SlabByteBufAllocator(pool);
    }

    @AfterAll
    void closePool() {
        try {
            pool.checkInvariants();
            assertThat(pool.stats().leaksDetected()).as("slab4j leak reports").isZero();
        } finally {
            pool.close();
        }
    }

    @Override
    protected ByteBuf newBuffer(int capacity, int maxCapacity) {
        ByteBuf buf = alloc.directBuffer(capacity, maxCapacity);
        assertThat(buf.unwrap() != null ? buf.unwrap() : buf).isInstanceOf(SlabByteBuf.class);
        return buf;
    }

    /**
     * Replaced, as Netty's own pooled suite ({@code AbstractPooledByteBufTest}) replaces it: the
     * inherited body asserts "default implementation has fast writable == writable", which holds
     * only for a buffer without spare room. A pooled buffer may write up to its room without
     * moving; this checks that, and that writing exactly that much keeps the memory in place.
     */
    @Override
    public void testMaxFastWritableBytes() {
        ByteBuf buffer = newBuffer(150, 500).writerIndex(100);
        try {
            assertThat(buffer.writableBytes()).isEqualTo(50);
            assertThat(buffer.capacity()).isEqualTo(150);
            assertThat(buffer.maxCapacity()).isEqualTo(500);
            assertThat(buffer.maxWritableBytes()).isEqualTo(400);
            SlabByteBuf slab = slab(buffer);
            assertThat(slab.room()).isGreaterThanOrEqualTo(150);
            int fast = Math.min(slab.room(), 500) - 100;
            assertThat(buffer.maxFastWritableBytes()).isEqualTo(fast);
            long before = buffer.memoryAddress();
            buffer.writeBytes(new byte[fast]);
            assertThat(buffer.memoryAddress()).as("no move within the room").isEqualTo(before);
            if (buffer.maxWritableBytes() > 0) {
                buffer.writeByte(1);
                assertThat(buffer.memoryAddress()).as("moved beyond the room").isNotEqualTo(before);
            }
        } finally {
            buffer.release();
        }
    }

    static SlabByteBuf slab(ByteBuf buf) {
        ByteBuf inner = buf.unwrap() != null ? buf.unwrap() : buf;
        return (SlabByteBuf) inner;
    }

    @Override
    public Map<String, String> excluded() {
        return EXCLUDED;
    }

    SlabByteBufAllocator alloc() {
        return alloc;
    }

    BufferPool pool() {
        return pool;
    }
}

package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.util.ResourceLeakDetector;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.LeakDetection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Netty's {@code ResourceLeakDetector} over the adapter's direct buffers at every level: the
 * level's wrapper (none, {@code SimpleLeakAwareByteBuf}, {@code AdvancedLeakAwareByteBuf}),
 * derived buffers that stay tracked, memory back on release through the wrapper, and a leaked
 * buffer reported by Netty's detector (with its hint) and by slab4j's (memory back).
 */
@Timeout(120)
class LeakDetectionTest {
    private ResourceLeakDetector.Level before;
    private BufferPool pool;
    private SlabByteBufAllocator alloc;

    @BeforeEach
    void open() {
        before = ResourceLeakDetector.getLevel();
        pool = BufferPool.builder().name("leaks").reserve(64L << 20).leakDetection(LeakDetection.ALL).build();
        alloc = new SlabByteBufAllocator(pool);
    }

    @AfterEach
    void close() {
        ResourceLeakDetector.setLevel(before);
        pool.close();
    }

    @ParameterizedTest
    @EnumSource(ResourceLeakDetector.Level.class)
    void everyLevelWrapsAsNettyDoesAndTheMemoryComesBack(ResourceLeakDetector.Level level) {
        ResourceLeakDetector.setLevel(level);
        String expected = switch (level) {
            case DISABLED -> null;
            case SIMPLE -> "SimpleLeakAwareByteBuf";
            case ADVANCED, PARANOID -> "AdvancedLeakAwareByteBuf";
        };
        // SIMPLE and ADVANCED sample one buffer in 128 (Netty's default interval): look at up to 100,000.
        ByteBuf wrapped = null;
        for (int i = 0; i < 100_000 && wrapped == null; i++) {
            ByteBuf buf = alloc.directBuffer(64);
            if (buf.unwrap() != null) {
                wrapped = buf;
            } else {
                assertThat(buf).isInstanceOf(SlabByteBuf.class);
                buf.release();
            }
            if (level == ResourceLeakDetector.Level.DISABLED && i == 10_000) {
                break;
            }
        }
        if (expected == null) {
            assertThat(wrapped).as("DISABLED wraps nothing").isNull();
        } else {
            assertThat(wrapped).isNotNull();
            assertThat(wrapped.getClass().getSimpleName()).isEqualTo(expected);
            assertThat(wrapped.unwrap()).isInstanceOf(SlabByteBuf.class);
            ByteBuf slice = wrapped.retainedSlice(0, 8);
            assertThat(slice.getClass().getSimpleName()).as("a derived buffer stays tracked").contains("LeakAware");
            assertThat(slice.release()).isFalse();
            assertThat(wrapped.release()).isTrue();
        }
        assertThat(pool.stats().buffersInUse()).isZero();
    }

    @Test
    void aLeakedBufferIsReportedByNettyAndItsMemoryGoesBack() {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        try (LeakLog log = LeakLog.capture()) {
            String hint = "leaked-slab-" + UUID.randomUUID();
            leak(hint);
            assertThat(pool.stats().buffersInUse()).isEqualTo(1);
            String report = log.awaitReport(alloc, hint);
            assertThat(report).contains("LEAK").contains(hint);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (pool.stats().buffersInUse() != 0) { // slab4j's own watch returns the memory of the collected handle
                if (System.nanoTime() > deadline) {
                    fail("slab4j never took back the leaked buffer: " + pool.stats());
                }
                System.gc();
                LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
            }
            assertThat(pool.stats().leaksDetected()).isEqualTo(1);
        }
    }

    private void leak(String hint) {
        ByteBuf buf = alloc.directBuffer(100);
        buf.writeLong(1);
        buf.touch(hint);
    }
}

package io.slab4j.netty;

import io.slab4j.testing.Background;
import io.netty.buffer.ByteBuf;
import io.slab4j.arena.FailingCommits;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.PoolSeams;
import io.slab4j.nativemem.NativeMemoryException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Commits the OS refuses (ENOMEM injected under the pool's arena through the core's test seam):
 * Netty code sees the adapter's {@link BufferPoolExhaustedException}, with the refusal as its
 * cause, or the event loop's fallback, never the pool's own {@link NativeMemoryException}; a
 * thread that may wait waits the refusal out; a shrink stays put. Before, the pool's exception
 * reached Netty from every non-waiting try and from a shrink, which is documented never to fail.
 */
@Timeout(60)
class CommitFailureNettyTest {
    private static BufferPool pool(String name, FailingCommits seam) {
        return PoolSeams.failingCommits(BufferPool.builder().name(name).reserve(16L << 20), seam).build();
    }

    @Test
    void aRefusedCommitIsExhaustionForAThreadThatMayNotWait() {
        FailingCommits seam = new FailingCommits();
        try (BufferPool pool = pool("refused-no-wait", seam)) {
            SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).build(); // waitTimeout 0
            seam.failAll(true);
            for (int size : new int[] {64, 4096, 1 << 20}) {
                assertThatThrownBy(() -> alloc.directBuffer(size))
                        .isInstanceOf(BufferPoolExhaustedException.class)
                        .hasCauseInstanceOf(NativeMemoryException.class)
                        .hasMessageContaining("the OS refused to commit memory")
                        .hasMessageContaining(size + " bytes");
            }
            assertThat(alloc.metric().exhausted()).isEqualTo(3);
            assertThat(pool.stats().buffersInUse()).isZero();
            seam.failAll(false);
            ByteBuf b = alloc.directBuffer(4096);
            b.writeLong(7);
            assertThat(b.readLong()).isEqualTo(7);
            b.release();
            pool.checkInvariants();
        }
    }

    @Test
    void aRefusedCommitFallsBackOnAnEventLoopThatMay() {
        FailingCommits seam = new FailingCommits();
        try (BufferPool pool = pool("refused-fallback", seam)) {
            SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).eventLoopThreads(t -> true)
                    .eventLoopPolicy(EventLoopPolicy.FALLBACK_UNPOOLED).build();
            seam.failAll(true);
            ByteBuf b = alloc.directBuffer(4096);
            assertThat(b).isNotInstanceOf(SlabByteBuf.class);
            assertThat(b.unwrap() == null ? b : b.unwrap()).isNotInstanceOf(SlabByteBuf.class);
            b.writeInt(1);
            b.release();
            assertThat(alloc.metric().fallbacks()).isEqualTo(1);
            assertThat(pool.stats().buffersInUse()).isZero();
            pool.checkInvariants();
        }
    }

    @Test
    void aRefusedCommitOfAGrowthIsExhaustionAndLeavesTheBufferAsItWas() {
        FailingCommits seam = new FailingCommits();
        try (BufferPool pool = pool("refused-growth", seam)) {
            SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).build();
            ByteBuf b = alloc.directBuffer(64);
            b.writeLong(42);
            seam.failAll(true);
            assertThatThrownBy(() -> b.capacity(1 << 20))
                    .isInstanceOf(BufferPoolExhaustedException.class)
                    .hasCauseInstanceOf(NativeMemoryException.class);
            assertThat(b.capacity()).isEqualTo(64);
            assertThat(b.getLong(0)).isEqualTo(42);
            seam.failAll(false);
            b.capacity(1 << 20);
            assertThat(b.getLong(0)).isEqualTo(42);
            b.release();
            assertThat(pool.stats().buffersInUse()).isZero();
            pool.checkInvariants();
        }
    }

    @Test
    void aShrinkWhoseCommitIsRefusedStaysPut() {
        FailingCommits seam = new FailingCommits();
        try (BufferPool pool = pool("refused-shrink", seam)) {
            SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).build();
            ByteBuf b = alloc.directBuffer(64 << 10);
            b.writeLong(42);
            seam.failAll(true); // the 64 B class has no slab yet: moving there needs a commit
            b.capacity(64); // before the fix: NativeMemoryException
            assertThat(b.capacity()).isEqualTo(64);
            assertThat(b.getLong(0)).isEqualTo(42);
            seam.failAll(false);
            b.release();
            assertThat(pool.stats().buffersInUse()).isZero();
            pool.checkInvariants();
        }
    }

    @Test
    void aThreadThatMayWaitWaitsARefusalOut() throws Exception {
        FailingCommits seam = new FailingCommits();
        try (BufferPool pool = pool("refused-wait", seam)) {
            SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).waitTimeout(Duration.ofSeconds(20)).build();
            seam.failAfter(0); // the next commit fails, once: the pool's retry serves the wait
            ByteBuf b = CompletableFuture.supplyAsync(() -> alloc.directBuffer(4096), Background.THREADS).get(10, TimeUnit.SECONDS);
            assertThat(seam.failed()).isEqualTo(1);
            b.writeLong(1);
            b.release();
            assertThat(alloc.metric().exhausted()).isZero();
            pool.checkInvariants();
        }
    }
}

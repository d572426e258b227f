package io.slab4j.netty;

import io.slab4j.testing.Background;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.IllegalReferenceCountException;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.PooledBuffer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Round-4 adversarial review of SlabByteBufAllocator / SlabByteBuf through Netty's public API. */
class AdapterRound4ReviewTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    /** 16 buffers of 4 KiB and nothing else. */
    private static BufferPool tiny() {
        return BufferPool.builder().name("r4n-" + SEQ.incrementAndGet()).reserve(64 << 10).sizeClasses(4096).magazines(false).build();
    }

    private static List<PooledBuffer> exhaust(BufferPool pool) {
        List<PooledBuffer> hog = new ArrayList<>();
        PooledBuffer b;
        while ((b = pool.tryAcquire(4096)) != null) {
            hog.add(b);
        }
        return hog;
    }

    // ------------------------------------------- passes worth keeping (attacks that held)

    @Test
    void metricFollowsHeapAndDirectBuffersThroughGrowthAndRelease() {
        // Class comment: heap buffers are "counted in metric()"; ByteBufAllocatorMetric reports used memory.
        try (BufferPool pool = BufferPool.builder().name("r4n-" + SEQ.incrementAndGet()).reserve(16L << 20).build()) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
            ByteBuf h = alloc.heapBuffer(100, 1 << 20);
            assertTrue(alloc.metric().usedHeapMemory() >= 100);
            h.writeBytes(new byte[5000]);
            assertTrue(alloc.metric().usedHeapMemory() >= 5000, "heap growth not counted: " + alloc.metric().usedHeapMemory());
            h.release();
            assertEquals(0, alloc.metric().usedHeapMemory(), "heap memory still counted after release");
            ByteBuf d = alloc.directBuffer(100, 8 << 20);
            d.writeBytes(new byte[3 << 20]);
            assertTrue(alloc.metric().usedDirectMemory() >= 3 << 20);
            d.capacity(10);
            assertEquals(10, d.capacity());
            d.release();
            assertEquals(0, alloc.metric().usedDirectMemory());
            assertEquals(0, pool.stats().buffersInUse());
        }
    }

    @Test
    void shrinkingKeepsTheLeadingBytesAndIndices() {
        try (BufferPool pool = BufferPool.builder().name("r4n-" + SEQ.incrementAndGet()).reserve(16L << 20).build()) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
            ByteBuf d = alloc.directBuffer(2 << 20);
            for (int i = 0; i < 2 << 20; i += 8) {
                d.writeLong(i);
            }
            d.readerIndex(16);
            d.capacity(100);
            assertEquals(100, d.capacity());
            assertEquals(16, d.readerIndex());
            assertEquals(100, d.writerIndex());
            for (int i = 0; i + 8 <= 100; i += 8) {
                assertEquals(i, d.getLong(i));
            }
            d.capacity(3 << 20);
            assertEquals(0, d.getLong(0 + 0));
            assertEquals(8, d.getLong(8));
            d.release();
            assertEquals(0, pool.stats().buffersInUse());
        }
    }

    @Test
    void anAllocationOnALocalTransportEventLoopNeverWaits() {
        // DESIGN: "Never blocks an event-loop thread"; isEventLoopThread "knows Netty's own threads". A
        // local-transport event loop (LocalIoHandler) is one of Netty's event loops.
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            io.netty.channel.EventLoopGroup group = new io.netty.channel.MultiThreadIoEventLoopGroup(1, io.netty.channel.local.LocalIoHandler.newFactory());
            try (BufferPool pool = tiny()) {
                SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).waitTimeout(Duration.ofSeconds(60)).build();
                List<PooledBuffer> hog = exhaust(pool);
                io.netty.util.concurrent.Future<Throwable> f = group.next().submit(() -> {
                    try {
                        alloc.directBuffer(10).release();
                        return null;
                    } catch (Throwable e) {
                        return e;
                    }
                });
                assertTrue(f.await(10, TimeUnit.SECONDS), "the event-loop allocation waited");
                assertInstanceOf(BufferPoolExhaustedException.class, f.getNow());
                hog.forEach(PooledBuffer::close);
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            }
        });
    }

    @Test
    void aWaitingAllocationEndsWhenThePoolCloses() {
        // Nothing hangs: a non-event-loop allocation waiting (long waitTimeout) ends when the pool closes.
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            BufferPool pool = tiny();
            SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).waitTimeout(Duration.ofSeconds(60)).build();
            exhaust(pool);
            CompletableFuture<ByteBuf> f = CompletableFuture.supplyAsync(() -> alloc.directBuffer(10), Background.THREADS);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (pool.stats().waiters() == 0 && System.nanoTime() < end) {
                Thread.sleep(1);
            }
            pool.close();
            Throwable e = assertThrows(java.util.concurrent.ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS)).getCause();
            assertTrue(e instanceof IllegalStateException || e instanceof BufferPoolExhaustedException, e.toString());
        });
    }

    @Test
    void growthAtTheCapFailsAndLeavesTheBufferIntact() {
        // "Growth of an existing buffer acquires the same way, except that it never falls back": at the cap with
        // waitTimeout 0 the growth throws BufferPoolExhaustedException; the buffer keeps its bytes and capacity,
        // and its release returns its memory.
        try (BufferPool pool = tiny()) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
            ByteBuf buf = alloc.directBuffer(100, 1 << 20);
            buf.writeLong(0x1122334455667788L);
            List<PooledBuffer> hog = exhaust(pool);
            assertThrows(BufferPoolExhaustedException.class, () -> buf.capacity(8192));
            assertEquals(100, buf.capacity());
            assertEquals(0x1122334455667788L, buf.getLong(0));
            assertThrows(BufferPoolExhaustedException.class, () -> buf.writeBytes(new byte[9000]));
            assertEquals(8, buf.writerIndex());
            assertEquals(0x1122334455667788L, buf.readLong());
            assertTrue(buf.release());
            hog.forEach(PooledBuffer::close);
            assertEquals(0, pool.stats().buffersInUse());
            pool.checkInvariants();
        }
    }

    @Test
    void anEventLoopAllocationNeverWaitsEvenWithAWaitTimeout() {
        // Class comment: on an event-loop thread the allocation never waits (BufferPoolExhaustedException at once),
        // whatever waitTimeout says.
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try (BufferPool pool = tiny()) {
                SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).waitTimeout(Duration.ofSeconds(60))
                        .eventLoopThreads(t -> t.getName().startsWith("r4-loop")).build();
                List<PooledBuffer> hog = exhaust(pool);
                AtomicReference<Throwable> got = new AtomicReference<>();
                Thread loop = new Thread(() -> {
                    try {
                        alloc.directBuffer(10).release();
                    } catch (Throwable e) {
                        got.set(e);
                    }
                }, "r4-loop-1");
                loop.start();
                loop.join(8000);
                assertFalse(loop.isAlive(), "event-loop allocation waited");
                assertInstanceOf(BufferPoolExhaustedException.class, got.get());
                ByteBuf unpooled = SlabByteBufAllocator.builder(pool).eventLoopPolicy(EventLoopPolicy.FALLBACK_UNPOOLED)
                        .eventLoopThreads(t -> true).build().directBuffer(10);
                assertTrue(unpooled.isDirect());
                unpooled.release();
                hog.forEach(PooledBuffer::close);
            }
        });
    }

    @Test
    void anInterruptedWaitEndsWithTheExceptionAndTheFlagSet() {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try (BufferPool pool = tiny()) {
                SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).waitTimeout(Duration.ofSeconds(60)).build();
                List<PooledBuffer> hog = exhaust(pool);
                AtomicReference<Throwable> got = new AtomicReference<>();
                AtomicReference<Boolean> flag = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        alloc.directBuffer(10).release();
                    } catch (Throwable e) {
                        got.set(e);
                    }
                    flag.set(Thread.currentThread().isInterrupted());
                });
                t.start();
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (pool.stats().waiters() == 0 && System.nanoTime() < end) {
                    Thread.sleep(1);
                }
                t.interrupt();
                t.join();
                assertInstanceOf(BufferPoolExhaustedException.class, got.get());
                assertEquals(Boolean.TRUE, flag.get());
                assertEquals(0, pool.stats().waiters());
                hog.forEach(PooledBuffer::close);
                assertEquals(0, pool.stats().buffersInUse());
            }
        });
    }

    @Test
    void hugeWaitTimeoutIsServedByARelease() {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
            try (BufferPool pool = tiny()) {
                SlabByteBufAllocator alloc = SlabByteBufAllocator.builder(pool).waitTimeout(Duration.ofSeconds(Long.MAX_VALUE)).build();
                List<PooledBuffer> hog = exhaust(pool);
                CompletableFuture<ByteBuf> f = CompletableFuture.supplyAsync(() -> alloc.directBuffer(100), Background.THREADS);
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (pool.stats().waiters() == 0 && !f.isDone() && System.nanoTime() < end) {
                    Thread.sleep(1);
                }
                hog.remove(0).close();
                ByteBuf b = f.get(5, TimeUnit.SECONDS);
                b.release();
                hog.forEach(PooledBuffer::close);
                assertEquals(0, pool.stats().buffersInUse());
            }
        });
    }

    @Test
    void derivedBuffersAndCopiesOutOfABufferWhosePoolClosedThrow() {
        // README: "A buffer still held when its pool closes refuses every access instead of touching the unmapped
        // region." Also through its slices, duplicates, composites and Netty's copy paths into other buffers.
        BufferPool pool = BufferPool.builder().name("r4n-" + SEQ.incrementAndGet()).reserve(16L << 20).build();
        SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
        ByteBuf buf = alloc.directBuffer(64);
        buf.writeLong(1).writeLong(2);
        ByteBuf slice = buf.slice(0, 8);
        ByteBuf dup = buf.duplicate();
        ByteBuf retained = buf.retainedSlice(0, 16);
        CompositeByteBuf comp = alloc.compositeDirectBuffer();
        ByteBuf big = alloc.directBuffer(1 << 20).writeLong(3);
        comp.addComponent(true, big);
        pool.close();
        assertThrows(IllegalReferenceCountException.class, () -> slice.getLong(0));
        assertThrows(IllegalReferenceCountException.class, () -> dup.getLong(8));
        assertThrows(IllegalReferenceCountException.class, () -> retained.readLong());
        assertThrows(IllegalReferenceCountException.class, () -> Unpooled.buffer(16).writeBytes(buf, 0, 8));
        assertThrows(IllegalReferenceCountException.class, () -> Unpooled.buffer(16).setBytes(0, slice, 0, 8));
        assertThrows(IllegalReferenceCountException.class, () -> Unpooled.directBuffer(16).writeBytes(dup, 0, 8));
        assertThrows(IllegalReferenceCountException.class, buf::memoryAddress);
        assertThrows(IllegalReferenceCountException.class, buf::nioBuffer);
        assertThrows(IllegalReferenceCountException.class, () -> buf.capacity(4096));
        assertThrows(RuntimeException.class, () -> comp.getLong(0));
    }

    @Test
    void copyFromAReleasedBufferIntoANettyBufferThrows() {
        // Netty semantics: every accessor of a released buffer throws IllegalReferenceCountException; a copy out of
        // it (heap.setBytes(…, released, …) uses memoryAddress() when hasMemoryAddress()) must throw too.
        try (BufferPool pool = BufferPool.builder().name("r4n-" + SEQ.incrementAndGet()).reserve(16L << 20).build()) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
            ByteBuf buf = alloc.directBuffer(64).writeLong(7);
            ByteBuf slice = buf.slice();
            buf.release();
            assertThrows(IllegalReferenceCountException.class, () -> Unpooled.buffer(16).setBytes(0, buf, 0, 8));
            assertThrows(IllegalReferenceCountException.class, () -> Unpooled.directBuffer(16).setBytes(0, slice, 0, 8));
            assertThrows(IllegalReferenceCountException.class, () -> buf.release());
            assertThrows(IllegalReferenceCountException.class, () -> buf.retain());
            assertEquals(0, pool.stats().buffersInUse());
        }
    }

    @Test
    void racingReleasesReturnTheMemoryOnce() throws Exception {
        try (BufferPool pool = BufferPool.builder().name("r4n-" + SEQ.incrementAndGet()).reserve(16L << 20).build()) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
            for (int round = 0; round < 200; round++) {
                ByteBuf buf = alloc.directBuffer(64 + round * 100);
                buf.retain(3);
                CountDownLatch go = new CountDownLatch(1);
                AtomicInteger zeroes = new AtomicInteger();
                Thread[] ts = new Thread[4];
                for (int i = 0; i < 4; i++) {
                    ts[i] = new Thread(() -> {
                        try {
                            go.await();
                        } catch (InterruptedException e) {
                            return;
                        }
                        if (buf.release()) {
                            zeroes.incrementAndGet();
                        }
                    });
                    ts[i].start();
                }
                go.countDown();
                for (Thread t : ts) {
                    t.join();
                }
                assertEquals(1, zeroes.get());
            }
            assertEquals(0, pool.stats().buffersInUse());
            pool.checkInvariants();
        }
    }

    @Test
    void extremeCapacitiesAreRejectedWithoutLeaking() {
        try (BufferPool pool = BufferPool.builder().name("r4n-" + SEQ.incrementAndGet()).reserve(16L << 20).build()) {
            SlabByteBufAllocator alloc = new SlabByteBufAllocator(pool);
            assertThrows(IllegalArgumentException.class, () -> alloc.directBuffer(-1));
            assertThrows(IllegalArgumentException.class, () -> alloc.directBuffer(10, 5));
            assertThrows(RuntimeException.class, () -> alloc.directBuffer(Integer.MAX_VALUE));
            ByteBuf z = alloc.directBuffer(0, 0);
            assertEquals(0, z.capacity());
            assertThrows(IndexOutOfBoundsException.class, () -> z.writeByte(1));
            z.release();
            ByteBuf g = alloc.directBuffer(1, Integer.MAX_VALUE);
            assertThrows(RuntimeException.class, () -> g.capacity(Integer.MAX_VALUE));
            assertEquals(1, g.capacity());
            g.capacity(3 << 20);
            g.setByte((3 << 20) - 1, 9);
            g.capacity(0);
            assertEquals(0, g.capacity());
            g.release();
            assertEquals(0, pool.stats().buffersInUse());
            pool.checkInvariants();
        }
    }
}

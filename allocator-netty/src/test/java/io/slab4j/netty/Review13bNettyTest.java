package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.slab4j.buffer.BufferPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** Review 13b of the adapter: growth across classes and into spans, bad inputs, closed pools. */
class Review13bNettyTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static BufferPool pool(long reserve) {
        return BufferPool.builder().name("r13bn-" + SEQ.incrementAndGet()).reserve(reserve).build();
    }

    @Test
    @Timeout(30)
    void growAcrossClassesIntoSpansKeepsBytes() {
        try (BufferPool p = pool(64L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(10);
            for (int i = 0; i < 10; i++) b.writeByte(i);
            int[] caps = {100, 5000, 70000, 3 << 20, 200, 16};
            for (int c : caps) {
                b.capacity(c);
                assertEquals(c, b.capacity());
                for (int i = 0; i < 10; i++) assertEquals(i, b.getByte(i));
            }
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void badInputs() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            assertThrows(IllegalArgumentException.class, () -> a.directBuffer(-1));
            assertThrows(IllegalArgumentException.class, () -> a.directBuffer(10, 5));
            ByteBuf b = a.directBuffer(8, 16);
            assertThrows(IllegalArgumentException.class, () -> b.capacity(17));
            assertThrows(IllegalArgumentException.class, () -> b.capacity(-1));
            assertThrows(IndexOutOfBoundsException.class, () -> b.ensureWritable(17));
            assertEquals(8, b.capacity());
            b.release();
            assertThrows(io.netty.util.IllegalReferenceCountException.class, b::release);
            assertThrows(IllegalArgumentException.class, () -> SlabByteBufAllocator.builder(p).waitTimeout(Duration.ofSeconds(-1)));
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void growAtCapLeavesBufferIntact() throws Exception {
        try (BufferPool p = pool(4L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(100);
            b.writeLong(42);
            Exception e = assertThrows(Exception.class, () -> b.capacity(64 << 20));
            assertEquals(100, b.capacity());
            assertEquals(42, b.getLong(0));
            b.capacity(1000);
            assertEquals(42, b.getLong(0));
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void retainedSliceDuplicateCounts() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(64);
            b.writeZero(64);
            ByteBuf s = b.retainedSlice(8, 16);
            ByteBuf d = b.retainedDuplicate();
            assertEquals(3, b.refCnt());
            assertFalse(b.release());
            assertFalse(s.release());
            assertTrue(d.release());
            assertEquals(0, p.stats().buffersInUse());
            ByteBuffer[] n;
            ByteBuf c = a.directBuffer(70000);
            c.writeZero(70000);
            n = c.nioBuffers();
            assertEquals(70000, n[0].remaining() + (n.length > 1 ? n[1].remaining() : 0));
            c.release();
            CompositeByteBuf comp = a.compositeDirectBuffer();
            comp.addComponent(true, a.directBuffer(10).writeZero(10));
            comp.addComponent(true, a.directBuffer(5000).writeZero(5000));
            assertEquals(5010, comp.readableBytes());
            assertEquals(5010, comp.nioBuffer().remaining());
            comp.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    @Timeout(30)
    void releaseAfterClose() {
        BufferPool p = pool(16L << 20);
        SlabByteBufAllocator a = new SlabByteBufAllocator(p);
        ByteBuf b = a.directBuffer(64);
        ByteBuf big = a.directBuffer(2 << 20);
        ByteBuf s = b.retainedSlice();
        p.close();
        assertFalse(b.release());
        assertTrue(s.release());
        assertTrue(big.release());
        assertThrows(RuntimeException.class, () -> a.directBuffer(8));
    }

    @Test
    @Timeout(30)
    void capacityAfterClose() {
        BufferPool p = pool(16L << 20);
        SlabByteBufAllocator a = new SlabByteBufAllocator(p);
        ByteBuf b = a.directBuffer(64);
        p.close();
        assertThrows(RuntimeException.class, () -> b.capacity(5000));
        assertEquals(64, b.capacity());
        assertTrue(b.release());
    }

    @Test
    @Timeout(30)
    void heapAndIo() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf h = a.heapBuffer(10, 20);
            assertFalse(h.isDirect());
            assertEquals(20, h.maxCapacity());
            ByteBuf io = a.ioBuffer(10, 20);
            assertTrue(io.isDirect());
            assertEquals(20, io.maxCapacity());
            h.release(); io.release();
            ByteBuf z = a.directBuffer(0);
            assertEquals(0, z.capacity());
            z.writeInt(1);
            z.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }
}

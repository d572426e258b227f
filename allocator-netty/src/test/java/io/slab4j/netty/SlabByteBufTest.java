package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.internal.PlatformDependent;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.LeakDetection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The adapter's own guarantees beyond Netty's suite: one return per buffer, growth and shrinking inside slab4j. */
class SlabByteBufTest {
    private BufferPool pool;
    private SlabByteBufAllocator alloc;

    @BeforeEach
    void open() {
        pool = BufferPool.builder().name("slab-bytebuf").reserve(64L << 20).leakDetection(LeakDetection.ALL).build();
        alloc = new SlabByteBufAllocator(pool);
    }

    @AfterEach
    void close() {
        try {
            assertThat(pool.stats().buffersInUse()).as("buffers in use after the test").isZero();
            assertThat(pool.stats().leaksDetected()).isZero();
            pool.checkInvariants();
        } finally {
            pool.close();
        }
    }

    @Test
    void memoryGoesBackExactlyOnceWhenTheCountReachesZero() {
        ByteBuf buf = alloc.directBuffer(100);
        assertThat(buf.isDirect()).isTrue();
        assertThat(buf.capacity()).isEqualTo(100);
        assertThat(pool.stats().buffersInUse()).isEqualTo(1);
        ByteBuf slice = buf.retainedSlice(10, 20);
        ByteBuf dup = buf.retainedDuplicate();
        assertThat(buf.refCnt()).isEqualTo(3);
        assertThat(buf.release()).isFalse();
        assertThat(slice.release()).isFalse();
        assertThat(pool.stats().buffersInUse()).isEqualTo(1);
        assertThat(dup.release()).isTrue();
        assertThat(pool.stats().buffersInUse()).isZero();
        assertThatThrownBy(buf::release).isInstanceOf(IllegalReferenceCountException.class);
        assertThatThrownBy(buf::retain).isInstanceOf(IllegalReferenceCountException.class);
        assertThatThrownBy(() -> buf.getByte(0)).isInstanceOf(IllegalReferenceCountException.class);
        assertThat(pool.stats().buffersInUse()).isZero();
    }

    @Test
    void releaseOfMoreThanTheCountChangesNothing() {
        ByteBuf buf = alloc.directBuffer(16).retain();
        assertThatThrownBy(() -> buf.release(3)).isInstanceOf(IllegalReferenceCountException.class);
        assertThat(buf.refCnt()).isEqualTo(2);
        assertThat(buf.release(2)).isTrue();
    }

    @Test
    void growthMovesToLargerSlabBuffersAndKeepsTheBytes() {
        long nettyDirect = PlatformDependent.usedDirectMemory();
        ByteBuf buf = alloc.directBuffer(16);
        SlabByteBuf slab = SlabByteBufContract.slab(buf);
        Random random = new Random(42);
        byte[] data = new byte[3 << 20];
        random.nextBytes(data);
        long address = buf.memoryAddress();
        int moves = 0;
        for (int at = 0; at < data.length; at += 1000) {
            buf.writeBytes(data, at, Math.min(1000, data.length - at));
            if (buf.memoryAddress() != address) {
                moves++;
                address = buf.memoryAddress();
            }
            assertThat(pool.stats().buffersInUse()).as("one buffer at a time").isEqualTo(1);
            assertThat(slab.room()).isGreaterThanOrEqualTo(buf.capacity());
        }
        assertThat(moves).isGreaterThan(5);
        assertThat(pool.stats().largeBuffersInUse()).as("ends in a span").isEqualTo(1);
        byte[] back = new byte[data.length];
        buf.getBytes(0, back);
        assertThat(back).isEqualTo(data);
        assertThat(PlatformDependent.usedDirectMemory()).as("Netty's own direct memory").isEqualTo(nettyDirect);
        buf.release();
    }

    @Test
    void shrinkingToHalfOrLessMovesToASmallerBuffer() {
        ByteBuf buf = alloc.directBuffer(64 << 10);
        buf.writeBytes(new byte[100]).setByte(99, 7);
        long before = buf.memoryAddress();
        buf.capacity(40_000);
        assertThat(buf.memoryAddress()).as("more than half the room: in place").isEqualTo(before);
        buf.capacity(200);
        assertThat(buf.memoryAddress()).as("half or less: moved").isNotEqualTo(before);
        assertThat(SlabByteBufContract.slab(buf).room()).isLessThan(1024);
        assertThat(buf.getByte(99)).isEqualTo((byte) 7);
        assertThat(buf.writerIndex()).isEqualTo(100);
        buf.capacity(50);
        assertThat(buf.writerIndex()).isEqualTo(50);
        assertThat(pool.stats().buffersInUse()).isEqualTo(1);
        buf.release();
    }

    @Test
    void nettysDirectMemoryCounterIsLiveInThisJvm() {
        // The control for the assertions on PlatformDependent.usedDirectMemory(): Netty's own
        // unpooled direct buffers do move it here (see the surefire flags in the module's pom).
        long before = PlatformDependent.usedDirectMemory();
        assertThat(before).as("Netty counts its direct memory").isGreaterThanOrEqualTo(0);
        ByteBuf netty = UnpooledByteBufAllocator.DEFAULT.directBuffer(4096);
        try {
            assertThat(PlatformDependent.usedDirectMemory()).isGreaterThan(before);
        } finally {
            netty.release();
        }
    }

    @Test
    void copiesAndReadBytesComeFromThePool() {
        ByteBuf buf = alloc.directBuffer(64).writeLong(1).writeLong(2);
        ByteBuf copy = buf.copy();
        ByteBuf read = buf.readBytes(8);
        assertThat(SlabByteBufContract.slab(copy).alloc()).isSameAs(alloc);
        assertThat(SlabByteBufContract.slab(read).alloc()).isSameAs(alloc);
        assertThat(pool.stats().buffersInUse()).isEqualTo(3);
        assertThat(read.readLong()).isEqualTo(1);
        copy.release();
        read.release();
        buf.release();
    }

    @Test
    void heapBuffersAreNettysAndCounted() {
        ByteBuf heap = alloc.heapBuffer(1000);
        assertThat(heap.hasArray()).isTrue();
        assertThat(alloc.metric().usedHeapMemory()).isEqualTo(1000);
        heap.writeBytes(new byte[5000]);
        assertThat(alloc.metric().usedHeapMemory()).isEqualTo(heap.capacity());
        heap.release();
        assertThat(alloc.metric().usedHeapMemory()).isZero();
        assertThat(pool.stats().buffersInUse()).isZero();
    }

    @Test
    void metricAndToStringNameThePool() {
        ByteBuf buf = alloc.directBuffer(1000);
        assertThat(alloc.metric().usedDirectMemory()).isEqualTo(pool.stats().usedBytes()).isGreaterThanOrEqualTo(1000);
        assertThat(alloc.isDirectBufferPooled()).isTrue();
        ByteBuf byDefault = alloc.buffer();
        assertThat(byDefault.isDirect()).isTrue();
        assertThat(byDefault.release()).isTrue();
        assertThat(alloc.ioBuffer().release()).isTrue();
        assertThat(alloc.toString()).contains("'slab-bytebuf'");
        assertThat(alloc.metric().toString()).contains("'slab-bytebuf'");
        buf.release();
    }
}

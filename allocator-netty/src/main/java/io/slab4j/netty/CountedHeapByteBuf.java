package io.slab4j.netty;

import io.netty.buffer.UnpooledHeapByteBuf;

import java.util.concurrent.atomic.LongAdder;

/**
 * Netty's unpooled heap buffer, counting the bytes of its array in its allocator's
 * {@code usedHeapMemory} (the hooks {@code allocateArray}/{@code freeArray} are Netty's
 * public extension points for exactly this).
 *
 * <p>Concurrency: as Netty's heap buffer; the counter is a {@link LongAdder}.
 */
final class CountedHeapByteBuf extends UnpooledHeapByteBuf {
    private final LongAdder heapBytes;

    CountedHeapByteBuf(SlabByteBufAllocator alloc, LongAdder heapBytes, int initialCapacity, int maxCapacity) {
        super(alloc, initialCapacity, maxCapacity);
        this.heapBytes = heapBytes;
        // The constructor's array was made before heapBytes was set: count it now.
        heapBytes.add(capacity());
    }

    @Override
    protected byte[] allocateArray(int initialCapacity) {
        byte[] array = super.allocateArray(initialCapacity);
        if (heapBytes != null) {
            heapBytes.add(array.length);
        }
        return array;
    }

    @Override
    protected void freeArray(byte[] array) {
        heapBytes.add(-array.length);
        super.freeArray(array);
    }
}

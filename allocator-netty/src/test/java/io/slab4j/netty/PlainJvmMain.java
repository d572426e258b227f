package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.slab4j.buffer.BufferPool;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Run by {@link PlainJvmTest} in a JVM without any {@code --add-opens} or {@code --add-exports}:
 * allocation, primitives, bulk copies, NIO views, growth, slices, leak-aware wrapping and
 * release through the adapter. Prints {@code PLAIN-OK} and exits 0, or throws.
 */
public final class PlainJvmMain {
    private PlainJvmMain() {
    }

    public static void main(String[] args) {
        try (BufferPool pool = BufferPool.builder().name("plain-jvm").reserve(64L << 20).build()) {
            ByteBufAllocator alloc = new SlabByteBufAllocator(pool);
            ByteBuf buf = alloc.directBuffer(16);
            buf.writeInt(42).writeLongLE(7).writeCharSequence("plain", StandardCharsets.US_ASCII);
            buf.writeBytes(new byte[100_000]);
            check(buf.readInt() == 42 && buf.readLongLE() == 7, "primitives");
            ByteBuffer nio = buf.nioBuffer(12, 5);
            check(StandardCharsets.US_ASCII.decode(nio).toString().equals("plain"), "nioBuffer");
            ByteBuffer internal = buf.internalNioBuffer(0, 4);
            check(internal.getInt(internal.position()) == 42, "internalNioBuffer");
            ByteBuf slice = buf.retainedSlice(12, 5);
            check(slice.toString(StandardCharsets.US_ASCII).equals("plain"), "slice");
            slice.release();
            ByteBuffer dst = ByteBuffer.allocateDirect(5);
            buf.getBytes(12, dst);
            check(dst.flip().get(0) == 'p', "getBytes(ByteBuffer)");
            buf.release();
            ByteBuf heap = alloc.heapBuffer(10).writeByte(1);
            heap.release();
            check(pool.stats().buffersInUse() == 0, "everything back");
        }
        System.out.println("PLAIN-OK");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }
}

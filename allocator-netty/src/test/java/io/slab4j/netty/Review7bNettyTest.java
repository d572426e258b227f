package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.util.IllegalReferenceCountException;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.LeakDetection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Review 7b of the adapter's changes: a buffer that handed out a derived buffer never shrinks
 * into smaller memory (every way Netty derives one), growth with slices outstanding, capacities
 * the pool can never hold, and retain/release of a buffer whose pool closed. Public API only
 * (Netty's and slab4j's); the bytes a buffer owns are read as maxFastWritableBytes() + writerIndex().
 */
@Timeout(60)
class Review7bNettyTest {
    private static final AtomicInteger SEQ = new AtomicInteger();

    private static BufferPool pool(long reserve) {
        return BufferPool.builder().name("r7bn-" + SEQ.incrementAndGet()).reserve(reserve).leakDetection(LeakDetection.OFF).build();
    }

    private static int room(ByteBuf b) {
        return b.maxFastWritableBytes() + b.writerIndex();
    }

    /** Every way of deriving a buffer that shares the parent's memory, and whether the derived one can write. */
    @SuppressWarnings("deprecation") // order(ByteOrder): still Netty's API, and a way to derive
    private static Map<String, Function<ByteBuf, ByteBuf>> derivations() {
        Map<String, Function<ByteBuf, ByteBuf>> m = new LinkedHashMap<>();
        m.put("slice()", ByteBuf::slice);
        m.put("slice(i, n)", b -> b.slice(0, 4096));
        m.put("retainedSlice()", ByteBuf::retainedSlice);
        m.put("retainedSlice(i, n)", b -> b.retainedSlice(8, 4000));
        m.put("readSlice", b -> b.readSlice(4096));
        m.put("readRetainedSlice", b -> b.readRetainedSlice(4096));
        m.put("duplicate", ByteBuf::duplicate);
        m.put("retainedDuplicate", ByteBuf::retainedDuplicate);
        m.put("asReadOnly().slice()", b -> b.asReadOnly().slice());
        m.put("order(LE).slice()", b -> b.order(ByteOrder.LITTLE_ENDIAN).slice());
        m.put("duplicate().slice()", b -> b.duplicate().slice(0, 4096));
        m.put("duplicate().retainedSlice()", b -> b.duplicate().retainedSlice(0, 4096));
        m.put("slice().slice()", b -> b.slice().slice(16, 1000));
        m.put("retainedDuplicate().duplicate()", b -> b.retainedDuplicate().duplicate());
        return m;
    }

    @Test
    void aBufferThatHandedOutAnyDerivedBufferNeverShrinksIntoSmallerMemory() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            for (Map.Entry<String, Function<ByteBuf, ByteBuf>> e : derivations().entrySet()) {
                String how = e.getKey();
                ByteBuf b = a.directBuffer(4096);
                b.writerIndex(4096);
                int before = room(b);
                long at = b.memoryAddress();
                int refs = b.refCnt();
                ByteBuf d = e.getValue().apply(b);
                boolean retained = b.refCnt() > refs;
                assertEquals(before, room(b), how + ": deriving changes no room");
                b.capacity(16);
                assertEquals(16, b.capacity(), how);
                assertEquals(at, b.memoryAddress(), how + ": a derived buffer's parent must shrink in place");
                assertEquals(before, room(b), how + ": the room stays");
                assertEquals(room(b) - b.writerIndex(), b.maxFastWritableBytes(), how);
                assertTrue(b.maxFastWritableBytes() >= 0, how + ": " + b.maxFastWritableBytes());
                // other holders' memory, allocated after the shrink
                List<ByteBuf> others = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    ByteBuf o = a.directBuffer(16);
                    o.writeZero(16);
                    o.setLong(0, 0x1111_1111_1111_1111L);
                    others.add(o);
                }
                if (!d.isReadOnly()) {
                    for (int i = 0; i + 8 <= d.capacity(); i += 8) {
                        d.setLong(i, -1L); // the stale derived buffer writes all it thinks it has
                    }
                }
                for (ByteBuf o : others) {
                    assertEquals(0x1111_1111_1111_1111L, o.getLong(0), how + ": a stale derived buffer wrote into another holder");
                    o.release();
                }
                if (retained) {
                    d.release();
                }
                assertTrue(b.release(), how);
            }
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void aBufferNeverDerivedStillShrinksIntoSmallerMemoryAndAReadOnlyViewStaysSafe() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(4096);
            b.writerIndex(4096);
            ByteBuf ro = b.asReadOnly(); // reads through the parent's checked accessors
            int before = room(b);
            b.capacity(16);
            assertTrue(room(b) < before, "never sliced: the buffer moves into smaller memory (" + room(b) + ")");
            assertTrue(room(b) >= 16);
            assertEquals(room(b) - b.writerIndex(), b.maxFastWritableBytes());
            assertThrows(IndexOutOfBoundsException.class, () -> ro.getLong(1000), "the read-only view is bounded by the new capacity");
            b.release();
            assertEquals(0, p.stats().buffersInUse());
        }
    }

    @Test
    void growthWithSlicesOutstandingKeepsThemInBoundsAndTheBytes() {
        try (BufferPool p = pool(16L << 20)) {
            SlabByteBufAllocator a = new SlabByteBufAllocator(p);
            ByteBuf b = a.directBuffer(64);
            for (int i = 0; i < 64; i++) {
                b.writeByte(i);
            }
            ByteBuf s = b.slice(0, 64);
            ByteBuf rs = b.retainedSlice(32, 32);
            b.capacity(64 * 1024);
            assertTrue(room(b) >= 64 * 1024);
            for (int i = 0; i < 64; i++) {
                assertEquals(i, s.getByte(i));
            }
            s.setByte(63, 99);
            assertEquals(99, b.getByte(63), "the slice reaches the grown memory");
            assertEquals(99, rs.getByte(31));
            b.capacity(8); // derived: in place
            assertTrue(room(b) >= 64 * 1024);
            assertEquals(99, rs.getByte(31));
            rs.release();
            b.release();
            assertEquals(0, p.stats().buffersInUse());
            p.checkInvariants();
        }
    }

    @Test
    void growthAndAllocationBeyondWhatThePoolCanEverHoldThrowExhaustedAndLeaveTheBufferUnchanged() throws Exception {
        try (BufferPool p = BufferPool.builder().name("r7bn-" + SEQ.incrementAndGet()).reserve(16L << 20).maxCommitted(4L << 20)
                .leakDetection(LeakDetection.OFF).build()) {
            for (boolean loop : new boolean[] {false, true}) {
                SlabByteBufAllocator a = SlabByteBufAllocator.builder(p).eventLoopPolicy(EventLoopPolicy.FALLBACK_UNPOOLED)
                        .eventLoopThreads(t -> t.getName().startsWith("r7b-loop")).build();
                AtomicReference<Throwable> failed = new AtomicReference<>();
                Thread t = new Thread(() -> {
                    try {
                        for (int beyond : new int[] {8 << 20, 32 << 20}) { // beyond the committed cap, beyond the reservation
                            ByteBuf b = a.directBuffer(100);
                            b.writeLong(42);
                            long at = b.memoryAddress();
                            int cap = b.capacity();
                            assertThrows(BufferPoolExhaustedException.class, () -> b.capacity(beyond), "growth never falls back");
                            assertEquals(cap, b.capacity());
                            assertEquals(at, b.memoryAddress());
                            assertEquals(42, b.getLong(0));
                            assertThrows(BufferPoolExhaustedException.class, () -> b.ensureWritable(beyond));
                            assertEquals(cap, b.capacity());
                            if (loop) {
                                ByteBuf f = a.directBuffer(beyond);
                                assertFalse(f instanceof SlabByteBuf, "an event loop with FALLBACK_UNPOOLED falls back");
                                assertEquals(beyond, f.capacity());
                                f.release();
                            } else {
                                assertThrows(BufferPoolExhaustedException.class, () -> a.directBuffer(beyond));
                            }
                            b.release();
                        }
                    } catch (Throwable e) {
                        failed.set(e);
                    }
                }, loop ? "r7b-loop" : "r7b-worker");
                t.start();
                t.join(20_000);
                if (failed.get() != null) {
                    throw new AssertionError((loop ? "event loop: " : "worker: ") + failed.get(), failed.get());
                }
                assertEquals(loop ? 2 : 0, a.metric().fallbacks());
            }
            assertEquals(0, p.stats().buffersInUse());
        }
    }

    /** The DERIVED flag lives in room's sign bit, and the pool's token replaced the PooledBuffer: seven instance fields, 64 bytes with compressed references. */
    @Test
    void aSlabByteBufHasNoInstanceFieldBeyondItsFormerSix() {
        java.util.Set<String> fields = new java.util.TreeSet<>();
        for (java.lang.reflect.Field f : SlabByteBuf.class.getDeclaredFields()) {
            if (!java.lang.reflect.Modifier.isStatic(f.getModifiers())) {
                fields.add(f.getName() + ":" + f.getType().getSimpleName());
            }
        }
        assertEquals(new java.util.TreeSet<>(List.of("alloc:SlabByteBufAllocator", "refCnt:int", "token:Object", "address:long",
                "room:int", "capacity:int", "tmpNioBuf:ByteBuffer")), fields);
    }

    @Test
    void retainOfABufferWhosePoolClosedThrowsAndReleaseStillBalances() {
        BufferPool p = pool(16L << 20);
        SlabByteBufAllocator a = new SlabByteBufAllocator(p);
        ByteBuf b = a.directBuffer(256);
        ByteBuf big = a.directBuffer(1 << 20);
        ByteBuf kept = b.retainedSlice(0, 10); // refCnt 2, made before the close
        ByteBuf bigSlice = big.slice();
        assertEquals(2, p.stats().buffersInUse());
        p.close();
        assertEquals(0, b.refCnt());
        assertThrows(IllegalReferenceCountException.class, b::retain);
        assertThrows(IllegalReferenceCountException.class, () -> b.retain(3));
        assertThrows(IllegalReferenceCountException.class, b::retainedSlice);
        assertThrows(IllegalReferenceCountException.class, () -> b.retainedSlice(0, 4));
        assertThrows(IllegalReferenceCountException.class, b::retainedDuplicate);
        assertThrows(IllegalReferenceCountException.class, kept::retain);
        assertThrows(IllegalReferenceCountException.class, bigSlice::retain);
        assertThrows(IllegalReferenceCountException.class, () -> b.getByte(0));
        assertFalse(kept.release(), "one of two references");
        assertEquals(2, p.stats().buffersInUse());
        assertTrue(b.release(), "the last reference");
        assertEquals(1, p.stats().buffersInUse());
        assertTrue(big.release());
        assertEquals(0, p.stats().buffersInUse());
        assertEquals(0, a.metric().usedDirectMemory());
        assertThrows(IllegalReferenceCountException.class, b::release);
        p.checkInvariants();
    }
}

package io.slab4j.netty;

import io.netty.buffer.AbstractByteBuf;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.IllegalReferenceCountException;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.RawHolder;
import io.slab4j.nativemem.NativeMemoryException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ScatteringByteChannel;

/**
 * A direct {@link ByteBuf} over one piece of a slab4j {@link BufferPool}'s memory at a time, held
 * through the pool's raw API ({@link RawHolder}): bytes
 * {@code [address, address + capacity)} of the buffer's {@code room} bytes.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>memory</b>: what this buffer holds now: {@code room} bytes at {@code address} (the
 *       size class, or the page-rounded span), and the pool's {@code token} for them.
 *   <li><b>capacity</b>: Netty's capacity, {@code 0 <= capacity <= room}, exactly what was
 *       asked for (a pool rounds up; Netty's contract does not). A buffer of capacity 0 still
 *       owns the pool's smallest item, so that every live buffer has memory to grow from.
 * </ul>
 *
 * <h2>Invariants</h2>
 * <ol>
 *   <li>While {@code refCnt > 0} this buffer owns {@code memory} alone; no other
 *       {@code SlabByteBuf} and no pool layer holds its address.
 *   <li>Capacity changes stay inside slab4j ({@link #capacity(int)}): growth beyond
 *       {@code room}, or a shrink to half of it or less, acquires new memory from the same
 *       pool, copies {@code min(old, new capacity)} bytes and releases the old memory.
 *       No byte is ever copied into memory that Netty allocates. A buffer that has handed out
 *       a slice or a duplicate ({@code DERIVED}) never shrinks into smaller memory: Netty's
 *       slices keep their own length and reach this buffer's memory through its unchecked
 *       accessors, so a slice made before such a shrink would write past the smaller memory
 *       into another holder's (growth is safe: the new memory is longer).
 *   <li>{@code refCnt} goes from 1 to 0 once; that transition alone calls
 *       {@link #deallocate()}, which releases {@code memory}: the memory goes back exactly once.
 *       This is the guard {@link RawHolder}'s contract asks of a holder, in place of a
 *       {@code PooledBuffer}'s CAS. {@link #hold} takes memory only while {@code token} is null,
 *       which it is only inside this buffer's own acquires (birth, a move), so a caller that
 *       reaches {@code hold} through the interface cannot re-point a live or released buffer.
 * </ol>
 *
 * <h2>Reference count</h2>
 * Kept here in a {@code volatile int} changed by CAS, rather than by extending Netty's
 * {@code AbstractReferenceCountedByteBuf} (checked against Netty 4.2.18, whose base does what
 * ours does on the hot path: one CAS on the final release). That base does not fit:
 * <ul>
 *   <li>it keeps the count in a separate {@code RefCnt} object, 16 bytes of heap more per
 *       buffer, which takes an allocation past the adapter's budget of 96 bytes;
 *   <li>its package-private {@code isAccessible()}, which Netty's {@code ensureAccessible()}
 *       calls, reads that object directly and never our {@link #refCnt()}, so a buffer whose
 *       pool was closed under it would no longer refuse access to the unmapped region (see
 *       Concurrency); neither method can be overridden from outside {@code io.netty.buffer}.
 * </ul>
 * The semantics are Netty's: {@code retain} of a released buffer or past
 * {@code Integer.MAX_VALUE}, and {@code release} of more than the count, throw
 * {@link IllegalReferenceCountException} and change nothing.
 *
 * <h2>Concurrency</h2>
 * As for Netty's buffers: the reference count is thread-safe; the {@code get*} methods may run
 * on several threads at once (they read fields and memory only, and derive fresh NIO buffers);
 * everything that moves an index, writes, changes capacity or uses
 * {@link #internalNioBuffer} belongs to one thread at a time. {@code token}, {@code address},
 * {@code capacity}, {@code room} and {@code tmpNioBuf} are plain fields written only by
 * {@link #capacity(int)} and {@link #deallocate()}; handing the buffer to another thread
 * (a channel write, a queue) publishes them. After release every accessor throws
 * {@code IllegalReferenceCountException} (Netty's {@code ensureAccessible}), and so does every
 * accessor of a buffer whose {@link io.slab4j.buffer.BufferPool} was closed under it
 * ({@link #refCnt()} reads 0: the region is unmapped), unless the user
 * switched Netty's checks off ({@code io.netty.buffer.checkAccessible=false}), in which case, as
 * with Netty's own pooled buffers, a stale access reads whatever the memory holds now (except
 * an access that needs a new NIO view of the memory, which throws
 * {@code IllegalStateException} once the pool is closed: {@code BufferPool.rawView} refuses).
 */
final class SlabByteBuf extends AbstractByteBuf implements RawHolder {
    private static final VarHandle REF_CNT;
    /** The bits of {@link #room} that hold the memory's capacity. */
    private static final int ROOM = Integer.MAX_VALUE;
    /** The bit of {@link #room} that says a slice or duplicate was made. */
    private static final int DERIVED = Integer.MIN_VALUE;

    static {
        try {
            REF_CNT = MethodHandles.lookup().findVarHandle(SlabByteBuf.class, "refCnt", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final SlabByteBufAllocator alloc;
    /**
     * References held; 1 at birth, 0 once released. Changed by CAS through {@link #REF_CNT}.
     * Set to 1 in the constructor by a plain store, not by a field initializer: a volatile
     * store there would be a full fence on every allocation (x86 {@code lock addl}), and the
     * buffer reaches another thread only through something that publishes it anyway, as
     * Netty's own buffers assume ({@code ReferenceCountUpdater.setInitialValue}).
     */
    private volatile int refCnt;
    /**
     * The pool's token of the memory held now ({@link RawHolder}): null only while this buffer
     * asks the pool for memory (at birth and inside a move), replaced by {@link #capacity(int)},
     * given back with {@code address} by {@link #deallocate()}.
     */
    private Object token;
    /** The memory's first byte. */
    private long address;
    /**
     * The memory's capacity, in the low 31 bits ({@link #ROOM}); the sign bit
     * ({@link #DERIVED}) is set once a slice or duplicate of this buffer was made, from then on a
     * shrink stays in place (invariant 2). One field for both: a flag of its own would take the
     * object from 64 to 72 bytes.
     */
    private int room;
    private int capacity;
    /** The buffer {@link #internalNioBuffer} hands out: a view of the memory, made on first use. */
    private ByteBuffer tmpNioBuf;

    /** A buffer that holds no memory yet: the allocator's acquire gives it some through {@link #hold}, or drops it. */
    SlabByteBuf(SlabByteBufAllocator alloc, int capacity, int maxCapacity) {
        super(maxCapacity);
        REF_CNT.set(this, 1);
        this.alloc = alloc;
        this.capacity = capacity;
    }

    /**
     * The pool hands this buffer its memory (on the acquiring thread, inside the allocator's
     * acquire). Refused, with nothing changed, unless the buffer is asking for memory just then:
     * it is reachable through the interface, and no one else may re-point it.
     */
    @Override
    public void hold(long address, int capacity, Object token) {
        if (this.token != null) {
            throw new IllegalStateException("SlabByteBuf.hold: this buffer holds memory already (only its allocator gives it memory)");
        }
        this.token = token;
        this.address = address;
        this.room = capacity | (room & DERIVED);
        this.tmpNioBuf = null;
    }

    private BufferPool pool() {
        return alloc.pool();
    }

    // ------------------------------------------------------------ reference count

    @Override
    public int refCnt() {
        // 0 once the pool is closed too: its region is unmapped, so Netty's ensureAccessible
        // (which asks refCnt() != 0) must refuse every access rather than touch it.
        int n = refCnt;
        return n != 0 && pool().isClosed() ? 0 : n;
    }

    @Override
    public ByteBuf retain() {
        return retain0(1);
    }

    @Override
    public ByteBuf retain(int increment) {
        if (increment <= 0) {
            throw new IllegalArgumentException("increment: " + increment + " (expected: > 0)");
        }
        return retain0(increment);
    }

    private ByteBuf retain0(int increment) {
        int seen = refCnt;
        while (true) {
            if (seen <= 0 || seen > Integer.MAX_VALUE - increment) {
                throw new IllegalReferenceCountException(seen, increment);
            }
            if (pool().isClosed()) { // the pool closed under this buffer: refCnt() reads 0, and so does retain
                throw new IllegalReferenceCountException(0, increment);
            }
            int witness = (int) REF_CNT.compareAndExchange(this, seen, seen + increment);
            if (witness == seen) {
                return this;
            }
            seen = witness;
        }
    }

    @Override
    public boolean release() {
        return release0(1);
    }

    @Override
    public boolean release(int decrement) {
        if (decrement <= 0) {
            throw new IllegalArgumentException("decrement: " + decrement + " (expected: > 0)");
        }
        return release0(decrement);
    }

    private boolean release0(int decrement) {
        int seen = refCnt;
        while (true) {
            if (seen < decrement) {
                throw new IllegalReferenceCountException(seen, -decrement);
            }
            int witness = (int) REF_CNT.compareAndExchange(this, seen, seen - decrement);
            if (witness == seen) {
                if (seen == decrement) {
                    deallocate();
                    return true;
                }
                return false;
            }
            seen = witness;
        }
    }

    /** Runs once, on the thread whose release took the count to 0. */
    private void deallocate() {
        tmpNioBuf = null;
        pool().releaseRaw(this, token, address); // token stays: hold() refuses a released buffer too
    }

    @Override
    public ByteBuf touch() {
        return this;
    }

    @Override
    public ByteBuf touch(Object hint) {
        return this;
    }

    // ------------------------------------------------------------------ capacity

    @Override
    public int capacity() {
        return capacity;
    }

    /** The capacity of the memory owned now (for tests). */
    int room() {
        return room & ROOM;
    }

    @Override
    public int maxFastWritableBytes() {
        return Math.min(room & ROOM, maxCapacity()) - writerIndex();
    }

    /**
     * Sets the capacity. Within {@code room} growth is in place; beyond it the bytes move to a
     * new buffer of the pool (acquired as {@link SlabByteBufAllocator} acquires: an event-loop
     * thread fails at once with {@link BufferPoolExhaustedException} when the pool is at its
     * cap, other threads wait up to the configured timeout), and on failure this buffer is
     * unchanged. A shrink to half of {@code room} or less moves to a smaller buffer when the
     * pool has one now (and its room is smaller) and no slice or duplicate of this buffer was
     * ever made, and stays in place otherwise: a shrink never fails. (Its look for smaller memory
     * is a {@code tryAcquireRaw} of the pool: when the pool has none, that counts as one miss in
     * the class's {@code failures}, as any try that found nothing does.)
     */
    @Override
    public ByteBuf capacity(int newCapacity) {
        checkNewCapacity(newCapacity);
        int old = capacity;
        int r = room & ROOM;
        if (newCapacity > r) {
            grow(newCapacity, old);
        } else if (newCapacity < old && newCapacity <= r / 2 && (room & DERIVED) == 0) {
            shrink(newCapacity, r);
        }
        if (newCapacity < old) {
            trimIndicesToCapacity(newCapacity);
        }
        capacity = newCapacity;
        return this;
    }

    /** Moves the first {@code bytes} to new memory of at least {@code newCapacity}; on failure (it throws) nothing has changed. */
    private void grow(int newCapacity, int bytes) {
        Object oldToken = token;
        long oldAddress = address;
        token = null; // hold() takes memory only now
        try {
            alloc.acquireForGrowth(newCapacity, this);
        } catch (Throwable e) { // anything, also a sneaky checked exception: rethrown unchanged
            token = oldToken; // hold() did not run: address and room are the old ones
            throw e;
        }
        NativeMemory.copy(oldAddress, address, bytes);
        pool().releaseRaw(this, oldToken, oldAddress);
    }

    /** Moves to memory for {@code newCapacity} if the pool has some now whose room is below {@code r}; else stays (a shrink never fails). */
    private void shrink(int newCapacity, int r) {
        Object oldToken = token;
        long oldAddress = address;
        int oldRoom = room;
        token = null;
        boolean moved = false;
        try {
            moved = alloc.tryAcquire(newCapacity, this);
        } catch (IllegalStateException closed) {
            // the pool closed since this buffer's access check: stay (a shrink never fails)
        } catch (NativeMemoryException refused) {
            // the OS refused the commit of the smaller memory: stay (a shrink never fails)
        } finally {
            if (!moved) {
                token = oldToken;
            }
        }
        if (!moved) {
            return;
        }
        if ((room & ROOM) < r) {
            NativeMemory.copy(oldAddress, address, newCapacity);
            pool().releaseRaw(this, oldToken, oldAddress);
        } else { // the pool has nothing smaller for this size (one roomy class): back to the old memory
            pool().releaseRaw(this, token, address);
            token = oldToken;
            address = oldAddress;
            room = oldRoom | (room & DERIVED);
        }
    }

    /** Netty's slice (every slice and retained or read slice of this buffer is made here), marking this buffer {@link #DERIVED}. */
    @Override
    public ByteBuf slice(int index, int length) {
        room |= DERIVED;
        return super.slice(index, length);
    }

    /** Netty's duplicate (retained ones too; a duplicate's own slices reach this buffer's memory directly), marking this buffer {@link #DERIVED}. */
    @Override
    public ByteBuf duplicate() {
        room |= DERIVED;
        return super.duplicate();
    }

    @Override
    public ByteBufAllocator alloc() {
        return alloc;
    }

    @Override
    @Deprecated
    public ByteOrder order() {
        return ByteOrder.BIG_ENDIAN;
    }

    @Override
    public ByteBuf unwrap() {
        return null;
    }

    @Override
    public boolean isDirect() {
        return true;
    }

    @Override
    public boolean isContiguous() {
        return true;
    }

    @Override
    public boolean hasArray() {
        return false;
    }

    @Override
    public byte[] array() {
        throw new UnsupportedOperationException("a direct buffer has no backing array");
    }

    @Override
    public int arrayOffset() {
        throw new UnsupportedOperationException("a direct buffer has no backing array");
    }

    @Override
    public boolean hasMemoryAddress() {
        return true;
    }

    @Override
    public long memoryAddress() {
        ensureAccessible();
        return address;
    }

    // ------------------------------------------------------------ primitives

    @Override
    protected byte _getByte(int index) {
        return NativeMemory.getByte(address + index);
    }

    @Override
    protected short _getShort(int index) {
        return NativeMemory.getShortBE(address + index);
    }

    @Override
    protected short _getShortLE(int index) {
        return NativeMemory.getShortLE(address + index);
    }

    @Override
    protected int _getUnsignedMedium(int index) {
        long a = address + index;
        return (NativeMemory.getByte(a) & 0xff) << 16 | (NativeMemory.getByte(a + 1) & 0xff) << 8
                | NativeMemory.getByte(a + 2) & 0xff;
    }

    @Override
    protected int _getUnsignedMediumLE(int index) {
        long a = address + index;
        return NativeMemory.getByte(a) & 0xff | (NativeMemory.getByte(a + 1) & 0xff) << 8
                | (NativeMemory.getByte(a + 2) & 0xff) << 16;
    }

    @Override
    protected int _getInt(int index) {
        return NativeMemory.getIntBE(address + index);
    }

    @Override
    protected int _getIntLE(int index) {
        return NativeMemory.getIntLE(address + index);
    }

    @Override
    protected long _getLong(int index) {
        return NativeMemory.getLongBE(address + index);
    }

    @Override
    protected long _getLongLE(int index) {
        return NativeMemory.getLongLE(address + index);
    }

    @Override
    protected void _setByte(int index, int value) {
        NativeMemory.putByte(address + index, (byte) value);
    }

    @Override
    protected void _setShort(int index, int value) {
        NativeMemory.putShortBE(address + index, (short) value);
    }

    @Override
    protected void _setShortLE(int index, int value) {
        NativeMemory.putShortLE(address + index, (short) value);
    }

    @Override
    protected void _setMedium(int index, int value) {
        long a = address + index;
        NativeMemory.putByte(a, (byte) (value >>> 16));
        NativeMemory.putByte(a + 1, (byte) (value >>> 8));
        NativeMemory.putByte(a + 2, (byte) value);
    }

    @Override
    protected void _setMediumLE(int index, int value) {
        long a = address + index;
        NativeMemory.putByte(a, (byte) value);
        NativeMemory.putByte(a + 1, (byte) (value >>> 8));
        NativeMemory.putByte(a + 2, (byte) (value >>> 16));
    }

    @Override
    protected void _setInt(int index, int value) {
        NativeMemory.putIntBE(address + index, value);
    }

    @Override
    protected void _setIntLE(int index, int value) {
        NativeMemory.putIntLE(address + index, value);
    }

    @Override
    protected void _setLong(int index, long value) {
        NativeMemory.putLongBE(address + index, value);
    }

    @Override
    protected void _setLongLE(int index, long value) {
        NativeMemory.putLongLE(address + index, value);
    }

    // ------------------------------------------------------------- bulk reads

    @Override
    public ByteBuf getBytes(int index, ByteBuf dst, int dstIndex, int length) {
        checkDstIndex(index, length, dstIndex, dst.capacity());
        if (length == 0) {
            return this;
        }
        if (dst.hasMemoryAddress()) {
            NativeMemory.copy(address + index, dst.memoryAddress() + dstIndex, length);
        } else if (dst.hasArray()) {
            NativeMemory.copyToArray(address + index, dst.array(), dst.arrayOffset() + dstIndex, length);
        } else if (dst.nioBufferCount() > 0) {
            for (ByteBuffer part : dst.nioBuffers(dstIndex, length)) {
                int n = part.remaining();
                getBytes(index, part);
                index += n;
            }
        } else {
            dst.setBytes(dstIndex, this, index, length);
        }
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, byte[] dst, int dstIndex, int length) {
        checkDstIndex(index, length, dstIndex, dst.length);
        NativeMemory.copyToArray(address + index, dst, dstIndex, length);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, ByteBuffer dst) {
        int length = dst.remaining();
        checkIndex(index, length);
        int at = dst.position();
        if (dst.hasArray()) {
            NativeMemory.copyToArray(address + index, dst.array(), dst.arrayOffset() + at, length);
        } else if (length > 0) {
            dst.put(at, view(), index, length);
        }
        dst.position(at + length);
        return this;
    }

    @Override
    public ByteBuf getBytes(int index, OutputStream out, int length) throws IOException {
        checkIndex(index, length);
        byte[] chunk = new byte[Math.min(length, 8192)];
        int done = 0;
        while (done < length) {
            int n = Math.min(chunk.length, length - done);
            NativeMemory.copyToArray(address + index + done, chunk, 0, n);
            out.write(chunk, 0, n);
            done += n;
        }
        return this;
    }

    @Override
    public int getBytes(int index, GatheringByteChannel out, int length) throws IOException {
        checkIndex(index, length);
        if (length == 0) {
            return 0;
        }
        return out.write(view().slice(index, length));
    }

    @Override
    public int getBytes(int index, FileChannel out, long position, int length) throws IOException {
        checkIndex(index, length);
        if (length == 0) {
            return 0;
        }
        return out.write(view().slice(index, length), position);
    }

    @Override
    public ByteBuf copy(int index, int length) {
        checkIndex(index, length);
        ByteBuf copy = alloc.directBuffer(length, maxCapacity());
        try {
            copy.writeBytes(this, index, length);
        } catch (RuntimeException | Error e) {
            copy.release();
            throw e;
        }
        return copy;
    }

    // ------------------------------------------------------------ bulk writes

    @Override
    public ByteBuf setBytes(int index, ByteBuf src, int srcIndex, int length) {
        checkSrcIndex(index, length, srcIndex, src.capacity());
        if (length == 0) {
            return this;
        }
        if (src.hasMemoryAddress()) {
            NativeMemory.copy(src.memoryAddress() + srcIndex, address + index, length);
        } else if (src.hasArray()) {
            NativeMemory.copyFromArray(src.array(), src.arrayOffset() + srcIndex, address + index, length);
        } else if (src.nioBufferCount() > 0) {
            for (ByteBuffer part : src.nioBuffers(srcIndex, length)) {
                int n = part.remaining();
                setBytes(index, part);
                index += n;
            }
        } else {
            src.getBytes(srcIndex, this, index, length);
        }
        return this;
    }

    @Override
    public ByteBuf setBytes(int index, byte[] src, int srcIndex, int length) {
        checkSrcIndex(index, length, srcIndex, src.length);
        NativeMemory.copyFromArray(src, srcIndex, address + index, length);
        return this;
    }

    @Override
    public ByteBuf setBytes(int index, ByteBuffer src) {
        int length = src.remaining();
        checkIndex(index, length);
        int at = src.position();
        if (src.hasArray()) {
            NativeMemory.copyFromArray(src.array(), src.arrayOffset() + at, address + index, length);
        } else if (length > 0) {
            view().put(index, src, at, length);
        }
        src.position(at + length);
        return this;
    }

    @Override
    public int setBytes(int index, InputStream in, int length) throws IOException {
        checkIndex(index, length);
        byte[] chunk = new byte[Math.min(length, 8192)];
        int done = 0;
        do { // at least one read, also for length 0: Netty's contract returns -1 for a stream at its end
            int want = Math.min(chunk.length, length - done);
            int n = in.read(chunk, 0, want);
            if (n < 0) {
                return done == 0 ? -1 : done;
            }
            NativeMemory.copyFromArray(chunk, 0, address + index + done, n);
            done += n;
            if (n < want) {
                break; // the stream has no more now; a further read could block
            }
        } while (done < length);
        return done;
    }

    @Override
    public int setBytes(int index, ScatteringByteChannel in, int length) throws IOException {
        ByteBuffer target = internalNioBuffer(index, length);
        try {
            return in.read(target);
        } catch (ClosedChannelException e) {
            return -1;
        }
    }

    @Override
    public int setBytes(int index, FileChannel in, long position, int length) throws IOException {
        ByteBuffer target = internalNioBuffer(index, length);
        try {
            return in.read(target, position);
        } catch (ClosedChannelException e) {
            return -1;
        }
    }

    @Override
    public ByteBuf setZero(int index, int length) {
        checkIndex(index, length);
        NativeMemory.zero(address + index, length);
        return this;
    }

    // --------------------------------------------------------------------- NIO

    @Override
    public int nioBufferCount() {
        return 1;
    }

    @Override
    public ByteBuffer nioBuffer(int index, int length) {
        checkIndex(index, length);
        return view().slice(index, length);
    }

    @Override
    public ByteBuffer[] nioBuffers(int index, int length) {
        return new ByteBuffer[] {nioBuffer(index, length)};
    }

    @Override
    public ByteBuffer internalNioBuffer(int index, int length) {
        checkIndex(index, length);
        ByteBuffer t = tmpNioBuf;
        if (t == null) {
            t = view().duplicate();
            tmpNioBuf = t;
        }
        t.clear().limit(index + length).position(index);
        return t;
    }

    /** A new view of the memory: {@code room} bytes, position 0 and limit {@code room} (never detached: Netty's rule, valid until release). */
    private ByteBuffer view() {
        return pool().rawView(this, token, address);
    }
}

package io.slab4j.buffer;

/**
 * Where the memory of a {@link PooledBuffer} comes from and goes back to, for buffers of one
 * capacity: a thread's {@link ClassTally} of a size class, or a {@link LargeSpans.Sized} (a
 * stripe of the large-span cache and a span size). A handle keeps its supply so that its
 * {@code close()} returns the memory without a lookup.
 *
 * <p>Extends {@link LeadingPad}: a {@link ClassTally} is written on every acquire and close by
 * its thread.
 *
 * <p>Concurrency: implementations are thread-safe; {@link #release} is called exactly once
 * per acquired address (the handle's CAS guarantees it), from any thread.
 */
abstract class Supply extends LeadingPad {
    final BufferPool owner;
    /** The capacity of every buffer this supply hands out (so a handle need not keep it). */
    final int capacity;

    Supply(BufferPool owner, int capacity) {
        this.owner = owner;
        this.capacity = capacity;
    }

    /**
     * Whether {@code address} can be memory this supply handed out and has not taken back, as
     * far as this supply can tell: for a size class, the start of an item of its pool that is
     * out (no lock); for large spans, the start of a span of this size allocated in the arena
     * (one read of its head tag, {@link io.slab4j.arena.Arena#isAllocated}) that was handed to
     * a raw holder and not given back ({@link LargeSpans}' raw marks). For the raw API, whose
     * callers pass the address back themselves.
     */
    abstract boolean mayHold(long address);

    /**
     * Called before memory at {@code address} goes to a {@link RawHolder}: a supply that tells
     * raw-held memory apart ({@link LargeSpans.Sized}) marks it. Nothing by default.
     */
    void heldRaw(long address) {
    }

    /**
     * A raw release of {@code address}: true, and the memory is this caller's to give back,
     * when it {@link #mayHold may be} memory this supply handed out to a raw holder; for a
     * supply that marks raw memory, exactly one of two racing releases of one hold gets true.
     * By default {@link #mayHold}.
     */
    boolean takeBackRaw(long address) {
        return mayHold(address);
    }

    /** The memory at {@code address} never reached its raw holder (its {@code hold} threw): undoes {@link #heldRaw}. */
    void heldRawUndone(long address) {
    }

    /**
     * Takes back memory handed out by this supply. {@code fromCleaner}: the leak detector's
     * thread, which must not park memory in its own per-thread magazines.
     */
    abstract void release(long address, int capacity, boolean fromCleaner);
}

package io.slab4j.pool;

import io.slab4j.arena.Hex;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One slab of a {@link Pool}: {@code capacity} items of {@code stride} bytes carved from
 * one contiguous arena span starting at {@code base}, and the <b>ownership record</b> of
 * each of its items (see the package documentation): one byte an item in {@code states},
 * on the Java heap, never in the items.
 *
 * <pre>
 *            pool get (lock)               layer park (CAS, no lock)
 *   FREE ──────────────────────▶ OUT ───────────────────────────▶ PARKED
 *     ▲   ◀──────────────────────  │  ◀───────────────────────────   │
 *     │     pool put (CAS, lock)      layer hit (plain store, owner)  │
 *     └───────────────────────────────────────────────────────────────┘
 *                layer returns parked items to the pool (lock)
 * </pre>
 *
 * <h2>Where the records sit: one cache line per group of items</h2>
 * The layer methods write an item's record on every cache get and put, from the thread
 * that holds the item, so records of items that different threads hold at once must not
 * share a cache line (64 bytes; the array's own alignment is unknown, so "not in one line"
 * means "at least 64 bytes apart"). Which items are held at once follows the free stack:
 * it pops a fresh slab's items in index order, and a thread's run of misses (the items its
 * magazine later holds) takes consecutive pops, so two threads' first items, or the items
 * of two magazines filled one after the other, are runs of neighbouring indices. The records are therefore spread
 * over {@value #GROUPS} <b>groups</b>: item {@code i} is byte {@code i >>> 6} of group
 * {@code i & 63}, a group is {@code perGroup = ceil(capacity / 64)} bytes followed by 63
 * bytes of gap, and a {@value #PAD}-byte pad leads and ends the array:
 * <pre>
 *   offset(i) = PAD + (i &amp; 63) * (63 + perGroup) + (i &gt;&gt;&gt; 6)
 *
 *   | pad 64 | g0: 0 64 128 .. | gap 63 | g1: 1 65 129 .. | gap 63 | .. | g63: 63 127 .. | pad 64 |
 * </pre>
 * So (tested by {@code RecordLayoutTest}): the records of any two items whose indices differ
 * by less than 64 are at least 64 bytes apart, whatever the array's address; in a slab of
 * at most 64 items every record has a line of its own; and every record is at least 64
 * bytes from either end of the array, so it shares no line with another object (this
 * slab's free stack, written by every pool get and put, is allocated just before it). Only
 * items in one group ({@code i ≡ j mod 64}) may share a line. Bytes outside the records
 * stay 0, which {@link #check} verifies.
 *
 * <p>Heap of the {@code states} array (its 16-byte header aside):
 * {@code 64 + (min(capacity, 64) - 1) * (63 + perGroup) + perGroup + 64} bytes, that is
 * {@code 64 * capacity + 65} up to 64 items (at most 4,161 bytes: 1,089 for 16 items, where
 * one byte an item took 16), and {@code 64 * perGroup + 4,097} beyond 64 items: 4,225 for
 * 65 items, 8,193 for 4096 (2.0× the 4,096 of one byte an item; with the 16 KiB free stack
 * such a slab's heap goes from about 20.5 KiB to 24.5 KiB, 1.2×), 69,633 for the largest
 * slab, 65,536 items (1.06×). A cache line of 128 bytes, or an adjacent-line prefetcher
 * that pairs 64-byte lines, would need twice the gaps: not paid for. The index arithmetic
 * is a mask, a shift and one multiply by a final field.
 *
 * <p>A record lives exactly as long as its slab: when the slab goes back to the arena the
 * {@code Slab} object is dropped (every item is then FREE) and a later slab at the same
 * address gets a fresh one. So a stale address that a layer still holds finds either no
 * slab or a record that says FREE, and is rejected.
 *
 * <p>Concurrency: the free stack and {@code prev}/{@code next} ({@link SlabSet}'s bucket
 * links) are guarded by the pool's lock. The state bytes are read and written through
 * {@link #STATE}: FREE → OUT under the lock (a release store), OUT → FREE under the lock
 * by CAS (it races with a layer's lock-free OUT → PARKED CAS, and exactly one of the two
 * wins), OUT → PARKED by a lock-free CAS, PARKED → OUT by the layer that holds the parked
 * item (only it can, since no other path accepts a PARKED item), PARKED/OUT → FREE under
 * the lock when a layer returns items it holds. Every access names the record by
 * {@link #offset}, a pure function of the index and the final {@code groupBytes}, so each
 * item's record is one fixed byte of the array exactly as before; the layout changes only
 * which bytes are records, never how a record is read or written.
 */
final class Slab {
    static final byte FREE = 0;
    static final byte OUT = 1;
    static final byte PARKED = 2;

    private static final VarHandle STATE = MethodHandles.arrayElementVarHandle(byte[].class);

    /** Bytes a cache line is assumed to span; records that must not share one are this far apart. */
    static final int LINE = 64;
    /** Groups the records are spread over: items whose indices differ by less than this are in different groups. */
    static final int GROUPS = 64;
    private static final int GROUP_SHIFT = Integer.numberOfTrailingZeros(GROUPS);
    /** Bytes before the first record and after the last, so no record shares a line with another object. */
    static final int PAD = LINE;

    final long base;
    final int capacity;
    /** Pool lock; dropped by {@link #retire()}, since a dead slab may still be named by a record table entry. */
    private int[] freeStack;
    private int freeCount;
    /** The records, laid out as the class comment shows; every byte that is not a record stays 0. */
    private final byte[] states;
    /** {@code 63 + perGroup}: the distance between the first records of two neighbouring groups. */
    private final int groupBytes;

    Slab prev;
    Slab next;
    /**
     * Set (volatile) by {@link SlabDirectory#remove} under the pool lock when the slab leaves
     * the pool, never cleared: a layer that holds a parked or out item of this slab
     * happens-after the get that took it, and so after any earlier removal of a slab at the
     * same address, so reading false proves to it that this is the live slab.
     */
    private volatile boolean retired;

    Slab(long base, int capacity) {
        this.base = base;
        this.capacity = capacity;
        this.freeStack = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            freeStack[i] = capacity - 1 - i;
        }
        this.freeCount = capacity;
        this.groupBytes = groupBytes(capacity);
        this.states = new byte[recordBytes(capacity)];
    }

    private static int perGroup(int capacity) {
        return (capacity + GROUPS - 1) >>> GROUP_SHIFT;
    }

    private static int groupBytes(int capacity) {
        return LINE - 1 + perGroup(capacity);
    }

    /** The length of the records array of a slab of {@code capacity} items (see the class comment). */
    static int recordBytes(int capacity) {
        return PAD + (Math.min(capacity, GROUPS) - 1) * groupBytes(capacity) + perGroup(capacity) + PAD;
    }

    /** The offset in the records array of item {@code index}'s record. */
    int offset(int index) {
        return PAD + (index & (GROUPS - 1)) * groupBytes + (index >>> GROUP_SHIFT);
    }

    /** The length of this slab's records array. */
    int recordBytes() {
        return states.length;
    }

    boolean retired() {
        return retired;
    }

    /**
     * Under the lock, as the slab leaves the pool (every record FREE). The free stack goes
     * too: {@link ItemRecords}' table may keep a dead slab reachable until its entry is
     * reused, and then only its records array stays on the heap.
     */
    void retire() {
        retired = true;
        freeStack = null;
    }

    int freeCount() {
        return freeCount;
    }

    boolean isIdle() {
        return freeCount == capacity;
    }

    /** Under the lock: takes a free item and records it OUT; the caller knows {@code freeCount() > 0}. */
    int take() {
        int index = freeStack[--freeCount];
        STATE.setRelease(states, offset(index), OUT);
        return index;
    }

    /** The item's state now (acquire read). */
    byte state(int index) {
        return (byte) STATE.getAcquire(states, offset(index));
    }

    /**
     * Under the lock: OUT → FREE by CAS (a put accepts the item); returns the state found,
     * {@code OUT} when the put won, anything else when it must be rejected (nothing changed).
     * The caller then {@link #free frees} the item or {@link #handOut hands it out} again.
     */
    byte release(int index) {
        return (byte) STATE.compareAndExchange(states, offset(index), OUT, FREE);
    }

    /** Under the lock: an item a layer held (OUT or PARKED) → FREE; returns the state found, FREE when rejected. */
    byte releaseHeld(int index) {
        byte s;
        do {
            s = state(index);
            if (s == FREE) {
                return FREE;
            }
        } while (!STATE.compareAndSet(states, offset(index), s, FREE));
        return s;
    }

    /** Under the lock: pushes an item that {@link #release} just made FREE back on the free stack. */
    void free(int index) {
        freeStack[freeCount++] = index;
    }

    /** Under the lock: an item a put just released goes straight to a waiting get: FREE → OUT again. */
    void handOut(int index) {
        STATE.setRelease(states, offset(index), OUT);
    }

    /** No lock: OUT → PARKED, one CAS; returns the state found when it was not OUT (nothing changes then). */
    byte park(int index) {
        return (byte) STATE.compareAndExchange(states, offset(index), OUT, PARKED);
    }

    /** No lock, by the layer holding the parked item: PARKED → OUT. */
    void unpark(int index) {
        STATE.setRelease(states, offset(index), OUT);
    }

    /** No lock, by a layer that knows it holds the item exactly once: → PARKED without a CAS. */
    void parkOwned(int index) {
        STATE.setRelease(states, offset(index), PARKED);
    }

    /** Counts the states and checks them against the free stack; returns the items PARKED. */
    int check(String pool) {
        int used = 0;
        int parked = 0;
        for (int i = 0; i < capacity; i++) {
            byte s = state(i);
            if (s != FREE) {
                used++;
            }
            if (s == PARKED) {
                parked++;
            }
        }
        int nonZero = 0;
        for (int o = 0; o < states.length; o++) {
            if ((byte) STATE.getAcquire(states, o) != FREE) {
                nonZero++;
            }
        }
        if (nonZero != used) {
            throw new IllegalStateException("pool '" + pool + "' invariant broken: slab at " + Hex.of(base)
                    + " has " + (nonZero - used) + " non-zero bytes outside its item records");
        }
        if (used != capacity - freeCount) {
            throw new IllegalStateException("pool '" + pool + "' invariant broken: slab at " + Hex.of(base)
                    + " has " + used + " items recorded out or parked but " + (capacity - freeCount) + " not on its free stack");
        }
        for (int i = 0; i < freeCount; i++) {
            if (state(freeStack[i]) != FREE) {
                throw new IllegalStateException("pool '" + pool + "' invariant broken: item " + freeStack[i]
                        + " of slab " + Hex.of(base) + " is both free and recorded " + name(state(freeStack[i])));
            }
        }
        return parked;
    }

    static String name(byte state) {
        return switch (state) {
            case FREE -> "free";
            case OUT -> "out";
            case PARKED -> "parked";
            default -> "state " + state;
        };
    }
}

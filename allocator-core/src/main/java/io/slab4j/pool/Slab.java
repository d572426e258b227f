package io.slab4j.pool;

import io.slab4j.arena.Hex;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One slab of a {@link Pool}: {@code capacity} items of {@code stride} bytes carved from
 * one contiguous arena span starting at {@code base}, and the <b>ownership record</b> of
 * each of its items (see the package documentation): one byte an item, on the Java heap,
 * never in the items.
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
 * the lock when a layer returns items it holds.
 */
final class Slab {
    static final byte FREE = 0;
    static final byte OUT = 1;
    static final byte PARKED = 2;

    private static final VarHandle STATE = MethodHandles.arrayElementVarHandle(byte[].class);

    final long base;
    final int capacity;
    /** Pool lock; dropped by {@link #retire()}, since a dead slab may still be named by a record table entry. */
    private int[] freeStack;
    private int freeCount;
    private final byte[] states;

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
        this.states = new byte[capacity];
    }

    boolean retired() {
        return retired;
    }

    /**
     * Under the lock, as the slab leaves the pool (every record FREE). The free stack goes
     * too: {@link ItemRecords}' table may keep a dead slab reachable until its entry is
     * reused, and then only its state bytes (one a item) stay on the heap.
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
        STATE.setRelease(states, index, OUT);
        return index;
    }

    /** The item's state now (acquire read). */
    byte state(int index) {
        return (byte) STATE.getAcquire(states, index);
    }

    /**
     * Under the lock: OUT → FREE by CAS (a put accepts the item); returns the state found,
     * {@code OUT} when the put won, anything else when it must be rejected (nothing changed).
     * The caller then {@link #free frees} the item or {@link #handOut hands it out} again.
     */
    byte release(int index) {
        return (byte) STATE.compareAndExchange(states, index, OUT, FREE);
    }

    /** Under the lock: an item a layer held (OUT or PARKED) → FREE; returns the state found, FREE when rejected. */
    byte releaseHeld(int index) {
        byte s;
        do {
            s = state(index);
            if (s == FREE) {
                return FREE;
            }
        } while (!STATE.compareAndSet(states, index, s, FREE));
        return s;
    }

    /** Under the lock: pushes an item that {@link #release} just made FREE back on the free stack. */
    void free(int index) {
        freeStack[freeCount++] = index;
    }

    /** Under the lock: an item a put just released goes straight to a waiting get: FREE → OUT again. */
    void handOut(int index) {
        STATE.setRelease(states, index, OUT);
    }

    /** No lock: OUT → PARKED, one CAS; returns the state found when it was not OUT (nothing changes then). */
    byte park(int index) {
        return (byte) STATE.compareAndExchange(states, index, OUT, PARKED);
    }

    /** No lock, by the layer holding the parked item: PARKED → OUT. */
    void unpark(int index) {
        STATE.setRelease(states, index, OUT);
    }

    /** No lock, by a layer that knows it holds the item exactly once: → PARKED without a CAS. */
    void parkOwned(int index) {
        STATE.setRelease(states, index, PARKED);
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

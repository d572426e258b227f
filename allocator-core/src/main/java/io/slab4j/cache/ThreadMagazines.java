package io.slab4j.cache;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.WeakReference;

/**
 * One thread's magazines in one {@link PoolCache} (Bonwick's per-CPU cache, per thread
 * here): a loaded magazine that gets pop from and puts push to, and a previous one that is
 * always full or empty, so that a thread alternating around a magazine boundary swaps
 * instead of going to the depot.
 *
 * <h2>The lease</h2>
 * The magazines belong to whoever holds the lease, one state word:
 * <pre>
 *   OUTSIDE ──owner enters a call (CAS)──▶ INSIDE ──owner leaves (release store)──▶ OUTSIDE
 *   OUTSIDE ──reclaimer (CAS)──▶ TAKEN ──empties the magazines, release store──▶ OUTSIDE
 *   OUTSIDE ──close or sweep of an exited owner (CAS)──▶ RETIRED   (final)
 * </pre>
 * Only the owner thread moves OUTSIDE → INSIDE, and it touches {@code loaded},
 * {@code previous} only while INSIDE; another thread touches them only while it holds
 * TAKEN or after it set RETIRED. Why this is sound under the Java memory model: every
 * transition out of OUTSIDE is a CAS (volatile read and write) that reads the value written
 * by the release store that made it OUTSIDE, so the writes of the previous holder to the
 * magazines happen-before the reads of the next (release/acquire, as the VarHandle
 * specification gives it, and as the java.util.concurrent locks rely on); and the CAS lets
 * exactly one of the owner and a reclaimer win, so they never touch the magazines at once.
 * A thread that has exited is simply OUTSIDE forever, so its items are reclaimed like an
 * idle thread's: nothing depends on the {@code Thread} or the {@code ThreadLocal} being
 * collected (the weak reference only lets a sweep drop the holder from the registry).
 *
 * <p>The owner never waits for a reclaimer: when its CAS finds TAKEN it bypasses the
 * magazines for that call and goes to the pool. A reclaimer never waits for the owner: it
 * skips an INSIDE holder's magazines, taking its hot item still (the owner is in a short,
 * non-blocking step; {@link PoolCache#close} alone waits for that step to end).
 *
 * <h2>The hot slot</h2>
 * One more word, {@code hot}, parks at most one item outside the magazines: a put that finds
 * it empty leaves the item there and a get that finds it full takes it, neither touching the
 * lease. Its states:
 * <pre>
 *   EMPTY (0) ──owner's put: CAS 0 → x──▶ x ──any consumer: CAS x → 0──▶ EMPTY
 *   EMPTY or x ──retire (close, sweep of an exited owner): getAndSet SEALED──▶ SEALED   (final)
 * </pre>
 * Producer: the owner's put of an item it owns (after the put's record CAS with checks on),
 * and a {@link Depot#check} putting back what it lifted; consumers: the owner's get, and every
 * reclaimer (takeIdle, feedWaiters, retire), whatever the lease's state. Every transition is an
 * atomic read-modify-write of the one word, so they form one modification order in which each
 * RMW reads the value just before it: an item x written by the CAS 0 → x is removed by exactly
 * one later successful RMW (CAS x → 0 or getAndSet), whose caller then owns x; a failed CAS
 * changes nothing and owns nothing. A value x in the slot means x is parked there now, so a
 * consumer whose CAS x → 0 succeeds on a slot refilled with the same address since it read it
 * (ABA) takes an item that is parked there: harmless. The producer's CAS is a volatile write
 * and the winning consumer's RMW a volatile read of it, so what the producer did before (the
 * record's PARKED store with checks on) happens-before what the consumer does after.
 *
 * <p>Why the producer cannot be a plain (release) store after a check for 0, although only
 * the owner writes items: {@link #retireIfOutside} (close) must, once it returns, know that no
 * item will arrive any more. A check-then-store leaves the owner between its read of
 * {@code closed} or of 0 and its store, a window nothing it has written reveals (loads are
 * invisible to other threads), so the closer cannot wait for it and the store would land after
 * the close took the slot, parking an item in a closed cache for good ({@code
 * PoolCacheHotSlotStressTest}'s close race finds such an item within a few hundred rounds when
 * the fill is a plain store). Making the closer's
 * seal and the producer's fill one word's atomic RMWs closes the window without any wait: after
 * the seal, the producer's CAS fails and its put takes the lease path, which finds RETIRED and
 * bypasses to the pool as before.
 *
 * <h2>Layout</h2>
 * The owner writes {@code hot} and a counter on every get and put: {@link LeadingPad} keeps
 * them two cache lines away from whatever a collection places in front of the holder
 * (another thread's holder, for one). The holder's last fields are references that change
 * only when magazines rotate.
 *
 * <h2>Counters</h2>
 * Written by the owner alone with {@code setOpaque} and read with {@code getOpaque}:
 * each exact, not a consistent snapshot across counters.
 */
final class ThreadMagazines extends LeadingPad {
    static final int OUTSIDE = 0;
    static final int INSIDE = 1;
    static final int TAKEN = 2;
    static final int RETIRED = 3;

    /** The owner, weakly: a registered holder must not keep an exited thread's object alive. */
    private final WeakReference<Thread> owner;
    /** The owner's name, for messages after the thread object is gone. */
    final String ownerName;
    /** Gets pop here, puts push here. Lease holder only. */
    private Magazine loaded;
    /** Full or empty, never partly loaded. Lease holder only. */
    private Magazine previous;
    /** OUTSIDE, INSIDE, TAKEN or RETIRED; see the class comment. */
    private volatile int lease;
    /** The hot slot: 0, an item, or SEALED; only atomic RMWs write it (see the class comment). */
    private volatile long hot;

    /** The hot slot's final value after retire; never an item address handed to the slot. */
    static final long SEALED = -1L;

    /** Counters, owner writes opaque. */
    private long hits;
    private long misses;
    private long puts;
    private long waiterPuts;
    private long bypasses;

    private static final VarHandle LEASE;
    private static final VarHandle HOT;
    private static final VarHandle HITS;
    private static final VarHandle MISSES;
    private static final VarHandle PUTS;
    private static final VarHandle WAITER_PUTS;
    private static final VarHandle BYPASSES;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            LEASE = lookup.findVarHandle(ThreadMagazines.class, "lease", int.class);
            HOT = lookup.findVarHandle(ThreadMagazines.class, "hot", long.class);
            HITS = lookup.findVarHandle(ThreadMagazines.class, "hits", long.class);
            MISSES = lookup.findVarHandle(ThreadMagazines.class, "misses", long.class);
            PUTS = lookup.findVarHandle(ThreadMagazines.class, "puts", long.class);
            WAITER_PUTS = lookup.findVarHandle(ThreadMagazines.class, "waiterPuts", long.class);
            BYPASSES = lookup.findVarHandle(ThreadMagazines.class, "bypasses", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    ThreadMagazines(Thread owner, int magazineSize) {
        this.owner = new WeakReference<>(owner);
        this.ownerName = owner.getName();
        this.loaded = new Magazine(magazineSize);
        this.previous = new Magazine(magazineSize);
    }

    // --------------------------------------------------------------- the lease

    /** Owner: enters a call; false when a reclaimer holds the magazines now or the holder is retired. */
    boolean enter() {
        return LEASE.compareAndSet(this, OUTSIDE, INSIDE);
    }

    /** Owner: leaves the call (a release store: the call's writes are visible to the next holder). */
    void exit() {
        LEASE.setRelease(this, OUTSIDE);
    }

    int lease() {
        return lease;
    }

    /**
     * Reclaimer: when the owner is outside a call, takes every parked round out and returns
     * them; null when the owner is inside (or the holder is retired); an empty array when
     * there was nothing to take.
     */
    long[] takeIdle() {
        long first = pollHot(); // the hot slot needs no lease: taken even while the owner is inside
        if (!LEASE.compareAndSet(this, OUTSIDE, TAKEN)) {
            return first == 0 ? null : new long[] {first};
        }
        try {
            return drainAll(first);
        } finally {
            LEASE.setRelease(this, OUTSIDE);
        }
    }

    /** Any thread: holds the magazines still for a check, when the owner is outside a call; false when it is not. */
    boolean holdForCheck() {
        return LEASE.compareAndSet(this, OUTSIDE, TAKEN);
    }

    /** Ends {@link #holdForCheck()}. */
    void endCheck() {
        LEASE.setRelease(this, OUTSIDE);
    }

    /**
     * Any thread: retires the holder once its owner is outside a call, sealing the hot slot;
     * its rounds (the hot item's too), or null if it was not outside.
     */
    long[] retireIfOutside() {
        if (!LEASE.compareAndSet(this, OUTSIDE, RETIRED)) {
            return null;
        }
        long last = (long) HOT.getAndSet(this, SEALED); // from here no put can fill it
        return drainAll(last == SEALED ? 0 : last);
    }

    /** Lease holder: every round of both magazines, and {@code first} (0: none) before them. */
    private long[] drainAll(long first) {
        int extra = first != 0 ? 1 : 0;
        int n = loaded.count() + previous.count() + extra;
        if (n == 0) {
            return EMPTY;
        }
        long[] out = new long[n];
        out[0] = first;
        previous.drainTo(out, loaded.drainTo(out, extra));
        return out;
    }

    // ------------------------------------------------------------- the hot slot

    /**
     * Owner, for an item it owns: parks it in the hot slot when the slot is empty (one CAS,
     * tried only after a read saw 0, so a full slot costs no locked instruction); false when
     * the slot is full or sealed, or the address is {@link #SEALED} itself (a bad address with
     * checks off, left to the magazine path).
     */
    boolean offerHot(long address) {
        return (long) HOT.getOpaque(this) == 0 && address != SEALED && HOT.compareAndSet(this, 0L, address);
    }

    /** Any thread: takes the hot item (the CAS's winner owns it); 0 when the slot is empty or sealed, or the CAS lost. */
    long pollHot() {
        long x = (long) HOT.getAcquire(this);
        return x != 0 && x != SEALED && HOT.compareAndSet(this, x, 0L) ? x : 0;
    }

    /** A check giving back the hot item it lifted with {@link #pollHot}: false when the owner refilled the slot meanwhile. */
    boolean restoreHot(long address) {
        return HOT.compareAndSet(this, 0L, address);
    }

    /** The slot's value now (0, an item, or {@link #SEALED}), racy: for checks and tests. */
    long peekHot() {
        return (long) HOT.getOpaque(this);
    }

    /** Racy: 1 when the slot holds an item now, for estimates. */
    private int hotEstimate() {
        long x = (long) HOT.getOpaque(this);
        return x != 0 && x != SEALED ? 1 : 0;
    }

    private static final long[] EMPTY = new long[0];

    /** True when the owner has terminated (or its thread object is gone, which implies that). */
    boolean ownerExited() {
        Thread t = owner.get();
        return t == null || !t.isAlive();
    }

    // ------------------------------------------------ lease holder: the fast path

    /** Get steps 1 and 2: pop from loaded, or swap in a full previous; 0 when both are empty. */
    long take() {
        Magazine m = loaded;
        if (m.isEmpty()) {
            Magazine p = previous;
            if (p.isEmpty()) {
                return 0;
            }
            loaded = p;
            previous = m;
            m = p;
        }
        return m.pop();
    }

    /** Put steps 3 and 4: push to loaded, or swap in an empty previous; false when both are full. */
    boolean give(long address) {
        Magazine m = loaded;
        if (m.isFull()) {
            Magazine p = previous;
            if (!p.isEmpty()) {
                return false;
            }
            loaded = p;
            previous = m;
            m = p;
        }
        m.push(address);
        return true;
    }

    Magazine loaded() {
        return loaded;
    }

    Magazine previous() {
        return previous;
    }

    /** Loads {@code next} and keeps the old loaded as previous; returns the old previous (for the depot). */
    Magazine rotate(Magazine next) {
        Magazine old = previous;
        previous = loaded;
        loaded = next;
        return old;
    }

    /** Racy estimate of the rounds parked here, for messages. */
    int parkedEstimate() {
        return loaded.count() + previous.count() + hotEstimate();
    }

    // ------------------------------------------------------------------ counters

    void countHit() {
        HITS.setOpaque(this, hits + 1);
    }

    void countMiss() {
        MISSES.setOpaque(this, misses + 1);
    }

    void countPut() {
        PUTS.setOpaque(this, puts + 1);
    }

    void countWaiterPut() {
        WAITER_PUTS.setOpaque(this, waiterPuts + 1);
    }

    void countBypass() {
        BYPASSES.setOpaque(this, bypasses + 1);
    }

    Counts counts() {
        return new Counts((long) HITS.getOpaque(this), (long) MISSES.getOpaque(this), (long) PUTS.getOpaque(this),
                (long) WAITER_PUTS.getOpaque(this), (long) BYPASSES.getOpaque(this));
    }

    /** One holder's counters, or a sum of several. */
    record Counts(long hits, long misses, long puts, long waiterPuts, long bypasses) {
        static final Counts ZERO = new Counts(0, 0, 0, 0, 0);

        Counts plus(Counts o) {
            return new Counts(hits + o.hits, misses + o.misses, puts + o.puts, waiterPuts + o.waiterPuts, bypasses + o.bypasses);
        }
    }
}

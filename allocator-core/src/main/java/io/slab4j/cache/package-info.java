/**
 * Magazine layers over a {@link io.slab4j.pool.Pool} (after NetBSD {@code pool_cache(9)} and
 * Bonwick and Adams, "Magazines and Vmem", USENIX 2001): per-thread magazines of item
 * addresses and a shared depot, so that most gets and puts take no lock.
 *
 * <h2>Ownership</h2>
 * A cache keeps no record of its own: with checks on it moves each item's record in the
 * pool ({@code Pool.park} on a put, one CAS; {@code Pool.unpark} on a hit, a plain store),
 * so the pool's rule (see {@code io.slab4j.pool}) covers cache and pool paths alike.
 *
 * <h2>Leases and reclaim</h2>
 * Each thread's magazines sit under a lease, one state word per thread and cache: the owner
 * enters a call with a CAS and leaves with a release store; a reclaimer takes an idle
 * owner's magazines with a CAS and gives the empty ones back with a release store. The CAS
 * makes owner and reclaimer mutually exclusive, and release/acquire orders the writes of one
 * before the reads of the next, so the hand-off is sound under the Java memory model without
 * any lock on the fast path. An exited thread is an idle thread that never returns: its
 * items are reclaimed the same way, so no correctness depends on a {@code ThreadLocal} or a
 * {@code Thread} being collected. The pool asks for a reclaim before a get blocks and
 * periodically while gets wait; {@code close} takes every thread's magazines.
 *
 * <h2>Hot slots</h2>
 * Beside its magazines each thread has one hot slot, an item address in one word that only
 * compare-and-set and get-and-set change: the owner's put fills it when empty, the owner's get
 * and any reclaimer empty it, whatever the lease's state, and close seals it for good. One
 * word's atomic updates are totally ordered, so each item in it has exactly one taker.
 *
 * <h2>Thread-bound handles</h2>
 * {@code PoolCache.local()} gives the calling thread a handle on its own magazines, so its
 * calls skip the {@code ThreadLocal} lookup. It changes nothing above: the same lease, so a
 * reclaimer or {@code close} treats the owner the same whichever way it calls; only the owner
 * may use it (another thread is refused before anything changes).
 *
 * <h2>Lock order</h2>
 * Depot, never then the pool: magazines taken from the depot are returned to the pool after
 * its lock is released. A thread holding its lease may take the depot lock briefly, never the
 * pool's (its calls on the pool under the lease, {@code park}, are lock-free); nobody waits
 * for a lease except {@code close}, and it holds no lock then.
 */
package io.slab4j.cache;

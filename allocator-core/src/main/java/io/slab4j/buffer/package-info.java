/**
 * {@code BufferPool}: off-heap buffers for server applications, over the lower layers of
 * slab4j (see DESIGN.md, section {@code io.slab4j.buffer}).
 *
 * <h2>Layout</h2>
 * <pre>
 *   BufferPool ── one VirtualRegion (reserve = hard cap), one Arena over it
 *     ├─ SizeClass[i]: Pool(size_i) + PoolCache (magazines)   sizes ≤ the largest class
 *     │    └─ ClassTally per thread: its in-use counts and PoolCache.Local (the handles' Supply)
 *     ├─ LargeSpans: page spans from the arena, cached committed up to a high water mark,
 *     │    in stripes (a home stripe per thread), each with a one-span hot slot in front of
 *     │    its cache (parked and taken by CAS); LargeSpans.Sized is the handles' Supply
 *     ├─ ThreadState per thread (ThreadLocal): its tallies, home stripe, random sequence
 *     ├─ ClosingEvent: wakes blocked acquires on close
 *     └─ ViewRegistry: weak set of open buffers with views (detached on close)
 *   PooledBuffer: one per acquire, 24 B (word, link) ─ Extras (supply, views, LeakWatch) on demand
 *   RawHolder: the raw API's receiver (an adapter's own buffer object); its token is the
 *     Supply, or a BufferPool.RawWatch (supply and LeakWatch) when the acquire was sampled
 *   DirectViews (sun.misc.Unsafe, the only user) · AgronaViews (loaded only by buffer())
 * </pre>
 *
 * <h2>Ownership rule</h2>
 * An address is owned by exactly one of: a layer below (pool, magazine, arena, large-span
 * cache), one open {@link io.slab4j.buffer.PooledBuffer}, or one
 * {@link io.slab4j.buffer.RawHolder} between its {@code hold} and its {@code releaseRaw}. A
 * handle moves from open to closed by one CAS; only the winner hands the address back, so the
 * layers below never see a double return through a handle, and the size classes build their
 * caches without the put checks (the argument is in {@code SizeClass}). A raw holder brings
 * its own guard instead (the contract of {@code RawHolder}; the Netty adapter's is its
 * reference count): a holder that released twice would break the pool, which is why that API
 * is for adapters that have such a guard anyway. A raw holder sampled by the leak detector is
 * watched itself, and {@code releaseRaw} keeps it reachable until the watch is disarmed. A leaked handle's address goes back
 * through its {@code LeakWatch}, which runs only if the handle was never closed (it disarms
 * on close, and the closing handle stays reachable until it has).
 *
 * <h2>Waits</h2>
 * Every blocked acquire syncs on one Concurrent ML choice: the class pool's
 * {@code getEvent()} (itself {@code choose(put, withNack(arena grow))}) or, for large
 * buffers, the arena's {@code allocEvent}; plus the pool's {@code ClosingEvent} and the
 * timeout. One offer per sync; the losing registrations are withdrawn before {@code sync}
 * returns (see {@code io.slab4j.event}). A blocked acquire counts in {@code waiters()} from
 * just before its sync to just after it.
 *
 * <h2>Views and memory safety</h2>
 * Java 17 cannot revoke a {@code ByteBuffer}. Views are made lazily and detached on close
 * (zero length), which protects every thread that saw the close happen-before; an access that
 * races the close from another thread is the caller's data race. See
 * {@link io.slab4j.buffer.PooledBuffer}.
 *
 * <h2>Lock order</h2>
 * This package holds at most one of its own monitors at a time (an {@code Extras}, a
 * large-span stripe, a size class's tally list, the closing event's lock) and never while
 * calling a pool, cache or the arena.
 */
package io.slab4j.buffer;

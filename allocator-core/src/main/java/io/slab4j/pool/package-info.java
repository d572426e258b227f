/**
 * Pools of fixed-size items carved from slabs of arena pages (after NetBSD {@code pool(9)}),
 * whose empty get waits on a put or a grow, whichever comes first.
 *
 * <h2>The wait protocol, as the pool runs it</h2>
 * A get polls once, under the pool lock: a free item, or, under the hard limit, a slab the
 * arena gives now. Before it blocks it asks the pool's {@link io.slab4j.pool.Reclaimer}s
 * (magazine layers) to return idle parked items. Then it syncs (the event protocol of
 * {@code io.slab4j.event}) on a put <em>or</em> a grow: its waiter queues in the pool's FIFO
 * of put waiters, and its grow reserves a slab's items against the hard limit and forwards
 * the same waiter into the arena's queue (or, at the limit, queues in the pool until
 * capacity returns). A blocking get does both in one registration of one base event
 * ({@code GetWait}); {@code getEvent()} composes them as {@code choose(put, withNack(grow))}.
 * A put claims the oldest live put waiter's offer before handing it the item; the arena
 * claims the offer before carving the slab. The loser is withdrawn and the grow's
 * reservation released (by the get when its sync ends, or by the grow branch's nack), which
 * forwards the oldest grow queued for capacity: the cure for the hang of the NetBSD
 * tech-kern thread "pools and scarcity" (PR kern/45718), where a get slept in the arena
 * while items came back to the pool.
 *
 * <h2>Lock order</h2>
 * Each pool has one lock (a {@code CountingLock}). It guards everything of that pool but the
 * ownership records' lock-free moves: {@code SlabStock} and its {@code SlabSet},
 * {@code GrowSupply}, {@code PutWaiters}, {@code PoolCounts}, {@code GrowTicket}s and the
 * reclaimer list's writes. {@code Pool}, {@code ArenaTraffic} and {@code GetWaits} are the
 * only classes that take it.
 * Pool, then arena (a grow is forwarded to the arena under the pool lock); the arena never
 * calls back into the pool under its own lock. Waiters are completed (unparked) and slabs
 * returned to the arena after the pool lock is released. A layer's locks (a cache's depot)
 * are never held while calling the pool, and the pool calls layers ({@code Reclaimer})
 * holding none of its locks. User code never runs under any of them.
 *
 * <h2>The ownership rule</h2>
 * Every item has one ownership record, a byte in its slab's metadata on the Java heap,
 * found from the address by arithmetic ({@code SlabDirectory}), and shared by the pool and
 * every layer over it ({@code PoolCache}, {@code BufferPool}):
 * <pre>
 *   FREE ──get──▶ OUT ──layer parks it (CAS)──▶ PARKED ──layer hands it out──▶ OUT
 *    ▲             │                               │
 *    └──put (CAS)──┘◀──────layer returns it────────┘
 * </pre>
 * A put (from any path) is accepted only by winning a CAS from OUT, so a double free, a put
 * of an item parked in a cache, or of an address that is not an item of this pool (foreign,
 * interior, or of a slab that has since gone back to the arena and may now belong to
 * another pool) is rejected with {@code IllegalArgumentException}, however calls are mixed.
 * A record lives as long as its slab: a slab at the same address later gets a fresh one.
 */
package io.slab4j.pool;

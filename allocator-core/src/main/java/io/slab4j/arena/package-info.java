/**
 * The arena: spans of one address range, in the style of vmem (Bonwick &amp; Adams,
 * "Magazines and Vmem", USENIX 2001), with waits that a free can satisfy or a losing
 * choice can withdraw. The public surface is {@link io.slab4j.arena.Arena}, its builder,
 * {@link io.slab4j.arena.ArenaStats} and {@link io.slab4j.arena.Fit}; the rest is
 * package-private.
 *
 * <h2>Parts</h2>
 * <ul>
 *   <li>{@code TagTable}: the boundary tags, one word per quantum ({@code Tags}), the
 *       size-class bins of free segments ({@code SizeBins}), the fits ({@code TagSearch})
 *       and a blocked head's window ({@code TagWindow}): where a span can go.
 *   <li>{@code WaitingOrder}, {@code SpanQueue}, {@code SpanRequest}: who may be carved
 *       now (FIFO, a window for a blocked head, the cap).
 *   <li>{@code Backing}: what happens to the memory, nothing for a plain range, or
 *       {@code CommitChunks} over a region's {@code Pages} (mprotect(2) in aligned chunks,
 *       madvise(2) {@code MADV_DONTNEED} for spans freed inside a live chunk).
 *   <li>{@code Handover}: a span between the lock and the OS (carve, commit, hand over;
 *       the undo of a failed commit; release and serve on free); {@code ArenaCounts}: the
 *       counters and the stats.
 *   <li>{@code AllocEvent}: the arena as an event source.
 * </ul>
 *
 * <h2>The arena as an event source</h2>
 * The arena follows the offer protocol of {@code io.slab4j.event} (DESIGN.md "The wait
 * protocol"): it claims a registration ({@code Waiter.claim}, one CAS) before anything is
 * handed to it; the claim is made under the arena lock right after the carve it wins, and a
 * failed claim puts the span straight back. Between claim and complete it does not block:
 * it commits the span (an OS call, outside the lock) and completes, or, if the commit
 * fails, gives the span back and then abandons the claim; in that order, so the waiter's
 * re-registration finds serving paused instead of being served (and failing) again at once.
 *
 * <h2>Ownership</h2>
 * A span belongs to the calling thread alone from its carve until its commit ends, and from
 * the start of its free until its release ends; the OS calls on it run with no arena lock
 * held. Once the caller has it, it is the caller's until {@code free}; a free that has
 * accepted a span always completes.
 *
 * <h2>Lock order</h2>
 * The arena lock, then the commit chunks' lock (only {@code checkInvariants} holds both);
 * page calls run under the chunks' lock alone, and inside them {@code VirtualRegion} takes
 * its own read lock. No user code (wraps, nack actions) and no other source's lock ever
 * runs under an arena lock; waking a waiter (unpark) is done outside it.
 */
package io.slab4j.arena;

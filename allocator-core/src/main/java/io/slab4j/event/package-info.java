/**
 * First-class synchronous events after Concurrent ML (Reppy, "Concurrent Programming in
 * ML", 1999), with the offer protocol of Reppy, Russo and Xiao, "Parallel Concurrent ML"
 * (2009), simplified because no source here ever blocks inside a choice.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>Event</b>: an immutable description ({@link io.slab4j.event.Event}); its
 *       leaves are <b>base events</b> ({@link io.slab4j.event.BaseEvent}) offered by a
 *       <b>source</b> (an arena, a pool, a nack, a test channel).</li>
 *   <li><b>Plain</b> event: one with no {@code guard} and no {@code withNack} inside.
 *       Instantiating it runs no user code and creates nothing to clean up.</li>
 *   <li><b>Sync</b>: one {@code sync()}/{@code poll()} call; its <b>branches</b> are its
 *       instantiated base events, each of which is also the <b>waiter</b>
 *       ({@link io.slab4j.event.Waiter}) its source is given; all waiters of one sync
 *       share its <b>offer</b>, the sync's single state word.</li>
 * </ul>
 *
 * <h2>The offer protocol</h2>
 * <pre>
 *   WAITING ──claim (CAS)──▶ CLAIMED ──complete (setRelease)──▶ DONE
 *      │  ◀──abandon (CAS)────┘
 *      └──cancel (CAS, owner only)──▶ CANCELLED
 * </pre>
 * <ol>
 *   <li><b>Poll.</b> The syncing thread polls every base event once ({@code tryNow}),
 *       from a random starting branch. A ready one is committed directly, under its
 *       source's own lock; nothing is registered. For a plain event this happens in place:
 *       no sync object, branch, waiter or offer is made at all, so a ready sync allocates
 *       nothing of its own.</li>
 *   <li><b>Register.</b> Otherwise each source gets its waiter ({@code register}) and
 *       re-checks readiness under its lock, so a release between poll and register is never
 *       missed; registering stops once the offer is no longer WAITING.</li>
 *   <li><b>Claim before transfer.</b> A source that can deliver first claims the offer.
 *       Only the winner of that CAS transfers, then completes (or, if the transfer failed,
 *       abandons, and the owner re-registers everywhere). A failed claim means the
 *       registration is stale: the source drops it and serves its next waiter.</li>
 *   <li><b>Cancel.</b> Interrupt cancels the offer; the earliest timeout claims it like a
 *       source. If the CAS fails a source holds a claim: the owner waits for DONE.</li>
 *   <li><b>Clean up</b> on the syncing thread: withdraw every registration, fire the nack
 *       of every withNack the winner is not inside; then run the winner's wraps.</li>
 * </ol>
 *
 * <h2>Ownership</h2>
 * A value belongs to its source until that source's claim succeeds; from then on the
 * claimer must complete or abandon, exactly once, without blocking. Once completed it
 * belongs to the syncing thread, which always returns it: not on interrupt, not when a
 * nack action or a cancel throws (that failure goes to the uncaught exception handler).
 * So nothing is taken for a waiter who left, and nothing is handed to two waiters.
 *
 * <h2>Locks and memory ordering</h2>
 * <ul>
 *   <li>The syncing thread holds no lock, ever: guards, withNack functions, nack actions
 *       and wraps run lock-free on it.</li>
 *   <li>A source takes only its own lock in {@code tryNow}, {@code register} and a
 *       registration's {@code cancel}; it may claim under that lock. Lock order: a source
 *       that forwards its registration to another ({@code BaseEvent.forward}: the pool's
 *       grow into the arena) holds its own lock and then takes the other's, never the
 *       reverse; so pool → arena, and no source calls back into a source above it while
 *       holding its lock. A {@code NackEvent}'s lock is a leaf: nothing is called under it.</li>
 *   <li>The offer's transitions are CASes on one {@code int} (a {@code VarHandle}); the
 *       value and branch index are plain fields written before {@code setRelease(DONE)} and
 *       read after {@code getAcquire() == DONE}. Per-sync fields are confined to the
 *       syncing thread; waiters reach other threads only through a source's lock, which
 *       also orders a source's own fields. The plain path adds no shared state.</li>
 * </ul>
 */
package io.slab4j.event;

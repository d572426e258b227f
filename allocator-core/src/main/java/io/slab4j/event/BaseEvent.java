package io.slab4j.event;

/**
 * A primitive event offered by a source (arena space, pool items, a channel, a nack):
 * the leaves of every event tree. A source implements two operations, both called by
 * the syncing thread with no lock held, and both taking only the source's own lock (lock
 * order and ownership: {@code package-info}).
 *
 * <p>The contract, which keeps "a value is never taken for a waiter who left, and never
 * handed to two waiters" (see the package documentation for the whole protocol):
 * <ul>
 *   <li>{@link #tryNow()} (the poll step) transfers only if ready now, without
 *       registering anything.</li>
 *   <li>{@link #register} (the register step) re-checks readiness under the lock, so a
 *       release that happened between poll and register is never missed.</li>
 *   <li>Whenever the source can deliver (now in {@code register}, later in its own
 *       release path), it first calls {@link Waiter#claim()}. Only after a successful
 *       claim does it transfer and call {@link Waiter#complete}. A failed claim means
 *       the registration is stale: drop it and try the next waiter in FIFO order.</li>
 *   <li>The source never blocks inside these methods or between claim and complete.</li>
 * </ul>
 *
 * <p>A {@code sync} or {@code poll} of a base event on its own (or wrapped, or in a
 * {@code choose} with no {@code guard} or {@code withNack}) that finds it ready calls
 * only {@link #tryNow()}: no {@link Waiter} is made and {@link #register} is not called.
 *
 * <p>Instances may be synced many times and by many threads at once; per-sync state
 * belongs in the {@link Waiter}, not in the event.
 *
 * @param <T> the type of value the source delivers; never null
 */
public abstract class BaseEvent<T> extends Event<T> {

    protected BaseEvent() {
    }

    /**
     * Poll: if the source can deliver now, perform the transfer under the source's own
     * lock and return the value; else return null. Called with no lock held, on the
     * syncing thread. Must not block. An exception propagates from {@code sync}/
     * {@code poll} (after the sync's clean-up), so the transfer must not have happened.
     *
     * @return the transferred value, or null if not ready
     */
    protected abstract T tryNow();

    /**
     * Register: under the source's lock, re-check readiness.
     * <ul>
     *   <li>If ready: call {@code waiter.claim()}. If the claim succeeds, perform the
     *       transfer, call {@code waiter.complete(value)} and return
     *       {@link Registration#NONE}. If it fails (another branch already won), return
     *       {@code Registration.NONE} without transferring.</li>
     *   <li>If not ready: enqueue the waiter in the source's FIFO queue and return a
     *       {@link Registration} whose {@code cancel()} removes it (idempotent, takes the
     *       source lock).</li>
     * </ul>
     * Called with no lock held, on the syncing thread, at most once per waiter. When a
     * release later makes the source ready, it serves its queue oldest first, claiming
     * each waiter before transferring to it, dropping those whose claim fails.
     *
     * @param waiter this sync's handle for this base event
     * @return how to withdraw the waiter; never null
     */
    protected abstract Registration register(Waiter<T> waiter);

    /**
     * Registers {@code waiter} on {@code target} exactly as a sync would, for a source
     * that hands its own registration on to another source: a pool whose grow waits in
     * the arena's queue under the same offer. The forwarding source calls this from its
     * own {@code register} or release path and withdraws the returned registration when
     * its own is cancelled. The claim-before-transfer rule applies unchanged: whichever
     * source claims the offer first wins it.
     */
    public static <T> Registration forward(BaseEvent<T> target, Waiter<T> waiter) {
        return target.register(waiter);
    }

    @Override
    final void instantiate(Sync sync, Branch.Wraps wraps, NackEvent nacks) {
        sync.addBranch(this, wraps, nacks);
    }

    @Override
    final int plainBranches() {
        return 1;
    }

    @Override
    final Object pollPlain(int from, int to, int first, long start) {
        return from <= first && first < to ? tryNow() : null;
    }
}

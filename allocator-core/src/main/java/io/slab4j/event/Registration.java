package io.slab4j.event;

/**
 * A source's receipt for one enqueued {@link Waiter}, returned by
 * {@link BaseEvent#register}. The syncing thread calls {@link #cancel()} on every
 * registration of its sync when the sync ends (whichever branch won, on timeout, on
 * interrupt), before {@code sync} returns, so a source's waiter count is exact then.
 *
 * <p>Contract for implementations: {@code cancel()} removes the waiter from the source's
 * queue under the source's lock, is idempotent (it may run after the source already
 * dropped or completed the waiter), never blocks beyond that lock and does not throw.
 */
@FunctionalInterface
public interface Registration {
    /** Withdraws the waiter from its source; idempotent. */
    void cancel();

    /** Nothing to withdraw: the source completed the waiter, or dropped it, in register. */
    Registration NONE = () -> { };
}

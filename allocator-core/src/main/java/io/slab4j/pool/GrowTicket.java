package io.slab4j.pool;

/**
 * One waiting get's claim on the pool's hard limit, and its wait accounting.
 *
 * <pre>
 *   NEW ──reserve──▶ RESERVED ──consume──▶ CONSUMED   (the slab arrived: it is made)
 *                       └──────release───▶ RELEASED   (the grow branch lost: its nack fired,
 *                                                      or a poll found no space; it may reserve again)
 * </pre>
 * Reserved, it counts {@code itemsPerSlab} pending items against the hard limit; a ticket
 * still reserved when its sync registers again (after an abandoned claim) keeps its
 * reservation instead of taking a second one.
 *
 * <p>Guarded by the pool's lock; the wait fields are written and read on the syncing thread.
 */
final class GrowTicket {
    private enum State { NEW, RESERVED, CONSUMED, RELEASED }

    private State state = State.NEW;
    /** System.nanoTime() when the get's wait began (before its sync). Syncing thread. */
    private long startedAt;
    /** True for a get's own ticket, whose wait is counted; false for a sync on {@code getEvent()}. */
    private boolean timed;
    /** True once the get queued on the pool: a real wait. Syncing thread, under the lock. */
    private boolean queued;
    /** True once the wait has been added to the pool's statistics. */
    private boolean counted;

    boolean isReserved() {
        return state == State.RESERVED;
    }

    /** NEW or RELEASED (a poll reserved and released it before the sync registered) → RESERVED. */
    void reserve() {
        if (state == State.RESERVED || state == State.CONSUMED) {
            throw new IllegalStateException("grow ticket is " + state + ", expected NEW or RELEASED");
        }
        state = State.RESERVED;
    }

    /** RESERVED → RELEASED; false when there was no reservation to give back. */
    boolean release() {
        if (state != State.RESERVED) {
            return false;
        }
        state = State.RELEASED;
        return true;
    }

    void consume(String pool) {
        if (state != State.RESERVED) {
            throw new IllegalStateException("pool '" + pool + "': grow ticket is " + state + ", expected RESERVED");
        }
        state = State.CONSUMED;
    }

    /** The get is about to sync; its wait, if it queues, counts from now. */
    void startClock(long now) {
        startedAt = now;
        timed = true;
    }

    /** The get queued on the pool: a real wait. */
    void queued() {
        queued = true;
    }

    /** How long the get has waited, once: nanoseconds since its clock started, or -1 when it never queued or was counted already. */
    long takeWait(long now) {
        if (!timed || !queued || counted) {
            return -1;
        }
        counted = true;
        return now - startedAt;
    }

    @Override
    public String toString() {
        return state.toString();
    }
}

package io.slab4j.pool;

import io.slab4j.event.BaseEvent;

/**
 * One waiting grow's claim on the pool's hard limit, and its wait accounting. It is the base
 * event whose registration holds the claim, so a wait makes one object for both: a blocking
 * get's {@link GetWait}, or the {@link GrowEvent} of one sync of {@link Pool#getEvent()}.
 *
 * <pre>
 *   NEW ──reserve──▶ RESERVED ──consume──▶ CONSUMED   (the slab arrived: it is made)
 *                       └──────release───▶ RELEASED   (the grow lost: the get's wait ended
 *                                                      without a slab, a grow branch's nack
 *                                                      fired, or a poll found no space; it may
 *                                                      reserve again)
 * </pre>
 * Reserved, it counts {@code itemsPerSlab} pending items against the hard limit; a ticket
 * still reserved when its sync registers again (after an abandoned claim) keeps its
 * reservation instead of taking a second one.
 *
 * <p>Guarded by the pool's lock; the wait fields are written and read on the syncing thread.
 */
abstract class GrowTicket extends BaseEvent<Long> {
    private static final byte NEW = 0;
    private static final byte RESERVED = 1;
    private static final byte CONSUMED = 2;
    private static final byte RELEASED = 3;

    /** The pool's waiting side, which registers and cancels this ticket's requests. */
    final GetWaits waits;
    /** NEW, RESERVED, CONSUMED or RELEASED (a byte: the ticket is in every waiting get). Pool lock. */
    private byte state = NEW;
    /** True for a get's own ticket and for a {@code getEvent()} grow branch with no put branch beside it (their waits are counted here); false beside a put branch, whose node counts the sync's wait. */
    private boolean timed;
    /** True once the get queued on the pool: a real wait. Syncing thread, under the lock. */
    private boolean queued;
    /** True once the wait has been added to the pool's statistics. */
    private boolean counted;
    /** System.nanoTime() when the get's wait began (before its sync). Syncing thread. */
    private long startedAt;

    GrowTicket(GetWaits waits) {
        this.waits = waits;
    }

    final boolean isReserved() {
        return state == RESERVED;
    }

    /** NEW or RELEASED (a poll reserved and released it before the sync registered) → RESERVED. */
    final void reserve() {
        if (state == RESERVED || state == CONSUMED) {
            throw new IllegalStateException("grow ticket is " + stateName() + ", expected NEW or RELEASED");
        }
        state = RESERVED;
    }

    /** RESERVED → RELEASED; false when there was no reservation to give back. */
    final boolean release() {
        if (state != RESERVED) {
            return false;
        }
        state = RELEASED;
        return true;
    }

    final void consume(String pool) {
        if (state != RESERVED) {
            throw new IllegalStateException("pool '" + pool + "': grow ticket is " + stateName() + ", expected RESERVED");
        }
        state = CONSUMED;
    }

    /** The get is about to sync; its wait, if it queues, counts from now. */
    final void startClock(long now) {
        startedAt = now;
        timed = true;
    }

    /** The get queued on the pool: a real wait. */
    final void queued() {
        queued = true;
    }

    /** How long the get has waited, once: nanoseconds since its clock started, or -1 when it never queued or was counted already. */
    final long takeWait(long now) {
        if (!timed || !queued || counted) {
            return -1;
        }
        counted = true;
        return now - startedAt;
    }

    final String stateName() {
        return switch (state) {
            case NEW -> "NEW";
            case RESERVED -> "RESERVED";
            case CONSUMED -> "CONSUMED";
            default -> "RELEASED";
        };
    }
}

package io.slab4j.arena;

import io.slab4j.event.Waiter;

/**
 * One registration waiting for space in an {@link Arena}: the request, the span carved once
 * it is claimed, and its links in the arena's {@link SpanQueue}. All fields but the final
 * ones are guarded by the arena lock.
 */
final class SpanRequest {
    final Waiter<Long> waiter;
    final int quanta;
    final long alignQuanta;
    /** The carved span's start in quanta and its address, set under the arena lock after a successful claim. */
    int at;
    long address;
    SpanRequest prev;
    SpanRequest next;
    boolean linked;

    SpanRequest(Waiter<Long> waiter, int quanta, long alignQuanta) {
        this.waiter = waiter;
        this.quanta = quanta;
        this.alignQuanta = alignQuanta;
    }
}

package io.slab4j.arena;

import io.slab4j.event.WaitQueue;
import io.slab4j.event.Waiter;

/** One registration waiting for space in an {@link Arena}: the request, and the span carved once it is claimed. */
final class SpanRequest extends WaitQueue.Node<Long> {
    final int quanta;
    final long alignQuanta;
    /** The carved span, set under the arena lock after a successful claim. */
    long address;

    SpanRequest(Waiter<Long> waiter, int quanta, long alignQuanta) {
        super(waiter);
        this.quanta = quanta;
        this.alignQuanta = alignQuanta;
    }
}

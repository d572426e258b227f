package io.slab4j.arena;

import io.slab4j.event.BaseEvent;
import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

/**
 * The base event "a span of this many quanta, at this alignment, can be carved from the
 * arena": {@link Arena#allocEvent(long, long)}. Immutable; each sync polls and registers
 * afresh, so one instance may be synced on many times and by many threads.
 */
final class AllocEvent extends BaseEvent<Long> {
    private final Arena arena;
    final int quanta;
    final long alignQuanta;

    AllocEvent(Arena arena, int quanta, long alignQuanta) {
        this.arena = arena;
        this.quanta = quanta;
        this.alignQuanta = alignQuanta;
    }

    /** A commit the OS refuses reads as no space (the sync then waits: {@link Arena}'s "Failed commits"). */
    @Override
    protected Long tryNow() {
        long address = arena.allocateBeforeWaiting(quanta, alignQuanta);
        return address == 0 ? null : address;
    }

    @Override
    protected Registration register(Waiter<Long> waiter) {
        return arena.registerFor(waiter, quanta, alignQuanta);
    }

    @Override
    public String toString() {
        return "allocEvent(" + quanta + " quanta, align " + alignQuanta + " quanta) on " + arena;
    }
}

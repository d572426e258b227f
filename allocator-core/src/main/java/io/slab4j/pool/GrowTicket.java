package io.slab4j.pool;

/**
 * One grow branch's claim on the pool's hard limit: made when a get decides it may grow,
 * reserved ({@code itemsPerSlab} items added to the pool's pending count) before the grow
 * registers in the arena, and then either consumed (the slab arrived) or released (the
 * branch lost: its nack fired). Guarded by the pool's lock.
 */
final class GrowTicket {
    enum State { NEW, RESERVED, CONSUMED, RELEASED }

    State state = State.NEW;
}

package io.slab4j.pool;

import io.slab4j.event.Waiter;

import java.util.Arrays;

/**
 * Put waiters claimed under the pool's lock with the item handed to each, for one call
 * ({@link Pool#putAll}, {@link Pool#addSlab}) to complete after it unlocks: the lock order
 * forbids completing (unparking) under the lock. Made only when a call serves a waiter.
 *
 * <p>Confined to the calling thread.
 */
final class Handoffs {
    private Waiter<?>[] waiters = new Waiter<?>[4];
    private long[] items = new long[4];
    private int size;

    /** Adds a claimed waiter and its item to {@code h}, made when null; returns it. */
    static Handoffs add(Handoffs h, Waiter<Long> waiter, long item) {
        Handoffs to = h != null ? h : new Handoffs();
        if (to.size == to.items.length) {
            to.waiters = Arrays.copyOf(to.waiters, to.size * 2);
            to.items = Arrays.copyOf(to.items, to.size * 2);
        }
        to.waiters[to.size] = waiter;
        to.items[to.size++] = item;
        return to;
    }

    /** After unlocking: completes every waiter in {@code h} (none when null) with its item, oldest first. */
    @SuppressWarnings("unchecked")
    static void completeAll(Handoffs h) {
        for (int i = 0; h != null && i < h.size; i++) {
            ((Waiter<Long>) h.waiters[i]).complete(h.items[i]);
        }
    }
}

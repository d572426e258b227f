package io.slab4j.pool;

import io.slab4j.event.Registration;
import io.slab4j.event.WaitQueue;
import io.slab4j.event.Waiter;

/**
 * The gets of a {@link Pool} waiting for a put, oldest first: a put hands its item to the
 * oldest live one ({@link #claimOldest()}).
 *
 * <p>Guarded by the pool's lock, except {@link #any()}, a lock-free read of the count that
 * the lock holder republishes (a volatile write, only when it changed) whenever the queue
 * changes, for magazine layers that must not park items while a get waits.
 */
final class PutWaiters {
    /** One get's registration for a put; withdrawn by {@link #cancel()} (a {@link PutEvent}'s registration). */
    static final class Node extends WaitQueue.Node<Long> implements Registration {
        private final GetWaits waits;
        /**
         * Set by the put that claimed this registration, under the lock and before it
         * completes the waiter; read by the syncing thread when it cancels (where a false
         * read only costs a redundant removal) and, for a blocking get, after it saw the
         * offer DONE (which orders the write before the read). Nobody else writes it.
         */
        boolean served;
        /**
         * For a sync on {@code getEvent()}: System.nanoTime() when it queued, so that its wait
         * is counted once when a put serves it or it is withdrawn; -1 for a blocking get's node
         * (its {@link GetWait} counts the wait) and once counted. Pool lock.
         */
        long queuedAt;
        /** The sync queued its waiter here before (this is a registration again after an abandoned claim): its wait was counted, this adds time only. */
        final boolean again;

        Node(Waiter<Long> waiter, GetWaits waits, long queuedAt, boolean again) {
            super(waiter);
            this.waits = waits;
            this.queuedAt = queuedAt;
            this.again = again;
        }

        @Override
        public void cancel() {
            waits.cancelPut(this);
        }
    }

    private final WaitQueue<Node> queue = new WaitQueue<>();
    private volatile int published;

    /** Queues a registration of a sync on {@code getEvent()} by its arrival stamp ({@link io.slab4j.event.Waiter#arrival}). */
    void add(Node node, long arrival) {
        queue.addByArrival(node, arrival);
        publish();
    }

    void remove(Node node) {
        queue.remove(node);
        publish();
    }

    /**
     * Takes the oldest waiter whose claim succeeds off the queue, dropping stale ones; null
     * when none is left. The caller hands it an item, then completes it after unlocking.
     */
    Waiter<Long> claimOldest() {
        Node head;
        Waiter<Long> claimed = null;
        while (claimed == null && (head = queue.liveHead()) != null) {
            queue.remove(head);
            if (head.waiter().claim()) {
                head.served = true;
                claimed = head.waiter();
                head.waits.waitEnded(head); // under the pool lock, as every caller holds it
            }
        }
        publish();
        return claimed;
    }

    boolean hasLive() {
        return queue.liveHead() != null;
    }

    int size() {
        return queue.size();
    }

    /** Lock-free: true when some get waits for a put (may be momentarily stale). */
    boolean any() {
        return published > 0;
    }

    void check(String owner) {
        queue.check(owner);
    }

    private void publish() {
        int size = queue.size();
        if (published != size) {
            published = size;
        }
    }
}

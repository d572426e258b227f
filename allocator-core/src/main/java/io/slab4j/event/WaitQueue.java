package io.slab4j.event;

/**
 * A source's FIFO queue of registrations: an intrusive doubly linked list of nodes, each
 * holding one {@link Waiter}, so a registration withdrawn by a losing choice is unlinked
 * in O(1) and the oldest live registration is found at the head.
 *
 * <p>Sources subclass {@link Node} to carry what a registration asks for (a span size, a
 * grow ticket). Nodes whose offer was already won elsewhere ({@code !isLive()}) are
 * dropped by {@link #liveHead()}; their own sync also cancels them eagerly.
 *
 * <p>Not thread-safe: each source calls it under its own lock.
 *
 * @param <N> the source's node type
 */
public final class WaitQueue<N extends WaitQueue.Node<?>> {
    /**
     * One registration in a queue. Link fields are the owning queue's, guarded by its source's
     * lock; {@code next == this} marks a node that is in no queue (instead of a flag, which
     * would make the nodes of some sources 8 bytes larger).
     */
    public static class Node<T> {
        private final Waiter<T> waiter;
        private Node<?> prev;
        private Node<?> next = this;
        /** The stamp {@link #addByArrival} queued it by; 0 for a node added at an end. */
        private long arrival;

        public Node(Waiter<T> waiter) {
            this.waiter = waiter;
        }

        public final Waiter<T> waiter() {
            return waiter;
        }

        /** True while the node is in a queue (false once served, cancelled or dropped). */
        public final boolean isLinked() {
            return next != this;
        }
    }

    private Node<?> head;
    private Node<?> tail;
    private int size;

    public void addLast(N node) {
        Node<?> n = link(node);
        n.prev = tail;
        if (tail == null) {
            head = n;
        } else {
            tail.next = n;
        }
        tail = n;
    }

    /**
     * Queues {@code node} behind every node of a lower or equal {@code arrival} stamp and ahead
     * of those of a higher one (see {@link Waiter#arrival}): at the tail for a new waiter,
     * whose stamp is the highest, in its old place for one registered again after an abandoned
     * claim. Walks from the tail, so a new waiter costs what {@link #addLast} does. A node
     * added at an end has stamp 0 and is never passed: the walk stops at it.
     */
    public void addByArrival(N node, long arrival) {
        Node<?> after = tail;
        while (after != null && after.arrival > arrival) {
            after = after.prev;
        }
        Node<?> n = link(node);
        n.arrival = arrival;
        n.prev = after;
        Node<?> before = after == null ? head : after.next;
        n.next = before;
        if (after == null) {
            head = n;
        } else {
            after.next = n;
        }
        if (before == null) {
            tail = n;
        } else {
            before.prev = n;
        }
    }

    /** Puts back at the head a registration that was taken off but could not be served after all. */
    public void addFirst(N node) {
        Node<?> n = link(node);
        n.next = head;
        if (head == null) {
            tail = n;
        } else {
            head.prev = n;
        }
        head = n;
    }

    /** Unlinks a node; does nothing when it is not linked, so cancelling twice is harmless. */
    public void remove(N node) {
        unlink(node);
    }

    /** The oldest registration still waiting, after dropping stale ones from the head; null when none. */
    @SuppressWarnings("unchecked")
    public N liveHead() {
        while (head != null && !head.waiter.isLive()) {
            unlink(head);
        }
        return (N) head;
    }

    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** Checks links and count against each other; throws IllegalStateException naming the queue's owner. */
    public void check(String owner) {
        int counted = 0;
        Node<?> prev = null;
        for (Node<?> n = head; n != null && counted <= size; n = n.next) {
            if (n.prev != prev || !n.isLinked()) {
                throw new IllegalStateException(owner + " invariant broken: waiter queue links are inconsistent");
            }
            if (prev != null && n.arrival != 0 && prev.arrival > n.arrival) {
                throw new IllegalStateException(owner + " invariant broken: waiter queue out of arrival order ("
                        + prev.arrival + " before " + n.arrival + ")");
            }
            prev = n;
            counted++;
        }
        if (counted != size || prev != tail) {
            throw new IllegalStateException(owner + " invariant broken: waiter queue holds " + counted
                    + " linked nodes, its count says " + size);
        }
    }

    private Node<?> link(Node<?> n) {
        if (n.isLinked()) {
            throw new IllegalStateException("node is already queued: " + n);
        }
        n.prev = null;
        n.next = null;
        size++;
        return n;
    }

    private void unlink(Node<?> n) {
        if (!n.isLinked()) {
            return;
        }
        if (n.prev == null) {
            head = n.next;
        } else {
            n.prev.next = n.next;
        }
        if (n.next == null) {
            tail = n.prev;
        } else {
            n.next.prev = n.prev;
        }
        n.prev = null;
        n.next = n;
        size--;
    }
}

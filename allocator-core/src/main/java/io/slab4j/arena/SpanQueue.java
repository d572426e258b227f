package io.slab4j.arena;

/**
 * The arena's FIFO of {@link SpanRequest}s, in order of arrival: an intrusive doubly linked list, so a
 * registration withdrawn by a losing choice is unlinked in O(1), the oldest live one is
 * found at the head, and the serve pass can walk the requests behind a blocked head
 * (which the event layer's {@code WaitQueue} does not offer). Requests whose offer was won
 * elsewhere are dropped when met at the head; their own sync also cancels them.
 *
 * <p>Not thread-safe: the arena calls it under its lock.
 */
final class SpanQueue {
    private SpanRequest head;
    private SpanRequest tail;
    private int size;

    /**
     * Queues {@code r} behind every request of a lower or equal {@link SpanRequest#arrival} and
     * ahead of those of a higher one: at the tail for a new waiter (the highest stamp), in its
     * old place for one registered again after its failed commit. Walks from the tail, so a new
     * waiter costs a plain append.
     */
    void addByArrival(SpanRequest r) {
        if (r.linked) {
            throw new IllegalStateException("span request is already queued");
        }
        SpanRequest after = tail;
        while (after != null && after.arrival > r.arrival) {
            after = after.prev;
        }
        SpanRequest before = after == null ? head : after.next;
        r.linked = true;
        r.prev = after;
        r.next = before;
        if (after == null) {
            head = r;
        } else {
            after.next = r;
        }
        if (before == null) {
            tail = r;
        } else {
            before.prev = r;
        }
        size++;
    }

    /** Unlinks a request; does nothing when it is not linked, so cancelling twice is harmless. */
    void remove(SpanRequest r) {
        if (!r.linked) {
            return;
        }
        if (r.prev == null) {
            head = r.next;
        } else {
            r.prev.next = r.next;
        }
        if (r.next == null) {
            tail = r.prev;
        } else {
            r.next.prev = r.prev;
        }
        r.prev = null;
        r.next = null;
        r.linked = false;
        size--;
    }

    /** The oldest request still waiting, after dropping stale ones from the head; null when none. */
    SpanRequest liveHead() {
        while (head != null && !head.waiter.isLive()) {
            remove(head);
        }
        return head;
    }

    /** Unlinks every request, oldest first, and returns them (the region closed: none can be served). */
    java.util.List<SpanRequest> removeAll() {
        java.util.List<SpanRequest> all = new java.util.ArrayList<>(size);
        while (head != null) {
            SpanRequest r = head;
            remove(r);
            all.add(r);
        }
        return all;
    }

    /** The request queued after {@code r}, or null. */
    static SpanRequest after(SpanRequest r) {
        return r.next;
    }

    int size() {
        return size;
    }

    /** Checks links and count against each other. */
    void check() {
        int counted = 0;
        SpanRequest prev = null;
        for (SpanRequest r = head; r != null && counted <= size; r = r.next) {
            if (r.prev != prev || !r.linked) {
                throw new IllegalStateException("arena invariant broken: waiter queue links are inconsistent");
            }
            if (prev != null && prev.arrival > r.arrival) {
                throw new IllegalStateException("arena invariant broken: waiter queue out of arrival order ("
                        + prev.arrival + " before " + r.arrival + ")");
            }
            prev = r;
            counted++;
        }
        if (counted != size || prev != tail) {
            throw new IllegalStateException("arena invariant broken: waiter queue holds " + counted
                    + " linked requests, its count says " + size);
        }
    }
}

package io.slab4j.arena;

import java.util.ArrayList;
import java.util.List;

/**
 * Who may be carved now: the arena's waiting order (DESIGN.md "Waiting order in the
 * arena"), over its {@link TagTable}, its queue of waiting {@link SpanRequest}s and its
 * cap ({@link Arena.Builder#maxCommitted}).
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>head</b>: the oldest live request in the queue.
 *   <li><b>window</b>: for a head that does not fit, the aligned run of its size holding
 *       the fewest allocated quanta ({@link TagTable#leastOccupiedWindow}), chosen
 *       once while it is the head: where it will fit soonest.
 *   <li><b>others</b>: requests behind the head, and newcomers (tryAlloc, polls,
 *       registrations).
 * </ul>
 *
 * <h2>Rules</h2>
 * <ol>
 *   <li>A head that fits (and is within the cap) is served, then the next head, and so on.
 *   <li>A head held back by the cap holds everyone back: any carve would delay it.
 *   <li>A head held back by space lets others be carved from free space outside its
 *       window only, and, with a cap, only while the cap keeps room for the head. No one
 *       is carved inside the window, so every free there brings the head closer: a stream
 *       of small requests cannot starve it, and space it could not use anyway (holes
 *       outside the window, e.g. beside a pinned page) does not sit idle.
 *   <li>Others behind the head are served in queue order, each that fits; newcomers
 *       follow the same rule, and by the time they come every queued request that fits
 *       has been served (a serve pass runs after every free and cancel).
 * </ol>
 *
 * <p>Invariants: the queue's links and count agree ({@link #check}); nothing is ever
 * carved inside the window of the current blocked head; allocated quanta never pass the
 * cap.
 *
 * <p>Not thread-safe: the arena calls it under its lock. Claims ({@code Waiter.claim}, a
 * CAS) are made here, under that lock, right after the carve they win.
 */
final class WaitingOrder {
    private static final int NONE = TagTable.NONE;

    private final TagTable segments;
    private final Fit fit;
    private final long maxQuanta;
    private final boolean capped;
    private final TagTable.LongToString describe;
    private final SpanQueue queue = new SpanQueue();
    /** The blocked head the window is kept for (identity), or null. */
    private SpanRequest windowOwner;
    private int windowStart;
    private int windowEnd;

    WaitingOrder(TagTable segments, Fit fit, long maxQuanta, boolean capped, TagTable.LongToString describe) {
        this.segments = segments;
        this.fit = fit;
        this.maxQuanta = maxQuanta;
        this.capped = capped;
        this.describe = describe;
    }

    /** Queues {@code r} by its arrival stamp (see {@link SpanQueue#addByArrival}). */
    void add(SpanRequest r) {
        queue.addByArrival(r);
    }

    void remove(SpanRequest r) {
        queue.remove(r);
    }

    int size() {
        return queue.size();
    }

    /** Unlinks every queued request and returns them, oldest first; drops the window. */
    List<SpanRequest> removeAll() {
        windowOwner = null;
        return queue.removeAll();
    }

    /** Carves for a request that is not queued, by the rules; returns its start, or NONE. Claims nothing. */
    int placeNewcomer(int n, long alignQ) {
        SpanRequest head = queue.liveHead();
        if (head == null) {
            return withinCap(n, 0) ? segments.allocate(n, alignQ, fit) : NONE;
        }
        if (!withinCap(head.quanta, 0) || segments.canFit(head.quanta, head.alignQuanta) || !withinCap(n, head.quanta)) {
            return NONE; // the head goes first: the cap holds it back, or it fits and its serve is due
        }
        keepWindowFor(head);
        return segments.allocateOutside(n, alignQ, fit, windowStart, windowEnd);
    }

    /**
     * Serves the queue by the rules: carves for each request that may be served, claims it
     * and unlinks it; a failed claim (its sync was won elsewhere) puts the span straight
     * back. Returns the claimed requests with {@link SpanRequest#at} set, or null.
     */
    List<SpanRequest> serve() {
        List<SpanRequest> served = null;
        SpanRequest head;
        while ((head = queue.liveHead()) != null) {
            if (!withinCap(head.quanta, 0)) {
                return served;
            }
            int at = segments.allocate(head.quanta, head.alignQuanta, fit);
            if (at == NONE) {
                break;
            }
            queue.remove(head);
            served = claimOrGiveBack(head, at, served);
        }
        if (head == null) {
            return served;
        }
        keepWindowFor(head);
        for (SpanRequest r = SpanQueue.after(head); r != null; ) {
            SpanRequest next = SpanQueue.after(r);
            if (!r.waiter.isLive()) {
                queue.remove(r);
            } else if (withinCap(r.quanta, head.quanta)) {
                int at = segments.allocateOutside(r.quanta, r.alignQuanta, fit, windowStart, windowEnd);
                if (at != NONE) {
                    queue.remove(r);
                    served = claimOrGiveBack(r, at, served);
                }
            }
            r = next;
        }
        return served;
    }

    private List<SpanRequest> claimOrGiveBack(SpanRequest r, int at, List<SpanRequest> served) {
        if (!r.waiter.claim()) {
            segments.free(at, r.quanta, describe);
            return served;
        }
        r.at = at;
        List<SpanRequest> list = served != null ? served : new ArrayList<>(2);
        list.add(r);
        return list;
    }

    /** Whether n more quanta, with {@code reserve} kept for a head, stay within the cap. */
    private boolean withinCap(long n, long reserve) {
        return !capped || segments.allocatedQuanta() + n + reserve <= maxQuanta;
    }

    /** The window of a blocked head is chosen once, when it is first found blocked. */
    private void keepWindowFor(SpanRequest head) {
        if (windowOwner != head) {
            windowOwner = head;
            windowStart = segments.leastOccupiedWindow(head.quanta, head.alignQuanta);
            windowEnd = windowStart + head.quanta;
        }
    }

    /** Checks the queue and the cap; throws IllegalStateException naming the first broken invariant. */
    void check() {
        queue.check();
        if (segments.allocatedQuanta() > maxQuanta) {
            throw new IllegalStateException("arena invariant broken: " + segments.allocatedQuanta()
                    + " quanta allocated beyond the cap of " + maxQuanta);
        }
    }
}

package io.slab4j.cache;

/**
 * A magazine (Bonwick and Adams, "Magazines and Vmem", USENIX 2001): a bounded LIFO stack
 * of item addresses (its "rounds"), the unit a {@link PoolCache} moves between a thread and
 * its {@link Depot} in one step instead of one item at a time.
 *
 * <p>Invariants: {@code 0 <= count <= capacity}; {@code rounds[0, count)} are distinct items
 * of the cache's pool, none of them 0 (0 is the "no item" sentinel of {@link #pop()}). A
 * magazine is in exactly one place: a {@link ThreadMagazines}' loaded or previous, the
 * depot's full or empty stack, or a local variable of a thread that is emptying it.
 *
 * <p>Not thread-safe and never shared: it is touched by one thread at a time and changes
 * hands only through the depot lock or a {@link ThreadMagazines} lease, which order the
 * writes of the old holder before the reads of the new one. {@link #count()} may also be
 * read racily for an estimate ({@link PoolCache#parked()}).
 */
final class Magazine {
    private final long[] rounds;
    private int count;

    Magazine(int capacity) {
        this.rounds = new long[capacity];
    }

    int capacity() {
        return rounds.length;
    }

    int count() {
        return count;
    }

    boolean isEmpty() {
        return count == 0;
    }

    boolean isFull() {
        return count == rounds.length;
    }

    /** Loads a round; the caller knows the magazine is not full. */
    void push(long address) {
        rounds[count++] = address;
    }

    /** Takes the last round loaded; 0 when empty. */
    long pop() {
        return count == 0 ? 0 : rounds[--count];
    }

    /** The round at {@code i} in [0, count), for checks. */
    long round(int i) {
        return rounds[i];
    }

    /** Moves every round to {@code out} from {@code at}; returns the new end. The magazine is empty after. */
    int drainTo(long[] out, int at) {
        System.arraycopy(rounds, 0, out, at, count);
        int end = at + count;
        count = 0;
        return end;
    }
}

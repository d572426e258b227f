package io.slab4j.pool;

/**
 * A magazine (Bonwick and Adams, "Magazines and Vmem", USENIX 2001): a bounded LIFO stack
 * of item addresses (its "rounds"), the unit a {@link PoolCache} moves between a thread and
 * its {@link Depot} in one step instead of one item at a time.
 *
 * <p>Invariants: {@code 0 <= count <= rounds.length}; {@code rounds[0, count)} are distinct
 * items of the cache's pool, none of them 0 (0 is the "no item" sentinel of {@link #pop()}).
 * A magazine is in exactly one place: a {@link ThreadCache}'s {@code loaded} or
 * {@code previous}, the depot's full or empty stack, or a local variable of a thread that is
 * flushing it to the pool.
 *
 * <p>Not thread-safe and never shared: it is touched by one thread at a time and changes
 * hands only through the depot lock or a {@link ThreadCache} retirement, which order the
 * writes of the old holder before the reads of the new one.
 */
final class Magazine {
    /** The addresses; slots at and above {@link #count} are garbage. */
    final long[] rounds;
    /** How many rounds are loaded; written by the holder only. */
    int count;

    Magazine(int capacity) {
        this.rounds = new long[capacity];
    }

    int capacity() {
        return rounds.length;
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
}

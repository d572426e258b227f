package io.slab4j.bench;

/**
 * The floor of {@link PoolBench}: a bounded stack of fake addresses in a {@code long[]},
 * the least a per-thread magazine can do. Filled at construction with {@code capacity}
 * distinct non-zero values.
 *
 * <p>Not thread-safe: one instance per thread, reached through a {@code ThreadLocal}.
 */
final class LongStack {
    private final long[] items;
    private int size;

    LongStack(int capacity) {
        items = new long[capacity];
        for (int i = 0; i < capacity; i++) {
            items[i] = (1L << 40) + (long) i * PoolBench.ITEM;
        }
        size = capacity;
    }

    long pop() {
        return items[--size];
    }

    void push(long item) {
        items[size++] = item;
    }
}

package io.slab4j.bench.tool.fragment;

import java.util.Arrays;

/**
 * An allocation trace in memory: a sequence of events over blocks numbered densely from 0
 * in order of allocation. Event {@code e >= 0} allocates block {@code e} of
 * {@link #size(int)} bytes; event {@code e < 0} frees block {@code ~e}. Every free is of a
 * block allocated earlier and not yet freed (the reader and the generator guarantee it);
 * blocks never freed are alive at the end.
 *
 * <p>Immutable after construction; thread-safe.
 */
public final class Trace {
    private final String name;
    private final int[] events;
    private final long[] sizes;
    private final int frees;

    Trace(String name, int[] events, long[] sizes, int frees) {
        this.name = name;
        this.events = events;
        this.sizes = sizes;
        this.frees = frees;
    }

    public String name() {
        return name;
    }

    public int events() {
        return events.length;
    }

    public int event(int i) {
        return events[i];
    }

    public int allocations() {
        return sizes.length;
    }

    public int frees() {
        return frees;
    }

    public long size(int block) {
        return sizes[block];
    }

    /**
     * The largest number of bytes live at once, each block rounded up to {@code quantum};
     * {@link Long#MAX_VALUE} when the count overflows a long (a trace no arena can hold).
     */
    public long peakLive(long quantum) {
        long live = 0;
        long peak = 0;
        for (int e : events) {
            long rounded = roundUp(sizes[e >= 0 ? e : ~e], quantum);
            if (rounded <= 0) {
                return Long.MAX_VALUE; // the rounding itself overflowed
            }
            if (e >= 0) {
                if (live > Long.MAX_VALUE - rounded) {
                    return Long.MAX_VALUE;
                }
                live += rounded;
            } else {
                live -= rounded;
            }
            peak = Math.max(peak, live);
        }
        return peak;
    }

    public long largestSize() {
        return Arrays.stream(sizes).max().orElse(0);
    }

    static long roundUp(long size, long quantum) {
        return (size + quantum - 1) & -quantum;
    }

    /** Growable storage for the reader and the generator. */
    static final class Builder {
        private final String name;
        private int[] events = new int[1024];
        private long[] sizes = new long[1024];
        private int eventCount;
        private int blockCount;
        private int frees;

        Builder(String name) {
            this.name = name;
        }

        int allocate(long size) {
            if (blockCount == sizes.length) {
                sizes = Arrays.copyOf(sizes, sizes.length * 2);
            }
            sizes[blockCount] = size;
            add(blockCount);
            return blockCount++;
        }

        void free(int block) {
            add(~block);
            frees++;
        }

        private void add(int e) {
            if (eventCount == events.length) {
                events = Arrays.copyOf(events, events.length * 2);
            }
            events[eventCount++] = e;
        }

        Trace build() {
            return new Trace(name, Arrays.copyOf(events, eventCount), Arrays.copyOf(sizes, blockCount), frees);
        }
    }
}

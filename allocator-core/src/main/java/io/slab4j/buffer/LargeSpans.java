package io.slab4j.buffer;

import io.slab4j.arena.Arena;
import io.slab4j.event.Event;

/**
 * Buffers above the largest size class: page-rounded spans straight from the arena, kept
 * committed after close and reused for the next acquire of the same page count, up to a high
 * water mark, so a repeated 1 MiB acquire + close pays no {@code mprotect}/{@code madvise}.
 *
 * <h2>Terms and invariants</h2>
 * <ul>
 *   <li><b>cached span</b>: closed, still allocated from the arena and committed, idle since
 *       {@code idleSince[i]}. At most {@link #MAX_CACHED_SPANS} spans and
 *       {@code maxCachedBytes} bytes are cached; a close beyond that frees to the arena.
 *   <li>A close frees to the arena instead of caching whenever someone waits for arena space
 *       (an arena waiter or a blocked acquire of the buffer pool), so cached memory never
 *       starves a waiter; an acquire that finds no arena space evicts cached spans first.
 *   <li>Spans idle longer than the pool's decay time go back on the next decay pass;
 *       {@link #trim()} frees all of them now.
 * </ul>
 *
 * <h2>Concurrency</h2>
 * Thread-safe. {@code lock} guards the cache arrays and both in-use counters. The arena is
 * called outside {@code lock} (lock order: none held while calling the arena), so a free that
 * serves arena waiters never runs under it.
 */
final class LargeSpans extends Supply {
    static final int MAX_CACHED_SPANS = 64;

    private final Arena arena;
    private final long maxCachedBytes;
    private final Object lock = new Object();
    /** Guarded by lock: cached spans [0, count), oldest first. */
    private final long[] addresses = new long[MAX_CACHED_SPANS];
    private final long[] sizes = new long[MAX_CACHED_SPANS];
    private final long[] idleSince = new long[MAX_CACHED_SPANS];
    private int count;
    private long cachedBytes;
    private long inUse;
    private long inUseBytes;

    LargeSpans(BufferPool owner, Arena arena, long maxCachedBytes) {
        super(owner);
        this.arena = arena;
        this.maxCachedBytes = maxCachedBytes;
    }

    /** A cached span of exactly {@code bytes}, else arena space now (evicting cached spans if that makes room), else 0. */
    long tryTake(long bytes) {
        synchronized (lock) {
            for (int i = count - 1; i >= 0; i--) {
                if (sizes[i] == bytes) {
                    long address = addresses[i];
                    removeAt(i);
                    takenLocked(bytes);
                    return address;
                }
            }
        }
        long address = arena.tryAlloc(bytes);
        while (address == 0 && evictOldest()) {
            address = arena.tryAlloc(bytes);
        }
        if (address != 0) {
            taken(bytes);
        }
        return address;
    }

    /** The wait for arena space of {@code bytes}; the caller counts the span with {@link #taken} once it has it. */
    Event<Long> takeEvent(long bytes) {
        return arena.allocEvent(bytes);
    }

    void taken(long bytes) {
        synchronized (lock) {
            takenLocked(bytes);
        }
    }

    private void takenLocked(long bytes) {
        inUse++;
        inUseBytes += bytes;
    }

    @Override
    void release(long address, int capacity, boolean fromCleaner) {
        boolean waiting = arena.waiters() > 0 || owner.waiters() > 0;
        synchronized (lock) {
            inUse--;
            inUseBytes -= capacity;
            if (owner.isClosed()) {
                return;
            }
            if (!waiting && count < MAX_CACHED_SPANS && cachedBytes + capacity <= maxCachedBytes) {
                addresses[count] = address;
                sizes[count] = capacity;
                idleSince[count] = System.nanoTime();
                count++;
                cachedBytes += capacity;
                return;
            }
        }
        try {
            arena.free(address, capacity);
        } catch (IllegalStateException e) {
            if (!owner.isClosed()) {
                throw e; // the region closes only with the pool
            }
        }
    }

    /** Frees the oldest cached span to the arena; false when none is cached. */
    boolean evictOldest() {
        long address;
        long size;
        synchronized (lock) {
            if (count == 0) {
                return false;
            }
            address = addresses[0];
            size = sizes[0];
            removeAt(0);
        }
        arena.free(address, size);
        return true;
    }

    /** Frees cached spans idle since before {@code cutoff} (a {@code System.nanoTime()} value). */
    void decay(long cutoff) {
        while (true) {
            long address;
            long size;
            synchronized (lock) {
                if (count == 0 || idleSince[0] - cutoff > 0) {
                    return;
                }
                address = addresses[0];
                size = sizes[0];
                removeAt(0);
            }
            arena.free(address, size);
        }
    }

    void trim() {
        while (evictOldest()) {
            // one span a pass, none under the lock
        }
    }

    /** Guarded by lock. Keeps the arrays oldest first. */
    private void removeAt(int i) {
        cachedBytes -= sizes[i];
        int tail = count - i - 1;
        System.arraycopy(addresses, i + 1, addresses, i, tail);
        System.arraycopy(sizes, i + 1, sizes, i, tail);
        System.arraycopy(idleSince, i + 1, idleSince, i, tail);
        count--;
    }

    long buffersInUse() {
        synchronized (lock) {
            return inUse;
        }
    }

    long bytesInUse() {
        synchronized (lock) {
            return inUseBytes;
        }
    }

    long cachedBytes() {
        synchronized (lock) {
            return cachedBytes;
        }
    }

    int cachedSpans() {
        synchronized (lock) {
            return count;
        }
    }

    void checkInvariants() {
        synchronized (lock) {
            long sum = 0;
            for (int i = 0; i < count; i++) {
                sum += sizes[i];
                if (i > 0 && idleSince[i] - idleSince[i - 1] < 0) {
                    throw new IllegalStateException("large spans: cache not oldest first at " + i);
                }
            }
            if (sum != cachedBytes || cachedBytes > maxCachedBytes || inUse < 0 || inUseBytes < 0) {
                throw new IllegalStateException("large spans invariant broken: cached " + cachedBytes + " (sum " + sum
                        + ", max " + maxCachedBytes + "), in use " + inUse + " (" + inUseBytes + " bytes)");
            }
        }
    }

    /** Forgets cached spans (the region is about to be unmapped). */
    void close() {
        synchronized (lock) {
            count = 0;
            cachedBytes = 0;
        }
    }
}

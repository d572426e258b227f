package io.slab4j.buffer;

import java.util.function.ToLongFunction;
import io.slab4j.arena.Arena;
import io.slab4j.event.Event;

/**
 * Buffers above the largest size class: page-rounded spans straight from the arena, kept
 * committed after close and reused for the next acquire of the same page count, up to a high
 * water mark, so a repeated 1 MiB acquire + close pays no {@code mprotect}/{@code madvise}.
 *
 * <h2>Terms and invariants</h2>
 * <ul>
 *   <li><b>stripe</b>: one of {@code stripes.length} (a power of two, see {@link #stripeCount})
 *       independent caches, each under its own lock. Each thread is given a <b>home</b> stripe
 *       when it first uses the buffer pool (round robin, so two threads get different ones); it
 *       acquires through it, and a handle's close returns to the stripe the handle was counted
 *       in (its {@code Supply}), so one thread's acquire + close takes no lock another thread
 *       takes as well.
 *   <li><b>cached span</b>: closed, still allocated from the arena and committed, idle since
 *       {@code idleSince[i]}: the number of decay passes the pool had run when it was closed
 *       (a counter read instead of the clock, which would cost a {@code nanoTime} a close).
 *       A stripe caches at most {@link #MAX_CACHED_SPANS} spans and
 *       {@code maxStripeBytes} bytes; a close beyond that frees to the arena. So at most
 *       {@code stripes.length * maxStripeBytes} bytes are cached in all (see the constructor).
 *   <li>An acquire tries its home stripe's cache, then every other stripe's (a span of the
 *       size is reused wherever it is cached), then the arena, then evicts cached spans of
 *       every stripe while the arena has no room.
 *   <li>A close frees to the arena instead of caching whenever an acquire of the buffer pool
 *       is blocked. Every arena waiter is such an acquire (the arena is the buffer pool's own,
 *       and only its blocked acquires wait on it, each counted in {@code owner.waiters()} from
 *       before it registers until after it leaves), so cached memory never starves a waiter.
 *       The close reads the count under the stripe's lock, after having taken it: an acquire
 *       that began waiting and then evicted (its make-room pass takes every stripe's lock)
 *       either ran its eviction before this close's critical section (then its count is seen
 *       here) or after it (then it evicts what this close cached).
 *   <li>Spans idle longer than the pool's decay time go back on a decay pass: pass {@code e}
 *       frees the spans stamped {@code e - 2} or earlier, closed before the pass before it, so
 *       idle for at least one period (passes are at least {@code idleDecay} apart) and at most
 *       about two. {@link #trim()} frees all of them now.
 *   <li>Conservation: per stripe, {@code inUse} counts the spans handed out through it and not
 *       yet released; their sum over stripes is the number of large buffers open.
 * </ul>
 *
 * <h2>Concurrency</h2>
 * Thread-safe. Each stripe's monitor guards its cache arrays and its two in-use counters. The
 * arena is called with no stripe lock held, and no two stripe locks are ever held at once, so
 * a free that serves arena waiters never runs under one.
 */
final class LargeSpans {
    /** Spans a stripe caches at most. */
    static final int MAX_CACHED_SPANS = 32;
    /** A stripe may cache at least this many bytes (when the pool's high water mark allows it). */
    static final long MIN_STRIPE_BYTES = 2L << 20;

    private final BufferPool owner;
    private final Arena arena;
    private final Stripe[] stripes;
    private final long maxStripeBytes;
    /** The huge page size when spans of that size or more are placed on huge-page boundaries, else 0. */
    private final long hugeAlign;

    /**
     * @param maxCachedBytes the cache's high water mark; each of the stripes may cache
     *                       {@code max(maxCachedBytes / stripes, min(maxCachedBytes, MIN_STRIPE_BYTES))}
     * @param hugeAlign      0, or the huge page size: spans at least that long are first tried
     *                       at that alignment (so the arena's huge-page advice covers whole pages
     *                       of them), and anywhere when no aligned space is free
     */
    LargeSpans(BufferPool owner, Arena arena, long maxCachedBytes, int stripeCount, long hugeAlign) {
        if (Integer.bitCount(stripeCount) != 1) {
            throw new IllegalArgumentException("large spans: stripe count " + stripeCount + " is not a power of two");
        }
        this.owner = owner;
        this.arena = arena;
        this.hugeAlign = hugeAlign;
        this.maxStripeBytes = Math.max(maxCachedBytes / stripeCount, Math.min(maxCachedBytes, MIN_STRIPE_BYTES));
        this.stripes = new Stripe[stripeCount];
        for (int i = 0; i < stripeCount; i++) {
            stripes[i] = new Stripe();
        }
    }

    /** The stripe count for this machine: the processor count rounded up to a power of two, in [2, 8]. */
    static int stripeCount() {
        int n = Runtime.getRuntime().availableProcessors();
        int pow = Integer.highestOneBit(Math.max(1, n - 1)) << 1;
        return Math.min(8, Math.max(2, pow));
    }

    /** The home stripe for the {@code i}-th thread to use the pool. */
    Stripe stripe(int i) {
        return stripes[i & (stripes.length - 1)];
    }

    /**
     * A cached span of exactly {@code bytes} (home first, then the other stripes), else arena
     * space now (evicting cached spans if that makes room), else 0. The span is counted in
     * {@code home}.
     */
    long tryTake(long bytes, Stripe home) {
        long address = home.takeCached(bytes, true);
        if (address != 0) {
            return address;
        }
        for (Stripe s : stripes) {
            if (s != home && (address = s.takeCached(bytes, false)) != 0) {
                home.taken(bytes);
                return address;
            }
        }
        address = allocNow(bytes);
        while (address == 0 && evictOne()) {
            address = allocNow(bytes);
        }
        if (address != 0) {
            home.taken(bytes);
        }
        return address;
    }

    /** Arena space now: on a huge-page boundary first when the span holds a huge page, else anywhere; 0 when there is none. */
    private long allocNow(long bytes) {
        if (hugeAlign != 0 && bytes >= hugeAlign) {
            long address = arena.tryAlloc(bytes, hugeAlign);
            if (address != 0) {
                return address;
            }
        }
        return arena.tryAlloc(bytes);
    }

    /** The wait for arena space of {@code bytes} (anywhere: a waiter takes the first fit, aligned or not); the caller counts the span with {@link Stripe#taken} once it has it. */
    Event<Long> takeEvent(long bytes) {
        return arena.allocEvent(bytes);
    }

    /** Frees one cached span (the oldest of the first stripe that has one) to the arena; false when none is cached. */
    boolean evictOne() {
        for (Stripe s : stripes) {
            if (s.evictOldest(Long.MAX_VALUE, false)) {
                return true;
            }
        }
        return false;
    }

    /** Decay pass {@code epoch}: frees the cached spans stamped {@code epoch - 2} or earlier. */
    void decay(int epoch) {
        long cutoff = epoch - 2L;
        for (Stripe s : stripes) {
            while (s.evictOldest(cutoff, true)) {
                // one span a pass, none under the lock
            }
        }
    }

    void trim() {
        for (Stripe s : stripes) {
            while (s.evictOldest(Long.MAX_VALUE, false)) {
                // one span a pass, none under the lock
            }
        }
    }

    long buffersInUse() {
        return sum(s -> s.inUse);
    }

    long bytesInUse() {
        return sum(s -> s.inUseBytes);
    }

    long cachedBytes() {
        return sum(s -> s.cachedBytes);
    }

    int cachedSpans() {
        return (int) sum(s -> s.count);
    }

    /** The sum of one stripe counter over every stripe, each read under its stripe's lock. */
    private long sum(ToLongFunction<Stripe> counter) {
        long n = 0;
        for (Stripe s : stripes) {
            synchronized (s) {
                n += counter.applyAsLong(s);
            }
        }
        return n;
    }

    int stripes() {
        return stripes.length;
    }

    long maxStripeBytes() {
        return maxStripeBytes;
    }

    void checkInvariants() {
        for (int k = 0; k < stripes.length; k++) {
            stripes[k].check(k);
        }
    }

    /** Forgets cached spans (the region is about to be unmapped). */
    void close() {
        for (Stripe s : stripes) {
            synchronized (s) {
                s.count = 0;
                s.cachedBytes = 0;
            }
        }
    }

    /**
     * One stripe: a cache of spans, oldest first, and the spans handed out through it (their
     * handles' {@link Sized} supply names it, so their close comes back here). Fields guarded
     * by this object's monitor.
     */
    final class Stripe extends LeadingPad {
        private final long[] addresses = new long[MAX_CACHED_SPANS];
        private final long[] sizes = new long[MAX_CACHED_SPANS];
        private final long[] idleSince = new long[MAX_CACHED_SPANS];
        private long cachedBytes;
        private long inUse;
        private long inUseBytes;
        /** Spans cached, in [0, MAX_CACHED_SPANS]; a long so that it sits with the other written fields, before the padding. */
        private long count;
        /**
         * Padding: the stripes sit in one array, so a collection may copy them next to each
         * other; {@link LeadingPad} in front and 96 bytes after the written fields keep one
         * stripe's counters off the cache lines of the next (two threads on two stripes must
         * not share a line). The monitor word is in the header, which the padding cannot move:
         * it is taken once per large acquire and close, by the stripe's threads.
         */
        @SuppressWarnings("unused")
        private long p0, p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11;

        Stripe() {
        }

        /** A cached span of exactly {@code bytes}, newest first, or 0; counted here when {@code count} is set. */
        synchronized long takeCached(long bytes, boolean countHere) {
            for (int i = (int) count - 1; i >= 0; i--) {
                if (sizes[i] == bytes) {
                    long address = addresses[i];
                    removeAt(i);
                    if (countHere) {
                        inUse++;
                        inUseBytes += bytes;
                    }
                    return address;
                }
            }
            return 0;
        }

        /** Counts a span of {@code bytes} handed out through this stripe. */
        synchronized void taken(long bytes) {
            inUse++;
            inUseBytes += bytes;
        }

        /** A span of {@code capacity} bytes counted here is closed. */
        void release(long address, long capacity) {
            synchronized (this) {
                inUse--;
                inUseBytes -= capacity;
                if (owner.isClosed()) {
                    return;
                }
                // read under the lock: see the class comment (why every arena waiter is counted here)
                if (owner.waiters() == 0 && count < MAX_CACHED_SPANS && cachedBytes + capacity <= maxStripeBytes) {
                    int at = (int) count;
                    addresses[at] = address;
                    sizes[at] = capacity;
                    idleSince[at] = owner.decayEpoch(); // under the lock: stamps stay in order
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

        /**
         * Frees this stripe's oldest cached span to the arena if it is
         * stamped {@code cutoff} or earlier (or whatever its stamp, unless {@code byAge}); false
         * when none was freed.
         */
        boolean evictOldest(long cutoff, boolean byAge) {
            long address;
            long size;
            synchronized (this) {
                if (count == 0 || (byAge && idleSince[0] > cutoff)) {
                    return false;
                }
                address = addresses[0];
                size = sizes[0];
                removeAt(0);
            }
            arena.free(address, size);
            return true;
        }

        /** Guarded by this. Keeps the arrays oldest first. */
        private void removeAt(int i) {
            cachedBytes -= sizes[i];
            int tail = (int) count - i - 1;
            System.arraycopy(addresses, i + 1, addresses, i, tail);
            System.arraycopy(sizes, i + 1, sizes, i, tail);
            System.arraycopy(idleSince, i + 1, idleSince, i, tail);
            count--;
        }

        synchronized void check(int k) {
            long sum = 0;
            for (int i = 0; i < count; i++) {
                sum += sizes[i];
                if (i > 0 && idleSince[i] - idleSince[i - 1] < 0) {
                    throw new IllegalStateException("large spans: stripe " + k + "'s cache is not oldest first at " + i);
                }
            }
            if (sum != cachedBytes || cachedBytes > maxStripeBytes || inUse < 0 || inUseBytes < 0) {
                throw new IllegalStateException("large spans, stripe " + k + ": invariant broken: cached " + cachedBytes
                        + " (sum " + sum + ", max " + maxStripeBytes + "), in use " + inUse + " (" + inUseBytes + " bytes)");
            }
        }

        /** The supply of handles of {@code bytes} counted in this stripe. */
        Sized sized(int bytes) {
            return new Sized(this, bytes);
        }

        @Override
        public String toString() {
            return "large spans stripe";
        }
    }

    /**
     * The {@link Supply} of large buffers of one size counted in one stripe. Immutable; a
     * thread keeps the last one it used ({@link ThreadState#large}), so a repeated acquire of
     * one size makes no new one.
     */
    final class Sized extends Supply {
        final Stripe stripe;

        Sized(Stripe stripe, int bytes) {
            super(LargeSpans.this.owner, bytes);
            this.stripe = stripe;
        }

        @Override
        void release(long address, int capacity, boolean fromCleaner) {
            stripe.release(address, capacity);
        }

        @Override
        public String toString() {
            return "large spans of " + capacity + " bytes";
        }
    }
}

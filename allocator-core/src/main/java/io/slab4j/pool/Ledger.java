package io.slab4j.pool;

import org.agrona.collections.Long2LongHashMap;

/**
 * The put checks of a {@link PoolCache} (on unless {@code -Dslab4j.cache.checks=false}):
 * the state of every item the cache has handed out and not yet returned to its pool.
 *
 * <pre>
 *   (absent) --pool get through the cache--> OUT --put--> PARKED (in a magazine)
 *   PARKED --get from a magazine--> OUT            PARKED --flushed to the pool--> (absent)
 * </pre>
 * A put of an OUT item may be parked; a put of a PARKED item is a double put and is
 * rejected; a put of an absent address is something the cache cannot vouch for (a foreign
 * or interior address, an item already free in the pool, or an item got from the pool
 * directly), so it goes to {@link Pool#put}, which validates it under its lock and throws
 * if it is bad. So garbage never enters a magazine, and the pool's own checks still judge
 * everything the cache does not know.
 *
 * <p>Concurrency: thread-safe. The map is split into a power-of-two number of stripes,
 * each an Agrona {@link Long2LongHashMap} (primitive keys: no boxing) guarded by its own
 * monitor, chosen by a Fibonacci hash of the address, so threads working on different items
 * rarely meet. Each transition is one critical section on one stripe, so two racing puts of
 * one item cannot both park it.
 */
final class Ledger {
    private static final long ABSENT = 0;
    private static final long OUT = 1;
    private static final long PARKED = 2;

    private final String pool;
    private final Long2LongHashMap[] stripes;
    private final int shift;

    Ledger(String pool) {
        this.pool = pool;
        int n = Integer.highestOneBit(Math.min(64, Math.max(4, 4 * Runtime.getRuntime().availableProcessors())) * 2 - 1);
        this.stripes = new Long2LongHashMap[n];
        for (int i = 0; i < n; i++) {
            stripes[i] = new Long2LongHashMap(64, 0.6f, ABSENT);
        }
        this.shift = 64 - Integer.numberOfTrailingZeros(n);
    }

    private Long2LongHashMap stripe(long address) {
        return stripes[(int) ((address * 0x9E3779B97F4A7C15L) >>> shift)];
    }

    /**
     * A put: OUT becomes PARKED. Returns false, changing nothing, when the cache did not hand
     * the address out (the pool must judge it).
     *
     * @throws IllegalArgumentException the item is already parked in the cache (a double put); nothing changes
     */
    boolean park(long address) {
        Long2LongHashMap s = stripe(address);
        synchronized (s) {
            long state = s.get(address);
            if (state == PARKED) {
                throw new IllegalArgumentException("put(" + Pool.hex(address) + "): item of pool '" + pool
                        + "' is already parked in this cache's magazines (double put?)");
            }
            if (state != OUT) {
                return false;
            }
            s.put(address, PARKED);
            return true;
        }
    }

    /** A get served from a magazine: PARKED becomes OUT. */
    void unpark(long address) {
        transition(address, PARKED, OUT, "handed out from a magazine");
    }

    /** A parked item flushed to the pool: PARKED becomes absent. */
    void forget(long address) {
        transition(address, PARKED, ABSENT, "returned to the pool");
    }

    /** A get served by the pool: absent (or OUT, when the item last left through {@link Pool#put} directly) becomes OUT. */
    void handedOut(long address) {
        Long2LongHashMap s = stripe(address);
        synchronized (s) {
            long state = s.put(address, OUT);
            if (state == PARKED) {
                s.put(address, PARKED);
                throw broken(address, "the pool handed out an item parked in a magazine");
            }
        }
    }

    private void transition(long address, long from, long to, String what) {
        Long2LongHashMap s = stripe(address);
        synchronized (s) {
            long state = s.get(address);
            if (state != from) {
                throw broken(address, what + " but its state is " + name(state) + ", expected " + name(from));
            }
            if (to == ABSENT) {
                s.remove(address);
            } else {
                s.put(address, to);
            }
        }
    }

    boolean isParked(long address) {
        Long2LongHashMap s = stripe(address);
        synchronized (s) {
            return s.get(address) == PARKED;
        }
    }

    /** Items recorded as parked, stripe by stripe (exact only when nobody is using the cache). */
    long parked() {
        long n = 0;
        for (Long2LongHashMap s : stripes) {
            synchronized (s) {
                for (Long2LongHashMap.ValueIterator it = s.values().iterator(); it.hasNext(); ) {
                    if (it.nextValue() == PARKED) {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    private IllegalStateException broken(long address, String what) {
        return new IllegalStateException("cache of pool '" + pool + "' invariant broken: item " + Pool.hex(address) + " " + what);
    }

    private static String name(long state) {
        return state == OUT ? "OUT" : state == PARKED ? "PARKED" : "absent";
    }
}

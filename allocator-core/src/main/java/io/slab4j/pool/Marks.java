package io.slab4j.pool;

/**
 * A {@link Pool}'s limits, validated once from a builder's values against its
 * {@link Geometry}: the hard limit in items, low and high water in idle slabs, and how many
 * items {@code build} primes.
 *
 * @param hardLimit  the most items made or pending, at least one slab's
 * @param lowWater   idle slabs kept by {@link Pool#reclaim()} (and primed)
 * @param highWater  idle slabs kept when puts idle more; {@code Integer.MAX_VALUE} for
 *                   {@link WaitStrategy#LOW_WATER_PRIME}, which keeps everything it primed
 * @param primeItems items {@code build} makes up front
 */
record Marks(long hardLimit, int lowWater, int highWater, long primeItems) {

    /**
     * @param highWater the builder's high water, or -1 when unset (then the larger of 1 and low water)
     * @throws IllegalArgumentException naming the pool and the bad value
     */
    static Marks of(String name, Geometry g, long hardLimit, int lowWater, int highWater, WaitStrategy strategy) {
        long perSlab = g.itemsPerSlab();
        if (hardLimit < perSlab) {
            throw new IllegalArgumentException("pool '" + name + "': hard limit " + hardLimit + " is below one slab of " + perSlab
                    + " items");
        }
        if (lowWater < 0 || (long) lowWater * perSlab > hardLimit) {
            throw new IllegalArgumentException("pool '" + name + "': low water " + lowWater + " slabs of " + perSlab
                    + " items is not in [0, hard limit " + hardLimit + "]");
        }
        int high = highWater >= 0 ? highWater : Math.max(1, lowWater);
        if (high < lowWater) {
            throw new IllegalArgumentException("pool '" + name + "': high water " + high + " is below low water " + lowWater);
        }
        long prime = lowWater * perSlab;
        if (strategy == WaitStrategy.LOW_WATER_PRIME) {
            if (hardLimit == Long.MAX_VALUE) {
                throw new IllegalArgumentException("pool '" + name + "': LOW_WATER_PRIME primes to the hard limit; set one");
            }
            prime = hardLimit / perSlab * perSlab;
            high = Integer.MAX_VALUE; // keep everything primed: no put returns a slab
        }
        return new Marks(hardLimit, lowWater, high, prime);
    }
}

package io.slab4j.bench;

import java.util.SplittableRandom;

/**
 * The one span workload of {@link ArenaBench} and {@code io.slab4j.arena.TableBench}, in
 * quanta, so the arena and its table alone replay the same layout and the same streams
 * draw for draw (each converts quanta to its own units).
 *
 * <h2>Workload</h2>
 * <ol>
 *   <li>Prefill: {@code made = live * 3 / 2} spans of sizes {@link #prefill}, allocated in
 *       that order; then the spans {@code order[live..made)} are freed (a uniform shuffle),
 *       so {@code live} spans ({@code order[0..live)}) stay allocated with holes of assorted
 *       sizes between them. A range of {@code 2 * totalQuanta()} always has a fit.
 *   <li>Steady state: {@link #nextIndex} picks a uniformly random live span (xorshift64,
 *       then multiply-high into {@code [0, live)}), {@link #nextSize} the size of its
 *       replacement from a precomputed table of {@link #SIZE_TABLE} sizes, cycled.
 * </ol>
 *
 * <h2>Sizes</h2>
 * In quanta, "log-uniform" up to {@link #MAX_QUANTA}: a power-of-two class {@code 2^c}
 * ({@code c} in 0..6) is chosen uniformly, then a size uniformly in
 * {@code [2^c, 2^(c+1))} capped at 64, both drawn with {@link SplittableRandom#nextInt(int)}.
 * Mean about 22 quanta. (Before this class, ArenaBench drew the second number with
 * {@code nextLong}, so its rounds up to 3 replayed other sizes than TableBench's.)
 * Seeds are fixed ({@link #SEED}), so every fork replays the same layout.
 *
 * <p>Not thread-safe: one per benchmark state ({@code Scope.Thread}).
 */
public final class SpanWorkload {
    public static final long SEED = 0x5EED_A7E4AL;
    /** Power of two, so the size table is cycled with a mask. */
    public static final int SIZE_TABLE = 1 << 16;
    public static final int MAX_QUANTA = 64;

    public final int live;
    /** Sizes in quanta of the prefill spans, in allocation order. */
    public final int[] prefill;
    /** A permutation of the prefill: {@code order[0..live)} stay live, the rest are freed. */
    public final int[] order;
    private final int[] sizeTable = sizeTable(SEED + 1);
    private int nextSize;
    private long rng = SEED + 2;

    public SpanWorkload(int live) {
        if (live <= 0) {
            throw new IllegalArgumentException("live " + live + " must be > 0");
        }
        this.live = live;
        int made = live + live / 2;
        SplittableRandom random = new SplittableRandom(SEED);
        prefill = new int[made];
        for (int i = 0; i < made; i++) {
            prefill[i] = randomQuanta(random);
        }
        order = new int[made];
        for (int i = 0; i < made; i++) {
            order[i] = i;
        }
        for (int i = made - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int x = order[i];
            order[i] = order[j];
            order[j] = x;
        }
    }

    /** Quanta of the whole prefill. */
    public long totalQuanta() {
        long total = 0;
        for (int n : prefill) {
            total += n;
        }
        return total;
    }

    /** A uniformly random live index. */
    public int nextIndex() {
        long x = rng;
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        rng = x;
        return (int) (((x >>> 32) * live) >>> 32);
    }

    /** The next replacement size in quanta. */
    public int nextSize() {
        return sizeTable[nextSize++ & (SIZE_TABLE - 1)];
    }

    static int randomQuanta(SplittableRandom random) {
        int low = 1 << random.nextInt(7);
        return Math.min(MAX_QUANTA, low + random.nextInt(low));
    }

    private static int[] sizeTable(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] table = new int[SIZE_TABLE];
        for (int i = 0; i < table.length; i++) {
            table[i] = randomQuanta(random);
        }
        return table;
    }
}

package io.slab4j.bench.tool.fragment;

import java.util.SplittableRandom;

/**
 * Synthetic block-size distributions over {@code [min, max]} bytes. Wilson et al. (1995)
 * warn that such distributions mislead fragmentation studies; they are here to compare
 * with the recorded traces, not to replace them.
 */
public enum Distribution {
    /** Every size in [min, max] equally likely. */
    UNIFORM {
        @Override
        long sample(SplittableRandom r, long min, long max, double alpha) {
            return min + r.nextLong(max - min + 1);
        }
    },
    /** log(size) uniform: as many blocks in [16, 32) as in [4096, 8192). */
    LOG_UNIFORM {
        @Override
        long sample(SplittableRandom r, long min, long max, double alpha) {
            double lo = Math.log(min);
            double hi = Math.log(max + 1.0);
            return clamp((long) Math.exp(lo + r.nextDouble() * (hi - lo)), min, max);
        }
    },
    /** Pareto with exponent {@code alpha}, truncated to [min, max]: many small blocks, a heavy tail. */
    POWER_LAW {
        @Override
        long sample(SplittableRandom r, long min, long max, double alpha) {
            double a = Math.pow(min, -alpha);
            double b = Math.pow(max, -alpha);
            double u = r.nextDouble();
            return clamp((long) Math.pow(a - u * (a - b), -1 / alpha), min, max);
        }
    };

    abstract long sample(SplittableRandom r, long min, long max, double alpha);

    private static long clamp(long v, long min, long max) {
        return Math.max(min, Math.min(max, v));
    }

    /**
     * A steady-state churn trace: allocate until {@code live} blocks are alive, then free a
     * uniformly chosen live block and allocate a new one, until {@code events} events in all.
     */
    public Trace generate(int events, int live, long min, long max, double alpha, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Trace.Builder b = new Trace.Builder(name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
                + " [" + min + ", " + max + "] B");
        int[] alive = new int[live];
        int count = 0;
        for (int i = 0; i < events; i++) {
            if (count < live) {
                alive[count++] = b.allocate(sample(r, min, max, alpha));
            } else {
                int k = r.nextInt(count);
                b.free(alive[k]);
                alive[k] = alive[--count];
                if (++i < events) {
                    alive[count++] = b.allocate(sample(r, min, max, alpha));
                }
            }
        }
        return b.build();
    }
}

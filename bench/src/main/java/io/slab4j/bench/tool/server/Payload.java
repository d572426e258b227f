package io.slab4j.bench.tool.server;

import java.util.SplittableRandom;

/**
 * What the server answers and the load generator checks: {@code GET /bytes/N} returns the
 * first N bytes of {@link #PATTERN}, a fixed byte sequence, so a client can check every byte
 * without keeping its request. Sizes are drawn log-uniformly between a minimum and a
 * maximum (as many 1–2 KiB responses as 512 KiB–1 MiB ones). Stateless; thread-safe.
 */
public final class Payload {
    /** The largest response the scenario allows. */
    public static final int MAX_SIZE = 4 << 20;
    private static final byte[] PATTERN = pattern(MAX_SIZE);

    private Payload() {
    }

    static byte at(int i) {
        return PATTERN[i];
    }

    static byte[] pattern() {
        return PATTERN;
    }

    /** Whether {@code body} is exactly the first {@code size} bytes of the pattern. */
    static boolean matches(byte[] body, int size) {
        return body.length == size && java.util.Arrays.equals(body, 0, size, PATTERN, 0, size);
    }

    /** A log-uniform size in [min, max]. */
    static int size(SplittableRandom random, int min, int max) {
        if (min >= max) {
            return min;
        }
        double lo = Math.log(min);
        double hi = Math.log(max);
        return (int) Math.min(max, Math.max(min, Math.round(Math.exp(lo + random.nextDouble() * (hi - lo)))));
    }

    private static byte[] pattern(int length) {
        byte[] p = new byte[length];
        for (int i = 0; i < length; i++) {
            p[i] = (byte) (i * 31 + (i >>> 8) + (i >>> 16));
        }
        return p;
    }
}

package io.slab4j.bench.tool.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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

    /**
     * Reads {@code body} to its end through {@code chunk}, comparing it with the pattern's first
     * bytes; returns how many bytes it had, or -1 as soon as one differs (or it is longer than
     * the pattern).
     */
    static long check(InputStream body, byte[] chunk) throws IOException {
        long at = 0;
        int n;
        while ((n = body.read(chunk)) >= 0) {
            if (at + n > PATTERN.length
                    || !java.util.Arrays.equals(chunk, 0, n, PATTERN, (int) at, (int) at + n)) {
                body.transferTo(OutputStream.nullOutputStream());
                return -1;
            }
            at += n;
        }
        return at;
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

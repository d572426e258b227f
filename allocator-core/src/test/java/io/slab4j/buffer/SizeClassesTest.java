package io.slab4j.buffer;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The default size classes and the measurement that chose their spacing: internal
 * fragmentation (bytes of class not asked for / bytes of class handed out) over a real trace
 * and synthetic distributions, for 1, 2, 4 and 8 classes per doubling. Prints a table.
 */
class SizeClassesTest {
    private static final long SEED = 0x5eed_b0ffL;

    @Test
    void theDefaultTableSpans16BytesTo64KiBAscending() {
        int[] t = SizeClasses.DEFAULT;
        assertEquals(16, t[0]);
        assertEquals(65536, t[t.length - 1]);
        assertEquals(44, t.length);
        assertArrayEquals(t, SizeClasses.validate(t));
        for (int c : t) {
            assertEquals(0, c % 16, "class " + c + " is a multiple of 16");
        }
        // geometric part: each class at most 25% above the previous one
        for (int i = 8; i < t.length; i++) {
            assertTrue(t[i] <= t[i - 1] * 1.25 + 1e-9, "spacing at " + t[i]);
        }
    }

    @Test
    void validationNamesTheBadValue() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SizeClasses.validate(64, 32));
        assertTrue(e.getMessage().contains("32") && e.getMessage().contains("ascending"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SizeClasses.validate(0, 32));
        assertTrue(e.getMessage().contains("size 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SizeClasses.validate(64, 64));
        assertTrue(e.getMessage().contains("64"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SizeClasses.validate());
        assertThrows(IllegalArgumentException.class, () -> SizeClasses.validate((int[]) null));
    }

    /** Classes from 16 B: 16-byte steps to 128, then {@code perDoubling} classes per doubling to 64 KiB (1: powers of two). */
    static int[] table(int perDoubling) {
        List<Integer> t = new ArrayList<>();
        if (perDoubling == 1) {
            for (int s = 16; s <= 65536; s *= 2) {
                t.add(s);
            }
        } else {
            for (int s = 16; s <= 128; s += 16) {
                t.add(s);
            }
            for (int base = 128; base < 65536; base *= 2) {
                for (int k = 1; k <= perDoubling; k++) {
                    int s = base + k * (base / perDoubling);
                    if (s > t.get(t.size() - 1)) {
                        t.add(s);
                    }
                }
            }
        }
        return t.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Waste fraction of {@code table} over {@code sizes} (sizes above the last class are left out). */
    static double waste(int[] table, int[] sizes) {
        long asked = 0;
        long given = 0;
        for (int s : sizes) {
            int i = Arrays.binarySearch(table, s);
            i = i >= 0 ? i : -i - 1;
            if (i == table.length) {
                continue;
            }
            asked += s;
            given += table[i];
        }
        return 1.0 - (double) asked / given;
    }

    static int[] logUniform(int n, int max, SplittableRandom rnd) {
        int[] s = new int[n];
        double lnMax = Math.log(max);
        for (int i = 0; i < n; i++) {
            s[i] = Math.max(1, (int) Math.exp(rnd.nextDouble() * lnMax));
        }
        return s;
    }

    static int[] uniform(int n, int max, SplittableRandom rnd) {
        int[] s = new int[n];
        for (int i = 0; i < n; i++) {
            s[i] = 1 + rnd.nextInt(max);
        }
        return s;
    }

    /** The allocation sizes of the perl trace, found by walking up from the working directory; null when absent. */
    static int[] traceSizes() throws IOException {
        Path dir = Path.of("").toAbsolutePath();
        Path trace = null;
        for (Path p = dir; p != null && trace == null; p = p.getParent()) {
            Path candidate = p.resolve("shared/traces/perl-textproc.trace.gz");
            if (Files.exists(candidate)) {
                trace = candidate;
            }
        }
        if (trace == null) {
            return null;
        }
        List<Integer> sizes = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(Files.newInputStream(trace)),
                StandardCharsets.US_ASCII))) {
            String line;
            while ((line = r.readLine()) != null) {
                if (line.startsWith("a ")) {
                    sizes.add(Integer.parseInt(line.substring(line.lastIndexOf(' ') + 1)));
                }
            }
        }
        return sizes.stream().mapToInt(Integer::intValue).toArray();
    }

    @Test
    void fourClassesPerDoublingHalveTheWasteOfTwo() throws IOException {
        SplittableRandom rnd = new SplittableRandom(SEED);
        int[] log = logUniform(1_000_000, 65536, rnd);
        int[] uni = uniform(1_000_000, 65536, rnd);
        int[] server = logUniform(1_000_000, 65536, rnd);
        for (int i = 0; i < server.length; i++) {
            server[i] = Math.max(64, server[i]); // server buffers: headers and frames, rarely below 64 B
        }
        int[] trace = traceSizes();
        System.out.printf("size-class waste (seed %x)%n%-22s %8s %10s %10s %10s %10s%n", SEED, "table", "classes", "log-unif",
                "unif", "log>=64B", trace == null ? "trace n/a" : "perl trace");
        double[][] w = new double[9][];
        for (int per : new int[] {1, 2, 4, 8}) {
            int[] t = table(per);
            w[per] = new double[] {waste(t, log), waste(t, uni), waste(t, server), trace == null ? Double.NaN : waste(t, trace)};
            System.out.printf("%-22s %8d %9.1f%% %9.1f%% %9.1f%% %9.1f%%%n", per + " per doubling", t.length, 100 * w[per][0],
                    100 * w[per][1], 100 * w[per][2], 100 * w[per][3]);
        }
        assertArrayEquals(table(4), SizeClasses.DEFAULT, "the default is the 4-per-doubling table");
        for (int d = 0; d < 3; d++) {
            assertTrue(w[4][d] < 0.12, "default waste " + w[4][d] + " on distribution " + d);
            assertTrue(w[4][d] < 0.65 * w[2][d], "4 per doubling clearly beats 2 on distribution " + d);
        }
        if (trace != null) {
            // 94% of the trace's requests are at most 64 B, where 16-byte steps (the pools' item
            // alignment) bound the waste, so the spacing above 128 B barely matters there
            assertTrue(w[4][3] < 0.16 && w[4][3] < w[2][3], "default waste on the trace " + w[4][3]);
        }
    }
}

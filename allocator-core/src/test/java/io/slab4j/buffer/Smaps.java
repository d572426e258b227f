package io.slab4j.buffer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident bytes of the mappings inside an address range, from {@code /proc/self/smaps} (Linux). */
final class Smaps {
    private Smaps() {
    }

    static long residentWithin(long start, long end) {
        String text;
        try {
            text = Files.readString(Path.of("/proc/self/smaps"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long total = 0;
        boolean inside = false;
        for (String line : text.split("\n")) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                long s = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long e = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = Long.compareUnsigned(s, start) >= 0 && Long.compareUnsigned(e, end) <= 0;
            } else if (inside && line.startsWith("Rss:")) {
                String[] f = line.trim().split("\\s+");
                if (!"kB".equals(f[2])) {
                    throw new IllegalStateException("unexpected smaps unit: " + line);
                }
                total += Long.parseLong(f[1]) * 1024;
            }
        }
        return total;
    }
}

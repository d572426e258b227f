package io.slab4j.testing;

import java.util.function.Consumer;
import java.util.List;
import java.util.ArrayList;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test helper: this process's kernel mappings and resident memory from {@code /proc/self}
 * ({@code proc(5)}), for arena tests that check the mapping count and resident set.
 * Stateless; each call reads a fresh snapshot.
 */
public final class ProcMaps {
    private ProcMaps() {
    }

    /** Lines of {@code /proc/self/maps}: the process's mapping count. */
    public static long mappings() {
        return read("/proc/self/maps").lines().filter(l -> !l.isBlank()).count();
    }

    /** Mappings overlapping {@code [start, end)}. */
    public static long mappingsWithin(long start, long end) {
        return read("/proc/self/maps").lines().filter(l -> !l.isBlank()).filter(l -> {
            String[] range = l.substring(0, l.indexOf(' ')).split("-");
            long s = Long.parseUnsignedLong(range[0], 16);
            long e = Long.parseUnsignedLong(range[1], 16);
            return Long.compareUnsigned(s, end) < 0 && Long.compareUnsigned(e, start) > 0;
        }).count();
    }

    /**
     * Bytes of {@code [start, end)} mapped readable and writable ({@code rw} permissions), each
     * mapping clipped to the range: the kernel may merge the range's first or last read-write
     * mapping with a compatible neighbour outside it, which then overlaps the range only in part.
     */
    public static long readWriteBytesWithin(long start, long end) {
        long total = 0;
        for (String line : read("/proc/self/maps").split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] fields = line.trim().split("\\s+");
            String[] range = fields[0].split("-");
            long s = Long.parseUnsignedLong(range[0], 16);
            long e = Long.parseUnsignedLong(range[1], 16);
            long lo = Long.compareUnsigned(s, start) > 0 ? s : start;
            long hi = Long.compareUnsigned(e, end) < 0 ? e : end;
            if (Long.compareUnsigned(lo, hi) < 0 && fields[1].startsWith("rw")) {
                total += hi - lo;
            }
        }
        return total;
    }

    /** Resident bytes of the mappings inside {@code [start, end)}, from the Rss lines of {@code /proc/self/smaps}. */
    public static long residentWithin(long start, long end) {
        return smapsKilobytesWithin(start, end, "Rss:") * 1024;
    }

    /**
     * Resident bytes of exactly {@code [start, end)} (page aligned), page by page: the
     * "present" bit (63) of each page's entry in {@code /proc/self/pagemap}, which an
     * unprivileged process may read (the frame numbers read as 0, the bit does not). For a
     * range inside a larger mapping, where {@link #residentWithin} sees nothing.
     */
    public static long residentPagesWithin(long start, long end, int pageSize) {
        if (start % pageSize != 0 || end % pageSize != 0 || end < start) {
            throw new IllegalArgumentException("residentPagesWithin(0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(end)
                    + "): not a page-aligned range");
        }
        int pages = (int) ((end - start) / pageSize);
        java.nio.ByteBuffer entries = java.nio.ByteBuffer.allocate(pages * 8).order(java.nio.ByteOrder.nativeOrder());
        try (java.nio.channels.FileChannel map = java.nio.channels.FileChannel.open(Path.of("/proc/self/pagemap"))) {
            long at = start / pageSize * 8;
            while (entries.hasRemaining()) {
                int n = map.read(entries, at + entries.position());
                if (n < 0) {
                    throw new IllegalStateException("/proc/self/pagemap ended early at entry " + entries.position() / 8);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long present = 0;
        for (int i = 0; i < pages; i++) {
            if (entries.getLong(i * 8) < 0) { // bit 63
                present++;
            }
        }
        return present * pageSize;
    }

    /** Bytes in transparent huge pages of the mappings inside {@code [start, end)}: the AnonHugePages lines. */
    public static long hugePagesWithin(long start, long end) {
        return smapsKilobytesWithin(start, end, "AnonHugePages:") * 1024;
    }

    /** The VmFlags line of each mapping that starts inside {@code [start, end)}, after the field name. */
    public static List<String> vmFlagsWithin(long start, long end) {
        List<String> flags = new ArrayList<>();
        forEachSmapsField(start, end, false, "VmFlags:", rest -> flags.add(rest));
        return flags;
    }

    /** The sum of one kB field (e.g. {@code "Rss:"}) over the mappings lying wholly inside {@code [start, end)}. */
    private static long smapsKilobytesWithin(long start, long end, String field) {
        long[] total = {0};
        forEachSmapsField(start, end, true, field, rest -> {
            String[] f = rest.trim().split("\\s+");
            if (!"kB".equals(f[1])) {
                throw new IllegalStateException("unexpected smaps unit in " + field + rest);
            }
            total[0] += Long.parseLong(f[0]);
        });
        return total[0];
    }

    /**
     * Calls {@code action} with what follows {@code field} on each such line of a mapping of
     * {@code /proc/self/smaps} that lies wholly inside the range ({@code whole}) or starts in it.
     */
    private static void forEachSmapsField(long start, long end, boolean whole, String field, Consumer<String> action) {
        boolean inside = false;
        for (String line : read("/proc/self/smaps").split("\n")) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
                long s = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long e = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = Long.compareUnsigned(s, start) >= 0
                        && (whole ? Long.compareUnsigned(e, end) <= 0 : Long.compareUnsigned(s, end) < 0);
            } else if (inside && line.startsWith(field)) {
                action.accept(line.substring(field.length()));
            }
        }
    }

    /** Whether the kernel has {@code MADV_POPULATE_WRITE}: Linux 5.14 or later, by {@code os.version}. */
    public static boolean populateWriteExists() {
        String[] parts = System.getProperty("os.version").split("[.-]");
        int major = Integer.parseInt(parts[0]);
        int minor = parts.length > 1 ? Integer.parseInt(parts[1].replaceAll("\\D.*", "")) : 0;
        return major > 5 || (major == 5 && minor >= 14);
    }

    /** {@code /proc/sys/vm/max_map_count}. */
    public static long maxMapCount() {
        return Long.parseLong(read("/proc/sys/vm/max_map_count").trim());
    }

    private static String read(String path) {
        try {
            try (var in = Files.newInputStream(Path.of(path))) { // proc files report size 0: read to the end
                return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package io.slab4j.nativemem;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Test-only readings of this process's memory from {@code /proc/self} ({@code proc(5)}):
 * the resident set, the mappings, and the resident (or huge-page) bytes and mapping flags
 * inside one address range.
 *
 * <p>Concurrency: stateless; each call reads a fresh snapshot, which other threads of the
 * JVM may change at any time, so callers compare with margins, except for ranges only the
 * test itself touches.
 */
final class ProcSelf {

    /** One line of {@code /proc/self/maps}: {@code [start, end)} and permissions such as {@code "---p"}. */
    record Mapping(long start, long end, String perms) {
        long size() {
            return end - start;
        }
    }

    private ProcSelf() {
    }

    /** The process's resident set in bytes: {@code /proc/self/statm} field 2 times the page size. */
    static long residentBytes() {
        String[] fields = read("/proc/self/statm").trim().split("\\s+");
        return Long.parseLong(fields[1]) * VirtualRegion.pageSize();
    }

    /** All mappings of the process, in address order. */
    static List<Mapping> mappings() {
        List<Mapping> result = new ArrayList<>();
        for (String line : read("/proc/self/maps").split("\n")) {
            if (!line.isBlank()) {
                result.add(parseHeader(line));
            }
        }
        return result;
    }

    /** Total size of all mappings, in bytes. */
    static long mappedBytes() {
        long total = 0;
        for (Mapping m : mappings()) {
            total += m.size();
        }
        return total;
    }

    /** Mappings overlapping {@code [start, end)}. */
    static List<Mapping> mappingsWithin(long start, long end) {
        List<Mapping> result = new ArrayList<>();
        for (Mapping m : mappings()) {
            if (Long.compareUnsigned(m.start(), end) < 0 && Long.compareUnsigned(m.end(), start) > 0) {
                result.add(m);
            }
        }
        return result;
    }

    /** Resident bytes of the mappings inside {@code [start, end)}, from {@code /proc/self/smaps} Rss lines. */
    static long residentBytesWithin(long start, long end) {
        return smapsBytesWithin(start, end, "Rss:");
    }

    /** Bytes mapped by transparent huge pages inside {@code [start, end)}: smaps AnonHugePages lines. */
    static long hugePageBytesWithin(long start, long end) {
        return smapsBytesWithin(start, end, "AnonHugePages:");
    }

    /** The sum of one smaps field (in kB, e.g. {@code "Rss:"}) over the mappings inside {@code [start, end)}, in bytes. */
    static long smapsBytesWithin(long start, long end, String field) {
        long total = 0;
        boolean inside = false;
        for (String line : read("/proc/self/smaps").split("\n")) {
            if (isHeader(line)) {
                Mapping m = parseHeader(line);
                inside = Long.compareUnsigned(m.start(), start) >= 0 && Long.compareUnsigned(m.end(), end) <= 0;
            } else if (inside && line.startsWith(field)) {
                String[] fields = line.trim().split("\\s+");
                if (!"kB".equals(fields[2])) {
                    throw new IllegalStateException("unexpected smaps unit: " + line);
                }
                total += Long.parseLong(fields[1]) * 1024;
            }
        }
        return total;
    }

    /**
     * The smaps {@code VmFlags} of each mapping overlapping {@code [start, end)}, in address
     * order (e.g. {@code "rd wr mr mw me ac hg"}: {@code hg} is MADV_HUGEPAGE, {@code nh}
     * MADV_NOHUGEPAGE).
     */
    static List<String> vmFlagsWithin(long start, long end) {
        List<String> result = new ArrayList<>();
        boolean inside = false;
        for (String line : read("/proc/self/smaps").split("\n")) {
            if (isHeader(line)) {
                Mapping m = parseHeader(line);
                inside = Long.compareUnsigned(m.start(), end) < 0 && Long.compareUnsigned(m.end(), start) > 0;
            } else if (inside && line.startsWith("VmFlags:")) {
                result.add(line.substring("VmFlags:".length()).trim());
            }
        }
        return result;
    }

    private static boolean isHeader(String line) {
        int dash = line.indexOf('-');
        int space = line.indexOf(' ');
        return dash > 0 && space > dash && line.substring(0, dash).chars().allMatch(ProcSelf::isHexDigit);
    }

    private static boolean isHexDigit(int c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }

    private static Mapping parseHeader(String line) {
        String[] fields = line.trim().split("\\s+");
        String[] range = fields[0].split("-");
        return new Mapping(Long.parseUnsignedLong(range[0], 16), Long.parseUnsignedLong(range[1], 16), fields[1]);
    }

    private static String read(String path) {
        try {
            return Files.readString(Path.of(path));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package io.slab4j.bench.tool;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class UnitsTest {
    @Test
    void sizesTakeBinarySuffixes() {
        assertEquals(4096, Units.parseSize("4096"));
        assertEquals(256 * 1024, Units.parseSize("256K"));
        assertEquals(256 * 1024, Units.parseSize("256KiB"));
        assertEquals(4L << 20, Units.parseSize("4m"));
        assertEquals(1L << 30, Units.parseSize("1G"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseSize("0"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseSize("-1"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseSize("12X"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseSize("99999999999G"));
    }

    @Test
    void durationsTakeUnitsOrIso() {
        assertEquals(Duration.ofMillis(500), Units.parseDuration("500ms"));
        assertEquals(Duration.ofSeconds(5), Units.parseDuration("5s"));
        assertEquals(Duration.ofMinutes(1), Units.parseDuration("1m"));
        assertEquals(Duration.ofMillis(2500), Units.parseDuration("PT2.5S"));
        assertEquals(Duration.ofNanos(500_000), Units.parseDuration("0.5ms"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("0s"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("-1s"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("PT-1S"));
        assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("soon"));
    }

    @Test
    void printsShortHumanUnits() {
        assertEquals("256 KiB", Units.bytes(256 * 1024));
        assertEquals("1.5 MiB", Units.bytes(3L << 19));
        assertEquals("850 ns", Units.nanos(850));
        assertEquals("4.56 ms", Units.nanos(4_560_000));
    }
}

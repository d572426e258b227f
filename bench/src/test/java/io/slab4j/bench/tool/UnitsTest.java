package io.slab4j.bench.tool;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    void durationsStopAtAYear() {
        assertEquals(Duration.ofDays(365), Units.parseDuration("PT8760H"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("PT8761H"));
        assertTrue(e.getMessage().contains("'PT8761H'"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("PT999999999999999H"));
    }

    @Test
    void millisecondOptionsTakeWholeMilliseconds() {
        assertEquals(Duration.ofMillis(1), Units.parseMillis("1ms"));
        assertEquals(Duration.ofMillis(2500), Units.parseMillis("2.5s"));
        IllegalArgumentException shorter = assertThrows(IllegalArgumentException.class, () -> Units.parseMillis("0.5ms"));
        assertTrue(shorter.getMessage().contains("'0.5ms' is shorter than 1 ms"), shorter.getMessage());
        IllegalArgumentException part = assertThrows(IllegalArgumentException.class, () -> Units.parseMillis("1.5ms"));
        assertTrue(part.getMessage().contains("'1.5ms' is not a whole number of milliseconds"), part.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Units.parseMillis("0s"));
    }

    @Test
    void printsShortHumanUnits() {
        assertEquals("256 KiB", Units.bytes(256 * 1024));
        assertEquals("1.5 MiB", Units.bytes(3L << 19));
        assertEquals("850 ns", Units.nanos(850));
        assertEquals("4.56 ms", Units.nanos(4_560_000));
    }
}

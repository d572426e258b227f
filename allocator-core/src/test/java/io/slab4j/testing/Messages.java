package io.slab4j.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Test helper: assertions on exception messages (bad input must name the value and what was expected). */
public final class Messages {
    private Messages() {
    }

    /** Asserts the message of {@code e} is present and contains {@code expected}. */
    public static void assertMessage(Throwable e, String expected) {
        assertTrue(e.getMessage() != null && e.getMessage().contains(expected),
                () -> "message '" + e.getMessage() + "' should mention '" + expected + "'");
    }

    /** Asserts the message of {@code x} names {@code value}, in decimal or in hex. */
    public static void assertNamesValue(Throwable x, long value) {
        String m = String.valueOf(x.getMessage()).toLowerCase();
        assertTrue(m.contains(Long.toString(value)) || m.contains(Long.toHexString(value)) || m.contains(Long.toHexString(-value)),
                () -> "message should name " + value + ": " + x.getMessage());
    }
}

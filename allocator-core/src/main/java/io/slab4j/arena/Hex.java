package io.slab4j.arena;

/** The one hex renderer of the arena package, for addresses and sizes in messages. Stateless. */
final class Hex {
    private Hex() {
    }

    /** {@code value} in hex with a {@code 0x} prefix, and a minus sign when negative. */
    static String of(long value) {
        // -Long.MIN_VALUE == Long.MIN_VALUE, whose unsigned hex is the right magnitude.
        return value < 0 ? "-0x" + Long.toHexString(-value) : "0x" + Long.toHexString(value);
    }
}

package io.slab4j.arena;

/**
 * The one hex renderer of slab4j's core, for addresses and sizes in messages (the arena, the
 * pools, the caches and the buffer pool all name addresses this way, so a message from one
 * layer can be matched against another's). Stateless. ({@code allocator-native} sits below
 * the core and keeps its own private copy for {@code VirtualRegion}'s messages.)
 */
public final class Hex {
    private Hex() {
    }

    /** {@code value} in hex with a {@code 0x} prefix, and a minus sign when negative. */
    public static String of(long value) {
        // -Long.MIN_VALUE == Long.MIN_VALUE, whose unsigned hex is the right magnitude.
        return value < 0 ? "-0x" + Long.toHexString(-value) : "0x" + Long.toHexString(value);
    }
}

package io.slab4j.nativemem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The trimming of an aligned reservation ({@code LinuxMemory.trimToAligned}) when an unmap is
 * refused, with a recording unmapper that refuses the n-th call and touches no memory. Review 21
 * read the old clean-up: after the head's unmap worked and the tail's failed, it unmapped the whole
 * over-reservation again, head included, whose addresses another thread's mmap may have taken by
 * then. The clean-up must unmap only what is still the call's own.
 */
class ReserveAlignedTrimTest {
    private static final long PAGE = VirtualRegion.pageSize();
    private static final long ALIGN = 16 * PAGE;
    private static final long LENGTH = 4 * PAGE;
    /** An over-reservation three pages past an alignment boundary: both a head and a tail to trim. */
    private static final long RAW = (1L << 40) + 3 * PAGE;
    private static final long ALIGNED = (1L << 40) + ALIGN;
    private static final long END = RAW + LENGTH + ALIGN - PAGE;

    /** Records every call as [address, end); refuses call number {@code refuse} (1-based; 0 refuses none). */
    private static class Recorder implements LinuxMemory.Unmapper {
        final List<long[]> calls = new ArrayList<>();
        final int refuse;

        Recorder(int refuse) {
            this.refuse = refuse;
        }

        @Override
        public void unmap(long address, long length) {
            calls.add(new long[] {address, address + length});
            if (calls.size() == refuse) {
                throw new NativeMemoryException("munmap", "addr=" + VirtualRegion.hex(address) + " (refused by the test)", 12);
            }
        }
    }

    private static void assertCall(long[] call, long from, long to, String what) {
        assertEquals(VirtualRegion.hex(from) + ".." + VirtualRegion.hex(to), VirtualRegion.hex(call[0]) + ".." + VirtualRegion.hex(call[1]), what);
    }

    @Test
    void trimsTheHeadAndTheTailAroundTheAlignedPart() {
        Recorder r = new Recorder(0);
        assertEquals(ALIGNED, LinuxMemory.trimToAligned(RAW, LENGTH, ALIGN, r));
        assertEquals(2, r.calls.size());
        assertCall(r.calls.get(0), RAW, ALIGNED, "the head");
        assertCall(r.calls.get(1), ALIGNED + LENGTH, END, "the tail");
    }

    @Test
    void aRefusedTailUnmapsOnlyFromTheAlignedPartOnNotTheHeadAgain() {
        Recorder r = new Recorder(2);
        NativeMemoryException e = assertThrows(NativeMemoryException.class, () -> LinuxMemory.trimToAligned(RAW, LENGTH, ALIGN, r));
        assertEquals(3, r.calls.size(), "the head, the refused tail, then the clean-up");
        assertCall(r.calls.get(2), ALIGNED, END, "the clean-up: the aligned part and the tail, not the head already given back");
        assertEquals(0, e.getSuppressed().length);
    }

    @Test
    void aRefusedHeadUnmapsTheWholeOverReservation() {
        Recorder r = new Recorder(1);
        assertThrows(NativeMemoryException.class, () -> LinuxMemory.trimToAligned(RAW, LENGTH, ALIGN, r));
        assertEquals(2, r.calls.size(), "the refused head, then the clean-up (the tail is not tried)");
        assertCall(r.calls.get(1), RAW, END, "the clean-up: all of it, nothing was given back");
    }

    @Test
    void aRefusedCleanUpIsSuppressedUnderTheFirstFailure() {
        Recorder r = new Recorder(2) {
            @Override
            public void unmap(long address, long length) {
                super.unmap(address, length);
                if (calls.size() == 3) {
                    throw new NativeMemoryException("munmap", "clean-up refused by the test", 12);
                }
            }
        };
        NativeMemoryException e = assertThrows(NativeMemoryException.class, () -> LinuxMemory.trimToAligned(RAW, LENGTH, ALIGN, r));
        assertEquals(1, e.getSuppressed().length);
        assertSame(NativeMemoryException.class, e.getSuppressed()[0].getClass());
    }
}

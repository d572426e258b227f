package io.slab4j.buffer;

import io.slab4j.nativemem.VirtualRegion;
import io.slab4j.testing.ProcMaps;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link BufferPool.Builder#prefault} and {@link BufferPool.Builder#hugePages}, checked on the
 * kernel's own view ({@code /proc/self/smaps}) of each buffer's range: a prefaulted slab or
 * span is resident before its first touch, a large buffer of huge pages is placed on a huge
 * page boundary and backed by huge pages, and both still go back to the OS on trim. Each has
 * its control without the option, so the assertions can fail.
 */
class BufferPoolGrowAdviceTest {
    private static final long MIB = 1L << 20;
    private static int serial;

    private static BufferPool.Builder pool(String what) {
        return BufferPool.builder().name("grow-advice-" + what + "-" + (++serial)).reserve(256 * MIB);
    }

    private static long resident(PooledBuffer b) {
        return ProcMaps.residentPagesWithin(b.address(), b.address() + b.capacity(), VirtualRegion.pageSize());
    }

    private static long huge(PooledBuffer b) {
        return ProcMaps.hugePagesWithin(b.address(), b.address() + b.capacity());
    }

    private static String thpMode() throws Exception {
        String s = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
        int open = s.indexOf('[');
        return s.substring(open + 1, s.indexOf(']', open));
    }

    @Test
    void prefaultMakesSlabsAndLargeSpansResidentBeforeTheirFirstTouch() throws Exception {
        assumeTrue(ProcMaps.populateWriteExists(), "no MADV_POPULATE_WRITE on this kernel");
        try (BufferPool p = pool("prefault").prefault(true).build()) {
            PooledBuffer small = p.acquire(4096);
            PooledBuffer large = p.acquire((int) MIB);
            assertEquals(small.capacity(), resident(small), "the class's new slab was faulted in at its grow");
            assertEquals(MIB, resident(large), "the large span too");
            small.close();
            large.close();
            p.trim();
            p.checkInvariants();
        }
    }

    @Test
    void withoutPrefaultNothingIsResidentUntilTouched() throws Exception {
        try (BufferPool p = pool("plain").build()) {
            PooledBuffer small = p.acquire(4096);
            PooledBuffer large = p.acquire((int) MIB);
            assertEquals(0, resident(small));
            assertEquals(0, resident(large));
            large.byteBuffer().put(0, (byte) 1);
            assertEquals(VirtualRegion.pageSize(), resident(large), "one touch, one page");
            small.close();
            large.close();
        }
    }

    @Test
    void hugePagesPlaceLargeBuffersOnHugePagesAndTrimGivesThemBack() throws Exception {
        long page = VirtualRegion.hugePageSize();
        assumeTrue(page > 0, "no transparent huge pages on this machine");
        assumeTrue(ProcMaps.populateWriteExists(), "no MADV_POPULATE_WRITE on this kernel");
        try (BufferPool p = pool("huge").hugePages(true).prefault(true).build()) {
            PooledBuffer pad = p.acquire(3 * VirtualRegion.pageSize() + 100); // a large span that is not huge
            PooledBuffer b = p.acquire((int) (2 * page));
            assertEquals(0, b.address() % page, "a span of huge pages starts on a huge-page boundary: 0x"
                    + Long.toHexString(b.address()));
            long backed = huge(b);
            assumeTrue(backed > 0, "the kernel found no free huge page (memory too fragmented)");
            assertEquals(2 * page, backed, "both huge pages of the span");
            ByteBuffer view = b.byteBuffer();
            view.putLong(view.capacity() - 8, 42);
            assertEquals(42, view.getLong(view.capacity() - 8));
            assertEquals(0, huge(pad), "a span smaller than a huge page keeps small pages");
            long address = b.address();
            b.close();
            pad.close();
            p.trim();
            assertEquals(0, ProcMaps.residentPagesWithin(address, address + 2 * page, VirtualRegion.pageSize()),
                    "trim gave the huge pages back");
            p.checkInvariants();
        }
    }

    @Test
    void withoutHugePagesALargeBufferHasNone() throws Exception {
        long page = VirtualRegion.hugePageSize();
        assumeTrue(page > 0, "no transparent huge pages on this machine");
        assumeTrue("madvise".equals(thpMode()), "with THP 'always' any range may get huge pages");
        try (BufferPool p = pool("nohuge").build()) {
            PooledBuffer b = p.acquire((int) (4 * page));
            ByteBuffer view = b.byteBuffer();
            for (int i = 0; i < view.capacity(); i += VirtualRegion.pageSize()) {
                view.put(i, (byte) 1);
            }
            assertEquals(0, huge(b));
            b.close();
        }
    }
}

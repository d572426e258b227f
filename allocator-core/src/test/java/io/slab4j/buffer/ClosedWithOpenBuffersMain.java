package io.slab4j.buffer;

import io.slab4j.testing.ProcMaps;

import java.nio.ByteBuffer;

/**
 * Run in a child JVM by {@link ClosedWithOpenBuffersTest}. A pool closed with buffers still open
 * keeps its region reserved, emptied: a {@code ByteBuffer} the caller derived from a view (which
 * the pool cannot detach) reads zeros afterwards and may be written, instead of faulting. A pool
 * closed with nothing open unmaps its region. Prints the result; dies of SIGSEGV if the first
 * pool unmapped.
 */
public final class ClosedWithOpenBuffersMain {

    public static void main(String[] args) throws Exception {
        BufferPool open = BufferPool.builder().name("closed-with-open").reserve(64L << 20).leakDetection(LeakDetection.OFF).build();
        PooledBuffer small = open.acquire(4096);
        PooledBuffer large = open.acquire(1 << 20);
        ByteBuffer ds = small.byteBuffer().duplicate(); // the caller's own: not detached by close
        ByteBuffer dl = large.byteBuffer().duplicate();
        long smallAt = small.address();
        ds.putLong(0, 0x5555_5555_5555_5555L);
        dl.putLong(1000, 0x6666_6666_6666_6666L);
        long largeAt = large.address();
        long residentBefore = ProcMaps.residentPagesWithin(largeAt, largeAt + (1 << 20), io.slab4j.nativemem.VirtualRegion.pageSize());
        open.close();
        check(mapped(smallAt), "the region of a pool closed with open buffers stays mapped");
        long resident = ProcMaps.residentPagesWithin(largeAt, largeAt + (1 << 20), io.slab4j.nativemem.VirtualRegion.pageSize());
        check(residentBefore > 0 && resident == 0, "its memory went back to the OS: resident " + residentBefore + " -> " + resident);
        long a = ds.getLong(0);
        long b = dl.getLong(1000);
        check(a == 0 && b == 0, "the stale views read zeros, not the old bytes: " + Long.toHexString(a) + " " + Long.toHexString(b));
        ds.putLong(8, 42);
        check(ds.getLong(8) == 42, "a stale write lands in the retired region");
        check(small.isClosed() && large.isClosed(), "the handles look closed");

        BufferPool empty = BufferPool.builder().name("closed-empty").reserve(16L << 20).leakDetection(LeakDetection.OFF).build();
        PooledBuffer x = empty.acquire(64);
        long at = x.address();
        x.close();
        check(mapped(at), "an open pool's region is mapped");
        empty.close();
        check(!mapped(at), "a pool closed with nothing open unmaps its region");
        System.out.println("CLOSED-WITH-OPEN-OK");
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAILED: " + what);
            System.exit(5);
        }
    }

    /** Whether some mapping of this process covers {@code address}. */
    private static boolean mapped(long address) {
        return ProcMaps.mappingsWithin(address, address + 1) > 0;
    }
}

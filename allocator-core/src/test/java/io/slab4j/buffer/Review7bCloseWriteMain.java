package io.slab4j.buffer;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Run in a child JVM by {@code Review7bTest}. Each round, threads hold an open buffer each
 * (a size class or a large span) and keep deriving their own {@code ByteBuffer}s from its view
 * ({@code duplicate()}, as the close's javadoc names "a ByteBuffer the caller derived from a
 * view") and writing the derived buffer's last long, while the pool is closed under them. The
 * close keeps the region (buffers are open), so every such write must land in the retained
 * region or throw: the JVM must survive. Prints {@code R7B-WRITE-OK}; dies (SIGSEGV, or a
 * corrupted native heap) when a derived buffer points anywhere else.
 */
public final class Review7bCloseWriteMain {
    public static void main(String[] args) throws Exception {
        int rounds = Integer.parseInt(args[0]);
        for (int r = 0; r < rounds; r++) {
            BufferPool pool = BufferPool.builder().name("r7b-write-" + r).reserve(32L << 20).leakDetection(LeakDetection.OFF).build();
            int[] sizes = {1 << 20, 65536, 2 << 20};
            System.out.println("round " + r + ": region 0x" + Long.toHexString(pool.regionAddress()) + " + 32 MiB");
            List<Thread> ts = new ArrayList<>();
            List<PooledBuffer> held = new ArrayList<>();
            for (int k = 0; k < sizes.length; k++) {
                PooledBuffer b = pool.acquire(sizes[k]);
                held.add(b);
                ByteBuffer view = b.byteBuffer();
                Thread t = new Thread(() -> {
                    try {
                        for (int w = 0; w < 1_000_000; w++) {
                            ByteBuffer d = view.duplicate(); // the caller's own derived buffer
                            d.putLong(d.capacity() - 8, w);
                        }
                    } catch (IndexOutOfBoundsException detached) {
                        // the view was detached (capacity 0): the derived buffer refuses, as it should
                    }
                });
                ts.add(t);
                t.start();
            }
            Thread.sleep(1);
            pool.close();
            for (Thread t : ts) {
                t.join(20_000);
            }
            if (!Review7bTest.mapped(pool.regionAddress())) {
                System.out.println("FAILED: round " + r + ": open buffers, yet the region was unmapped");
                System.exit(5);
            }
        }
        System.out.println("R7B-WRITE-OK");
    }
}

package io.slab4j.buffer;

import java.nio.ByteBuffer;

/**
 * Child JVM of {@link Review8Test#aLeakedHoldersLiveViewSurvivesThePoolsClose}: a raw holder
 * sampled by the leak detector dies while its rawView lives; the watch returns the memory; the
 * pool closes with nothing open (so it unmaps its region) and the still reachable view is read.
 * Argument "handle": the same with a PooledBuffer and a slice of its view (the control).
 */
public final class Review8LeakedViewMain {
    private Review8LeakedViewMain() {
    }

    public static void main(String[] args) throws Exception {
        boolean handle = args.length > 0 && args[0].equals("handle");
        BufferPool p = BufferPool.builder().name("r8-child").reserve(16L << 20).leakDetection(LeakDetection.ALL).build();
        ByteBuffer view = handle ? handleView(p) : rawView(p);
        long deadline = System.nanoTime() + (handle ? 1_000_000_000L : 5_000_000_000L); // the control never leaks: do not wait long
        while (p.stats().leaksDetected() == 0 && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(10);
        }
        System.out.println("R8-LEAKS " + p.stats().leaksDetected() + " IN-USE " + p.stats().buffersInUse());
        p.close();
        System.out.println("R8-CLOSED");
        System.out.flush();
        byte b = view.get(0); // the view is reachable: must not fault
        System.out.println("R8-READ " + b);
    }

    private static ByteBuffer rawView(BufferPool p) {
        long[] at = new long[1];
        Object[] token = new Object[1];
        RawHolder h = new RawHolder() {
            @Override
            public void hold(long address, int capacity, Object t) {
                at[0] = address;
                token[0] = t;
            }
        };
        if (!p.tryAcquireRaw(1 << 20, h)) {
            throw new AssertionError("no memory");
        }
        ByteBuffer v = p.rawView(h, token[0], at[0]);
        v.put(0, (byte) 9);
        return v;
    }

    private static ByteBuffer handleView(BufferPool p) {
        PooledBuffer b = p.tryAcquire(1 << 20);
        ByteBuffer v = b.byteBuffer().slice(); // derived: never detached, keeps the handle reachable
        v.put(0, (byte) 9);
        return v;
    }
}

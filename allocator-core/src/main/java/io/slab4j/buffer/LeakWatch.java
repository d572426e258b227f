package io.slab4j.buffer;

import io.slab4j.arena.Hex;
import java.lang.ref.Cleaner;

/**
 * The leak detector's record of one watched {@link PooledBuffer} (or {@link RawHolder}, which
 * stands for "the handle" below): what to give back and where it was acquired. Registered
 * with a {@link Cleaner} on the handle; it refers to the supply, never to the handle, so the
 * handle can become phantom reachable.
 *
 * <p>Exactly one of {@link #disarm()} (the handle was closed) and {@link #run()} (the
 * cleaner found the handle unreachable while armed) returns the memory: a handle that is
 * unreachable cannot be closed any more, and a closed handle disarms before it cleans. The
 * {@code armed} flag is volatile: the closing thread's write happens-before the cleaner
 * thread's read through {@link Cleaner.Cleanable#clean()}.
 */
final class LeakWatch implements Runnable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final System.Logger LOG = System.getLogger(BufferPool.class.getName());

    private final Supply supply;
    private final long address;
    private final int capacity;
    private final Throwable acquiredAt;
    /** The watched object is a {@link RawHolder}, not a handle (for the report's wording). */
    private final boolean raw;
    private volatile boolean armed = true;
    private Cleaner.Cleanable cleanable;

    private LeakWatch(Supply supply, long address, int capacity, boolean raw) {
        this.supply = supply;
        this.raw = raw;
        this.address = address;
        this.capacity = capacity;
        this.acquiredAt = new Throwable("acquired here");
    }

    /** Watches {@code handle}: a {@link PooledBuffer}, or the {@link RawHolder} of a raw acquire. */
    static LeakWatch watch(Object handle, Supply supply, long address, int capacity) {
        LeakWatch watch = new LeakWatch(supply, address, capacity, !(handle instanceof PooledBuffer));
        watch.cleanable = CLEANER.register(handle, watch);
        return watch;
    }

    /** The handle was closed: forget it (and drop the cleaner's registration). */
    void disarm() {
        armed = false;
        cleanable.clean();
    }

    @Override
    public void run() {
        if (!armed) {
            return;
        }
        BufferPool pool = supply.owner;
        try {
            supply.release(address, capacity, true);
        } finally { // counted once the memory is back, so a snapshot that shows the leak shows the buffer out of use
            pool.leaked(capacity);
            LOG.log(System.Logger.Level.WARNING, "buffer pool '" + pool.name() + "': a buffer of " + capacity + " bytes at "
                    + Hex.of(address) + " became unreachable without " + (raw ? "releaseRaw()" : "close()") + "; its memory went back to the pool", acquiredAt);
        }
    }
}

package io.slab4j.pool;

import java.util.concurrent.locks.ReentrantLock;

/**
 * A {@link Pool}'s lock, counting its acquisitions so tests can see the lock traffic of a
 * call. {@link #acquisitions} is written and read only while the lock is held.
 */
final class CountingLock extends ReentrantLock {
    long acquisitions;

    @Override
    public void lock() {
        super.lock();
        acquisitions++;
    }
}

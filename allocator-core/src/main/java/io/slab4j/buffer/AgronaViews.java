package io.slab4j.buffer;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Agrona views of pool memory. Kept apart from {@link PooledBuffer} so that Agrona's
 * {@code Unsafe}-based classes (which need {@code --add-exports
 * java.base/jdk.internal.misc=ALL-UNNAMED}) are loaded only when {@link PooledBuffer#buffer()}
 * is first called: everything else in the package works on a plain JVM.
 *
 * <p>A view is an {@link UnsafeBuffer} subclass that holds its handle, so a reachable view
 * keeps its handle reachable (the leak detector never returns memory a live view points at).
 * Detaching re-wraps it at zero length: with Agrona's bounds checks on (the default; see
 * {@code agrona.disable.bounds.checks}) every access then throws
 * {@code IndexOutOfBoundsException}. With bounds checks disabled nothing can stop a stale
 * access: that is the user's explicit choice.
 *
 * <p>Concurrency: as {@link DirectViews}; the owner handle serialises make and detach.
 */
final class AgronaViews {
    private AgronaViews() {
    }

    static MutableDirectBuffer view(long address, int length, PooledBuffer owner) {
        return new Pinned(address, length, owner);
    }

    static void detach(MutableDirectBuffer view) {
        ((Pinned) view).detach();
    }

    private static final class Pinned extends UnsafeBuffer {
        /** The handle, kept reachable while this view is; null once detached. */
        @SuppressWarnings({"unused", "FieldCanBeLocal"})
        private Object owner;

        Pinned(long address, int length, Object owner) {
            super(address, length);
            this.owner = owner;
        }

        void detach() {
            wrap(addressOffset(), 0);
            owner = null;
        }
    }
}

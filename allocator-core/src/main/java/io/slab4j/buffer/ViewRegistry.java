package io.slab4j.buffer;

import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The open buffers of a {@link BufferPool} that have handed out views, so that the pool's
 * {@code close()} can detach those views before unmapping. Held weakly: the registry must not
 * keep a leaked handle reachable (the views refer to their handle), or the leak detector
 * could never see it. A handle leaves the registry on close; entries of handles collected
 * unclosed are purged from a reference queue on the next add.
 *
 * <p>Thread-safe: a concurrent set; no lock of its own.
 */
final class ViewRegistry {
    private final Set<Ref> refs = ConcurrentHashMap.newKeySet();
    private final ReferenceQueue<PooledBuffer.Extras> collected = new ReferenceQueue<>();

    static final class Ref extends WeakReference<PooledBuffer.Extras> {
        Ref(PooledBuffer.Extras x, ReferenceQueue<PooledBuffer.Extras> q) {
            super(x, q);
        }
    }

    Ref add(PooledBuffer.Extras x) {
        Reference<? extends PooledBuffer.Extras> gone;
        while ((gone = collected.poll()) != null) {
            refs.remove(gone);
        }
        Ref ref = new Ref(x, collected);
        refs.add(ref);
        return ref;
    }

    void remove(Ref ref) {
        refs.remove(ref);
    }

    /** Detaches the views of every registered handle; returns how many handles had views. */
    int detachAll() {
        int n = 0;
        for (Ref ref : refs) {
            PooledBuffer.Extras x = ref.get();
            if (x != null) {
                PooledBuffer.detachViews(x);
                n++;
            }
        }
        refs.clear();
        return n;
    }

    int size() {
        return refs.size();
    }
}

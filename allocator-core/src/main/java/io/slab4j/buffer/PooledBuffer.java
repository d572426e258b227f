package io.slab4j.buffer;

import io.slab4j.arena.Hex;
import org.agrona.MutableDirectBuffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;

/**
 * One acquire of a {@link BufferPool}: {@code capacity()} bytes of native memory at
 * {@code address()}, until {@link #close()}. A fresh handle each acquire, never recycled, so a
 * stale handle can never come to mean someone else's buffer (the bug class of Netty's
 * {@code Recycler}).
 *
 * <h2>State</h2>
 * {@code word} is the address while open and the address with bit 0 set once closed
 * (addresses are at least 16-byte aligned: items of a class are, large spans are page
 * aligned). The capacity is the {@link Supply}'s (each supply hands out one capacity).
 * {@code link} is the supply until the handle needs more (a view or a leak watch), then an
 * {@link Extras} that holds the supply, the views and the watch. So the handle is 24 bytes of
 * heap (header, word, link), and {@code -prof gc} shows 24 B per acquire/close plus the
 * sampled leak watches' share.
 * <pre>
 *   open (word = address) --close(): one CAS--> closed (word = address | CLOSED)
 * </pre>
 * Exactly one {@code close()} wins the CAS and returns the memory; later and losing calls do
 * nothing. So the layers below never see a double return from a handle.
 *
 * <h2>Views and detaching</h2>
 * {@link #byteBuffer()} and {@link #buffer()} are made on first call (one of each per handle,
 * the same object on every call), exactly {@code capacity()} long. {@code close()} detaches
 * them: re-points them to zero length, so a later access through them throws
 * ({@code IndexOutOfBoundsException} and friends) instead of touching the next holder's bytes.
 * This holds for the closing thread and for every thread that saw the close happen-before
 * (for example through the lock or queue that passed the handle on). An access racing the
 * close from another thread is a data race in the caller's code: it may still read or write
 * the old bytes. Views derived by the caller ({@code slice()}, {@code duplicate()},
 * {@code asLongBuffer()}) are the caller's own and are not detached.
 *
 * <h2>Concurrency and memory model</h2>
 * Thread-safe. {@code word} and {@code link} are accessed through {@link VarHandle}s with
 * volatile semantics. A view is made and published under the {@link Extras} monitor after
 * checking, under it, that the handle is open; {@code close()} wins its CAS first and then
 * detaches under the same monitor. Either the close's critical section comes first (then the
 * maker sees the closed state and throws) or the maker's does (then the close sees the view
 * and detaches it). An {@code Extras} replaces the supply in {@code link} by CAS, so two racing
 * makers agree on one; its {@code supply} is final, so a thread that sees the {@code Extras}
 * sees its supply (JLS 17.5), and either value of {@code link} names the same supply.
 */
public final class PooledBuffer implements AutoCloseable {
    private static final VarHandle WORD;
    /** Bit 0 of {@code word}: set once closed. */
    private static final long CLOSED = 1;
    private static final VarHandle LINK;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            WORD = lookup.findVarHandle(PooledBuffer.class, "word", long.class);
            LINK = lookup.findVarHandle(PooledBuffer.class, "link", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The address while open, {@code address | CLOSED} once closed; written by one CAS (VarHandle). */
    @SuppressWarnings("FieldMayBeFinal")
    private long word;
    /**
     * The {@link Supply}, or once views or a leak watch exist the {@link Extras} (which holds
     * it); replaced at most once, by CAS (VarHandle). The Extras' fields are guarded by its monitor.
     */
    @SuppressWarnings("FieldMayBeFinal")
    private Object link;

    /** A handle on {@code supply.capacity} bytes at {@code address} (16-byte aligned at least), not watched. */
    PooledBuffer(long address, Supply supply) {
        this.word = address;
        this.link = supply;
    }

    /** As the constructor, and the leak detector watches the handle. */
    static PooledBuffer watched(long address, Supply supply) {
        PooledBuffer b = new PooledBuffer(address, supply);
        Extras x = new Extras(supply);
        x.leak = LeakWatch.watch(b, supply, address, supply.capacity);
        b.link = x; // before the handle is published (the acquire returns it)
        return b;
    }

    Supply supply() {
        Object l = LINK.getAcquire(this);
        return l instanceof Extras ? ((Extras) l).supply : (Supply) l;
    }

    /** The first byte; {@code capacity()} bytes from here are this buffer's. */
    public long address() {
        return open("address");
    }

    /** Bytes usable: the size class of the request, or the page-rounded span for large requests. */
    public int capacity() {
        open("capacity");
        return supply().capacity;
    }

    /**
     * A direct {@link ByteBuffer} over exactly this buffer (position 0, limit and capacity
     * {@code capacity()}; byte order as a new buffer's, big-endian), made on the first call and
     * the same object afterwards. Works on a plain JVM (no {@code --add-opens}).
     */
    public ByteBuffer byteBuffer() {
        long address = open("byteBuffer");
        Extras x = extras();
        int capacity = x.supply.capacity;
        synchronized (x) {
            if (x.bytes == null) {
                open("byteBuffer");
                x.bytes = DirectViews.view(address, capacity, this);
                x.register(x.supply.owner);
                afterRegister(x, "byteBuffer");
            }
            return x.bytes;
        }
    }

    /**
     * An Agrona view over exactly this buffer, made on the first call and the same object
     * afterwards. Needs {@code --add-exports java.base/jdk.internal.misc=ALL-UNNAMED}
     * (Agrona's {@code UnsafeBuffer}); nothing else in this package does.
     */
    public MutableDirectBuffer buffer() {
        long address = open("buffer");
        Extras x = extras();
        int capacity = x.supply.capacity;
        synchronized (x) {
            if (x.agrona == null) {
                open("buffer");
                x.agrona = AgronaViews.view(address, capacity, this);
                x.register(x.supply.owner);
                afterRegister(x, "buffer");
            }
            return x.agrona;
        }
    }

    /** True once {@link #close()} has run on this handle, or its pool has been closed. */
    public boolean isClosed() {
        return ((long) WORD.getVolatile(this) & CLOSED) != 0 || supply().owner.isClosed();
    }

    /**
     * Returns the memory to the pool and detaches the views, exactly once however many threads
     * call it; later calls do nothing. Never throws once the buffer was open: it returns even
     * when the pool has been closed meanwhile (the memory went with the pool).
     */
    @Override
    public void close() {
        long address = (long) WORD.getVolatile(this);
        if ((address & CLOSED) == 0 && WORD.compareAndSet(this, address, address | CLOSED)) {
            Object l = LINK.getVolatile(this);
            if (l instanceof ClassTally) {
                ((ClassTally) l).release(address, false); // the fast path: no views, no watch, a size class
            } else {
                closeSlow(l, address);
            }
        } // else closed already, or another close won the CAS (the word changes only once)
    }

    /** The close that won the CAS, for a handle with views or a leak watch, or a large span. */
    private void closeSlow(Object l, long address) {
        Supply supply;
        if (l instanceof Extras) {
            Extras x = (Extras) l;
            x.close(x.supply.owner);
            supply = x.supply;
            // Until the watch is disarmed the handle must stay strongly reachable: the watch
            // does not refer to it, so otherwise the JIT may let it die after the LINK read,
            // and the cleaner could run the armed watch and return the memory a second time
            // beside this close.
            Reference.reachabilityFence(this);
        } else {
            supply = (Supply) l;
        }
        supply.release(address, supply.capacity, false);
    }

    /**
     * A view was just registered (under {@code x}'s monitor). If the pool closed meanwhile, its
     * close may have walked the registry before this entry was there: detach here and refuse.
     * Either the close's walk sees the entry (and detaches once this monitor is free) or this
     * read sees {@code closed}: the registry add and the flag are both sequentially consistent
     * (a concurrent set's CAS and a volatile read here; a CAS on {@code closed} and the
     * registry walk there), so both cannot miss each other.
     */
    private void afterRegister(Extras x, String what) {
        if (x.supply.owner.isClosed()) {
            x.detach();
            open(what); // throws: the pool is closed
        }
    }

    /** Pool close: detaches this handle's views without returning its memory. */
    static void detachViews(Extras x) {
        synchronized (x) {
            x.detach();
        }
    }

    /**
     * The pool's own, for a raw acquire's retry: this handle, made by the calling thread and
     * seen by no caller, gives up its memory without returning it. It reads closed from now
     * on, and its leak watch (if sampled) is disarmed; true when there was one.
     */
    boolean giveUpFresh() {
        long address = (long) WORD.getVolatile(this);
        WORD.setVolatile(this, address | CLOSED);
        Object l = LINK.getVolatile(this);
        LeakWatch watch = l instanceof Extras ? ((Extras) l).leak : null;
        if (watch == null) {
            return false;
        }
        ((Extras) l).leak = null;
        watch.disarm();
        return true;
    }

    /** The address, open or closed, without checks (the pool's own). */
    long rawAddress() {
        return (long) WORD.getVolatile(this) & ~CLOSED;
    }

    /** The address, when this handle and its pool are open; else throws. */
    private long open(String what) {
        long address = (long) WORD.getVolatile(this);
        if ((address & CLOSED) != 0) {
            throw new IllegalStateException("PooledBuffer." + what + "(): the buffer at " + Hex.of(address & ~CLOSED)
                    + " is closed");
        }
        BufferPool owner = supply().owner;
        if (owner.isClosed()) {
            throw new IllegalStateException("PooledBuffer." + what + "(): buffer pool '" + owner.name() + "' is closed");
        }
        return address;
    }

    private Extras extras() {
        Object l = LINK.getVolatile(this);
        if (l instanceof Extras) {
            return (Extras) l;
        }
        Extras made = new Extras((Supply) l);
        Object seen = LINK.compareAndExchange(this, l, made);
        return seen == l ? made : (Extras) seen; // the link changes once: a lost race saw the winner's Extras
    }

    @Override
    public String toString() {
        long w = (long) WORD.getVolatile(this);
        return "PooledBuffer[" + Hex.of(w & ~CLOSED) + ", " + supply().capacity + " bytes"
                + ((w & CLOSED) != 0 ? ", closed]" : "]");
    }

    /**
     * What a handle needs beyond its address: the views handed out and the leak watch. Fields
     * guarded by this object's monitor.
     */
    static final class Extras {
        /** The handle's supply; final, so whoever sees this object sees it. */
        final Supply supply;
        ByteBuffer bytes;
        MutableDirectBuffer agrona;
        LeakWatch leak;
        /** The pool's weak record of these views (for its close), null until the first view. */
        ViewRegistry.Ref ref;

        Extras(Supply supply) {
            this.supply = supply;
        }

        /** Guarded by this. */
        void register(BufferPool owner) {
            if (ref == null) {
                ref = owner.views.add(this);
            }
        }

        /** The handle's close: disarm the watch, detach the views, leave the pool's registry. */
        void close(BufferPool owner) {
            LeakWatch watch;
            ViewRegistry.Ref registered;
            synchronized (this) {
                watch = leak;
                leak = null;
                registered = ref;
                ref = null;
                detach();
            }
            if (watch != null) {
                watch.disarm();
            }
            if (registered != null) {
                owner.views.remove(registered);
            }
        }

        /** Guarded by this. */
        void detach() {
            if (bytes != null) {
                DirectViews.detach(bytes);
            }
            if (agrona != null) {
                AgronaViews.detach(agrona);
            }
        }
    }
}

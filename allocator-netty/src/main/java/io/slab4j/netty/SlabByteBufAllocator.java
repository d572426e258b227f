package io.slab4j.netty;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.slab4j.buffer.BufferPool;
import io.slab4j.buffer.BufferPoolStats;
import io.slab4j.nativemem.NativeMemoryException;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;

/**
 * Netty's {@code ByteBufAllocator} over a slab4j {@link BufferPool}:
 * {@code bootstrap.childOption(ChannelOption.ALLOCATOR, new SlabByteBufAllocator(pool))}.
 *
 * <h2>What it hands out</h2>
 * <ul>
 *   <li>Direct buffers: a {@link SlabByteBuf} over memory of the pool (held through
 *       {@link io.slab4j.buffer.RawHolder}, no {@code PooledBuffer} handle: 64 bytes of heap
 *       per allocation), wrapped
 *       for Netty's {@code ResourceLeakDetector} as Netty's own allocators do
 *       ({@code toLeakAwareBuffer}, at whatever level is set). The memory goes back to the pool
 *       when the reference count reaches 0; growth and shrinking move to another buffer of the
 *       same pool and never into memory Netty allocates (see {@link SlabByteBuf}).
 *   <li>Heap buffers: Netty's unpooled heap buffers, counted in {@link #metric()}.
 *   <li>{@code buffer()}, {@code ioBuffer()} and {@code compositeBuffer()}: direct unless the
 *       builder said {@code preferDirect(false)} ({@code ioBuffer()} is always direct).
 * </ul>
 *
 * <h2>Back-pressure</h2>
 * A request first tries the pool without waiting ({@link BufferPool#tryAcquireRaw}). When that
 * finds the pool at its cap:
 * <ol>
 *   <li>on an event-loop thread ({@link #isEventLoopThread}, or the builder's own test), the
 *       allocation never waits: {@link BufferPoolExhaustedException} at once, or with
 *       {@link EventLoopPolicy#FALLBACK_UNPOOLED} one of Netty's unpooled direct buffers;
 *   <li>on any other thread it waits up to the builder's {@code waitTimeout} (default zero:
 *       fail at once) for a buffer to come back, then throws the same exception. An interrupt
 *       ends the wait with that exception too, the interrupt flag set again.
 * </ol>
 * A commit the OS refuses (the pool's {@link NativeMemoryException}, e.g. {@code ENOMEM}) is
 * no memory now, as at the cap: a try that may not wait falls back or throws
 * {@link BufferPoolExhaustedException} with the refusal as its cause, and a wait waits it out
 * (the pool retries the commit). So Netty code sees one exception for "no memory", never the
 * pool's own, and a shrink ({@code capacity(int)} below the capacity) stays put.
 * Growth of an existing buffer acquires the same way, except that it never falls back. A
 * capacity larger than the pool can ever hand out (above its reservation or committed cap) is
 * treated as the cap: {@link BufferPoolExhaustedException} at once on any thread, or the
 * fallback on an event loop that has one. Netty picks the grown capacity itself (doubling up
 * to 4 MiB, then 4 MiB steps) and asks for that: near a full pool the step can fail where the
 * bytes written would have fit; {@code capacity(int)} with the exact size asks for no more.
 *
 * <h2>Pool lifetime</h2>
 * The allocator does not own the pool: close the pool after the channels that use the
 * allocator are closed. A {@code SlabByteBuf} still open when its pool closes refuses access
 * ({@code refCnt()} reads 0, so Netty's access checks throw), and since such a pool keeps its
 * region reserved (emptied, never unmapped; see {@link BufferPool#close()}), what Netty reaches
 * without those checks (a {@code CompositeByteBuf}'s byte search, NIO buffers taken before)
 * reads zeros instead of faulting. NIO buffers from {@code nioBuffer()},
 * {@code nioBuffers()} and {@code internalNioBuffer()} follow Netty's rule: valid until the
 * buffer's release or its next capacity change; after that they see whatever the memory holds
 * (the pool detaches only its own views).
 *
 * <h2>Concurrency</h2>
 * Thread-safe: every field is final; the counters are {@link LongAdder}s; the pool is
 * thread-safe. The buffers follow Netty's rules (see {@link SlabByteBuf}).
 */
public final class SlabByteBufAllocator extends AbstractByteBufAllocator implements ByteBufAllocatorMetricProvider {
    private final BufferPool pool;
    private final EventLoopPolicy eventLoopPolicy;
    private final Duration waitTimeout;
    /** {@code waitTimeout} is not zero: threads that are not event loops wait (see {@link #firstTry}). */
    private final boolean waits;
    private final Predicate<Thread> eventLoopThreads;
    private final boolean preferDirect;
    private final SlabByteBufAllocatorMetric metric = new SlabByteBufAllocatorMetric(this);
    private final LongAdder heapBytes = new LongAdder();
    private final LongAdder exhausted = new LongAdder();
    private final LongAdder fallbacks = new LongAdder();

    /** An allocator over {@code pool} with the defaults of {@link Builder}. */
    public SlabByteBufAllocator(BufferPool pool) {
        this(new Builder(Objects.requireNonNull(pool, "new SlabByteBufAllocator(null): a SlabByteBufAllocator needs a BufferPool")));
    }

    private SlabByteBufAllocator(Builder b) {
        super(b.preferDirect);
        this.pool = b.pool;
        this.eventLoopPolicy = b.eventLoopPolicy;
        this.waitTimeout = b.waitTimeout;
        this.waits = !b.waitTimeout.isZero();
        this.eventLoopThreads = b.eventLoopThreads;
        this.preferDirect = b.preferDirect;
    }

    public static Builder builder(BufferPool pool) {
        return new Builder(pool);
    }

    /**
     * The default event-loop test: a {@link FastThreadLocalThread} that does not permit
     * blocking calls. Netty's event loops run on such threads (its {@code DefaultThreadFactory}
     * makes them, and {@code permitBlockingCalls()} is false unless a subclass says otherwise).
     */
    public static boolean isEventLoopThread(Thread thread) {
        return thread instanceof FastThreadLocalThread && !((FastThreadLocalThread) thread).permitBlockingCalls();
    }

    public BufferPool pool() {
        return pool;
    }

    public EventLoopPolicy eventLoopPolicy() {
        return eventLoopPolicy;
    }

    /** How long an allocation on a thread that is not an event loop waits at the cap (zero: not at all). */
    public Duration waitTimeout() {
        return waitTimeout;
    }

    // ---------------------------------------------------------------- Netty's SPI

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        int size = Math.max(1, initialCapacity);
        SlabByteBuf buf = new SlabByteBuf(this, initialCapacity, maxCapacity); // dropped unheld if the pool has nothing
        boolean held;
        IllegalArgumentException beyondThePool = null;
        NativeMemoryException refused = null;
        try {
            held = firstTry(size, buf);
        } catch (IllegalArgumentException e) { // a capacity Netty allowed that the pool can never hand out
            held = false;
            beyondThePool = e;
        } catch (NativeMemoryException e) { // the OS refused a commit of a try that may not wait: no memory now, as at the cap
            held = false;
            refused = e;
        }
        if (!held) {
            Thread self = Thread.currentThread();
            if (eventLoopThreads.test(self) && eventLoopPolicy == EventLoopPolicy.FALLBACK_UNPOOLED) {
                fallbacks.increment();
                return toLeakAwareBuffer(new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity));
            }
            if (beyondThePool != null) {
                throw neverFits(size, self, "an allocation", beyondThePool);
            }
            throw exhaustedError(size, self, refused);
        }
        return toLeakAwareBuffer(buf);
    }

    /** {@code size} is beyond what the pool can ever hand out: counted as exhausted, and the same exception as at the cap. */
    private BufferPoolExhaustedException neverFits(int size, Thread self, String what, IllegalArgumentException cause) {
        exhausted.increment();
        return new BufferPoolExhaustedException("buffer pool '" + pool.name() + "' can never hold a buffer of " + size + " bytes, so "
                + what + " on thread '" + self.getName() + "' failed (" + cause.getMessage() + ")", pool.name(), size,
                eventLoopThreads.test(self), Duration.ZERO, cause);
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return toLeakAwareBuffer(new CountedHeapByteBuf(this, heapBytes, initialCapacity, maxCapacity));
    }

    @Override
    public boolean isDirectBufferPooled() {
        return true;
    }

    @Override
    public ByteBuf buffer() {
        return preferDirect ? directBuffer() : heapBuffer();
    }

    @Override
    public ByteBuf buffer(int initialCapacity) {
        return preferDirect ? directBuffer(initialCapacity) : heapBuffer(initialCapacity);
    }

    @Override
    public ByteBuf buffer(int initialCapacity, int maxCapacity) {
        return preferDirect ? directBuffer(initialCapacity, maxCapacity) : heapBuffer(initialCapacity, maxCapacity);
    }

    @Override
    public CompositeByteBuf compositeBuffer() {
        return preferDirect ? compositeDirectBuffer() : compositeHeapBuffer();
    }

    @Override
    public CompositeByteBuf compositeBuffer(int maxNumComponents) {
        return preferDirect ? compositeDirectBuffer(maxNumComponents) : compositeHeapBuffer(maxNumComponents);
    }

    @Override
    public SlabByteBufAllocatorMetric metric() {
        return metric;
    }

    @Override
    public String toString() {
        return "SlabByteBufAllocator(pool: '" + pool.name() + "', eventLoopPolicy: " + eventLoopPolicy + ", waitTimeout: "
                + waitTimeout + ", preferDirect: " + preferDirect + ')';
    }

    // --------------------------------------------------------------- acquiring

    /** Memory for a growing {@link SlabByteBuf}, into {@code buf}: as for a new one, but never unpooled; throws when there is none. */
    void acquireForGrowth(int size, SlabByteBuf buf) {
        boolean held;
        NativeMemoryException refused = null;
        try {
            held = firstTry(size, buf);
        } catch (IllegalArgumentException beyondThePool) { // a capacity Netty allowed (within maxCapacity) that the pool can never hand out
            throw neverFits(size, Thread.currentThread(), "the growth of a buffer", beyondThePool);
        } catch (NativeMemoryException e) { // as for a new buffer
            held = false;
            refused = e;
        }
        if (!held) {
            throw exhaustedError(size, Thread.currentThread(), refused);
        }
    }

    /**
     * The one call into the pool for an allocation or a growth: with no wait configured (the
     * default) a try; else a thread that may wait goes straight into the pool's timed acquire,
     * whose own first try is the same fast path, so that an allocation served after a wait is
     * one public call of the pool and counts no failure in its class stats (a try and then a
     * wait would count the try's miss). True when {@code buf} holds memory; false only when this
     * thread may not wait and the pool has nothing now; throws when a wait ran out or was
     * interrupted, and the pool's {@link NativeMemoryException} when the OS refused the commit
     * of a try that may not wait (a wait waits a refusal out).
     */
    private boolean firstTry(int size, SlabByteBuf buf) {
        return waits ? tryOrWait(size, buf) : pool.tryAcquireRaw(size, buf);
    }

    private boolean tryOrWait(int size, SlabByteBuf buf) {
        Thread self = Thread.currentThread();
        if (eventLoopThreads.test(self)) {
            return pool.tryAcquireRaw(size, buf);
        }
        Throwable cause = null;
        try {
            if (pool.acquireRaw(size, waitTimeout, buf)) {
                return true;
            }
        } catch (InterruptedException e) {
            self.interrupt();
            cause = e;
        }
        throw exhaustedError(size, self, false, waitTimeout, cause);
    }

    /** Memory into {@code buf} if the pool has some now (true), else false; never waits, never throws for a full pool. */
    boolean tryAcquire(int size, SlabByteBuf buf) {
        return pool.tryAcquireRaw(Math.max(1, size), buf);
    }

    /**
     * {@link #firstTry} found nothing for a thread that may not wait (an event loop, or no wait
     * configured): the pool at its cap, or the OS refusing the commit ({@code refused}, else null).
     */
    private BufferPoolExhaustedException exhaustedError(int size, Thread self, NativeMemoryException refused) {
        boolean loop = eventLoopThreads.test(self);
        return exhaustedError(size, self, loop, loop ? Duration.ZERO : waitTimeout, refused);
    }

    /** The pool had no buffer for this allocation: counted, and the exception that says why. */
    private BufferPoolExhaustedException exhaustedError(int size, Thread self, boolean loop, Duration limit, Throwable cause) {
        exhausted.increment();
        String how = (loop ? "on event-loop thread '" + self.getName() + "', which never waits (EventLoopPolicy." + eventLoopPolicy + ")"
                : cause instanceof InterruptedException ? "interrupted while waiting on thread '" + self.getName() + "'"
                : limit.isZero() ? "on thread '" + self.getName() + "', with no wait configured (waitTimeout 0)"
                : "on thread '" + self.getName() + "' after waiting " + limit)
                + (cause instanceof NativeMemoryException ? ": the OS refused to commit memory (" + cause.getMessage() + ")" : "");
        BufferPoolStats s = pool.stats();
        return new BufferPoolExhaustedException("buffer pool '" + pool.name() + "' has no buffer of " + size + " bytes free " + how
                + " (" + s.buffersInUse() + " buffers, " + s.usedBytes() + " bytes in use of " + s.reservedBytes() + " reserved)",
                pool.name(), size, loop, limit, cause);
    }

    long heapBytes() {
        return heapBytes.sum();
    }

    long exhaustedCount() {
        return exhausted.sum();
    }

    long fallbackCount() {
        return fallbacks.sum();
    }

    /**
     * Configures a {@link SlabByteBufAllocator}. Defaults: {@link EventLoopPolicy#FAIL}, no wait
     * on other threads ({@code waitTimeout} zero), {@link #isEventLoopThread} as the event-loop
     * test, direct buffers preferred. Setters reject bad values at once
     * ({@code IllegalArgumentException} naming them) and leave the builder unchanged.
     */
    public static final class Builder {
        private final BufferPool pool;
        private EventLoopPolicy eventLoopPolicy = EventLoopPolicy.FAIL;
        private Duration waitTimeout = Duration.ZERO;
        private Predicate<Thread> eventLoopThreads = SlabByteBufAllocator::isEventLoopThread;
        private boolean preferDirect = true;

        private Builder(BufferPool pool) {
            this.pool = Objects.requireNonNull(pool, "builder(null): a SlabByteBufAllocator needs a BufferPool");
        }

        /** What an event-loop allocation does at the cap (default {@link EventLoopPolicy#FAIL}). */
        public Builder eventLoopPolicy(EventLoopPolicy policy) {
            if (policy == null) {
                throw new IllegalArgumentException("eventLoopPolicy(null): choose FAIL or FALLBACK_UNPOOLED");
            }
            this.eventLoopPolicy = policy;
            return this;
        }

        /** How long an allocation on a thread that is not an event loop waits at the cap; zero (the default) fails at once. */
        public Builder waitTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative()) {
                throw new IllegalArgumentException("waitTimeout(" + timeout + "): the timeout must be zero or positive");
            }
            this.waitTimeout = timeout;
            return this;
        }

        /**
         * Which threads count as event loops (never wait). The default,
         * {@link SlabByteBufAllocator#isEventLoopThread}, knows Netty's own threads; a server
         * whose event loops run on threads of its own factory says so here.
         */
        public Builder eventLoopThreads(Predicate<Thread> test) {
            if (test == null) {
                throw new IllegalArgumentException("eventLoopThreads(null): a test is needed");
            }
            this.eventLoopThreads = test;
            return this;
        }

        /** Whether {@code buffer()} and {@code compositeBuffer()} are direct (default true). */
        public Builder preferDirect(boolean direct) {
            this.preferDirect = direct;
            return this;
        }

        public SlabByteBufAllocator build() {
            return new SlabByteBufAllocator(this);
        }
    }
}

package io.slab4j.bench;

import io.slab4j.arena.Arena;
import io.slab4j.event.BaseEvent;
import io.slab4j.pool.Pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A release → parked-waiter hand-off between the calling thread and an echo thread, for
 * measuring wake-up latency ({@link EventBench#wakeUp}).
 *
 * <pre>
 *   caller (benchmark thread)                 echo thread
 *   ─────────────────────────                 ───────────
 *   awaitParked(): until echo registered      x = receive()   ── blocks: registered, parked
 *                  and Thread.State WAITING        │
 *   wakeEcho():  release(held) ─── wakes ────▶     ▼
 *                spin on mailbox ◀── publish ── mailbox = x;  loop to receive()
 *                held = x; mailbox = 0
 * </pre>
 *
 * Exactly one item or span circulates: the caller holds it between calls, the echo
 * between its receive and its publish. So when the caller releases, the echo is the only
 * thread that can take it, and it is already waiting.
 *
 * <p>Invariants: {@code mailbox} is 0 except between the echo's publish and the caller's
 * read; {@code inbox} likewise for the {@code PARK_UNPARK} path. Neither thread blocks the
 * other except through the path under test.
 *
 * <p>Concurrency: {@link #awaitParked}, {@link #wakeEcho} and {@link #close} are called
 * by one thread (the benchmark thread). {@code mailbox}, {@code inbox} and
 * {@code echoFailure} are the only fields both threads touch: acquire/release VarHandle
 * accesses for the two mailboxes, volatile for the failure.
 *
 * <p>Public only because {@link Path} is a JMH {@code @Param} type, which JMH's generated
 * code (another package) must reach.
 */
@SuppressWarnings("try") // close() joins the echo thread, so it may be interrupted
public final class Waker implements AutoCloseable {
    /** What the echo blocks in, and how the caller wakes it. */
    public enum Path {
        /** {@code LockSupport.park} on a plain field / {@code unpark}: the floor. */
        PARK_UNPARK,
        /** {@code Pool.get()} on an empty pool at its hard limit (waits on puts alone) / {@code put}. */
        POOL_AT_LIMIT,
        /**
         * {@code Pool.get()} on an empty pool under its limit whose arena is full: waits on
         * {@code choose(put, grow)}, the grow queued in the arena / {@code put}, which wins;
         * the echo's clean-up withdraws the arena request and fires the nack.
         */
        POOL_PUT_OR_GROW,
        /** {@code arena.allocEvent(q).sync()} on a full arena / {@code free}. */
        ARENA_FREE
    }

    private static final long QUANTUM = 4096;
    private static final long BASE = 1L << 40;
    /** Spins between liveness checks of the echo while waiting for it. */
    private static final int SPINS_PER_CHECK = 1 << 16;
    private static final long STUCK_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final VarHandle MAILBOX;
    private static final VarHandle INBOX;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            MAILBOX = lookup.findVarHandle(Waker.class, "mailbox", long.class);
            INBOX = lookup.findVarHandle(Waker.class, "inbox", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Path path;
    /** How long the echo must have been parked before {@link #awaitParked} returns. */
    private final long asleepNanos;
    private final Arena arena;
    private final Pool pool;
    private final BaseEvent<Long> space;
    private final Thread echo;
    /** Written by the echo (release), read and cleared by the caller (acquire). */
    @SuppressWarnings("unused")
    private long mailbox;
    /** PARK_UNPARK only: written by the caller (release), read and cleared by the echo. */
    @SuppressWarnings("unused")
    private long inbox;
    /** Set by the echo if it dies of anything but the interrupt that stops it. */
    private volatile Throwable echoFailure;
    /** What the caller holds between calls: an item, a span, or a token. Caller only. */
    private long held;

    Waker(Path path, long asleepNanos) {
        this.path = path;
        this.asleepNanos = asleepNanos;
        switch (path) {
            case PARK_UNPARK -> {
                arena = null;
                pool = null;
                space = null;
                held = 1;
            }
            case POOL_AT_LIMIT -> {
                arena = Arena.builder(BASE, 16 * QUANTUM).quantum(QUANTUM).build();
                pool = Pool.builder("wake-at-limit", QUANTUM).slabPages(1).hardLimit(1).lowWater(1).build(arena);
                space = null;
                held = takeOrFail(pool);
            }
            case POOL_PUT_OR_GROW -> {
                // the arena holds exactly the one primed slab, so a grow must wait for space
                arena = Arena.builder(BASE, QUANTUM).quantum(QUANTUM).build();
                pool = Pool.builder("wake-put-or-grow", QUANTUM).slabPages(1).hardLimit(2).lowWater(1).build(arena);
                space = null;
                held = takeOrFail(pool);
            }
            case ARENA_FREE -> {
                arena = Arena.builder(BASE, QUANTUM).quantum(QUANTUM).build();
                pool = null;
                space = arena.allocEvent(QUANTUM);
                held = arena.tryAlloc(QUANTUM);
            }
            default -> throw new IllegalArgumentException("path " + path);
        }
        echo = new Thread(this::echoLoop, "wake-up-echo-" + path);
        echo.setDaemon(true);
        echo.start();
    }

    private static long takeOrFail(Pool pool) {
        long item = pool.tryGet();
        if (item == 0) {
            throw new IllegalStateException("primed pool gave no item: " + pool.stats());
        }
        return item;
    }

    // ------------------------------------------------------------------ echo side

    private void echoLoop() {
        try {
            for (;;) {
                long x = receive();
                MAILBOX.setRelease(this, x);
            }
        } catch (InterruptedException e) {
            // close(): the normal way out
        } catch (Throwable t) {
            echoFailure = t;
        }
    }

    private long receive() throws InterruptedException {
        switch (path) {
            case PARK_UNPARK -> {
                long x;
                while ((x = (long) INBOX.getAcquire(this)) == 0) {
                    LockSupport.park(this);
                    if (Thread.interrupted()) {
                        throw new InterruptedException();
                    }
                }
                INBOX.setRelease(this, 0L);
                return x;
            }
            case POOL_AT_LIMIT, POOL_PUT_OR_GROW -> {
                return pool.get();
            }
            case ARENA_FREE -> {
                return space.sync();
            }
            default -> throw new IllegalStateException("path " + path);
        }
    }

    // ---------------------------------------------------------------- caller side

    /**
     * Waits (spinning, untimed by the benchmark) until the echo has registered wherever it
     * waits and is asleep in {@code park}. Registrations are checked before the thread
     * state: after its last registration the echo takes no lock before it parks, so WAITING
     * then means parked in its sync, not briefly blocked on a lock. HotSpot reports WAITING
     * a little before the thread actually blocks in the kernel, and a release in that
     * window wakes it in well under a microsecond. And on a virtual machine the longer a
     * CPU has idled, the longer it takes to wake (measured here: ~7 µs after a few µs
     * asleep, ~30-40 µs after 100 µs). So the state must hold for {@code asleepNanos}
     * (0: go at once) before the caller goes on.
     */
    void awaitParked() {
        long start = System.nanoTime();
        int spins = 0;
        long parkedSince = 0;
        for (;;) {
            if (registered() && echo.getState() == Thread.State.WAITING) {
                long now = System.nanoTime();
                if (parkedSince == 0) {
                    parkedSince = now;
                }
                if (now - parkedSince >= asleepNanos) {
                    return;
                }
            } else {
                parkedSince = 0;
            }
            Thread.onSpinWait();
            if (++spins % 64 == 0 && parkedSince == 0) {
                Thread.yield(); // two cores: leave the echo room to get there
            }
            if (spins % SPINS_PER_CHECK == 0) {
                checkEcho(start, "park");
            }
        }
    }

    private boolean registered() {
        return switch (path) {
            case PARK_UNPARK -> true;
            case POOL_AT_LIMIT -> pool.waiters() == 1; // one get (its put and its grow queued in the pool count once)
            case POOL_PUT_OR_GROW -> pool.hasWaiters() && arena.waiters() == 1;
            case ARENA_FREE -> arena.waiters() == 1;
        };
    }

    /** Releases the held item/span/token to the parked echo and returns what comes back. */
    long wakeEcho() {
        switch (path) {
            case PARK_UNPARK -> {
                INBOX.setRelease(this, held);
                LockSupport.unpark(echo);
            }
            case POOL_AT_LIMIT, POOL_PUT_OR_GROW -> pool.put(held);
            case ARENA_FREE -> arena.free(held, QUANTUM);
            default -> throw new IllegalStateException("path " + path);
        }
        long x;
        int spins = 0;
        long start = 0;
        while ((x = (long) MAILBOX.getAcquire(this)) == 0) {
            Thread.onSpinWait();
            if (++spins % SPINS_PER_CHECK == 0) {
                if (start == 0) {
                    start = System.nanoTime();
                }
                checkEcho(start, "answer");
            }
        }
        MAILBOX.setRelease(this, 0L);
        held = x;
        return x;
    }

    private void checkEcho(long start, String what) {
        Throwable failure = echoFailure;
        if (failure != null) {
            throw new IllegalStateException("echo thread failed", failure);
        }
        if (!echo.isAlive()) {
            throw new IllegalStateException("echo thread is gone");
        }
        if (System.nanoTime() - start > STUCK_NANOS) {
            throw new IllegalStateException("echo did not " + what + " within " + Duration.ofNanos(STUCK_NANOS)
                    + "; state " + echo.getState() + (pool != null ? ", " + pool.stats() : "")
                    + (arena != null ? ", " + arena.stats() : ""));
        }
    }

    /** Stops the echo (interrupting its wait) and checks the structures it used. */
    @Override
    public void close() throws InterruptedException {
        echo.interrupt();
        echo.join(TimeUnit.SECONDS.toMillis(10));
        if (echo.isAlive()) {
            throw new IllegalStateException("echo thread did not stop; state " + echo.getState());
        }
        if (echoFailure != null) {
            throw new IllegalStateException("echo thread failed", echoFailure);
        }
        if (pool != null) {
            pool.checkInvariants();
        }
        if (arena != null) {
            arena.checkInvariants();
        }
    }
}

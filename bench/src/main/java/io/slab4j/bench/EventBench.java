package io.slab4j.bench;

import io.slab4j.arena.Arena;
import io.slab4j.event.BaseEvent;
import io.slab4j.event.Event;
import io.slab4j.event.Events;
import io.slab4j.pool.Pool;
import io.slab4j.pool.WaitStrategy;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The event layer's two costs: a {@code sync} that commits at once (the poll step, no
 * registration, no park), and the latency of waking a thread parked in a {@code sync}.
 * Run with {@code -prof gc}: the allocation per operation is part of what is measured.
 *
 * <h2>Uncontended sync ({@code Mode.AverageTime})</h2>
 * Each event here is <em>plain</em> (no guard, no withNack) and ready, so a sync polls it
 * in place and commits: no {@code Sync}, branch or waiter is made. Each pair compares an
 * event with the source's own non-waiting call; the difference is the event's cost.
 * <ul>
 *   <li>{@link #syncAlways}: {@code Events.always(x).sync()}: the protocol's fixed cost
 *       (interrupt check, type check, one poll).
 *   <li>{@link #syncChooseOfTwo}: {@code choose(always(a), always(b)).sync()}: adds the
 *       random starting branch.
 *   <li>{@link #syncArenaAllocEvent} and {@link #pollArenaAllocEvent}:
 *       {@code arena.allocEvent(q).sync()} (or {@code poll()}) then {@code free}: a ready
 *       source event; against {@link #arenaTryAllocFree}, the same pair without the event.
 *   <li>{@link #syncChooseOfTwoArenaEvents}: {@code choose(allocEvent(q), allocEvent(q))}
 *       on one arena, both ready: the choice of two ready base events.
 *   <li>{@link #syncPoolPutEvent} against {@link #poolTryGetPut}: a pool with the
 *       {@code LOW_WATER_PRIME} strategy, whose {@code getEvent()} is its put event, a
 *       base event. {@link #syncPoolGetEventNack}: the default {@code NACK} pool, whose
 *       {@code getEvent()} is {@code choose(put, withNack(grow))}: not plain, so even when
 *       an item is free the sync instantiates it (the withNack function runs, a nack is
 *       made and fired), as Concurrent ML requires.
 * </ul>
 *
 * <h2>Wake-up latency ({@code Mode.SampleTime}, {@link #wakeUp})</h2>
 * A second thread, the echo, blocks receiving (see {@link Waker.Path}); the benchmark
 * thread releases one item/span to it, which wakes it; the echo publishes what it
 * received in a volatile mailbox that the benchmark thread spins on. A per-invocation
 * setup (untimed) waits until the echo is registered <em>and</em> parked
 * ({@code Thread.State.WAITING}) and has stayed so for {@code asleepMicros}: 0 releases
 * as soon as the JVM reports it parked (some releases then catch it before it sleeps in
 * the kernel: the waiter that has just gone to sleep); 100 lets its CPU go idle first
 * (the waiter that has waited a while, which on this VM costs far more to wake). Each
 * sample is the release call + unpark + the echo being scheduled + the rest of its
 * {@code sync} (clean-up, nacks, wraps) + one cache-line hand-back (~0.1 µs). The
 * {@code PARK_UNPARK} path does the same with a bare {@code LockSupport} hand-off: the
 * JVM and OS floor under the other paths.
 *
 * <h2>A woken get's allocation ({@code Mode.AverageTime}, {@link #wokenPoolGet})</h2>
 * The same hand-off as {@link #wakeUp} with {@code asleepMicros = 0}, on the pool paths
 * only, timed per operation so that {@code -prof gc}'s {@code gc.alloc.rate.norm} is the
 * bytes one woken get costs: the echo's blocked {@code pool.get()} (its wait, its
 * registrations, its clean-up) plus the benchmark thread's {@code put} that serves it. JMH
 * sums the allocation of every thread of the fork, so the echo's share is counted. The
 * per-invocation setup (untimed) waits until the echo is registered and parked, so every
 * operation is a real wake-up, never a get that finds an item at once.
 *
 * <p>Run with {@code -t 1}: each benchmark thread brings its own echo thread, and the
 * machine has two cores.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {BenchFlags.ADD_EXPORTS})
public class EventBench {
    static final long QUANTUM = 4096;

    /** Pre-built events: building is free, each sync instantiates afresh. */
    @State(Scope.Thread)
    public static class Uncontended {
        final Event<Long> always = Events.always(42L);
        final Event<Long> chooseOfTwo = Events.choose(Events.always(1L), Events.always(2L));
        Arena arena;
        BaseEvent<Long> space;
        Event<Long> eitherSpace;
        /** LOW_WATER_PRIME: {@code getEvent()} is a base event. Primed, so an item is always free. */
        Pool primed;
        Event<Long> primedGet;
        /** The default NACK pool, primed likewise. */
        Pool nack;
        Event<Long> nackGet;

        @Setup(Level.Trial)
        public void setUp() {
            arena = Arena.builder(1L << 40, 1024 * QUANTUM).quantum(QUANTUM).build();
            space = arena.allocEvent(QUANTUM);
            eitherSpace = Events.choose(arena.allocEvent(QUANTUM), arena.allocEvent(QUANTUM));
            primed = Pool.builder("event-bench-primed", QUANTUM).slabPages(4).lowWater(1).hardLimit(4)
                    .waitStrategy(WaitStrategy.LOW_WATER_PRIME).build(arena);
            primedGet = primed.getEvent();
            nack = Pool.builder("event-bench-nack", QUANTUM).slabPages(4).lowWater(1).highWater(1).build(arena);
            nackGet = nack.getEvent();
        }

        @TearDown(Level.Trial)
        public void check() {
            primed.checkInvariants();
            nack.checkInvariants();
            primed.close();
            nack.close();
            arena.checkInvariants();
            if (arena.stats().spans() != 0) {
                throw new IllegalStateException("spans leaked: " + arena.stats());
            }
        }
    }

    @Benchmark
    public Long syncAlways(Uncontended s) throws InterruptedException {
        return s.always.sync();
    }

    @Benchmark
    public Long syncChooseOfTwo(Uncontended s) throws InterruptedException {
        return s.chooseOfTwo.sync();
    }

    @Benchmark
    public long syncArenaAllocEvent(Uncontended s) throws InterruptedException {
        long at = s.space.sync();
        s.arena.free(at, QUANTUM);
        return at;
    }

    @Benchmark
    public long pollArenaAllocEvent(Uncontended s) {
        long at = s.space.poll().orElseThrow();
        s.arena.free(at, QUANTUM);
        return at;
    }

    @Benchmark
    public long syncChooseOfTwoArenaEvents(Uncontended s) throws InterruptedException {
        long at = s.eitherSpace.sync();
        s.arena.free(at, QUANTUM);
        return at;
    }

    @Benchmark
    public long syncPoolPutEvent(Uncontended s) throws InterruptedException {
        long at = s.primedGet.sync();
        s.primed.put(at);
        return at;
    }

    @Benchmark
    public long poolTryGetPut(Uncontended s) {
        long at = s.primed.tryGet();
        s.primed.put(at);
        return at;
    }

    @Benchmark
    public long syncPoolGetEventNack(Uncontended s) throws InterruptedException {
        long at = s.nackGet.sync();
        s.nack.put(at);
        return at;
    }

    @Benchmark
    public long arenaTryAllocFree(Uncontended s) {
        long at = s.arena.tryAlloc(QUANTUM);
        s.arena.free(at, QUANTUM);
        return at;
    }

    /**
     * The echo thread's lifecycle, the same for {@link WakeUp} and {@link WokenGet}: started
     * once per trial, awaited before every invocation (a setup, so untimed) until it is
     * parked, so that every operation is a real wake-up; stopped at the end of the trial.
     * Each subclass is a {@code @State} that says which echo it starts.
     */
    public abstract static class Echo {
        Waker waker;

        abstract Waker newWaker();

        @Setup(Level.Trial)
        public void start() {
            waker = newWaker();
        }

        @Setup(Level.Invocation)
        public void awaitParked() {
            waker.awaitParked();
        }

        @TearDown(Level.Trial)
        public void stop() throws InterruptedException {
            waker.close();
        }
    }

    /** The echo thread and what it waits on; see {@link Waker}. */
    @State(Scope.Thread)
    public static class WakeUp extends Echo {
        @Param({"PARK_UNPARK", "POOL_AT_LIMIT", "POOL_PUT_OR_GROW", "ARENA_FREE"})
        public Waker.Path path;

        @Param({"0", "100"})
        public int asleepMicros;

        @Override
        Waker newWaker() {
            return new Waker(path, TimeUnit.MICROSECONDS.toNanos(asleepMicros));
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long wakeUp(WakeUp s) {
        return s.waker.wakeEcho();
    }

    /** A getter blocked on an empty pool, woken by a put from this thread: see {@link #wokenPoolGet}. */
    @State(Scope.Thread)
    public static class WokenGet extends Echo {
        @Param({"POOL_AT_LIMIT", "POOL_PUT_OR_GROW"})
        public Waker.Path path;

        @Override
        Waker newWaker() {
            return new Waker(path, 0);
        }
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public long wokenPoolGet(WokenGet s) {
        return s.waker.wakeEcho();
    }
}

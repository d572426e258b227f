package io.slab4j.arena;

import io.slab4j.event.Registration;
import io.slab4j.event.Waiter;

import java.util.List;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The path of a span of an {@link Arena} between the arena lock and the OS: a carve is
 * counted under the lock ({@link #carvedLocked}), committed outside it and handed to its
 * caller or waiter; a commit that fails takes the one undo path ({@link #giveBack}) and
 * pauses serving (unless the region was closed: that refusal is no OS failure, and is
 * neither counted nor warned about); a free releases the span's memory outside the lock,
 * then coalesces it and serves the waiting order. The offer protocol, the ownership of a
 * span in flight and the lock order are in {@code package-info.java}; the policy is in
 * {@link Arena}'s header.
 *
 * <h2>Terms</h2>
 * <ul>
 *   <li><b>in flight</b>: a span between carve and commit, or between the begin and the
 *       finish of its release; the calling thread alone holds it.
 *   <li><b>serving paused</b>: a commit failed; until the next free, the next non-waiting
 *       call, the next successful commit or the retry the failure scheduled, registrations
 *       queue instead of being served.
 *   <li><b>retry</b>: a failed commit, and a registration queued while serving is paused,
 *       make sure one retry of this arena is scheduled ({@link #scheduleRetry}); it lifts the
 *       pause and serves, so a waiter whose commit failed is tried again even when nothing
 *       else ever calls the arena. The delay starts at {@link #RETRY_FIRST_MILLIS} and
 *       doubles with each retry scheduled until a commit succeeds, up to
 *       {@link #RETRY_MAX_MILLIS}: a persistent OS failure costs a few commits a second, not a spin.
 * </ul>
 *
 * <h2>Invariants</h2>
 * Every carved span is committed and handed over, or given back (and counted so); a served
 * waiter is claimed before its span is carved and completed or abandoned exactly once.
 *
 * <h2>Concurrency</h2>
 * The arena's lock (shared, not owned here) guards the segment table, the waiting order and
 * the counts; methods named {@code ...Locked} run under it, the others take it themselves
 * and call the backing and complete waiters with it released. {@link #inFlight} is an
 * atomic counter; {@link #commitsFailing} a volatile flag that races harmlessly.
 * {@link #retryPending} is set by the CAS that schedules the one pending retry and cleared by
 * that retry before it looks at the pause, so a registration queued while it is set is seen
 * by that retry (it queued, under the lock, before its CAS failed; the retry clears the flag
 * after that failure and then takes the lock), and one queued after it is cleared schedules
 * the next. The retries run on one shared daemon thread, {@value #RETRY_THREAD}, started at
 * the first failed commit and gone after a second idle; what they run is what a free runs
 * (serve under the lock, commit and hand over outside it).
 */
final class Handover {
    private static final System.Logger LOG = System.getLogger(Arena.class.getName());
    private static final int NONE = TagTable.NONE;

    private final Arena arena;
    private final ReentrantLock lock;
    private final TagTable segments;
    private final WaitingOrder order;
    private final Backing backing;
    private final ArenaCounts counts;
    private final long base;
    private final int quantumShift;
    /** Spans between carve and commit, or between begin and finish of a release; checks cross-check chunks only at 0. */
    private final AtomicInteger inFlight = new AtomicInteger();
    /**
     * Set under the lock when a commit fails; cleared by a free and by a successful commit
     * (a plain volatile write, racing harmlessly). While set, registrations queue instead of
     * being served.
     */
    private volatile boolean commitsFailing;
    /** Whether a retry of this arena is scheduled and has not started; set by CAS, cleared by the retry. */
    private final AtomicBoolean retryPending = new AtomicBoolean();
    /** The next retry's delay in ms: doubled per retry scheduled, reset by a successful commit (races harmlessly). */
    private volatile long retryDelayMillis = RETRY_FIRST_MILLIS;
    /** Under the lock: the stamp of the last registration that queued ({@link Waiter#arrival}). */
    private long arrivals;

    /** The delay of the first retry after a failed commit. */
    static final long RETRY_FIRST_MILLIS = 50;
    /** The longest delay between retries while commits keep failing. */
    static final long RETRY_MAX_MILLIS = 1000;
    static final String RETRY_THREAD = "slab4j-commit-retry";

    Handover(Arena arena, ReentrantLock lock, TagTable segments, WaitingOrder order, Backing backing,
             ArenaCounts counts, long base, int quantumShift) {
        this.arena = arena;
        this.lock = lock;
        this.segments = segments;
        this.order = order;
        this.backing = backing;
        this.counts = counts;
        this.base = base;
        this.quantumShift = quantumShift;
    }

    /** Spans in flight now (a volatile read). */
    int inFlight() {
        return inFlight.get();
    }

    /** Whether serving is paused by a failed commit (a volatile read). */
    boolean commitsFailing() {
        return commitsFailing;
    }

    /** Under the lock, after a successful carve that stands: counts it; returns its address. */
    long carvedLocked(int at) {
        counts.carved();
        if (backing.touchesMemory()) {
            inFlight.incrementAndGet();
        }
        return addressOf(at);
    }

    /**
     * Outside the lock: commits a carved span; on failure gives it back, logs the 1st, 2nd,
     * 4th... OS failure (the caller decides what it means: a non-waiting call throws it, a call
     * that may wait reads it as no space and waits), and rethrows.
     */
    void commit(long address, int n) {
        if (!backing.touchesMemory()) {
            return;
        }
        try {
            backing.commit(address - base, (long) n << quantumShift);
        } catch (RuntimeException e) {
            long nth = giveBack(address, n, refusedAsClosed(e));
            if (nth != 0) {
                LOG.log(System.Logger.Level.WARNING, "a commit of " + ((long) n << quantumShift) + " bytes on " + arena
                        + " failed (failure " + nth + "; counted in ArenaStats.commitFailures): a call that does not wait"
                        + " throws it, one that may wait waits, and the commit is retried", e);
            }
            throw e;
        }
        committed();
    }

    /**
     * The one undo path of a failed commit: the span goes back, and serving pauses until a
     * free or a commit succeeds. Returns the failure's number when it is to be logged (the
     * 1st, 2nd, 4th...: a lasting failure must not flood the log), else 0.
     * A commit the closed region refused ({@code closed}) is no OS failure: it is neither
     * counted nor logged and pauses nothing (the region's close releases the waiters, and
     * every later call fails anyway).
     */
    private long giveBack(long address, int n, boolean closed) {
        lock.lock();
        try {
            counts.uncarved();
            long logIt = 0;
            if (!closed) {
                long failures = counts.commitFailed();
                logIt = Long.bitCount(failures) == 1 ? failures : 0;
                commitsFailing = true; // before the span is free: nobody is served from it while commits fail
                scheduleRetry(); // the waiter this span was for, or one queued while paused, is tried again later
            }
            segments.free(quantumIndex(address), n, arena::describe);
            inFlight.decrementAndGet();
            return logIt;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Under the lock: makes sure one retry of this arena is scheduled (see "retry" in the
     * class header); a retry already pending covers whatever queued before it starts. Safe
     * under the lock: the executor's queue has its own lock, and the task takes the arena's
     * only when it runs, on the retry thread. Never throws: if the
     * retry thread cannot take the task, the pause lasts until the next free, non-waiting
     * call or successful commit, as before there was a retry.
     */
    private void scheduleRetry() {
        if (!retryPending.compareAndSet(false, true)) {
            return;
        }
        long delay = retryDelayMillis;
        retryDelayMillis = Math.min(delay * 2, RETRY_MAX_MILLIS);
        try {
            Retries.EXECUTOR.schedule(this::retry, delay, TimeUnit.MILLISECONDS);
        } catch (RuntimeException | Error e) { // rejected, or no thread to be had
            retryPending.set(false);
            long refusals = Retries.REFUSALS.incrementAndGet();
            if (Long.bitCount(refusals) == 1) { // the 1st, 2nd, 4th...: a lasting refusal must not flood the log
                LOG.log(System.Logger.Level.WARNING, "could not schedule the retry of a failed commit of " + arena
                        + " (refusal " + refusals + "); its waiters are tried again at the next free or call", e);
            }
        }
    }

    /** The scheduled retry: lifts the pause a failed commit left and serves; a commit that fails again schedules the next. */
    private void retry() {
        retryPending.set(false);
        try {
            if (commitsFailing) {
                resumeServing();
            }
        } catch (RuntimeException | Error e) { // not expected: handOver keeps commit failures to itself
            LOG.log(System.Logger.Level.WARNING, "the retry of a failed commit of " + arena + " failed", e);
        }
    }

    /**
     * Test seam: when set, making the retry thread throws what it returns instead (as a
     * {@code SecurityManager} or a process out of threads would).
     */
    static volatile Supplier<? extends RuntimeException> refuseRetryThread;

    /** The shared retry thread, made at the first failed commit of any arena. */
    private static final class Retries {
        /** Schedules refused so far, by any arena (for the log's 1st, 2nd, 4th...). */
        static final AtomicLong REFUSALS = new AtomicLong();
        static final ScheduledThreadPoolExecutor EXECUTOR = new ScheduledThreadPoolExecutor(1, r -> {
            Supplier<? extends RuntimeException> refusal = refuseRetryThread;
            if (refusal != null) {
                throw refusal.get();
            }
            Thread t = new Thread(r, RETRY_THREAD);
            t.setDaemon(true);
            return t;
        });

        static {
            EXECUTOR.setKeepAliveTime(1, TimeUnit.SECONDS);
            EXECUTOR.allowCoreThreadTimeOut(true);
            EXECUTOR.setRemoveOnCancelPolicy(true);
        }
    }

    /** After a commit succeeded: if serving was paused by a failure, it resumes now. */
    private void committed() {
        inFlight.decrementAndGet();
        if (retryDelayMillis != RETRY_FIRST_MILLIS) {
            retryDelayMillis = RETRY_FIRST_MILLIS; // commits work again: the next failure's retries start short
        }
        if (commitsFailing) {
            resumeServing();
        }
    }

    /** Lifts the pause a failed commit put on serving, and serves; a failing commit pauses it again. */
    void resumeServing() {
        List<SpanRequest> served;
        lock.lock();
        try {
            commitsFailing = false;
            served = serveLocked();
        } finally {
            lock.unlock();
        }
        handOver(served);
    }

    /** {@link Arena#free} after validating its arguments: steps 1 to 3 of the free in {@link Arena}'s header. */
    void free(long address, long size, int at, int n) {
        List<SpanRequest> served;
        if (!backing.touchesMemory()) {
            lock.lock();
            try {
                segments.free(at, n, arena::describe);
                counts.freed();
                served = serveLocked();
            } finally {
                lock.unlock();
            }
            handOver(served);
            return;
        }
        int seg;
        lock.lock();
        try {
            seg = segments.beginRelease(at, n, arena::describe);
            inFlight.incrementAndGet();
        } finally {
            lock.unlock();
        }
        RuntimeException failure = null;
        boolean logIt;
        try {
            backing.release(address - base, (long) n << quantumShift);
        } catch (RuntimeException e) {
            failure = e; // accepted spans are freed all the same; waiters served from it are still handed over
        }
        lock.lock();
        try {
            segments.finishRelease(seg);
            counts.freed();
            inFlight.decrementAndGet();
            logIt = failure != null && Long.bitCount(counts.releaseFailed()) == 1;
            if (commitsFailing) {
                commitsFailing = false; // each free is one more try for waiters a failed commit left queued
            }
            served = serveLocked();
        } finally {
            lock.unlock();
        }
        if (logIt) { // the 1st, 2nd, 4th, 8th... failure: a lasting one must not flood the log
            LOG.log(System.Logger.Level.WARNING, "free(" + Hex.of(address) + ", " + size + ") on " + arena
                    + ": releasing the span's memory failed (failure " + arena.stats().releaseFailures() + "; counted in"
                    + " ArenaStats.releaseFailures); its pages stay committed until reused or released later", failure);
        }
        handOver(served);
    }

    /**
     * The registration of an {@link AllocEvent}: under the lock, carves when the waiting
     * order allows it and the claim succeeds; else queues. While commits fail it queues
     * (see {@link Arena}'s header), so a waiter re-registering after a failed commit waits.
     */
    Registration registerFor(Waiter<Long> waiter, int n, long alignQ) {
        SpanRequest node = new SpanRequest(this, waiter, n, alignQ);
        lock.lock();
        try {
            // Under the lock: a close between the caller's check and here has set the region's
            // closed flag before its releaseWaiters takes this lock, so either that release sees
            // this node queued, or this sees the flag (lock order gives happens-before) and fails.
            arena.checkOpen();
            int at = commitsFailing ? NONE : order.placeNewcomer(n, alignQ);
            if (at == NONE) {
                // queued by arrival: a waiter registering again after its failed commit keeps its place
                node.arrival = waiter.arrival(++arrivals);
                order.add(node);
                if (commitsFailing) {
                    scheduleRetry(); // queued while paused: a waiter that re-registers after its failed commit is retried
                }
                return node;
            }
            if (!waiter.claim()) {
                segments.free(at, n, arena::describe);
                return Registration.NONE;
            }
            node.address = carvedLocked(at);
        } finally {
            lock.unlock();
        }
        return handOver(node) ? Registration.NONE : node;
    }

    /**
     * The region closed: unlinks every queued request, then claims and abandons each (one
     * whose sync was won elsewhere fails the claim and is simply dropped), so its sync
     * registers again and {@link Arena#registerFor} throws the closed region's
     * {@link IllegalStateException} to it, instead of leaving it for a free that cannot come.
     */
    void releaseWaiters() {
        List<SpanRequest> all;
        lock.lock();
        try {
            all = order.removeAll();
        } finally {
            lock.unlock();
        }
        for (SpanRequest r : all) {
            if (r.waiter.claim()) {
                r.waiter.abandon();
            }
        }
    }

    void cancel(SpanRequest node) {
        List<SpanRequest> served;
        lock.lock();
        try {
            order.remove(node);
            // The one who left may have been the head, or blocking it. Serve even when the
            // node is already unlinked: another thread may have dropped it as stale
            // (liveHead) on a path that does not serve, leaving a fitting waiter behind it.
            served = serveLocked();
        } finally {
            lock.unlock();
        }
        handOver(served);
    }

    /** Under the lock: serves the queue by the waiting order (none while commits fail); counts and addresses each span. */
    private List<SpanRequest> serveLocked() {
        if (commitsFailing) {
            return null;
        }
        List<SpanRequest> served = order.serve();
        if (served != null) {
            for (SpanRequest r : served) {
                r.address = carvedLocked(r.at);
            }
        }
        return served;
    }

    /** Outside the lock: hands each served request its span. */
    private void handOver(List<SpanRequest> served) {
        if (served != null) {
            for (SpanRequest r : served) {
                handOver(r);
            }
        }
    }

    /**
     * Outside the lock: commits a carved span and completes its waiter; returns true. When
     * the commit fails the span goes back, serving pauses ({@link Arena}'s failed commits)
     * and the claim is abandoned, in that order, so the waiter's sync re-registers into the
     * queue instead of being served again at once; returns false.
     */
    private boolean handOver(SpanRequest r) {
        if (backing.touchesMemory()) {
            try {
                backing.commit(r.address - base, (long) r.quanta << quantumShift);
            } catch (RuntimeException e) {
                boolean closed = refusedAsClosed(e);
                long nth = giveBack(r.address, r.quanta, closed);
                if (nth != 0) {
                    LOG.log(System.Logger.Level.WARNING, "a commit for a waiter of " + arena + " failed (failure "
                            + nth + "; counted in ArenaStats.commitFailures); it keeps waiting", e);
                } else if (closed) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "a commit for a waiter of " + arena + " was refused: the region"
                            + " is closed; its sync registers again and is told (" + e.getMessage() + ")");
                }
                r.waiter.abandon();
                return false;
            }
            committed();
        }
        r.waiter.complete(r.address);
        return true;
    }

    /**
     * Whether a commit failed only because the region is closed: an {@link IllegalStateException}
     * (what a closed region and {@link CommitChunks#commit} throw for it) while the backing
     * reports closed. The closed flag is set before the region refuses anything and never
     * cleared, so such a refusal always sees it; an {@code IllegalStateException} while the
     * region is open is a bug and is counted as a failure. Releases need no such test here:
     * the backing does not throw for memory that is gone ({@link Backing#release}).
     */
    private boolean refusedAsClosed(RuntimeException e) {
        return e instanceof IllegalStateException && !backing.isOpen();
    }

    private long addressOf(int quantumIndex) {
        return base + ((long) quantumIndex << quantumShift);
    }

    private int quantumIndex(long address) {
        return (int) ((address - base) >>> quantumShift);
    }
}

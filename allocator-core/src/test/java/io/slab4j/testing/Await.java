package io.slab4j.testing;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Test helper: wait for observable state with a generous deadline, never a bare sleep. */
public final class Await {
    public static final long DEADLINE_SECONDS = 10;

    private Await() {
    }

    public static void until(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after " + DEADLINE_SECONDS + " s waiting for: " + what);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    /**
     * Runs the collector every 20 ms until {@code done} holds or {@code millis} have passed (no
     * failure then: the caller asserts what it needs, so a leak that is not found reads as one).
     */
    public static void gcUntil(BooleanSupplier done, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000L;
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
    }

    /**
     * Until {@code t} is parked in an event sync ({@code io.slab4j.event.Sync}, its park's
     * blocker): registered in every queue of its choice. Stronger than {@link #parked}, which a
     * thread also meets while it parks on a lock on its way to the sync.
     */
    public static void parkedInSync(Thread t) {
        until(t.getName() + " parked in a sync", () -> {
            Thread.State s = t.getState();
            Object blocker = java.util.concurrent.locks.LockSupport.getBlocker(t);
            return (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) && !t.isInterrupted()
                    && blocker != null && blocker.getClass().getName().equals("io.slab4j.event.Sync");
        });
    }

    /** Until {@code t} is parked (WAITING or TIMED_WAITING) with its interrupt flag consumed. */
    public static void parked(Thread t) {
        until(t.getName() + " parked", () -> {
            Thread.State s = t.getState();
            return (s == Thread.State.WAITING || s == Thread.State.TIMED_WAITING) && !t.isInterrupted();
        });
    }
}

package io.slab4j.event;

import io.slab4j.testing.Await;

import java.util.concurrent.TimeUnit;

/**
 * Test helper: runs {@code event.sync()} on a new thread and records what happened — the
 * value or the exception, and whether the thread's interrupt flag was set on return.
 */
final class Syncer<T> {
    private final Thread thread;
    private volatile T value;
    private volatile Throwable failure;
    private volatile boolean interruptFlagOnReturn;
    private volatile boolean finished;

    private Syncer(String name, Event<T> event) {
        this.thread = new Thread(() -> {
            try {
                value = event.sync();
            } catch (Throwable t) {
                failure = t;
            }
            interruptFlagOnReturn = Thread.currentThread().isInterrupted();
            finished = true;
        }, name);
        thread.setDaemon(true);
    }

    static <T> Syncer<T> start(String name, Event<T> event) {
        Syncer<T> s = new Syncer<>(name, event);
        s.thread.start();
        return s;
    }

    Thread thread() {
        return thread;
    }

    boolean isFinished() {
        return finished;
    }

    void interrupt() {
        thread.interrupt();
    }

    /** Waits for the sync to return; fails the test if it does not within the deadline. */
    Syncer<T> await() throws InterruptedException {
        thread.join(TimeUnit.SECONDS.toMillis(Await.DEADLINE_SECONDS));
        if (thread.isAlive()) {
            throw new AssertionError(thread.getName() + " still in sync() after "
                    + Await.DEADLINE_SECONDS + " s; state " + thread.getState());
        }
        return this;
    }

    /** The value; fails the test if sync threw. */
    T value() throws InterruptedException {
        await();
        if (failure != null) {
            throw new AssertionError(thread.getName() + ": sync() threw " + failure, failure);
        }
        return value;
    }

    /** The exception sync threw; fails the test if it returned a value. */
    Throwable failure() throws InterruptedException {
        await();
        if (failure == null) {
            throw new AssertionError(thread.getName() + ": sync() returned " + value + " instead of throwing");
        }
        return failure;
    }

    boolean interruptFlagOnReturn() throws InterruptedException {
        await();
        return interruptFlagOnReturn;
    }
}

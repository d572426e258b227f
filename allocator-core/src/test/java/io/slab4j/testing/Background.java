package io.slab4j.testing;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/** Test helper: run a call on a new daemon thread and see its result (or exception) as a future. */
public final class Background {
    private Background() {
    }

    /**
     * A new daemon thread per task, for {@code CompletableFuture.supplyAsync(task, THREADS)}.
     * Tests never use the default executor: on two cores the common pool has one worker (JDK 25
     * runs async tasks there; JDK 17 made a thread per task), and a task parked in a wait of
     * ours (a plain {@code LockSupport.park}, not a managed block) holds that worker, so the
     * next task never starts and a test spinning on its effect hangs past its timeout.
     */
    public static final Executor THREADS = task -> {
        Thread t = new Thread(task, "background");
        t.setDaemon(true);
        t.start();
    };

    public static <T> CompletableFuture<T> start(String name, Callable<T> call) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                result.complete(call.call());
            } catch (Throwable e) {
                result.completeExceptionally(e);
            }
        }, name);
        t.setDaemon(true);
        t.start();
        return result;
    }
}

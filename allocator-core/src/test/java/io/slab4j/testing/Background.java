package io.slab4j.testing;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;

/** Test helper: run a call on a new daemon thread and see its result (or exception) as a future. */
public final class Background {
    private Background() {
    }

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

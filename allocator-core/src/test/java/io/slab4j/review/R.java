package io.slab4j.review;

import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Small helpers for the review tests: deadlines on observable state, background calls. */
final class R {
    static final long BASE = 1L << 40;
    static final long PAGE = 4096;

    private R() {
    }

    static void until(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("timed out after 20 s waiting for: " + what);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    static <T> CompletableFuture<T> start(String name, Callable<T> call) {
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

    /** Asserts the message names {@code v}, in decimal or in hex. */
    static void namesValue(Throwable x, long v) {
        String m = String.valueOf(x.getMessage()).toLowerCase();
        assertTrue(m.contains(Long.toString(v)) || m.contains(Long.toHexString(v))
                        || m.contains(Long.toHexString(-v)),
                "message should name " + v + ": " + x.getMessage());
    }

    interface Call {
        void run() throws Throwable;
    }

    /** Asserts {@code call} throws {@code type} with a message containing each of {@code names}. */
    static <X extends Throwable> X throwsNaming(Class<X> type, Call call, String... names) {
        X x = assertThrows(type, call::run);
        for (String n : names) {
            assertTrue(x.getMessage() != null && x.getMessage().toLowerCase().contains(n.toLowerCase()),
                    "message should name " + n + ": " + x.getMessage());
        }
        return x;
    }
}

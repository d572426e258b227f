package io.slab4j.event;

/**
 * The one "first failure plus suppressed" rule of slab4j's core: a step that must go on past
 * a failure (run every cancel action, return every item, release every chunk) keeps the
 * first throwable and adds each later, distinct one to it as suppressed, then throws the
 * first. Used by the event engine and by the sources built on it (arena, pools, caches).
 * Stateless.
 */
public final class Failures {
    private Failures() {
    }

    /**
     * {@code first} with {@code next} added as suppressed; {@code next} when {@code first} is
     * null; {@code first} unchanged when {@code next} is null or is {@code first} itself.
     */
    public static <T extends Throwable> T merge(T first, T next) {
        if (first == null) {
            return next;
        }
        if (next != null && next != first) {
            first.addSuppressed(next);
        }
        return first;
    }
}

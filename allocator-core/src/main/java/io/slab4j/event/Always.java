package io.slab4j.event;

/** {@link Events#always}: a source that is always ready with the same value. Immutable. */
final class Always<T> extends BaseEvent<T> {
    private final T value;

    Always(T value) {
        this.value = value;
    }

    @Override
    protected T tryNow() {
        return value;
    }

    @Override
    protected Registration register(Waiter<T> waiter) {
        if (waiter.claim()) {
            waiter.complete(value);
        }
        return Registration.NONE;
    }

    @Override
    public String toString() {
        return "always(" + value + ")";
    }
}

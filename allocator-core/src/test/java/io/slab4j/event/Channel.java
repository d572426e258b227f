package io.slab4j.event;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Test-only model source for the {@link BaseEvent} SPI: an unbounded asynchronous
 * channel. {@link #send} hands the value to the oldest live waiter (claim, then
 * complete, dropping waiters whose claim fails) or buffers it; {@link #recvEvent()}
 * receives the oldest buffered value.
 *
 * <p>Invariant (checked by {@link #checkInvariants()}): the buffer and the waiter queue
 * are never both non-empty, counting only live waiters. Counters record every transfer,
 * so tests can prove "exactly one transfer happened".
 *
 * <p>Thread-safe: {@code lock} guards every field; no user code runs under it.
 */
public final class Channel<T> {
    private final String name;
    private final Object lock = new Object();
    private final ArrayDeque<T> buffer = new ArrayDeque<>();
    private final ArrayDeque<Waiter<T>> waiters = new ArrayDeque<>();
    /** Values taken out of the channel (by poll, by register, or handed by send). */
    private long transfers;
    /** Claims that failed in send: stale registrations dropped. */
    private long failedClaims;
    private final Recv recv = new Recv();

    public Channel(String name) {
        this.name = name;
    }

    public Channel() {
        this("channel");
    }

    /** Hands {@code value} to the oldest live waiter, or buffers it. Never blocks. */
    public void send(T value) {
        synchronized (lock) {
            for (Waiter<T> w; (w = waiters.poll()) != null; ) {
                if (w.claim()) {
                    transfers++;
                    w.complete(value);
                    return;
                }
                failedClaims++; // stale: the sync already committed elsewhere, or left
            }
            buffer.addLast(value);
        }
    }

    /** The receive event; one shared instance, synced concurrently by many threads. */
    public BaseEvent<T> recvEvent() {
        return recv;
    }

    public int waiters() {
        synchronized (lock) {
            return waiters.size();
        }
    }

    public int buffered() {
        synchronized (lock) {
            return buffer.size();
        }
    }

    public long transfers() {
        synchronized (lock) {
            return transfers;
        }
    }

    public long failedClaims() {
        synchronized (lock) {
            return failedClaims;
        }
    }

    public List<T> drain() {
        synchronized (lock) {
            List<T> out = new ArrayList<>(buffer);
            buffer.clear();
            return out;
        }
    }

    public void checkInvariants() {
        synchronized (lock) {
            if (!buffer.isEmpty()) {
                for (Waiter<T> w : waiters) {
                    if (w.isLive()) {
                        throw new AssertionError(name + ": " + buffer.size()
                                + " buffered values while a live waiter is queued: " + w);
                    }
                }
            }
        }
    }

    @Override
    public String toString() {
        return name;
    }

    private final class Recv extends BaseEvent<T> {
        @Override
        protected T tryNow() {
            synchronized (lock) {
                T v = buffer.pollFirst();
                if (v != null) {
                    transfers++;
                }
                return v;
            }
        }

        @Override
        protected Registration register(Waiter<T> waiter) {
            synchronized (lock) {
                if (!buffer.isEmpty()) {
                    if (waiter.claim()) {
                        transfers++;
                        waiter.complete(buffer.pollFirst());
                    }
                    return Registration.NONE;
                }
                waiters.addLast(waiter);
            }
            return () -> {
                synchronized (lock) {
                    waiters.remove(waiter);
                }
            };
        }

        @Override
        public String toString() {
            return name + ".recv";
        }
    }
}

package io.slab4j.netty;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.fail;

/**
 * Captures what Netty's {@code ResourceLeakDetector} reports. Netty logs through
 * {@code java.util.logging} when no other logging library is on the class path (none is here),
 * under the detector's class name; this handler sits on that logger. Reports arrive only when
 * the detector next tracks a buffer after the leaked one was collected, so {@link #flush}
 * proves the capture works in the same JVM: it leaks one canary buffer with a unique hint and
 * waits (GC, one tracked allocation, repeat) until the canary's report arrives. Anything the
 * garbage collector found unreachable before the canary is reported by then too.
 */
final class LeakLog extends Handler implements AutoCloseable {
    /** Held strongly: java.util.logging keeps loggers only weakly. */
    private static final Logger DETECTOR = Logger.getLogger("io.netty.util.ResourceLeakDetector");

    private final List<String> reports = new CopyOnWriteArrayList<>();

    private LeakLog() {
    }

    static LeakLog capture() {
        LeakLog log = new LeakLog();
        DETECTOR.addHandler(log);
        return log;
    }

    @Override
    public void publish(LogRecord record) {
        String message = record.getMessage();
        if (message != null && message.contains("LEAK")) {
            reports.add(message);
        }
    }

    /** Leaks a canary through {@code alloc} and waits until its report arrives; returns every other report so far. */
    List<String> flush(ByteBufAllocator alloc) {
        String hint = "leak-canary-" + UUID.randomUUID();
        leakCanary(alloc, hint);
        awaitReport(alloc, hint);
        return reports.stream().filter(r -> !r.contains(hint)).collect(Collectors.toList());
    }

    /** Waits (GC, one tracked allocation, repeat) until a report mentions {@code hint}; returns it. */
    String awaitReport(ByteBufAllocator alloc, String hint) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            for (String r : reports) {
                if (r.contains(hint)) {
                    return r;
                }
            }
            if (System.nanoTime() > deadline) {
                fail("the leak detector never reported " + hint + ": the capture does not work");
            }
            System.gc();
            alloc.heapBuffer(1).release(); // the detector reports while it tracks a new buffer
            LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
        }
    }

    private static void leakCanary(ByteBufAllocator alloc, String hint) {
        ByteBuf canary = alloc.heapBuffer(8);
        canary.touch(hint);
        canary.writeLong(1);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        DETECTOR.removeHandler(this);
    }
}

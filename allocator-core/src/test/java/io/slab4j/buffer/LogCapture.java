package io.slab4j.buffer;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Test helper: collects what the pool logs (its {@code System.Logger} goes to java.util.logging) while open; close stops it. */
final class LogCapture extends Handler implements AutoCloseable {
    final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Logger log = Logger.getLogger(BufferPool.class.getName());

    LogCapture() {
        log.addHandler(this);
    }

    @Override
    public void publish(LogRecord r) {
        records.add(r);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        log.removeHandler(this);
    }

    /** Decay passes logged as failed so far. */
    long decayFailures() {
        return records.stream().filter(r -> r.getMessage() != null && r.getMessage().contains("decay pass failed")).count();
    }
}

package io.slab4j.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Test helper: collects what the named loggers log while open (slab4j's {@code System.Logger}s
 * go to java.util.logging here), at their configured levels; close stops it. The loggers are
 * held strongly (java.util.logging keeps them only weakly, and a collected one would lose the
 * handler).
 */
public final class LogCapture extends Handler implements AutoCloseable {
    public final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Logger[] logs;
    /** The loggers' levels before {@link #everyLevel()}, or null. */
    private Level[] levelsWere;

    /** Captures the loggers named after {@code classes} (the logger each slab4j class logs to). */
    public LogCapture(Class<?>... classes) {
        logs = new Logger[classes.length];
        for (int i = 0; i < classes.length; i++) {
            logs[i] = Logger.getLogger(classes[i].getName());
            logs[i].addHandler(this);
        }
    }

    @Override
    public void publish(LogRecord r) {
        records.add(r);
    }

    @Override
    public void flush() {
    }

    /** Captures at every level from now on (the loggers' own levels come back on close); returns this. */
    public LogCapture everyLevel() {
        if (levelsWere == null) {
            levelsWere = new Level[logs.length];
            for (int i = 0; i < logs.length; i++) {
                levelsWere[i] = logs[i].getLevel();
                logs[i].setLevel(Level.ALL);
            }
            setLevel(Level.ALL);
        }
        return this;
    }

    @Override
    public void close() {
        for (int i = 0; i < logs.length; i++) {
            logs[i].removeHandler(this);
            if (levelsWere != null) {
                logs[i].setLevel(levelsWere[i]);
            }
        }
    }

    /** The records at WARNING or above. */
    public List<LogRecord> warnings() {
        return records.stream().filter(r -> r.getLevel().intValue() >= Level.WARNING.intValue()).toList();
    }

    /** Records whose message contains {@code text}. */
    public long count(String text) {
        return records.stream().filter(r -> r.getMessage() != null && r.getMessage().contains(text)).count();
    }
}

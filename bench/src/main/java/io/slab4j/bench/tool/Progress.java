package io.slab4j.bench.tool;

import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Progress of one long step on stderr, through {@code me.tongfei:progressbar}. On a terminal
 * it is a live bar; when there is no terminal (CI, a pipe, a file) the bar's text goes out
 * as plain lines, at most one every {@link #LINE_INTERVAL} and one at the end, so logs get
 * neither carriage returns nor a line per update, and the library never probes a terminal
 * (a fixed width is given). {@link Mode#NONE} shows nothing.
 *
 * <h2>Concurrency</h2>
 * {@link #stepTo} and {@link #setExtra} may be called from any thread (the bar is
 * thread-safe; {@link Lines} synchronizes its own state); {@link #close} once, by the owner.
 */
public final class Progress implements AutoCloseable {
    static final Duration LINE_INTERVAL = Duration.ofSeconds(5);

    /** How progress is shown. */
    public enum Mode { AUTO, BAR, LINES, NONE }

    private final ProgressBar bar;
    private final Lines lines;

    private Progress(ProgressBar bar, Lines lines) {
        this.bar = bar;
        this.lines = lines;
    }

    /**
     * A progress of {@code total} units (milliseconds, events) named {@code task}; lines go to
     * {@code err} (the live bar to the process's stderr, where the library draws it).
     */
    public static Progress start(Mode mode, String task, long total, String unit, PrintWriter err) {
        Mode m = mode == Mode.AUTO ? (System.console() != null ? Mode.BAR : Mode.LINES) : mode;
        if (m == Mode.NONE) {
            return new Progress(null, null);
        }
        ProgressBarBuilder b = new ProgressBarBuilder().setTaskName(task).setInitialMax(Math.max(1, total))
                .setUnit(" " + unit, 1).setStyle(ProgressBarStyle.ASCII).hideEta();
        if (m == Mode.BAR) {
            return new Progress(b.setUpdateIntervalMillis(200).build(), null);
        }
        Lines lines = new Lines(err);
        b.setUpdateIntervalMillis(1000).setConsumer(new DelegatingProgressBarConsumer(lines, 100));
        return new Progress(b.build(), lines);
    }

    public void stepTo(long units) {
        if (bar != null) {
            bar.stepTo(units);
        }
    }

    /** A short note after the bar (e.g. the strategy running now). */
    public void setExtra(String extra) {
        if (bar != null) {
            bar.setExtraMessage(extra);
        }
    }

    @Override
    public void close() {
        if (bar == null) {
            return;
        }
        bar.stepTo(bar.getMax());
        bar.close();
        if (lines != null) {
            lines.flushLast();
        }
    }

    /** The bar's text as throttled plain lines; guarded by its own monitor. */
    private static final class Lines implements Consumer<String> {
        private final PrintWriter out;
        private String last;
        private String lastPrinted;
        private long lastTime = System.nanoTime();

        Lines(PrintWriter out) {
            this.out = out;
        }

        @Override
        public synchronized void accept(String line) {
            last = line.strip();
            long now = System.nanoTime();
            if (now - lastTime >= LINE_INTERVAL.toNanos()) {
                lastTime = now;
                print();
            }
        }

        synchronized void flushLast() {
            if (last != null && !last.equals(lastPrinted)) {
                print();
            }
        }

        private void print() {
            out.println(last);
            out.flush();
            lastPrinted = last;
        }
    }
}

package io.moecast.util;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A console progress bar on stderr with elapsed time: redrawn in place on a terminal, a line every
 * few seconds otherwise (CI logs), silent when disabled. Cheap enough to call every step.
 *
 * <pre>{@code
 * try (Progress p = Progress.start("analyze", steps)) { for (...) p.step(1); }
 * }</pre>
 */
public final class Progress implements AutoCloseable {
    private static volatile boolean enabled = !Boolean.getBoolean("moecast.quiet");
    private final String label;
    private final long total;
    private final long t0 = System.nanoTime();
    private final PrintStream err = System.err;
    private final boolean tty = System.console() != null && System.console().isTerminal();
    private long done;
    private long lastDraw = t0;
    private boolean drew;

    private Progress(String label, long total) {
        this.label = label;
        this.total = total;
    }

    public static void setEnabled(boolean on) {
        enabled = on;
    }

    /** Starts a bar; {@code total <= 0} means unknown (shows a count). */
    public static Progress start(String label, long total) {
        return new Progress(label, total);
    }

    public void step(long n) {
        done += n;
        long now = System.nanoTime();
        if (now - lastDraw > (tty ? 100_000_000L : 5_000_000_000L)) {
            lastDraw = now;
            draw(false);
        }
    }

    public void set(long value) {
        step(value - done);
    }

    private void draw(boolean end) {
        if (!enabled) {
            return;
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        String text;
        if (total > 0) {
            double f = Math.min(1.0, done / (double) total);
            int w = 30;
            int fill = (int) Math.round(f * w);
            text = String.format(Locale.ROOT, "%-22s [%s%s] %5.1f%%  %s", label, "#".repeat(fill), ".".repeat(w - fill), 100 * f, clock(secs));
        } else {
            text = String.format(Locale.ROOT, "%-22s %,d  %s", label, done, clock(secs));
        }
        if (tty) {
            err.print("\r" + text + (end ? "\n" : ""));
            drew = true;
        } else if (end || secs > 1) {
            err.println(text);
            drew = true;
        }
        err.flush();
    }

    private static String clock(double secs) {
        long s = (long) secs;
        return secs < 60 ? String.format(Locale.ROOT, "%.1fs", secs) : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }

    /** Seconds since start. */
    public double elapsed() {
        return (System.nanoTime() - t0) / 1e9;
    }

    @Override
    public void close() {
        if (total > 0) {
            done = Math.max(done, total);
        }
        if (enabled && (drew || elapsed() > 1)) {
            draw(true);
        }
    }
}

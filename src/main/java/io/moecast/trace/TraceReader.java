package io.moecast.trace;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads a load trace step by step, so a trace far larger than the heap (100,000 steps × 60 layers ×
 * 256 experts is 6 GB as int32) streams through in O(layers·experts) memory. Every format has one.
 *
 * <pre>{@code
 * try (TraceReader r = Traces.open(path)) {
 *     int[] step = new int[r.layers() * r.experts()];
 *     while (r.next(step)) { ... step[layer * r.experts() + expert] ... }
 * }
 * }</pre>
 * Counts are validated as they are read (non-negative whole numbers, no NaN, steps in order); a problem
 * raises {@link io.moecast.UserError} naming the file, the position and the problem.
 */
public interface TraceReader extends AutoCloseable {
    /** The file being read. */
    Path path();

    TraceMeta meta();

    int layers();

    int experts();

    /** Number of steps when the format knows it up front, else -1. */
    long steps();

    /** Step number of the first row. */
    long firstStep();

    /**
     * Reads the next step's counts into {@code dst[layer * experts + expert]} (length at least
     * layers·experts). Returns false at the end of the trace.
     */
    boolean next(int[] dst) throws IOException;

    /** Index (0-based, from the first row) of the step that the last {@link #next} call returned. */
    long index();

    @Override
    void close() throws IOException;
}

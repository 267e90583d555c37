package io.moecast.predict;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The recent shares of every series as floats, a ring of rows, and the rows not
 * yet folded into a predictor's state (pending). Predictors whose per-step update is a recurrence per
 * series append each step here and process the pending rows in blocks ({@link #BLOCK} at most), with
 * their state in registers across the block instead of a round trip through memory every step; they
 * flush before anything reads their state. The result is the same as updating every step.
 *
 * <p>Holds {@code lags + BLOCK} rows, so that every pending row still sees its value {@code lags}
 * steps back. Layout: series in chunks of {@link #CHUNK}, each chunk's ring of rows contiguous,
 * {@code rows[(chunk·size + ring row)·CHUNK + series − chunk·CHUNK]}: a kernel that walks one chunk
 * through a block of rows reads long contiguous runs (prefetcher-friendly) instead of hundreds of
 * short ones, one per (row, lag).
 */
final class ShareHistory {
    /**
     * Most rows processed together: 64 (each lagged row of the Kalman variogram is then read from
     * memory about four times per step instead of six; see {@link LocalLevelFilter}).
     */
    static final int BLOCK = 64;
    /** series per chunk (a multiple of every vector length) */
    static final int CHUNK = 256;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Float> FD = VectorSpecies.of(float.class,
            VectorShape.forBitSize(Math.max(64, D.vectorBitSize() / 2)));

    final int n;
    final int size;
    final int chunks;
    final float[] rows;
    /** ring index of the next row to write */
    private int next;
    /** rows written so far */
    private long written;
    private int pending;

    ShareHistory(int n, int lags) {
        this.n = n;
        this.size = lags + BLOCK;
        this.chunks = (n + CHUNK - 1) / CHUNK;
        this.rows = new float[Math.multiplyExact(Math.multiplyExact(chunks, size), CHUNK)];
    }

    /** Appends one step's shares (rounded to float); returns the number of pending rows. */
    int append(double[] share) {
        for (int c = 0; c < chunks; c++) {
            int c0 = c * CHUNK;
            int c1 = Math.min(n, c0 + CHUNK);
            int shift = shift(c) + next * CHUNK;
            int i = c0;
            if (FD.length() == D.length()) {
                for (int ub = c0 + D.loopBound(c1 - c0); i < ub; i += D.length()) {
                    ((FloatVector) DoubleVector.fromArray(D, share, i).convertShape(VectorOperators.D2F, FD, 0)).intoArray(rows, shift + i);
                }
            }
            for (; i < c1; i++) {
                rows[shift + i] = (float) share[i];
            }
        }
        next = next + 1 == size ? 0 : next + 1;
        written++;
        return ++pending;
    }

    int pending() {
        return pending;
    }

    /** Marks the pending rows processed. */
    void done() {
        pending = 0;
    }

    /** Rows written before the first pending row (the step count a recurrence has seen before it). */
    long processed() {
        return written - pending;
    }

    /**
     * Where pending row r (0 = oldest pending) minus {@code lag} steps lies within a chunk's ring:
     * series i of it is {@code rows[offset(r, lag) + shift(i / CHUNK) + i]}.
     */
    int offset(int r, int lag) {
        int idx = next - pending + r - lag;
        idx %= size;
        if (idx < 0) {
            idx += size;
        }
        return idx * CHUNK;
    }

    /** Added to {@code offset + i} for the series i of chunk c. */
    int shift(int c) {
        return c * size * CHUNK - c * CHUNK;
    }

    void reset() {
        Arrays.fill(rows, 0);
        next = 0;
        written = 0;
        pending = 0;
    }
}

package io.moecast.routing;

import java.util.Arrays;

/**
 * Routing results for a heap batch: expert ids {@code [T][k]}, weights {@code [T][k]} (row-major,
 * slot j of token t at {@code t*k + j}, in selection order: best first) and the per-expert load
 * histogram {@code counts[E]} (each of the k slots counted, so the counts sum to T·k). Reused across
 * calls: {@link #prepare} grows the arrays only when a batch is larger than any before.
 */
public final class RoutingOutput {
    private int[] ids = new int[0];
    private float[] weights = new float[0];
    private long[] counts = new long[0];
    private int tokens;
    private int k;
    private int experts;

    /** Sizes the output for a batch and zeroes the histogram. */
    public RoutingOutput prepare(int tokens, int k, int experts) {
        long slots = (long) tokens * k;
        if (slots > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("T*k = " + slots + " slots exceed a heap array; use the MemorySegment entry point");
        }
        if (ids.length < slots) {
            ids = new int[(int) slots];
            weights = new float[(int) slots];
        }
        if (counts.length != experts) {
            counts = new long[experts];
        } else {
            Arrays.fill(counts, 0L);
        }
        this.tokens = tokens;
        this.k = k;
        this.experts = experts;
        return this;
    }

    public int tokens() {
        return tokens;
    }

    public int k() {
        return k;
    }

    public int experts() {
        return experts;
    }

    /** Expert ids, {@code ids()[t*k + j]} (the array may be longer than T·k). */
    public int[] ids() {
        return ids;
    }

    /** Weights, {@code weights()[t*k + j]} (the array may be longer than T·k). */
    public float[] weights() {
        return weights;
    }

    /** Tokens per expert: the load histogram. */
    public long[] counts() {
        return counts;
    }

    public int id(int token, int slot) {
        return ids[token * k + slot];
    }

    public float weight(int token, int slot) {
        return weights[token * k + slot];
    }
}

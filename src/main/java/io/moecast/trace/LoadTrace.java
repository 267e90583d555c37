package io.moecast.trace;

import java.util.Arrays;

/**
 * An expert-load trace held in memory: {@code tokens[step][moeLayer][expert]} as one flat, primitive
 * {@code int[]} in C order, plus {@link TraceMeta}. Per-step access is an offset computation; nothing is
 * boxed. Traces larger than 2^31−1 counts are processed with {@link TraceReader} instead.
 */
public final class LoadTrace {
    private final TraceMeta meta;
    private final int steps;
    private final int layers;
    private final int experts;
    private final long firstStep;
    private final int[] counts;

    public LoadTrace(TraceMeta meta, int steps, int layers, int experts, long firstStep, int[] counts) {
        if (steps < 0 || layers < 1 || experts < 1) {
            throw new IllegalArgumentException("bad shape " + steps + "x" + layers + "x" + experts);
        }
        if ((long) steps * layers * experts != counts.length) {
            throw new IllegalArgumentException("counts length " + counts.length + " != " + steps + "x" + layers + "x" + experts);
        }
        this.meta = meta == null ? TraceMeta.empty() : meta;
        this.steps = steps;
        this.layers = layers;
        this.experts = experts;
        this.firstStep = firstStep;
        this.counts = counts;
    }

    public TraceMeta meta() {
        return meta;
    }

    public int steps() {
        return steps;
    }

    public int layers() {
        return layers;
    }

    public int experts() {
        return experts;
    }

    /** Step number of row 0. */
    public long firstStep() {
        return firstStep;
    }

    /** The flat counts, C order {@code [step][layer][expert]} (live, not a copy). */
    public int[] counts() {
        return counts;
    }

    /** Offset of {@code [step][layer][0]} in {@link #counts()}. */
    public int offset(int step, int layer) {
        return (step * layers + layer) * experts;
    }

    /** Offset of {@code [step][0][0]} in {@link #counts()}. */
    public int stepOffset(int step) {
        return step * layers * experts;
    }

    public int count(int step, int layer, int expert) {
        return counts[offset(step, layer) + expert];
    }

    /** Tokens routed in one layer at one step (sum over experts; each top-k slot counted). */
    public long layerTotal(int step, int layer) {
        int o = offset(step, layer);
        long s = 0;
        for (int e = 0; e < experts; e++) {
            s += counts[o + e];
        }
        return s;
    }

    /**
     * Load proportions of one layer at one step into {@code dst[0..experts)}: each expert's share of
     * the layer's routed tokens. A layer that routed nothing gets the uniform 1/E.
     */
    public void proportions(int step, int layer, double[] dst) {
        proportions(counts, offset(step, layer), experts, dst, 0);
    }

    /** Shares of {@code src[off..off+experts)} into {@code dst[dstOff..]} (uniform when the sum is 0). */
    public static void proportions(int[] src, int off, int experts, double[] dst, int dstOff) {
        long s = 0;
        for (int e = 0; e < experts; e++) {
            s += src[off + e];
        }
        if (s == 0) {
            Arrays.fill(dst, dstOff, dstOff + experts, 1.0 / experts);
            return;
        }
        double inv = 1.0 / s;
        for (int e = 0; e < experts; e++) {
            dst[dstOff + e] = src[off + e] * inv;
        }
    }

    /** Copies one step ({@code layers·experts} counts) into dst. */
    public void copyStep(int step, int[] dst) {
        System.arraycopy(counts, stepOffset(step), dst, 0, layers * experts);
    }

    /** Sum of all counts. */
    public long total() {
        long s = 0;
        for (int c : counts) {
            s += c;
        }
        return s;
    }

    /** A view of steps [from, to) as a new trace (copies the counts). */
    public LoadTrace slice(int from, int to) {
        int[] c = Arrays.copyOfRange(counts, stepOffset(from), stepOffset(to));
        TraceMeta m = meta.copy();
        return new LoadTrace(m, to - from, layers, experts, firstStep + from, c);
    }

    /** A reader over this in-memory trace (lets in-memory traces go through streaming code paths). */
    public TraceReader reader(java.nio.file.Path label) {
        return new TraceReader() {
            private int next;

            @Override
            public java.nio.file.Path path() {
                return label;
            }

            @Override
            public TraceMeta meta() {
                return meta;
            }

            @Override
            public int layers() {
                return layers;
            }

            @Override
            public int experts() {
                return experts;
            }

            @Override
            public long steps() {
                return steps;
            }

            @Override
            public long firstStep() {
                return firstStep;
            }

            @Override
            public boolean next(int[] dst) {
                if (next >= steps) {
                    return false;
                }
                copyStep(next++, dst);
                return true;
            }

            @Override
            public long index() {
                return next - 1;
            }

            @Override
            public void close() {
            }
        };
    }
}

package io.moecast.routing;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The reference router: plain, row-at-a-time, obviously correct code. Every other implementation is
 * tested against it. Weights are computed in double precision and rounded to float once.
 *
 * <h2>Semantics</h2>
 * <ol>
 *   <li><b>Keys.</b> softmax-topk and topk-softmax select on the logit x (softmax is monotone);
 *       sigmoid-grouped selects on {@code sigmoid(x) + bias[e]} computed in double.</li>
 *   <li><b>Order.</b> Expert a beats b when key(a) &gt; key(b), or the keys are equal and a &lt; b.
 *       NaN ranks below −∞ (a NaN never wins over a number); two NaNs tie (lower index wins);
 *       −0.0 equals +0.0.</li>
 *   <li><b>Groups</b> (sigmoid-grouped): each group's score is the sum of its best two keys (its best key
 *       when a group holds one expert), NaN keys counting as −∞; the {@code topkGroups} best groups are
 *       kept (ties: lower group index) and top-k runs over their experts only.</li>
 *   <li><b>Top-k</b> takes the k best experts in that order, so ids are distinct and in [0, E) for every
 *       row, including rows that are all NaN (ids 0..k−1) or all −∞.</li>
 *   <li><b>Weights</b>, NaN logits treated as −∞ (sigmoid score 0):
 *     <ul>
 *       <li>softmax-topk: p_e = exp(x_e − m) / Σ_j exp(x_j − m) over all E, m the row max; if some
 *           x are +∞ they share probability 1 equally; if no x is above −∞, p = 1/E.</li>
 *       <li>topk-softmax: the same softmax restricted to the k selected logits (uniform 1/k when none is
 *           above −∞).</li>
 *       <li>sigmoid-grouped: s_j / Σ s over the k selected, s = sigmoid(x); uniform 1/k when Σ s = 0.</li>
 *     </ul></li>
 *   <li><b>Histogram.</b> counts[e] = number of (token, slot) pairs that chose e; Σ counts = T·k.</li>
 * </ol>
 */
public final class ScalarRouter implements Router {
    private float[] row = new float[0];
    private double[] keys = new double[0];
    private boolean[] allowed = new boolean[0];
    private boolean[] taken = new boolean[0];
    private int[] sel = new int[0];
    private double[] groupScore = new double[0];
    private boolean[] keepGroup = new boolean[0];

    @Override
    public String name() {
        return "scalar";
    }

    @Override
    public void route(float[] logits, int tokens, RoutingSpec spec, RoutingOutput out) {
        int E = spec.experts();
        int k = spec.k();
        checkLength(logits.length, (long) tokens * E);
        out.prepare(tokens, k, E);
        ensure(E, k);
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(logits, t * E, row, 0, E);
            routeRow(row, spec, out.ids(), out.weights(), t * k, out.counts());
        }
    }

    @Override
    public void route(MemorySegment logits, Precision precision, long tokens, RoutingSpec spec,
                      MemorySegment ids, MemorySegment weights, long[] counts) {
        int E = spec.experts();
        int k = spec.k();
        checkLength(logits.byteSize() / precision.bytes(), tokens * E);
        if (ids.byteSize() < tokens * k * 4 || weights.byteSize() < tokens * k * 4 || counts.length != E) {
            throw new IllegalArgumentException("output segments too small for " + tokens + " x " + k + " (or counts length != E)");
        }
        ensure(E, k);
        int[] rowIds = new int[k];
        float[] rowW = new float[k];
        for (long t = 0; t < tokens; t++) {
            long base = t * E;
            for (int e = 0; e < E; e++) {
                row[e] = precision == Precision.F32
                        ? logits.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, base + e)
                        : Precision.bf16ToFloat(logits.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, base + e));
            }
            routeRow(row, spec, rowIds, rowW, 0, counts);
            for (int j = 0; j < k; j++) {
                ids.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, t * k + j, rowIds[j]);
                weights.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, t * k + j, rowW[j]);
            }
        }
    }

    @Override
    public void routeHidden(float[] x, float[] w, int tokens, int d, RoutingSpec spec, RoutingOutput out) {
        int E = spec.experts();
        int k = spec.k();
        checkLength(x.length, (long) tokens * d);
        checkLength(w.length, (long) d * E);
        out.prepare(tokens, k, E);
        ensure(E, k);
        for (int t = 0; t < tokens; t++) {
            gateRow(x, t * d, w, d, E, row);
            routeRow(row, spec, out.ids(), out.weights(), t * k, out.counts());
        }
    }

    /** logits[e] = Σ_i x[xOff+i] · w[i*E+e], float accumulation in ascending i. */
    public static void gateRow(float[] x, int xOff, float[] w, int d, int E, float[] logits) {
        for (int e = 0; e < E; e++) {
            logits[e] = 0f;
        }
        for (int i = 0; i < d; i++) {
            float xi = x[xOff + i];
            int wo = i * E;
            for (int e = 0; e < E; e++) {
                logits[e] += xi * w[wo + e];
            }
        }
    }

    private static void checkLength(long have, long need) {
        if (have < need) {
            throw new IllegalArgumentException("input holds " + have + " values, the batch needs " + need);
        }
    }

    private void ensure(int E, int k) {
        if (row.length < E) {
            row = new float[E];
            keys = new double[E];
            allowed = new boolean[E];
            taken = new boolean[E];
        }
        if (sel.length < k) {
            sel = new int[k];
        }
    }

    /**
     * Routes one row {@code logits[from .. from+E)} exactly as {@link #route(float[], int, RoutingSpec,
     * RoutingOutput)} does: ids and weights into {@code [off, off+k)} of the given arrays, {@code counts}
     * incremented. Fast implementations hand their rare rows (±∞, NaN) to it.
     */
    public void routeOne(float[] logits, int from, RoutingSpec spec, int[] ids, float[] weights, int off, long[] counts) {
        ensure(spec.experts(), spec.k());
        System.arraycopy(logits, from, row, 0, spec.experts());
        routeRow(row, spec, ids, weights, off, counts);
    }

    /** Routes one row {@code x[0..E)}: ids and weights into {@code [off, off+k)}, counts incremented. */
    void routeRow(float[] x, RoutingSpec spec, int[] ids, float[] weights, int off, long[] counts) {
        int E = spec.experts();
        int k = spec.k();
        boolean sigmoid = spec.mode() == ScoringMode.SIGMOID_GROUPED;
        for (int e = 0; e < E; e++) {
            double v = x[e];
            keys[e] = sigmoid ? sigmoid(v) + spec.bias(e) : v + 0.0; // + 0.0 turns -0.0 into +0.0
            taken[e] = false;
            allowed[e] = true;
        }
        if (sigmoid && spec.groups() > 1) {
            restrictToBestGroups(spec);
        }
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int e = 0; e < E; e++) {
                if (allowed[e] && !taken[e] && (best < 0 || beats(keys[e], e, keys[best], best))) {
                    best = e;
                }
            }
            taken[best] = true;
            sel[j] = best;
            ids[off + j] = best;
            counts[best]++;
        }
        switch (spec.mode()) {
            case SOFTMAX_TOPK -> softmaxTopkWeights(x, E, k, weights, off);
            case TOPK_SOFTMAX -> renormalisedSoftmaxWeights(x, k, weights, off);
            case SIGMOID_GROUPED -> sigmoidWeights(x, k, weights, off);
        }
    }

    /** The selection order: a beats b. NaN below everything; equal keys: lower index. */
    static boolean beats(double ka, int a, double kb, int b) {
        boolean na = Double.isNaN(ka);
        boolean nb = Double.isNaN(kb);
        if (na || nb) {
            return na && nb ? a < b : nb;
        }
        return ka > kb || (ka == kb && a < b);
    }

    private void restrictToBestGroups(RoutingSpec spec) {
        int G = spec.groups();
        int size = spec.groupSize();
        if (groupScore.length < G) {
            groupScore = new double[G];
            keepGroup = new boolean[G];
        }
        double[] score = groupScore;
        for (int g = 0; g < G; g++) {
            int b1 = -1;
            int b2 = -1;
            for (int e = g * size; e < (g + 1) * size; e++) {
                if (b1 < 0 || beats(keys[e], e, keys[b1], b1)) {
                    b2 = b1;
                    b1 = e;
                } else if (b2 < 0 || beats(keys[e], e, keys[b2], b2)) {
                    b2 = e;
                }
            }
            double s = nanToNegInf(keys[b1]);
            if (b2 >= 0) {
                s += nanToNegInf(keys[b2]);
            }
            score[g] = s;
        }
        boolean[] keep = keepGroup;
        java.util.Arrays.fill(keep, false);
        for (int r = 0; r < spec.topkGroups(); r++) {
            int best = -1;
            for (int g = 0; g < G; g++) {
                if (!keep[g] && (best < 0 || beats(score[g], g, score[best], best))) {
                    best = g;
                }
            }
            keep[best] = true;
        }
        for (int e = 0; e < spec.experts(); e++) {
            allowed[e] = keep[e / size];
        }
    }

    private static double nanToNegInf(double v) {
        return Double.isNaN(v) ? Double.NEGATIVE_INFINITY : v;
    }

    static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }

    private void softmaxTopkWeights(float[] x, int E, int k, float[] w, int off) {
        double m = Double.NEGATIVE_INFINITY;
        int posInf = 0;
        for (int e = 0; e < E; e++) {
            double v = nanToNegInf(x[e]);
            m = Math.max(m, v);
            if (v == Double.POSITIVE_INFINITY) {
                posInf++;
            }
        }
        if (posInf > 0) {
            for (int j = 0; j < k; j++) {
                w[off + j] = x[sel[j]] == Float.POSITIVE_INFINITY ? (float) (1.0 / posInf) : 0f;
            }
            return;
        }
        if (m == Double.NEGATIVE_INFINITY) {
            for (int j = 0; j < k; j++) {
                w[off + j] = (float) (1.0 / E);
            }
            return;
        }
        double sum = 0;
        for (int e = 0; e < E; e++) {
            sum += Math.exp(nanToNegInf(x[e]) - m);
        }
        for (int j = 0; j < k; j++) {
            w[off + j] = (float) (Math.exp(nanToNegInf(x[sel[j]]) - m) / sum);
        }
    }

    private void renormalisedSoftmaxWeights(float[] x, int k, float[] w, int off) {
        double m = Double.NEGATIVE_INFINITY;
        int posInf = 0;
        for (int j = 0; j < k; j++) {
            double v = nanToNegInf(x[sel[j]]);
            m = Math.max(m, v);
            if (v == Double.POSITIVE_INFINITY) {
                posInf++;
            }
        }
        if (posInf > 0) {
            for (int j = 0; j < k; j++) {
                w[off + j] = x[sel[j]] == Float.POSITIVE_INFINITY ? (float) (1.0 / posInf) : 0f;
            }
            return;
        }
        if (m == Double.NEGATIVE_INFINITY) {
            for (int j = 0; j < k; j++) {
                w[off + j] = (float) (1.0 / k);
            }
            return;
        }
        double sum = 0;
        for (int j = 0; j < k; j++) {
            sum += Math.exp(nanToNegInf(x[sel[j]]) - m);
        }
        for (int j = 0; j < k; j++) {
            w[off + j] = (float) (Math.exp(nanToNegInf(x[sel[j]]) - m) / sum);
        }
    }

    private void sigmoidWeights(float[] x, int k, float[] w, int off) {
        double sum = 0;
        for (int j = 0; j < k; j++) {
            double v = x[sel[j]];
            sum += Double.isNaN(v) ? 0 : sigmoid(v);
        }
        for (int j = 0; j < k; j++) {
            double v = x[sel[j]];
            double s = Double.isNaN(v) ? 0 : sigmoid(v);
            w[off + j] = sum > 0 && Double.isFinite(sum) ? (float) (s / sum) : (float) (1.0 / k);
        }
    }
}

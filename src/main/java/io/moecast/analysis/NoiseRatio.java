package io.moecast.analysis;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fluctuation-to-noise ratio of every MoE layer over a sliding window, the statistic the state
 * detectors ({@link StateDetectors}) threshold. Streaming: O(layers·experts·window) memory (the
 * window as counts, 4 bytes a value, when fed counts; as proportions, 8, when fed proportions),
 * O(layers·experts) work per step, no allocation after the first step.
 *
 * <p>For layer l at step t, over the window of the last w steps (w = {@link #window()}), with
 * p<sub>s,e</sub> expert e's share of the layer's routed tokens at step s:
 * <ul>
 *   <li>fluctuation V = (1/E) Σ<sub>e</sub> s²<sub>e</sub>, s²<sub>e</sub> the (unbiased, 1/(w−1))
 *       sample variance of p<sub>·,e</sub> over the window;</li>
 *   <li>noise σ² = (1/E) Σ<sub>e</sub> (1/(2(w−1))) Σ<sub>s</sub> (p<sub>s,e</sub> − p<sub>s−1,e</sub>)²
 *       over the w−1 successive differences inside the window: half the mean squared successive
 *       difference (von Neumann, 1941), an estimate of the step-to-step noise variance that a slowly
 *       moving mean barely affects;</li>
 *   <li>ratio R = V / σ². For a series whose mean does not move (any noise, any amplitude, any number
 *       of tokens per step) E[R] ≈ 1; a mean that moves within the window (drift, trends, jumps, slow
 *       oscillation) adds its variance to V but hardly to σ², so R − 1 is the variance of the moving
 *       part in units of the noise. R is 2/η with η von Neumann's ratio.</li>
 * </ul>
 * R is defined once a full window has been seen ({@link #full()}); a layer whose proportions never
 * change has V = σ² = 0 and R = 0.
 *
 * <p>The running sums are recomputed exactly from the window every 16·w steps, so rounding error does
 * not accumulate over long traces. The per-step loops run on the Vector API (per element the same
 * arithmetic as the scalar definition; the per-layer sums over experts add in lane order).
 */
public final class NoiseRatio {
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** int lanes matching {@link #D} */
    private static final VectorSpecies<Integer> DI = VectorSpecies.of(int.class, VectorShape.forBitSize(Math.max(64, D.vectorBitSize() / 2)));
    /**
     * The running sums are recomputed from the ring every this many windows (rounding in w·16 updates
     * of a double sum stays near 1e-15 of its size, far below any variance the ratio resolves).
     */
    static final int RECOMPUTE_WINDOWS = 16;
    private final int layers;
    private final int experts;
    private final int window;
    /**
     * Proportions ring: {@code [slot][layer*experts + expert]}, slot = step mod window, when fed
     * proportions ({@link #observeProportions}); allocated on first use.
     */
    private double[] ring;
    /**
     * Fed counts ({@link #observe(int[])}, {@link #observeShares}): the ring holds the counts, and
     * {@link #invRing} each slot's layers' 1/Σ (a layer that routed nothing: counts of 1 with 1/E), from
     * which every proportion comes back exactly as it was computed, c·(1/Σ), at half the memory (and
     * memory traffic) of the proportions. Allocated on first use.
     */
    private int[] ringC;
    private double[] invRing;
    /** which ring the steps since construction or reset went to */
    private boolean byCounts;
    /** Σ p and Σ p² over the window, per layer and expert. */
    private final double[] sum;
    private final double[] sumSq;
    /** Σ_e (p_s − p_{s−1})² per step, ring {@code [slot][layer]}; the slot of the window's oldest step holds the difference that left. */
    private final double[] diffRing;
    private final double[] diffSum;
    private final double[] prop;
    private final double[] ratio;
    private final double[] fluct;
    private final double[] noise;
    /** Σₑ of the windowed population variances of each layer (the fluctuation before scaling) */
    private final double[] layerVar;
    private long seen;

    public NoiseRatio(int layers, int experts, int window) {
        if (layers < 1 || experts < 1) {
            throw new IllegalArgumentException("need at least one layer and one expert, got " + layers + " x " + experts);
        }
        if (window < 3) {
            throw new IllegalArgumentException("window must be at least 3 steps, got " + window);
        }
        long cells = (long) layers * experts * window;
        if (cells > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("layers x experts x window = " + cells + " is too large");
        }
        this.layers = layers;
        this.experts = experts;
        this.window = window;
        int le = layers * experts;
        sum = new double[le];
        sumSq = new double[le];
        diffRing = new double[window * layers];
        diffSum = new double[layers];
        prop = new double[le];
        ratio = new double[layers];
        fluct = new double[layers];
        noise = new double[layers];
        layerVar = new double[layers];
    }

    public int layers() {
        return layers;
    }

    public int experts() {
        return experts;
    }

    public int window() {
        return window;
    }

    /** Steps observed since construction or {@link #reset()}. */
    public long seen() {
        return seen;
    }

    /** True once a full window has been observed, so {@link #ratio(int)} is defined. */
    public boolean full() {
        return seen >= window;
    }

    /** Feeds one step of counts, {@code counts[layer*experts + expert]}. */
    public void observe(int[] counts) {
        if (counts.length < layers * experts) {
            throw new IllegalArgumentException("counts holds " + counts.length + " values, need " + layers * experts);
        }
        int E = experts;
        for (int l = 0; l < layers; l++) {
            io.moecast.trace.LoadTrace.proportions(counts, l * E, E, prop, l * E);
        }
        observeShares(counts, prop);
    }

    /**
     * Feeds one step of counts together with their proportions {@code p}, computed exactly as
     * {@link io.moecast.trace.LoadTrace#proportions} does (c·(1/Σc), 1/E for a layer that routed
     * nothing), so they are not computed again. The same statistics as {@link #observeProportions}
     * (bit for bit), with the window kept as counts.
     */
    public void observeShares(int[] counts, double[] p) {
        if (counts.length < layers * experts) {
            throw new IllegalArgumentException("counts holds " + counts.length + " values, need " + layers * experts);
        }
        if (seen > 0 && !byCounts) {
            throw new IllegalStateException("fed proportions so far: keep feeding proportions (or reset)");
        }
        if (ringC == null) {
            ringC = new int[window * layers * experts];
            invRing = new double[window * layers];
        }
        byCounts = true;
        step(p, counts);
    }

    /** Feeds one step of proportions, {@code p[layer*experts + expert]} (each layer summing to 1). */
    public void observeProportions(double[] p) {
        if (seen > 0 && byCounts) {
            throw new IllegalStateException("fed counts so far: keep feeding counts (or reset)");
        }
        if (ring == null) {
            ring = new double[window * layers * experts];
        }
        byCounts = false;
        step(p, null);
    }

    private void step(double[] p, int[] counts) {
        int E = experts;
        int le = layers * E;
        int slot = (int) (seen % window);
        int prevSlot = (int) ((seen + window - 1) % window);
        int base = slot * le;
        int prevBase = prevSlot * le;
        boolean evict = seen >= window;
        boolean first = seen == 0;
        // the window's variances are summed in the same pass (unless the sums are recomputed this step)
        long after = seen + 1;
        boolean fused = after >= window && after % ((long) RECOMPUTE_WINDOWS * window) != 0;
        double inv = 1.0 / window;
        int ub = D.loopBound(E);
        for (int l = 0; l < layers; l++) {
            int o = l * E;
            // per element exactly the scalar arithmetic: sum = (sum − old) + x, sumSq = (sumSq − old²) + x²
            DoubleVector d2v = DoubleVector.zero(D);
            DoubleVector vv = DoubleVector.zero(D);
            int e = 0;
            if (byCounts) {
                // the same arithmetic, the old and previous proportions recovered from their counts
                double invOld = evict ? invRing[slot * layers + l] : 0;
                double invPrev = first ? 0 : invRing[prevSlot * layers + l];
                DoubleVector tot = DoubleVector.zero(D);
                double total = 0;
                if (DI.length() == D.length()) {
                    for (; e < ub; e += D.length()) {
                        int i = o + e;
                        DoubleVector x = DoubleVector.fromArray(D, p, i);
                        DoubleVector sm = DoubleVector.fromArray(D, sum, i);
                        DoubleVector sq = DoubleVector.fromArray(D, sumSq, i);
                        if (evict) {
                            DoubleVector old = widen(ringC, base + i).mul(invOld);
                            sm = sm.sub(old);
                            sq = sq.sub(old.mul(old));
                        }
                        if (!first) {
                            DoubleVector d = x.sub(widen(ringC, prevBase + i).mul(invPrev));
                            d2v = d2v.add(d.mul(d));
                        }
                        IntVector c = IntVector.fromArray(DI, counts, i);
                        c.intoArray(ringC, base + i);
                        tot = tot.add(c.convertShape(VectorOperators.I2D, D, 0));
                        sm = sm.add(x);
                        sq = sq.add(x.mul(x));
                        sm.intoArray(sum, i);
                        sq.intoArray(sumSq, i);
                        if (fused) {
                            DoubleVector mv = sm.mul(inv);
                            vv = vv.add(sq.mul(inv).sub(mv.mul(mv)).max(0.0));
                        }
                    }
                    total = tot.reduceLanes(VectorOperators.ADD);
                }
                double d2 = d2v.reduceLanes(VectorOperators.ADD);
                double v = vv.reduceLanes(VectorOperators.ADD);
                for (; e < E; e++) {
                    int i = o + e;
                    double x = p[i];
                    if (evict) {
                        double old = ringC[base + i] * invOld;
                        sum[i] -= old;
                        sumSq[i] -= old * old;
                    }
                    if (!first) {
                        double d = x - ringC[prevBase + i] * invPrev;
                        d2 += d * d;
                    }
                    ringC[base + i] = counts[i];
                    total += counts[i];
                    sum[i] += x;
                    sumSq[i] += x * x;
                    if (fused) {
                        double mm = sum[i] * inv;
                        double var = sumSq[i] * inv - mm * mm;
                        v += var > 0 ? var : 0.0;
                    }
                }
                if (total == 0) {
                    java.util.Arrays.fill(ringC, base + o, base + o + E, 1);
                    invRing[slot * layers + l] = 1.0 / E;
                } else {
                    invRing[slot * layers + l] = 1.0 / total;
                }
                finishLayer(l, slot, evict, first, fused, d2, v);
                continue;
            }
            for (; e < ub; e += D.length()) {
                int i = o + e;
                DoubleVector x = DoubleVector.fromArray(D, p, i);
                DoubleVector sm = DoubleVector.fromArray(D, sum, i);
                DoubleVector sq = DoubleVector.fromArray(D, sumSq, i);
                if (evict) {
                    DoubleVector old = DoubleVector.fromArray(D, ring, base + i);
                    sm = sm.sub(old);
                    sq = sq.sub(old.mul(old));
                }
                if (!first) {
                    DoubleVector d = x.sub(DoubleVector.fromArray(D, ring, prevBase + i));
                    d2v = d2v.add(d.mul(d));
                }
                x.intoArray(ring, base + i);
                sm = sm.add(x);
                sq = sq.add(x.mul(x));
                sm.intoArray(sum, i);
                sq.intoArray(sumSq, i);
                if (fused) {
                    DoubleVector mv = sm.mul(inv);
                    vv = vv.add(sq.mul(inv).sub(mv.mul(mv)).max(0.0));
                }
            }
            double d2 = d2v.reduceLanes(VectorOperators.ADD);
            double v = vv.reduceLanes(VectorOperators.ADD);
            for (; e < E; e++) {
                int i = o + e;
                double x = p[i];
                if (evict) {
                    double old = ring[base + i];
                    sum[i] -= old;
                    sumSq[i] -= old * old;
                }
                if (!first) {
                    double d = x - ring[prevBase + i];
                    d2 += d * d;
                }
                ring[base + i] = x;
                sum[i] += x;
                sumSq[i] += x * x;
                if (fused) {
                    double mm = sum[i] * inv;
                    double var = sumSq[i] * inv - mm * mm;
                    v += var > 0 ? var : 0.0;
                }
            }
            finishLayer(l, slot, evict, first, fused, d2, v);
        }
        seen++;
        if (seen % ((long) RECOMPUTE_WINDOWS * window) == 0) {
            recompute();
        }
        if (seen >= window) {
            if (!fused) {
                variances();
            }
            update();
        }
    }

    private void finishLayer(int l, int slot, boolean evict, boolean first, boolean fused, double d2, double v) {
        if (fused) {
            layerVar[l] = v;
        }
        // diffRing[slot] holds the difference ending at the step in that slot; the window
        // [t−w+1, t] uses the w−1 differences ending at t−w+2..t.
        int ds = slot * layers + l;
        if (evict) {
            diffSum[l] -= diffRing[ds];
        }
        diffRing[ds] = first ? 0.0 : d2;
        diffSum[l] += diffRing[ds];
    }

    private static DoubleVector widen(int[] a, int at) {
        return (DoubleVector) IntVector.fromArray(DI, a, at).convertShape(VectorOperators.I2D, D, 0);
    }

    /** Exact sums from the ring (every {@link #RECOMPUTE_WINDOWS} windows: O(layers·experts) amortised). */
    private void recompute() {
        int E = experts;
        int le = layers * E;
        java.util.Arrays.fill(sum, 0.0);
        java.util.Arrays.fill(sumSq, 0.0);
        java.util.Arrays.fill(diffSum, 0.0);
        for (int s = 0; s < window; s++) {
            int b = s * le;
            if (byCounts) {
                for (int l = 0; l < layers; l++) {
                    double ci = invRing[s * layers + l];
                    for (int i = l * E; i < (l + 1) * E; i++) {
                        double x = ringC[b + i] * ci;
                        sum[i] += x;
                        sumSq[i] += x * x;
                    }
                }
            } else {
                for (int i = 0; i < le; i++) {
                    double x = ring[b + i];
                    sum[i] += x;
                    sumSq[i] += x * x;
                }
            }
        }
        // diffSum holds every slot; update() leaves out the oldest step's difference, which reaches
        // outside the window.
        for (int i = 0; i < diffRing.length; i++) {
            diffSum[i % layers] += diffRing[i];
        }
    }

    /** Σₑ of the windowed population variances per layer into layerVar (from the running sums). */
    private void variances() {
        int E = experts;
        double inv = 1.0 / window;
        int ub = D.loopBound(E);
        for (int l = 0; l < layers; l++) {
            int o = l * E;
            DoubleVector vv = DoubleVector.zero(D);
            int e = 0;
            for (; e < ub; e += D.length()) {
                DoubleVector m = DoubleVector.fromArray(D, sum, o + e).mul(inv);
                DoubleVector var = DoubleVector.fromArray(D, sumSq, o + e).mul(inv).sub(m.mul(m));
                vv = vv.add(var.max(0.0));
            }
            double v = vv.reduceLanes(VectorOperators.ADD);
            for (; e < E; e++) {
                double m = sum[o + e] * inv;
                double var = sumSq[o + e] * inv - m * m;
                v += var > 0 ? var : 0.0;
            }
            layerVar[l] = v;
        }
    }

    private void update() {
        int E = experts;
        int oldest = (int) (seen % window);
        for (int l = 0; l < layers; l++) {
            // unbiased: Σ(x−x̄)²/(w−1) = w·(population variance)/(w−1)
            double v = layerVar[l] * window / (window - 1) / E;
            double diffs = diffSum[l] - diffRing[oldest * layers + l];
            if (diffs < 0) {
                diffs = 0;
            }
            double n = diffs / (2.0 * (window - 1)) / E;
            fluct[l] = v;
            noise[l] = n;
            ratio[l] = n > 0 ? v / n : (v > 0 ? Double.POSITIVE_INFINITY : 0.0);
        }
    }

    /** R of layer l over the current window (NaN before a full window). */
    public double ratio(int layer) {
        return seen >= window ? ratio[layer] : Double.NaN;
    }

    /** V of layer l: mean over experts of the unbiased windowed variance of proportions (NaN before a full window). */
    public double fluctuation(int layer) {
        return seen >= window ? fluct[layer] : Double.NaN;
    }

    /** σ² of layer l: the step-to-step noise variance estimate (NaN before a full window). */
    public double noise(int layer) {
        return seen >= window ? noise[layer] : Double.NaN;
    }

    /** The proportions of the last observed step ({@code [layer*experts + expert]}, live view). */
    public double[] lastProportions() {
        return prop;
    }

    public void reset() {
        seen = 0;
        java.util.Arrays.fill(sum, 0.0);
        java.util.Arrays.fill(sumSq, 0.0);
        java.util.Arrays.fill(diffSum, 0.0);
        java.util.Arrays.fill(diffRing, 0.0);
    }
}

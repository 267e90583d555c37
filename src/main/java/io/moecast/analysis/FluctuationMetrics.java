package io.moecast.analysis;

import io.moecast.trace.LoadTrace;

import java.util.Arrays;

/**
 * Fluctuation metrics of load proportions (an expert's share of its layer's routed tokens in a step),
 * streamed step by step in one pass with O(layers·experts·window) memory and no allocation per step:
 * <ul>
 *   <li>per expert, over each sliding window w (e.g. the paper's 10, 100, 200): mean, variance
 *       (1/w)·Σ(x − x̄)² as the paper defines it, and range max − min (monotonic deques: O(1) amortised
 *       per step);</li>
 *   <li>per layer, the same averaged over the layer's experts, and the largest range of any expert;</li>
 *   <li>per layer and step: imbalance max/mean, coefficient of variation across experts, normalised
 *       entropy H/ln E (1 = perfectly balanced), and the total-variation distance to the previous step,
 *       ½·Σ|p<sub>t</sub> − p<sub>t−1</sub>|.</li>
 * </ul>
 * Windowed values are defined once w steps have been seen ({@link #ready(int)}); before that they are
 * NaN. Running sums are recomputed from the window every w steps, so rounding error does not build up.
 */
public final class FluctuationMetrics {
    private final int layers;
    private final int experts;
    private final int cells;
    private final int[] windows;
    private final int ringSize;
    /** Proportions ring {@code [slot][cell]}, slot = step mod ringSize (the largest window). */
    private final double[] ring;
    private final double[] prop;
    private final double[] prev;
    private final double[][] sum;
    private final double[][] sumSq;
    /** Monotonic deques per window and cell: step indices in a circular slice {@code [cell*w, cell*w+w)}. */
    private final int[][] maxQ;
    private final int[][] minQ;
    private final int[][] maxHead;
    private final int[][] maxLen;
    private final int[][] minHead;
    private final int[][] minLen;
    private final double[] maxMean;
    private final double[] cv;
    private final double[] entropy;
    private final double[] tv;
    private long seen;

    public FluctuationMetrics(int layers, int experts, int... windows) {
        if (layers < 1 || experts < 1) {
            throw new IllegalArgumentException("need at least one layer and one expert");
        }
        if (windows.length == 0) {
            throw new IllegalArgumentException("give at least one window");
        }
        this.windows = windows.clone();
        int maxW = 0;
        for (int w : windows) {
            if (w < 2) {
                throw new IllegalArgumentException("windows must be at least 2 steps, got " + w);
            }
            maxW = Math.max(maxW, w);
        }
        this.layers = layers;
        this.experts = experts;
        this.cells = layers * experts;
        if ((long) cells * maxW > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("layers x experts x window = " + (long) cells * maxW + " is too large");
        }
        this.ringSize = maxW;
        ring = new double[cells * maxW];
        prop = new double[cells];
        prev = new double[cells];
        int n = windows.length;
        sum = new double[n][cells];
        sumSq = new double[n][cells];
        maxQ = new int[n][];
        minQ = new int[n][];
        maxHead = new int[n][cells];
        maxLen = new int[n][cells];
        minHead = new int[n][cells];
        minLen = new int[n][cells];
        for (int i = 0; i < n; i++) {
            maxQ[i] = new int[cells * windows[i]];
            minQ[i] = new int[cells * windows[i]];
        }
        maxMean = new double[layers];
        cv = new double[layers];
        entropy = new double[layers];
        tv = new double[layers];
    }

    public int layers() {
        return layers;
    }

    public int experts() {
        return experts;
    }

    /** The window sizes, in the order given. */
    public int[] windows() {
        return windows.clone();
    }

    public int window(int wi) {
        return windows[wi];
    }

    public long seen() {
        return seen;
    }

    /** True once window {@code wi} is full. */
    public boolean ready(int wi) {
        return seen >= windows[wi];
    }

    /** Feeds one step of counts {@code [layer*experts + expert]}. */
    public void observe(int[] counts) {
        if (counts.length < cells) {
            throw new IllegalArgumentException("counts holds " + counts.length + " values, need " + cells);
        }
        for (int l = 0; l < layers; l++) {
            LoadTrace.proportions(counts, l * experts, experts, prop, l * experts);
        }
        step();
    }

    /** Feeds one step of proportions {@code [layer*experts + expert]} (each layer summing to 1). */
    public void observeProportions(double[] p) {
        System.arraycopy(p, 0, prop, 0, cells);
        step();
    }

    private void step() {
        final long t = seen;
        final int slot = (int) (t % ringSize);
        final int base = slot * cells;
        perStep(t);
        for (int wi = 0; wi < windows.length; wi++) {
            int w = windows[wi];
            boolean evict = t >= w;
            int oldBase = (int) (((t - w) % ringSize + ringSize) % ringSize) * cells;
            double[] s = sum[wi];
            double[] sq = sumSq[wi];
            for (int c = 0; c < cells; c++) {
                double x = prop[c];
                if (evict) {
                    double o = ring[oldBase + c];
                    s[c] -= o;
                    sq[c] -= o * o;
                }
                s[c] += x;
                sq[c] += x * x;
            }
        }
        System.arraycopy(prop, 0, ring, base, cells);
        for (int wi = 0; wi < windows.length; wi++) {
            slideRange(wi, (int) t);
        }
        System.arraycopy(prop, 0, prev, 0, cells);
        seen++;
        for (int wi = 0; wi < windows.length; wi++) {
            if (seen % windows[wi] == 0) {
                recompute(wi);
            }
        }
    }

    private void slideRange(int wi, int t) {
        int w = windows[wi];
        int[] mq = maxQ[wi];
        int[] nq = minQ[wi];
        int[] mh = maxHead[wi];
        int[] ml = maxLen[wi];
        int[] nh = minHead[wi];
        int[] nl = minLen[wi];
        int oldest = t - w + 1;
        for (int c = 0; c < cells; c++) {
            double x = prop[c];
            int off = c * w;
            // max deque: values decreasing from head to tail
            int h = mh[c];
            int len = ml[c];
            if (len > 0 && mq[off + h] < oldest) {
                h = h + 1 == w ? 0 : h + 1;
                len--;
            }
            while (len > 0) {
                int tail = h + len - 1;
                if (tail >= w) {
                    tail -= w;
                }
                if (value(mq[off + tail], c) <= x) {
                    len--;
                } else {
                    break;
                }
            }
            int at = h + len;
            if (at >= w) {
                at -= w;
            }
            mq[off + at] = t;
            mh[c] = h;
            ml[c] = len + 1;
            // min deque: values increasing from head to tail
            h = nh[c];
            len = nl[c];
            if (len > 0 && nq[off + h] < oldest) {
                h = h + 1 == w ? 0 : h + 1;
                len--;
            }
            while (len > 0) {
                int tail = h + len - 1;
                if (tail >= w) {
                    tail -= w;
                }
                if (value(nq[off + tail], c) >= x) {
                    len--;
                } else {
                    break;
                }
            }
            at = h + len;
            if (at >= w) {
                at -= w;
            }
            nq[off + at] = t;
            nh[c] = h;
            nl[c] = len + 1;
        }
    }

    private double value(int step, int c) {
        return ring[(step % ringSize) * cells + c];
    }

    private void perStep(long t) {
        int E = experts;
        double lnE = Math.log(E);
        for (int l = 0; l < layers; l++) {
            int o = l * E;
            double mx = 0;
            double sq = 0;
            double h = 0;
            double d = 0;
            for (int e = 0; e < E; e++) {
                double x = prop[o + e];
                mx = Math.max(mx, x);
                sq += x * x;
                if (x > 0) {
                    h -= x * Math.log(x);
                }
                d += Math.abs(x - prev[o + e]);
            }
            maxMean[l] = mx * E;
            double var = sq / E - 1.0 / ((double) E * E);
            cv[l] = Math.sqrt(Math.max(var, 0)) * E;
            entropy[l] = E > 1 ? h / lnE : 1.0;
            tv[l] = t == 0 ? Double.NaN : 0.5 * d;
        }
    }

    private void recompute(int wi) {
        int w = windows[wi];
        double[] s = sum[wi];
        double[] sq = sumSq[wi];
        Arrays.fill(s, 0.0);
        Arrays.fill(sq, 0.0);
        for (long k = seen - w; k < seen; k++) {
            int b = (int) (k % ringSize) * cells;
            for (int c = 0; c < cells; c++) {
                double x = ring[b + c];
                s[c] += x;
                sq[c] += x * x;
            }
        }
    }

    // ---- current step ----

    /** Proportions of the last step, {@code [layer*experts + expert]} (live view). */
    public double[] proportions() {
        return prop;
    }

    public double proportion(int layer, int expert) {
        return prop[layer * experts + expert];
    }

    /** Largest share over the mean share (1/E): 1 = perfectly balanced, E = all on one expert. */
    public double maxOverMean(int layer) {
        return maxMean[layer];
    }

    /** Standard deviation of the shares across experts over their mean. */
    public double coefficientOfVariation(int layer) {
        return cv[layer];
    }

    /** Entropy of the shares over ln E (1 = perfectly balanced, 0 = one expert). */
    public double normalisedEntropy(int layer) {
        return entropy[layer];
    }

    /** ½·Σ|p_t − p_{t−1}| over the layer's experts (NaN at the first step). */
    public double totalVariation(int layer) {
        return tv[layer];
    }

    // ---- windowed, per expert ----

    public double mean(int wi, int layer, int expert) {
        if (!ready(wi)) {
            return Double.NaN;
        }
        return sum[wi][layer * experts + expert] / windows[wi];
    }

    /** (1/w)·Σ(x − x̄)² of the expert's share over the window. */
    public double variance(int wi, int layer, int expert) {
        if (!ready(wi)) {
            return Double.NaN;
        }
        int c = layer * experts + expert;
        int w = windows[wi];
        double m = sum[wi][c] / w;
        double v = sumSq[wi][c] / w - m * m;
        return v > 0 ? v : 0.0;
    }

    /** max − min of the expert's share over the window. */
    public double range(int wi, int layer, int expert) {
        if (!ready(wi)) {
            return Double.NaN;
        }
        int c = layer * experts + expert;
        int w = windows[wi];
        int off = c * w;
        return value(maxQ[wi][off + maxHead[wi][c]], c) - value(minQ[wi][off + minHead[wi][c]], c);
    }

    // ---- windowed, per layer ----

    /** Windowed variance averaged over the layer's experts. */
    public double layerVariance(int wi, int layer) {
        if (!ready(wi)) {
            return Double.NaN;
        }
        double s = 0;
        for (int e = 0; e < experts; e++) {
            s += variance(wi, layer, e);
        }
        return s / experts;
    }

    /** Windowed range averaged over the layer's experts. */
    public double layerRange(int wi, int layer) {
        if (!ready(wi)) {
            return Double.NaN;
        }
        double s = 0;
        for (int e = 0; e < experts; e++) {
            s += range(wi, layer, e);
        }
        return s / experts;
    }

    /** The largest windowed range of any expert of the layer. */
    public double layerMaxRange(int wi, int layer) {
        if (!ready(wi)) {
            return Double.NaN;
        }
        double m = 0;
        for (int e = 0; e < experts; e++) {
            m = Math.max(m, range(wi, layer, e));
        }
        return m;
    }
}

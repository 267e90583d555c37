package io.moecast.predict;

import java.util.Arrays;

/**
 * {@code sw-avg}: the source paper's SW_Avg. The next step's share is the arithmetic mean of the last w
 * steps' shares; further steps are predicted by "k rounds of calculation by the means of sliding":
 * each prediction is appended to the window, the oldest value drops out, and the mean of the new
 * window is the next prediction. So x̂(t+1) = mean(x(t−w+1..t)), x̂(t+2) = mean(x(t−w+2..t), x̂(t+1)),
 * and so on; the horizon-mean forecast is the mean of x̂(t+1..t+h). The path is nearly flat and
 * converges to a weighted mean of the window that favours recent steps. Before w steps have been seen
 * the window is what there is.
 *
 * <p>Cost: O(n) per observed step; a forecast over h steps costs O(h·n) plus a copy of the window
 * (O(w·n)). Parameter: {@code window} (default 1000; the paper does not state its window).
 */
public final class SlidingWindowPredictor extends AbstractPredictor {
    private final int window;
    private final double[] ring;
    private final double[] sum;
    private double[] scratch = new double[0];
    private final double[] s;
    private int pos;
    private int filled;
    private int sinceExact;

    public SlidingWindowPredictor(int layers, int experts, int window, double confidence) {
        super("sw-avg", layers, experts, confidence, true);
        if (window < 1) {
            throw new IllegalArgumentException("window must be >= 1: " + window);
        }
        this.window = window;
        this.ring = new double[Math.multiplyExact(window, n)];
        this.sum = new double[n];
        this.s = new double[n];
    }

    public int window() {
        return window;
    }

    @Override
    protected void update(long step, int[] counts, double[] share) {
        int o = pos * n;
        if (filled == window) {
            for (int i = 0; i < n; i++) {
                sum[i] += share[i] - ring[o + i];
            }
        } else {
            for (int i = 0; i < n; i++) {
                sum[i] += share[i];
            }
            filled++;
        }
        System.arraycopy(share, 0, ring, o, n);
        pos = pos + 1 == window ? 0 : pos + 1;
        if (++sinceExact >= window) {
            exactSum();
        }
    }

    /** Recomputes the running sum from the window (bounds rounding drift; amortised O(n)). */
    private void exactSum() {
        Arrays.fill(sum, 0);
        for (int r = 0; r < filled; r++) {
            int o = r * n;
            for (int i = 0; i < n; i++) {
                sum[i] += ring[o + i];
            }
        }
        sinceExact = 0;
    }

    /**
     * Runs the recursive sliding for {@code horizon} steps. Calls back each predicted row through
     * {@code sink} (the row lives in {@code s}-scaled form: prediction = s[i]·inv before the update).
     */
    private void slide(int horizon, double[] meanOut, double[] pathOut, double[] stepOut, int stepK) {
        int m = filled;
        double inv = 1.0 / m;
        if (scratch.length < m * n) {
            scratch = new double[m * n];
        }
        // scratch holds the window oldest-first
        int oldest = filled == window ? pos : 0;
        int tail = (m - oldest) * n;
        System.arraycopy(ring, oldest * n, scratch, 0, tail);
        System.arraycopy(ring, 0, scratch, tail, oldest * n);
        System.arraycopy(sum, 0, s, 0, n);
        if (meanOut != null) {
            Arrays.fill(meanOut, 0, n, 0);
        }
        final double[] sc = scratch;
        int idx = 0;
        for (int k = 0; k < horizon; k++) {
            int o = idx * n;
            if (pathOut != null) {
                int po = k * n;
                for (int i = 0; i < n; i++) {
                    double p = s[i] * inv;
                    pathOut[po + i] = p;
                    s[i] += p - sc[o + i];
                    sc[o + i] = p;
                }
            } else if (meanOut != null) {
                for (int i = 0; i < n; i++) {
                    double p = s[i] * inv;
                    meanOut[i] += p;
                    s[i] += p - sc[o + i];
                    sc[o + i] = p;
                }
            } else {
                if (k == stepK - 1) {
                    for (int i = 0; i < n; i++) {
                        stepOut[i] = s[i] * inv;
                    }
                    return;
                }
                for (int i = 0; i < n; i++) {
                    double p = s[i] * inv;
                    s[i] += p - sc[o + i];
                    sc[o + i] = p;
                }
            }
            idx = idx + 1 == m ? 0 : idx + 1;
        }
        if (meanOut != null) {
            double invH = 1.0 / horizon;
            for (int i = 0; i < n; i++) {
                meanOut[i] *= invH;
            }
        }
    }

    @Override
    protected void forecastMean(int horizon, double[] mean) {
        slide(horizon, mean, null, null, 0);
        normalize(mean, layers, experts);
    }

    @Override
    protected void path(int horizon, double[] path) {
        slide(horizon, null, path, null, 0);
        for (int k = 0; k < horizon; k++) {
            normalize(path, k * n, layers, experts);
        }
    }

    @Override
    protected void step(int k, double[] out) {
        slide(k, null, null, out, k);
        normalize(out, layers, experts);
    }

    @Override
    protected void resetState() {
        Arrays.fill(ring, 0);
        Arrays.fill(sum, 0);
        pos = 0;
        filled = 0;
        sinceExact = 0;
    }
}

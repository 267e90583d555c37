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
 * <p>Cost: O(n) per observed step; a forecast h steps ahead costs O(h·n) (all requested horizons of
 * one call share one pass; up to four rows of the sliding go through the series together), plus
 * O(min(w, h−w)·n) scratch when h exceeds the window. The window holds the counts (16-bit; a step
 * with a count above 65,535 as ints) and each row's 1/Σ per layer, from which every share comes back
 * exactly (w·n chars: 30 MB at 58 × 256 and w = 1000, a quarter of the memory traffic of the shares
 * themselves). Parameter:
 * {@code window} (default 1000; the paper does not state its window).
 */
public final class SlidingWindowPredictor extends AbstractPredictor {
    /** the running sum is recomputed from the window every this many windows */
    static final int EXACT_EVERY = 16;
    private final int window;
    /**
     * The window's counts, row r at [r·n ..], as unsigned 16-bit values: with {@link #rowInv} they give
     * back each share exactly (count · 1/Σ is how the share was computed; a layer that routed nothing
     * is kept as counts of 1 with 1/E), at a quarter of the memory traffic of the shares (w·n chars:
     * 30 MB at 58 × 256). A row with a count above 65,535 is kept as ints in {@link #wide} instead.
     */
    private final char[] ring;
    /** rows kept as ints (allocated when a row first needs it) */
    private int[] wide;
    private final boolean[] rowWide;
    /** 1/Σ of each row's layers: rowInv[r·layers + l] */
    private final double[] rowInv;
    private final double[] sum;
    private final double[] s;
    private final double[] acc;
    private final double[] last;
    private double[] preds = new double[0];
    private final int[] multiOff = new int[4];
    private final int[] multiInv = new int[4];
    private int pos;
    private int filled;
    private int sinceExact;

    public SlidingWindowPredictor(int layers, int experts, int window, double confidence) {
        super("sw-avg", layers, experts, confidence, true, EmpiricalBounds.SERIES_PER_SNAPSHOT, true);
        if (window < 1) {
            throw new IllegalArgumentException("window must be >= 1: " + window);
        }
        this.window = window;
        this.ring = new char[Math.multiplyExact(window, n)];
        this.rowWide = new boolean[window];
        this.rowInv = new double[Math.multiplyExact(window, layers)];
        this.sum = new double[n];
        this.s = new double[n];
        this.acc = new double[n];
        this.last = new double[n];
    }

    public int window() {
        return window;
    }

    @Override
    protected void update(long step, int[] counts, double[] share) {
        int o = pos * n;
        int io = pos * layers;
        boolean evict = filled == window;
        int[] oldWide = evict && rowWide[pos] ? wide : null;
        int max = 0;
        for (int l = 0, b = 0; l < layers; l++, b += experts) {
            double inv = layerInv[l];
            // sum += share − (the share leaving the window), per element as with the shares kept
            max = Math.max(max, Kernels.windowIn16(sum, share, counts, ring, oldWide, o, evict ? rowInv[io + l] : Double.NaN, b, experts));
            if (inv == 0) {
                Arrays.fill(ring, o + b, o + b + experts, (char) 1);
                inv = 1.0 / experts;
            }
            rowInv[io + l] = inv;
        }
        rowWide[pos] = max > Character.MAX_VALUE;
        if (rowWide[pos]) {
            if (wide == null) {
                wide = new int[ring.length];
            }
            System.arraycopy(counts, 0, wide, o, n);
            for (int l = 0; l < layers; l++) {
                if (layerInv[l] == 0) {
                    Arrays.fill(wide, o + l * experts, o + (l + 1) * experts, 1);
                }
            }
        }
        if (!evict) {
            filled++;
        }
        pos = pos + 1 == window ? 0 : pos + 1;
        if (++sinceExact >= EXACT_EVERY * window) {
            exactSum();
        }
    }

    /** Recomputes the running sum from the window (bounds rounding drift; amortised O(n/16)). */
    private void exactSum() {
        Arrays.fill(sum, 0);
        for (int r = 0; r < filled; r++) {
            int o = r * n;
            for (int l = 0, b = 0; l < layers; l++, b += experts) {
                double ci = rowInv[r * layers + l];
                for (int i = b; i < b + experts; i++) {
                    sum[i] += (rowWide[r] ? wide[o + i] : ring[o + i]) * ci;
                }
            }
        }
        sinceExact = 0;
    }

    /**
     * Runs the recursive sliding {@code kmax} steps. Row k's prediction is p = s/m, then s += p − (the
     * value leaving the window: an observed share for k < m, else the prediction of row k−m, kept in a
     * ring of at most m rows). Outputs, all optional: the whole path; for each horizon {@code hs[j]}
     * (any order) the mean of rows 0..hs[j]−1 into {@code means[j·n..]} and row hs[j]−1 into
     * {@code steps[j·n..]}.
     */
    private void slide(int kmax, double[] path, int[] hs, double[] means, double[] steps) {
        final int m = filled;
        final double inv = 1.0 / m;
        final int oldest = filled == window ? pos : 0;
        final int stored = Math.max(0, kmax - m);
        final int keep = Math.min(m, stored);
        if (preds.length < keep * n) {
            preds = new double[keep * n];
        }
        final double[] pr = preds;
        final double[] row = last;
        System.arraycopy(sum, 0, s, 0, n);
        Arrays.fill(acc, 0);
        // the next row (k+1 = horizon) that must be written out, in ascending order
        int nextRec = nextWanted(hs, 0);
        for (int k = 0; k < kmax; k++) {
            // up to four rows that leave observed shares, store nothing and write out nothing but
            // (maybe) the last go through the series together
            if (path == null && k >= stored && k < m && !rowWide[ringRow(oldest, k)]) {
                int rows = 1;
                while (rows < 4 && k + rows < kmax && k + rows < m && k + rows >= stored && k + rows != nextRec
                        && !rowWide[ringRow(oldest, k + rows)]) {
                    rows++;
                }
                // rows k .. k+rows−1 with k+rows−1 (the last) the only one that may be emitted
                if (rows > 1) {
                    for (int j = 0; j < rows; j++) {
                        int r = oldest + k + j >= window ? oldest + k + j - window : oldest + k + j;
                        multiOff[j] = r * n;
                        multiInv[j] = r * layers;
                    }
                    int last = k + rows - 1;
                    boolean emitLast = last + 1 == nextRec;
                    Kernels.slideRowsCounts(s, acc, ring, multiOff, rowInv, multiInv, rows, layers, experts, inv,
                            emitLast ? row : null, 0);
                    k = last;
                    if (emitLast) {
                        emit(hs, k + 1, means, steps, row, 0);
                        nextRec = nextWanted(hs, k + 1);
                    }
                    continue;
                }
            }
            // the value leaving: an observed share (kept as counts) for k < m, else a prediction
            final int r = k < m ? (oldest + k >= window ? oldest + k - window : oldest + k) : -1;
            final int oo = k < m ? r * n : ((k - m) % m) * n;
            final double[] st = k < stored ? pr : null;
            final int so = k < stored ? (k % m) * n : 0;
            final boolean emit = path != null || k + 1 == nextRec;
            final double[] out = !emit ? null : path != null ? path : row;
            final int ro = path != null ? k * n : 0;
            if (k < m && rowWide[r]) {
                Kernels.slideRowCounts(s, acc, wide, oo, rowInv, r * layers, layers, experts, inv, st, so, out, ro);
            } else if (k < m) {
                Kernels.slideRowCounts16(s, acc, ring, oo, rowInv, r * layers, layers, experts, inv, st, so, out, ro);
            } else {
                Kernels.slideRow(s, acc, pr, oo, inv, st, so, out, ro, n);
            }
            if (k + 1 == nextRec) {
                emit(hs, k + 1, means, steps, out, ro);
                nextRec = nextWanted(hs, k + 1);
            }
        }
    }

    /** The ring row of the k-th oldest step of the window. */
    private int ringRow(int oldest, int k) {
        return oldest + k >= window ? oldest + k - window : oldest + k;
    }

    /** The smallest horizon in hs greater than {@code after}, or −1. */
    private static int nextWanted(int[] hs, int after) {
        int best = -1;
        if (hs != null) {
            for (int x : hs) {
                if (x > after && (best < 0 || x < best)) {
                    best = x;
                }
            }
        }
        return best;
    }

    /** Writes every horizon equal to h: the running mean of rows 0..h−1 and row h−1 itself. */
    private void emit(int[] hs, int h, double[] means, double[] steps, double[] row, int ro) {
        for (int j = 0; j < hs.length; j++) {
            if (hs[j] != h) {
                continue;
            }
            int o = j * n;
            if (means != null) {
                double invH = 1.0 / h;
                for (int i = 0; i < n; i++) {
                    means[o + i] = acc[i] * invH;
                }
                normalize(means, o, layers, experts);
            }
            if (steps != null) {
                System.arraycopy(row, ro, steps, o, n);
                normalize(steps, o, layers, experts);
            }
        }
    }

    @Override
    protected void forecastMean(int horizon, double[] mean) {
        slide(horizon, null, new int[] {horizon}, mean, null);
    }

    @Override
    protected void path(int horizon, double[] path) {
        slide(horizon, path, null, null, null);
        for (int k = 0; k < horizon; k++) {
            normalize(path, k * n, layers, experts);
        }
    }

    @Override
    protected void step(int k, double[] out) {
        slide(k, null, new int[] {k}, null, out);
    }

    @Override
    protected void horizons(int[] horizons, double[] means, double[] steps) {
        int kmax = 0;
        for (int h : horizons) {
            kmax = Math.max(kmax, h);
        }
        slide(kmax, null, horizons, means, steps);
    }

    @Override
    protected void resetState() {
        Arrays.fill(ring, (char) 0);
        Arrays.fill(rowWide, false);
        Arrays.fill(rowInv, 0);
        Arrays.fill(sum, 0);
        pos = 0;
        filled = 0;
        sinceExact = 0;
    }
}

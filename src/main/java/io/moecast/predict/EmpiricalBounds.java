package io.moecast.predict;

import java.util.Arrays;

/**
 * One-sided upper bounds for a predictor's horizon-mean forecasts, calibrated on its own out-of-sample
 * errors. At a grid of horizons g (1, 2, 5, 10, ..., 5000) the predictor's forecast of the mean share
 * over the next g steps is snapshotted every ⌈g/8⌉ steps; when those g steps have happened, the realised
 * mean is known (from a running sum of shares) and so is the error r = actual − forecast of every series.
 *
 * <ul>
 *   <li>Scale: per series, an exponentially weighted mean of r² (memory 32 evaluations), shrunk toward
 *       its layer's average while evaluations are few: σ².</li>
 *   <li>Multiplier: the empirical {@code confidence}-quantile k of the standardised errors r/σ (σ as it
 *       was before the error was seen), pooled over all series, last 4,096 values; the normal
 *       quantile until 200 are in.</li>
 *   <li>Bound for horizon h: mean + k·σ(h), capped at 1, where σ(h) and k are interpolated in log h
 *       between the matured grid horizons around h, or extrapolated beyond the longest matured one
 *       with the log-log slope of the two longest (clamped to [−½, ½]: between pure noise and a
 *       random walk).</li>
 * </ul>
 * Memory O(grid·8·n); work per step O(n) per grid horizon plus one forecast per snapshot.
 */
final class EmpiricalBounds {
    /** The predictor's horizon-mean forecast. */
    interface MeanForecaster {
        void mean(int horizon, double[] out);
    }

    static final int[] GRID = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
    static final int PER = 8;
    static final int NEFF = 32;
    static final int ZCAP = 4096;
    static final int ZMIN = 200;
    static final double PRIOR = 8;

    private final int layers;
    private final int experts;
    private final int n;
    private final double conf;
    private final double zGauss;
    private final double[] cum;
    private final double[] tmp;
    private final Horizon[] hs;
    private long t;

    EmpiricalBounds(int layers, int experts, double conf) {
        this.layers = layers;
        this.experts = experts;
        this.n = layers * experts;
        this.conf = conf;
        this.zGauss = Num.normalQuantile(conf);
        this.cum = new double[n];
        this.tmp = new double[n];
        this.hs = new Horizon[GRID.length];
        for (int i = 0; i < GRID.length; i++) {
            hs[i] = new Horizon(GRID[i]);
        }
    }

    private final class Horizon {
        final int g;
        final int spacing;
        final int slots;
        final float[] fc;
        final double[] cum0;
        final long[] origin;
        int head;
        int count;
        final double[] ms;
        long evals;
        final float[] z = new float[ZCAP];
        int zn;
        int zpos;
        int sinceK;
        double k;

        Horizon(int g) {
            this.g = g;
            this.spacing = Math.max(1, (g + PER - 1) / PER);
            this.slots = (g + spacing - 1) / spacing + 1;
            this.fc = new float[slots * n];
            this.cum0 = new double[slots * n];
            this.origin = new long[slots];
            this.ms = new double[n];
        }

        void clear() {
            head = 0;
            count = 0;
            evals = 0;
            zn = 0;
            zpos = 0;
            sinceK = 0;
            k = 0;
            Arrays.fill(ms, 0);
        }

        void matureDue() {
            while (count > 0 && origin[head] + g <= t) {
                mature(head);
                head = (head + 1) % slots;
                count--;
            }
        }

        private void mature(int slot) {
            int o = slot * n;
            double invG = 1.0 / g;
            boolean standardise = evals > 0;
            double w = evals / (evals + PRIOR);
            double lam = Math.max(1.0 / (evals + 1), 1.0 / NEFF);
            for (int l = 0; l < layers; l++) {
                int b = l * experts;
                double layerMs = 0;
                if (standardise) {
                    for (int e = 0; e < experts; e++) {
                        layerMs += ms[b + e];
                    }
                    layerMs /= experts;
                }
                for (int e = 0; e < experts; e++) {
                    int i = b + e;
                    double actual = (cum[i] - cum0[o + i]) * invG;
                    double r = actual - fc[o + i];
                    if (standardise) {
                        double var = w * ms[i] + (1 - w) * layerMs;
                        if (var > 1e-18) {
                            z[zpos] = (float) (r / Math.sqrt(var));
                            zpos = (zpos + 1) % ZCAP;
                            if (zn < ZCAP) {
                                zn++;
                            }
                            sinceK++;
                        }
                    }
                    ms[i] += lam * (r * r - ms[i]);
                }
            }
            evals++;
            if (zn >= ZMIN && (k == 0 || sinceK >= Math.min(ZCAP / 16, Math.max(zn / 16, 1)))) {
                k = Num.quantile(z, zn, conf);
                sinceK = 0;
            }
        }

        void snapshot(MeanForecaster f) {
            int slot = (head + count) % slots;
            f.mean(g, tmp);
            int o = slot * n;
            for (int i = 0; i < n; i++) {
                fc[o + i] = (float) tmp[i];
            }
            System.arraycopy(cum, 0, cum0, o, n);
            origin[slot] = t;
            count++;
        }

        boolean ready() {
            return evals >= 2;
        }

        double multiplier() {
            return zn >= ZMIN ? k : zGauss;
        }

        /** σ² of series i at this horizon (shrunk toward the layer mean). */
        double var(int i, double layerMs) {
            double w = evals / (evals + PRIOR);
            return w * ms[i] + (1 - w) * layerMs;
        }

        double layerMs(int l) {
            double s = 0;
            for (int e = 0, b = l * experts; e < experts; e++) {
                s += ms[b + e];
            }
            return s / experts;
        }

        double meanMs() {
            double s = 0;
            for (double v : ms) {
                s += v;
            }
            return s / n;
        }
    }

    void observe(double[] share, MeanForecaster f) {
        t++;
        for (int i = 0; i < n; i++) {
            cum[i] += share[i];
        }
        for (Horizon h : hs) {
            h.matureDue();
        }
        for (Horizon h : hs) {
            if (t % h.spacing == 0) {
                h.snapshot(f);
            }
        }
    }

    void upper(int horizon, double[] mean, double[] upper) {
        Horizon lo = null;
        Horizon hi = null;
        Horizon below = null;
        for (Horizon h : hs) {
            if (!h.ready()) {
                continue;
            }
            if (h.g <= horizon) {
                below = lo;
                lo = h;
            } else if (hi == null) {
                hi = h;
            }
        }
        if (lo == null && hi == null) {
            Arrays.fill(upper, 0, n, 1.0);
            return;
        }
        if (lo == null) {
            lo = hi;
            hi = null;
        }
        double k;
        double slope = 0;
        double frac = 0;
        boolean interp = hi != null && lo.g != horizon;
        if (interp) {
            frac = (Math.log(horizon) - Math.log(lo.g)) / (Math.log(hi.g) - Math.log(lo.g));
            k = lo.multiplier() + frac * (hi.multiplier() - lo.multiplier());
        } else {
            k = lo.multiplier();
            if (horizon > lo.g && below != null) {
                double a = lo.meanMs();
                double b = below.meanMs();
                if (a > 0 && b > 0) {
                    slope = 0.5 * Math.log(a / b) / Math.log((double) lo.g / below.g);
                    slope = Math.max(-0.5, Math.min(0.5, slope));
                }
            }
        }
        double ext = Math.pow((double) horizon / lo.g, slope);
        for (int l = 0; l < layers; l++) {
            double lmLo = lo.layerMs(l);
            double lmHi = interp ? hi.layerMs(l) : 0;
            for (int e = 0, i = l * experts; e < experts; e++, i++) {
                double sd = Math.sqrt(lo.var(i, lmLo));
                if (interp) {
                    double sdHi = Math.sqrt(hi.var(i, lmHi));
                    sd = sd > 0 && sdHi > 0 ? sd * Math.pow(sdHi / sd, frac) : sd + frac * (sdHi - sd);
                } else {
                    sd *= ext;
                }
                double u = mean[i] + Math.max(0, k) * sd;
                upper[i] = Math.min(1.0, Math.max(mean[i], u));
            }
        }
    }

    void reset() {
        t = 0;
        Arrays.fill(cum, 0);
        for (Horizon h : hs) {
            h.clear();
        }
    }
}

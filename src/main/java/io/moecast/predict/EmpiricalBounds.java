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
 *   <li>Multiplier: per layer, the empirical {@code confidence}-quantile k of the standardised errors
 *       r/σ (σ as it was before the error was seen), last 1,024 values; the normal quantile until 100
 *       are in.</li>
 *   <li>Bound for horizon h: mean + k·σ(h), capped at 1, where σ(h) and k are interpolated in log h
 *       between the matured grid horizons around h, or extrapolated beyond the longest matured one
 *       with the log-log slope of the two longest (clamped to [−½, ½]: between pure noise and a
 *       random walk).</li>
 *   <li>States: when a layer's state (as the predictor's online detector sees it) changes, its
 *       statistics restart, and only forecasts made in the current state are scored: the bounds of
 *       the stable state are calibrated on stable-state errors only.</li>
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
    static final int ZCAP = 1024;
    static final int ZMIN = 100;
    static final double PRIOR = 8;

    private final int layers;
    private final int experts;
    private final int n;
    private final double conf;
    private final double zGauss;
    private final double[] cum;
    private final double[] tmp;
    private final Horizon[] hs;
    private final int[] epoch;
    private long t;

    EmpiricalBounds(int layers, int experts, double conf) {
        this.layers = layers;
        this.experts = experts;
        this.n = layers * experts;
        this.conf = conf;
        this.zGauss = Num.normalQuantile(conf);
        this.cum = new double[n];
        this.tmp = new double[n];
        this.epoch = new int[layers];
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
        final int[] slotEpoch;
        int head;
        int count;
        final double[] ms;
        final long[] evals;
        final float[] z;
        final int[] zn;
        final int[] zpos;
        final int[] sinceK;
        final double[] k;

        Horizon(int g) {
            this.g = g;
            // every ⌈g/8⌉ steps; on very large shapes less often (each snapshot then holds many series)
            this.spacing = Math.max(Math.max(1, (g + PER - 1) / PER), (n + 1023) / 1024);
            this.slots = (g + spacing - 1) / spacing + 1;
            this.fc = new float[slots * n];
            this.cum0 = new double[slots * n];
            this.origin = new long[slots];
            this.slotEpoch = new int[slots * layers];
            this.ms = new double[n];
            this.evals = new long[layers];
            this.z = new float[layers * ZCAP];
            this.zn = new int[layers];
            this.zpos = new int[layers];
            this.sinceK = new int[layers];
            this.k = new double[layers];
        }

        void clear() {
            head = 0;
            count = 0;
            Arrays.fill(ms, 0);
            Arrays.fill(evals, 0);
            Arrays.fill(zn, 0);
            Arrays.fill(zpos, 0);
            Arrays.fill(sinceK, 0);
            Arrays.fill(k, 0);
        }

        void clearLayer(int l) {
            Arrays.fill(ms, l * experts, (l + 1) * experts, 0);
            evals[l] = 0;
            zn[l] = 0;
            zpos[l] = 0;
            sinceK[l] = 0;
            k[l] = 0;
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
            for (int l = 0; l < layers; l++) {
                if (slotEpoch[slot * layers + l] != epoch[l]) {
                    continue;
                }
                long ev = evals[l];
                boolean standardise = ev > 0;
                double w = ev / (ev + PRIOR);
                double lam = Math.max(1.0 / (ev + 1), 1.0 / NEFF);
                int b = l * experts;
                double layerMs = 0;
                if (standardise) {
                    for (int e = 0; e < experts; e++) {
                        layerMs += ms[b + e];
                    }
                    layerMs /= experts;
                }
                int zo = l * ZCAP;
                for (int e = 0; e < experts; e++) {
                    int i = b + e;
                    double actual = (cum[i] - cum0[o + i]) * invG;
                    double r = actual - fc[o + i];
                    if (standardise) {
                        double var = w * ms[i] + (1 - w) * layerMs;
                        if (var > 1e-18) {
                            z[zo + zpos[l]] = (float) (r / Math.sqrt(var));
                            zpos[l] = zpos[l] + 1 == ZCAP ? 0 : zpos[l] + 1;
                            if (zn[l] < ZCAP) {
                                zn[l]++;
                            }
                            sinceK[l]++;
                        }
                    }
                    ms[i] += lam * (r * r - ms[i]);
                }
                evals[l]++;
                if (zn[l] >= ZMIN && (k[l] == 0 || sinceK[l] >= ZCAP / 8)) {
                    k[l] = Num.quantile(z, zo, zn[l], conf);
                    sinceK[l] = 0;
                }
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
            System.arraycopy(epoch, 0, slotEpoch, slot * layers, layers);
            origin[slot] = t;
            count++;
        }

        boolean ready(int l) {
            return evals[l] >= 2;
        }

        double multiplier(int l) {
            return zn[l] >= ZMIN ? k[l] : zGauss;
        }

        /** σ² of series i at this horizon (shrunk toward the layer mean). */
        double var(int l, int i, double layerMs) {
            double w = evals[l] / (evals[l] + PRIOR);
            return w * ms[i] + (1 - w) * layerMs;
        }

        double layerMs(int l) {
            double s = 0;
            for (int e = 0, b = l * experts; e < experts; e++) {
                s += ms[b + e];
            }
            return s / experts;
        }
    }

    /**
     * Feeds one step. {@code epochs} (may be null) counts each layer's state changes so far: a changed
     * count restarts that layer's statistics.
     */
    void observe(double[] share, int[] epochs, MeanForecaster f) {
        t++;
        for (int i = 0; i < n; i++) {
            cum[i] += share[i];
        }
        if (epochs != null) {
            for (int l = 0; l < layers; l++) {
                if (epochs[l] != epoch[l]) {
                    epoch[l] = epochs[l];
                    for (Horizon h : hs) {
                        h.clearLayer(l);
                    }
                }
            }
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
        for (int l = 0; l < layers; l++) {
            upperLayer(l, horizon, mean, upper);
        }
    }

    private void upperLayer(int l, int horizon, double[] mean, double[] upper) {
        Horizon lo = null;
        Horizon hi = null;
        Horizon below = null;
        for (Horizon h : hs) {
            if (!h.ready(l)) {
                continue;
            }
            if (h.g <= horizon) {
                below = lo;
                lo = h;
            } else if (hi == null) {
                hi = h;
            }
        }
        int b = l * experts;
        if (lo == null && hi == null) {
            Arrays.fill(upper, b, b + experts, 1.0);
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
            k = lo.multiplier(l) + frac * (hi.multiplier(l) - lo.multiplier(l));
        } else {
            k = lo.multiplier(l);
            if (horizon > lo.g && below != null) {
                double a = lo.layerMs(l);
                double c = below.layerMs(l);
                if (a > 0 && c > 0) {
                    slope = 0.5 * Math.log(a / c) / Math.log((double) lo.g / below.g);
                    slope = Math.max(-0.5, Math.min(0.5, slope));
                }
            }
        }
        double ext = Math.pow((double) horizon / lo.g, slope);
        double lmLo = lo.layerMs(l);
        double lmHi = interp ? hi.layerMs(l) : 0;
        for (int e = 0, i = b; e < experts; e++, i++) {
            double sd = Math.sqrt(lo.var(l, i, lmLo));
            if (interp) {
                double sdHi = Math.sqrt(hi.var(l, i, lmHi));
                sd = sd > 0 && sdHi > 0 ? sd * Math.pow(sdHi / sd, frac) : sd + frac * (sdHi - sd);
            } else {
                sd *= ext;
            }
            double u = mean[i] + Math.max(0, k) * sd;
            upper[i] = Math.min(1.0, Math.max(mean[i], u));
        }
    }

    void reset() {
        t = 0;
        Arrays.fill(cum, 0);
        Arrays.fill(epoch, 0);
        for (Horizon h : hs) {
            h.clear();
        }
    }
}

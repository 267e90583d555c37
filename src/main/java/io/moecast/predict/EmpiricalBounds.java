package io.moecast.predict;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

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
 *       r/σ (σ as it was before the error was seen), last 1,024 values, taken again when a bound is
 *       asked for once 128 new values have come in; the normal quantile until 100 are in.</li>
 *   <li>Bound for horizon h: mean + k·σ(h), capped at 1, where σ(h) and k are interpolated in log h
 *       between the matured grid horizons around h, or extrapolated beyond the longest matured one
 *       with the log-log slope of the two longest (clamped to [−½, ½]: between pure noise and a
 *       random walk).</li>
 *   <li>States: when a layer's state (as the predictor's online detector sees it) changes, its
 *       statistics restart, and only forecasts made in the current state are scored: the bounds of
 *       the stable state are calibrated on stable-state errors only.</li>
 * </ul>
 * <p>Cost: the predictor keeps the running sum of shares; per grid horizon, one forecast and one
 * O(n) evaluation per snapshot. Snapshots are at least ⌈n/256⌉ steps apart (rounded up to a power of
 * two), so on large shapes the work per step is bounded by about 12·256 series evaluations, not by n
 * (each evaluation then holds more series: a layer of 256 experts adds 256 errors per snapshot); for a
 * predictor whose forecast g steps ahead costs g passes (sw-avg's recursive sliding) the spacing is
 * also at least ⌈g·n/1024⌉. Shapes up to 256 series (and 48 for sw-avg: the bundled traces) keep every
 * ⌈g/8⌉-th origin. The evaluations are vectorised; the quantile (a selection over 1,024 values per
 * layer) is paid per bound asked for, not per evaluation. Memory O(grid·8·n).
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
    /**
     * Default cap on the series one snapshot covers per step of spacing: shapes up to 256 series are
     * scored at every ⌈g/8⌉ steps; larger ones more sparsely, so the work per step stays bounded (the
     * DeepSeek-V3 shape, 14,848 series: every ≥ 64 steps, each evaluation still 256 errors per layer).
     */
    static final int SERIES_PER_SNAPSHOT = 256;
    /**
     * For predictors whose forecast g steps ahead costs g passes over the series: series-rows of
     * forecasting one grid horizon may cost per step (so about one pass over the DeepSeek-V3 shape per
     * step for all twelve horizons together); shapes up to 48 series, the bundled traces, keep every
     * ⌈g/8⌉-th origin.
     */
    static final int ROWS_PER_STEP = 1024;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** float lanes matching {@link #D} (same lane count) */
    private static final VectorSpecies<Float> F = VectorSpecies.of(float.class,
            jdk.incubator.vector.VectorShape.forBitSize(Math.max(64, D.vectorBitSize() / 2)));

    private final int layers;
    private final int experts;
    private final int n;
    private final double conf;
    private final double zGauss;
    private final int perSnapshot;
    private final boolean forecastGrows;
    /** the horizon-mean forecast does not depend on the horizon ({@link FlatPredictor}) */
    private final boolean flat;
    /** running sum of the shares, owned and updated by the predictor */
    private final double[] cum;
    private final double[] tmp;
    private final float[] sel;
    private final Horizon[] hs;
    private final int[] epoch;
    private long t;

    /**
     * The least spacing of snapshots for a shape: ⌈n/perStep⌉ rounded up to a power of two (so that
     * snapshots fall on the block boundaries of the predictors that process steps in blocks); 1 up to
     * {@code perStep} series.
     */
    static int floorSpacing(long n, int perStep) {
        long f = (n + perStep - 1) / perStep;
        return f <= 1 ? 1 : (int) Math.min(1 << 30, Long.highestOneBit(f - 1) << 1);
    }

    EmpiricalBounds(int layers, int experts, double conf, double[] cum) {
        this(layers, experts, conf, cum, SERIES_PER_SNAPSHOT, false, false);
    }

    /**
     * @param cum            the predictor's running sum of shares (read at snapshots and evaluations)
     * @param perSnapshot    series whose forecasts one snapshot may store per step of spacing: on shapes
     *                       above it, snapshots are spaced at least ⌈n/perSnapshot⌉ steps apart
     * @param forecastGrows  a forecast g steps ahead costs g passes over the series (recursive
     *                       sliding), so the least spacing at horizon g is ⌈g·n/perSnapshot⌉
     * @param flat           the forecast is the same for every horizon (asked once per step)
     */
    EmpiricalBounds(int layers, int experts, double conf, double[] cum, int perSnapshot, boolean forecastGrows, boolean flat) {
        this.layers = layers;
        this.experts = experts;
        this.n = layers * experts;
        this.conf = conf;
        this.zGauss = Num.normalQuantile(conf);
        this.perSnapshot = perSnapshot;
        this.forecastGrows = forecastGrows;
        this.flat = flat;
        this.cum = cum;
        this.tmp = new double[n];
        this.sel = new float[ZCAP];
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
        /** whether k holds a quantile (refreshed when asked for after ZCAP/8 new values) */
        final boolean[] hasK;

        Horizon(int g) {
            this.g = g;
            // every ⌈g/8⌉ steps; on very large shapes less often (each snapshot then holds many series)
            int floor = floorSpacing(n, perSnapshot);
            if (forecastGrows) {
                floor = Math.max(floor, floorSpacing((long) n * g, ROWS_PER_STEP));
            }
            this.spacing = Math.max(Math.max(1, (g + PER - 1) / PER), floor);
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
            this.hasK = new boolean[layers];
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
            Arrays.fill(hasK, false);
        }

        void clearLayer(int l) {
            Arrays.fill(ms, l * experts, (l + 1) * experts, 0);
            evals[l] = 0;
            zn[l] = 0;
            zpos[l] = 0;
            sinceK[l] = 0;
            k[l] = 0;
            hasK[l] = false;
        }

        /**
         * The layer's multiplier: the confidence-quantile of the standardised errors in the ring, taken
         * again when asked for once ZCAP/8 new values have come in since it was last taken. (Asked for
         * at every step, as the evaluation does, this is the quantile refreshed every ZCAP/8 values; a
         * job that forecasts every few hundred steps pays for one quantile per forecast, not per
         * evaluation.)
         */
        double k(int l) {
            if (!hasK[l] || sinceK[l] >= ZCAP / 8) {
                int m = zn[l];
                System.arraycopy(z, l * ZCAP, sel, 0, m);
                k[l] = Num.select(sel, m, Math.min(m - 1, Math.max(0, (int) Math.ceil(conf * m) - 1)));
                hasK[l] = true;
                sinceK[l] = 0;
            }
            return k[l];
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
            int ub = D.loopBound(experts);
            for (int l = 0; l < layers; l++) {
                if (slotEpoch[slot * layers + l] != epoch[l]) {
                    continue;
                }
                long ev = evals[l];
                boolean standardise = ev > 0;
                double w = ev / (ev + PRIOR);
                double lam = Math.max(1.0 / (ev + 1), 1.0 / NEFF);
                int b = l * experts;
                double layerMs = standardise ? layerMs(l) : 0;
                int zo = l * ZCAP;
                int e = 0;
                if (standardise) {
                    // vector chunks whose every variance is usable and whose z values fit before the
                    // ring wraps; anything else goes through the scalar loop below, value by value
                    double wl = (1 - w) * layerMs;
                    for (; e < ub && zpos[l] + D.length() <= ZCAP; e += D.length()) {
                        int i = b + e;
                        DoubleVector actual = DoubleVector.fromArray(D, cum, i).sub(DoubleVector.fromArray(D, cum0, o + i)).mul(invG);
                        DoubleVector r = actual.sub(fcVector(o + i));
                        DoubleVector msv = DoubleVector.fromArray(D, ms, i);
                        DoubleVector var = msv.mul(w).add(wl);
                        if (!var.compare(VectorOperators.GT, 1e-18).allTrue()) {
                            break;
                        }
                        ((FloatVector) r.div(var.sqrt()).convertShape(VectorOperators.D2F, F, 0)).intoArray(z, zo + zpos[l]);
                        zpos[l] = zpos[l] + D.length() == ZCAP ? 0 : zpos[l] + D.length();
                        zn[l] = Math.min(ZCAP, zn[l] + D.length());
                        sinceK[l] += D.length();
                        msv.add(r.mul(r).sub(msv).mul(lam)).intoArray(ms, i);
                    }
                } else {
                    for (; e < ub; e += D.length()) {
                        int i = b + e;
                        DoubleVector actual = DoubleVector.fromArray(D, cum, i).sub(DoubleVector.fromArray(D, cum0, o + i)).mul(invG);
                        DoubleVector r = actual.sub(fcVector(o + i));
                        DoubleVector msv = DoubleVector.fromArray(D, ms, i);
                        msv.add(r.mul(r).sub(msv).mul(lam)).intoArray(ms, i);
                    }
                }
                for (; e < experts; e++) {
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
            }
        }

        /** Eight stored forecasts (floats) widened to doubles. */
        private DoubleVector fcVector(int at) {
            return (DoubleVector) FloatVector.fromArray(F, fc, at).convertShape(VectorOperators.F2D, D, 0);
        }

        /** Stores the forecast in tmp (made now for this horizon) and the running sum. */
        void snapshot() {
            int slot = (head + count) % slots;
            int o = slot * n;
            int i = 0;
            for (int ub = D.loopBound(n); i < ub; i += D.length()) {
                ((FloatVector) DoubleVector.fromArray(D, tmp, i).convertShape(VectorOperators.D2F, F, 0)).intoArray(fc, o + i);
            }
            for (; i < n; i++) {
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
            return zn[l] >= ZMIN ? k(l) : zGauss;
        }

        /** σ² of series i at this horizon (shrunk toward the layer mean). */
        double var(int l, int i, double layerMs) {
            double w = evals[l] / (evals[l] + PRIOR);
            return w * ms[i] + (1 - w) * layerMs;
        }

        double layerMs(int l) {
            int b = l * experts;
            int e = 0;
            double s = 0;
            if (experts >= 4 * D.length()) {
                DoubleVector acc = DoubleVector.zero(D);
                for (int ub = D.loopBound(experts); e < ub; e += D.length()) {
                    acc = acc.add(DoubleVector.fromArray(D, ms, b + e));
                }
                s = acc.reduceLanes(VectorOperators.ADD);
            }
            for (; e < experts; e++) {
                s += ms[b + e];
            }
            return s / experts;
        }
    }

    /**
     * Feeds one step. {@code epochs} (may be null) counts each layer's state changes so far: a changed
     * count restarts that layer's statistics.
     */
    void observe(int[] epochs, MeanForecaster f) {
        t++;
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
        // a flat predictor's forecast is the same for every horizon: made once per step
        boolean made = false;
        for (Horizon h : hs) {
            if (t % h.spacing == 0) {
                if (!made || !flat) {
                    f.mean(h.g, tmp);
                    made = true;
                }
                h.snapshot();
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
        Arrays.fill(epoch, 0);
        for (Horizon h : hs) {
            h.clear();
        }
    }
}

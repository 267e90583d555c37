package io.moecast.predict;

import java.util.Arrays;

/**
 * {@code kalman}: a local-level (random walk plus noise) Kalman filter per expert series,
 * x(t) = μ(t) + ε(t), μ(t) = μ(t−1) + η(t), Var ε = R, Var η = Q, with R and Q estimated online.
 *
 * <p><b>Noise estimation.</b> The model implies the variogram γ(k) = ½·E[(x(t) − x(t−k))²] = R + k·Q/2.
 * Per series, γ is tracked at lags k = 1, 2, 4, …, {@code maxlag} (exponentially weighted, memory
 * {@code memory} steps) and R, Q are the least-squares line through (k, γ(k)); Q ≥ 0, and R is held at
 * or above the multinomial variance p(1−p)/N of a share p when N token slots are routed per step (from
 * the trace metadata; that is only a lower bound: tokens of one sequence are correlated, and the
 * bundled traces run at 4–6× it). On real load series the variogram bends (short-range correlation,
 * then flat), so the fitted line is a compromise; the report shows where that costs accuracy.
 *
 * <p><b>Forecast.</b> The filtered level μ̂ for every future step (normalised per layer). <b>Upper
 * bound</b> (model-based): the horizon mean has variance P + Q·(h+1)(2h+1)/(6h) + R/h; bound =
 * μ̂ + z·sd with z the normal quantile of the confidence. Parameters: {@code maxlag} (256),
 * {@code memory} (2000).
 */
public final class KalmanPredictor extends FlatPredictor {
    private final int maxLag;
    private final int[] lags;
    private final double memory;
    private final double slots;
    private final double z;
    private final double[] ring;
    private int pos;
    private long seen;
    private final double[] gamma;
    private final double[] mu;
    private final double[] p;
    private final double[] r;
    private final double[] q;

    public KalmanPredictor(int layers, int experts, int maxLag, int memory, long slotsPerStep, double confidence) {
        super("kalman", layers, experts, confidence, false);
        if (maxLag < 2 || memory < 10) {
            throw new IllegalArgumentException("maxlag >= 2 and memory >= 10 required");
        }
        int k = 0;
        for (int l = 1; l <= maxLag; l *= 2) {
            k++;
        }
        this.lags = new int[k];
        for (int i = 0, l = 1; i < k; i++, l *= 2) {
            lags[i] = l;
        }
        this.maxLag = lags[k - 1];
        this.memory = memory;
        this.slots = slotsPerStep;
        this.z = Num.normalQuantile(confidence);
        this.ring = new double[(this.maxLag + 1) * n];
        this.gamma = new double[k * n];
        this.mu = new double[n];
        this.p = new double[n];
        this.r = new double[n];
        this.q = new double[n];
    }

    @Override
    protected void update(long step, int[] counts, double[] x) {
        int size = maxLag + 1;
        // variogram at each lag available
        for (int j = 0; j < lags.length; j++) {
            int k = lags[j];
            if (seen < k) {
                break;
            }
            double lam = Math.max(1.0 / (seen - k + 1), 1.0 / memory);
            int o = ((pos - k + size) % size) * n;
            int g = j * n;
            for (int i = 0; i < n; i++) {
                double d = x[i] - ring[o + i];
                gamma[g + i] += lam * (0.5 * d * d - gamma[g + i]);
            }
        }
        System.arraycopy(x, 0, ring, pos * n, n);
        pos = (pos + 1) % size;
        seen++;
        if (seen == 1) {
            for (int i = 0; i < n; i++) {
                mu[i] = x[i];
                r[i] = floor(x[i]);
                q[i] = 0;
                p[i] = Math.max(r[i], 1e-6);
            }
            return;
        }
        estimateNoise();
        for (int i = 0; i < n; i++) {
            double pp = p[i] + q[i];
            double gain = pp / (pp + r[i]);
            mu[i] += gain * (x[i] - mu[i]);
            p[i] = (1 - gain) * pp;
        }
    }

    /** Multinomial variance of the current level, the floor of R (0 when slots are unknown). */
    private double floor(double share) {
        if (slots <= 0) {
            return 1e-12;
        }
        double s = Math.min(1, Math.max(0, share));
        return Math.max(1e-12, s * (1 - s) / slots);
    }

    /** Least-squares line γ(k) = R + k·Q/2 through the lags seen so far. */
    private void estimateNoise() {
        int m = 0;
        while (m < lags.length && seen > lags[m]) {
            m++;
        }
        for (int i = 0; i < n; i++) {
            double rr;
            double qq;
            if (m < 2) {
                rr = m == 1 ? gamma[i] : 0;
                qq = 0;
            } else {
                double sk = 0;
                double sg = 0;
                double skk = 0;
                double skg = 0;
                for (int j = 0; j < m; j++) {
                    double k = lags[j];
                    double g = gamma[j * n + i];
                    sk += k;
                    sg += g;
                    skk += k * k;
                    skg += k * g;
                }
                double den = m * skk - sk * sk;
                double slope = (m * skg - sk * sg) / den;
                double icpt = (sg - slope * sk) / m;
                qq = Math.max(0, 2 * slope);
                rr = icpt;
            }
            r[i] = Math.max(rr, floor(mu[i]));
            q[i] = qq;
        }
    }

    @Override
    protected void level(double[] out) {
        System.arraycopy(mu, 0, out, 0, n);
        normalize(out, layers, experts);
    }

    @Override
    protected void modelUpper(int h, double[] mean, double[] upper) {
        double drift = (h + 1.0) * (2.0 * h + 1.0) / (6.0 * h);
        for (int i = 0; i < n; i++) {
            double var = p[i] + q[i] * drift + r[i] / h;
            upper[i] = Math.min(1.0, mean[i] + z * Math.sqrt(Math.max(0, var)));
        }
    }

    /** Current noise estimates of series i: {R, Q} (for tests and reports). */
    public double[] noise(int i) {
        return new double[] {r[i], q[i]};
    }

    @Override
    protected void resetState() {
        Arrays.fill(ring, 0);
        Arrays.fill(gamma, 0);
        Arrays.fill(mu, 0);
        Arrays.fill(p, 0);
        Arrays.fill(r, 0);
        Arrays.fill(q, 0);
        pos = 0;
        seen = 0;
    }
}

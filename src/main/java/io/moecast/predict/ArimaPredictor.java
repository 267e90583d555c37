package io.moecast.predict;

import java.util.Arrays;

/**
 * {@code arima}: ARIMA(p, d, q) per expert series, the source paper's second predictor (its order:
 * (5, 1, 5)). The share series is differenced d times (d ∈ {0, 1, 2}); an ARMA(p, q) is fitted to the
 * last {@code window} differences by Hannan–Rissanen ({@link Arma}, as statsmodels' estimator) every
 * {@code refit} steps once {@code min} differences exist; with d = 0 the series is demeaned over the
 * window first and the mean added back (statsmodels' default trend 'c' for d = 0), with d ≥ 1 there is
 * no drift term (statsmodels' default trend 'n'). Coefficients that are not stationary / invertible are
 * shrunk until they are. Between refits each step updates the innovations e(t) = y(t) − ŷ(t) with the
 * current coefficients, so observing costs O((p+q)·n) per step.
 *
 * <p><b>Forecast</b>: the usual recursion with future innovations 0, integrated d times, projected onto
 * shares per layer (negative shares clipped to 0, renormalised). Once the differenced forecast has
 * decayed below 1e−14 the rest of the path is summed in closed form, so long horizons cost little.
 * Before the first fit the forecast is that of ARIMA(0, d, 0). Parameters: {@code p} (5), {@code d} (1),
 * {@code q} (5), {@code window} (1000), {@code refit} (100), {@code min} (100).
 */
public final class ArimaPredictor extends AbstractPredictor {
    private static final double QUIET = 1e-14;

    private final int p;
    private final int d;
    private final int q;
    private final int window;
    private final int refit;
    private final int minObs;
    private final int cap;
    private final double[] hist;
    private int histPos;
    private int histCount;
    private final double[] ar;
    private final double[] ma;
    private final double[] mu;
    /** yr[j*n+i] = y(t−j), j < p: the latest differences (demeaned when d = 0). */
    private final double[] yr;
    /** er[j*n+i] = e(t−j), j < q: the latest innovations. */
    private final double[] er;
    private long diffs;
    private long sinceFit;
    private boolean fitted;
    private int fits;
    private int shrunk;
    private final Arma.Work work = new Arma.Work();
    private double[] series = new double[0];
    // forecast scratch
    private final double[] yb;
    private final double[] lvl;
    private final double[] slope;
    private final double[] acc;
    private final double[] val;

    public ArimaPredictor(int layers, int experts, int p, int d, int q, int window, int refit, int minObs, double confidence) {
        super("arima", layers, experts, confidence, true);
        if (p < 0 || q < 0 || d < 0 || d > 2) {
            throw new IllegalArgumentException("need p, q >= 0 and d in {0, 1, 2}");
        }
        if (window < 10 || refit < 1 || minObs < 10 || minObs > window) {
            throw new IllegalArgumentException("need window >= 10, refit >= 1, 10 <= min <= window");
        }
        this.p = p;
        this.d = d;
        this.q = q;
        this.window = window;
        this.refit = refit;
        this.minObs = minObs;
        this.cap = window + d + 1;
        this.hist = new double[Math.multiplyExact(cap, n)];
        this.ar = new double[Math.max(1, p) * n];
        this.ma = new double[Math.max(1, q) * n];
        this.mu = new double[n];
        this.yr = new double[Math.max(1, p) * n];
        this.er = new double[Math.max(1, q) * n];
        this.yb = new double[Math.max(1, p) * n];
        this.lvl = new double[n];
        this.slope = new double[n];
        this.acc = new double[n];
        this.val = new double[n];
    }

    /** The level x(t−back) of series i (back < histCount). */
    private double level(int back, int i) {
        int r = histPos - 1 - back;
        if (r < 0) {
            r += cap;
        }
        return hist[r * n + i];
    }

    /** The d-th difference ending at x(t−back) of series i. */
    private double diff(int back, int i) {
        return switch (d) {
            case 0 -> level(back, i) - mu[i];
            case 1 -> level(back, i) - level(back + 1, i);
            default -> level(back, i) - 2 * level(back + 1, i) + level(back + 2, i);
        };
    }

    @Override
    protected void update(long step, int[] counts, double[] x) {
        System.arraycopy(x, 0, hist, histPos * n, n);
        histPos = histPos + 1 == cap ? 0 : histPos + 1;
        if (histCount < cap) {
            histCount++;
        }
        if (d == 0 && !fitted) {
            System.arraycopy(x, 0, mu, 0, n);
        }
        if (histCount <= d) {
            return;
        }
        diffs++;
        sinceFit++;
        // innovation with the current coefficients, then shift the state
        final double[] y = lvl;
        final double[] f = acc;
        for (int i = 0; i < n; i++) {
            y[i] = diff(0, i);
        }
        Arrays.fill(f, 0);
        for (int j = 0; j < p; j++) {
            int o = j * n;
            for (int i = 0; i < n; i++) {
                f[i] += ar[o + i] * yr[o + i];
            }
        }
        for (int j = 0; j < q; j++) {
            int o = j * n;
            for (int i = 0; i < n; i++) {
                f[i] += ma[o + i] * er[o + i];
            }
        }
        if (p > 1) {
            System.arraycopy(yr, 0, yr, n, (p - 1) * n);
        }
        if (q > 1) {
            System.arraycopy(er, 0, er, n, (q - 1) * n);
        }
        for (int i = 0; i < n; i++) {
            double e = y[i] - f[i];
            if (!Double.isFinite(e) || Math.abs(e) > 10) {
                e = 0;
            }
            if (p > 0) {
                yr[i] = y[i];
            }
            if (q > 0) {
                er[i] = e;
            }
        }
        if (diffs >= minObs && (!fitted || sinceFit >= refit)) {
            refitNow();
        }
    }

    /** Refits every series on the last {@code window} differences now (public for tests and tools). */
    public void refitNow() {
        int len = (int) Math.min(window, Math.min(diffs, histCount - d));
        if (len < 10) {
            return;
        }
        if (series.length < len) {
            series = new double[len];
        }
        double[] a = new double[Math.max(1, p)];
        double[] m = new double[Math.max(1, q)];
        for (int i = 0; i < n; i++) {
            if (d == 0) {
                double s = 0;
                for (int b = 0; b < len; b++) {
                    s += level(b, i);
                }
                mu[i] = s / len;
            }
            for (int b = 0; b < len; b++) {
                series[len - 1 - b] = diff(b, i);
            }
            boolean ok = Arma.fit(series, 0, len, p, q, a, m, work);
            if (!ok) {
                Arrays.fill(a, 0);
                Arrays.fill(m, 0);
            }
            boolean adj = false;
            if (!Arma.stationary(a, p)) {
                adj = true;
                if (!Arma.shrinkUntil(a, p, false)) {
                    Arrays.fill(a, 0);
                }
            }
            if (!Arma.invertible(m, q)) {
                adj = true;
                if (!Arma.shrinkUntil(m, q, true)) {
                    Arrays.fill(m, 0);
                }
            }
            if (adj) {
                shrunk++;
            }
            for (int j = 0; j < p; j++) {
                ar[j * n + i] = a[j];
            }
            for (int j = 0; j < q; j++) {
                ma[j * n + i] = m[j];
            }
            // conditional innovations over the window with the new coefficients (zeros before it)
            double[] e = work.e(len);
            for (int t = 0; t < len; t++) {
                double f = 0;
                for (int j = 0; j < p && t - 1 - j >= 0; j++) {
                    f += a[j] * series[t - 1 - j];
                }
                for (int j = 0; j < q && t - 1 - j >= 0; j++) {
                    f += m[j] * e[t - 1 - j];
                }
                e[t] = series[t] - f;
            }
            for (int j = 0; j < p; j++) {
                yr[j * n + i] = len - 1 - j >= 0 ? series[len - 1 - j] : 0;
            }
            for (int j = 0; j < q; j++) {
                er[j * n + i] = len - 1 - j >= 0 ? e[len - 1 - j] : 0;
            }
        }
        fitted = true;
        fits++;
        sinceFit = 0;
    }

    /**
     * The forecast recursion. Outputs (optional): the path; for each horizon hs[j] the mean of steps
     * 1..hs[j] into means[j·n..] and step hs[j] into steps[j·n..].
     */
    private void run(int kmax, double[] path, int[] hs, double[] means, double[] steps) {
        final int pr = Math.max(1, p);
        // yb is a ring of the last p differences (observed, then forecast): lag j at row (head+j) % pr
        System.arraycopy(yr, 0, yb, 0, pr * n);
        int head = 0;
        for (int i = 0; i < n; i++) {
            lvl[i] = d == 0 ? mu[i] : level(0, i);
            slope[i] = d == 2 ? level(0, i) - level(1, i) : 0;
        }
        Arrays.fill(acc, 0);
        final double[] v = val;
        int quiet = 0;
        int need = Math.max(1, p);
        int k = 1;
        for (; k <= kmax; k++) {
            Arrays.fill(v, 0);
            for (int j = 0; j < p; j++) {
                int ro = ((head + j) % pr) * n;
                int co = j * n;
                for (int i = 0; i < n; i++) {
                    v[i] += ar[co + i] * yb[ro + i];
                }
            }
            for (int j = k; j <= q; j++) {
                int co = (j - 1) * n;
                int eo = (j - k) * n;
                for (int i = 0; i < n; i++) {
                    v[i] += ma[co + i] * er[eo + i];
                }
            }
            double maxAbs = 0;
            for (int i = 0; i < n; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(v[i]));
            }
            if (p > 0) {
                head = head == 0 ? pr - 1 : head - 1;
                System.arraycopy(v, 0, yb, head * n, n);
            }
            // integrate: v becomes the level forecast
            if (d == 0) {
                for (int i = 0; i < n; i++) {
                    v[i] += mu[i];
                }
            } else if (d == 1) {
                for (int i = 0; i < n; i++) {
                    lvl[i] += v[i];
                    v[i] = lvl[i];
                }
            } else {
                for (int i = 0; i < n; i++) {
                    slope[i] += v[i];
                    lvl[i] += slope[i];
                    v[i] = lvl[i];
                }
            }
            for (int i = 0; i < n; i++) {
                acc[i] += v[i];
            }
            if (path != null) {
                System.arraycopy(v, 0, path, (k - 1) * n, n);
            }
            emit(hs, k, means, steps);
            if (path == null && k > q) {
                quiet = maxAbs < QUIET ? quiet + 1 : 0;
                if (quiet >= need) {
                    break;
                }
            }
        }
        if (k < kmax && hs != null) {
            // the differenced forecast is 0 from here on: closed-form tail
            for (int j = 0; j < hs.length; j++) {
                int h = hs[j];
                if (h <= k) {
                    continue;
                }
                long extra = h - k;
                for (int i = 0; i < n; i++) {
                    double base = d == 0 ? mu[i] : lvl[i];
                    double sl = d == 2 ? slope[i] : 0;
                    if (means != null) {
                        means[j * n + i] = (acc[i] + extra * base + sl * extra * (extra + 1) / 2.0) / h;
                    }
                    if (steps != null) {
                        steps[j * n + i] = base + sl * extra;
                    }
                }
                if (means != null) {
                    normalize(means, j * n, layers, experts);
                }
                if (steps != null) {
                    normalize(steps, j * n, layers, experts);
                }
            }
        }
    }

    private void emit(int[] hs, int k, double[] means, double[] steps) {
        if (hs == null) {
            return;
        }
        for (int j = 0; j < hs.length; j++) {
            if (hs[j] != k) {
                continue;
            }
            int o = j * n;
            if (means != null) {
                double inv = 1.0 / k;
                for (int i = 0; i < n; i++) {
                    means[o + i] = acc[i] * inv;
                }
                normalize(means, o, layers, experts);
            }
            if (steps != null) {
                System.arraycopy(val, 0, steps, o, n);
                normalize(steps, o, layers, experts);
            }
        }
    }

    @Override
    protected void forecastMean(int horizon, double[] mean) {
        run(horizon, null, new int[] {horizon}, mean, null);
    }

    @Override
    protected void path(int horizon, double[] path) {
        run(horizon, path, null, null, null);
        for (int k = 0; k < horizon; k++) {
            normalize(path, k * n, layers, experts);
        }
    }

    @Override
    protected void step(int k, double[] out) {
        run(k, null, new int[] {k}, null, out);
    }

    @Override
    protected void horizons(int[] horizons, double[] means, double[] steps) {
        int kmax = 0;
        for (int h : horizons) {
            kmax = Math.max(kmax, h);
        }
        run(kmax, null, horizons, means, steps);
    }

    /** Coefficients of series i: {φ₁..φₚ, θ₁..θ_q}. */
    public double[] coefficients(int i) {
        double[] c = new double[p + q];
        for (int j = 0; j < p; j++) {
            c[j] = ar[j * n + i];
        }
        for (int j = 0; j < q; j++) {
            c[p + j] = ma[j * n + i];
        }
        return c;
    }

    public int fits() {
        return fits;
    }

    /** Series fits whose coefficients had to be shrunk to be stationary / invertible. */
    public int shrunk() {
        return shrunk;
    }

    @Override
    protected void resetState() {
        Arrays.fill(hist, 0);
        Arrays.fill(ar, 0);
        Arrays.fill(ma, 0);
        Arrays.fill(mu, 0);
        Arrays.fill(yr, 0);
        Arrays.fill(er, 0);
        histPos = 0;
        histCount = 0;
        diffs = 0;
        sinceFit = 0;
        fitted = false;
        fits = 0;
        shrunk = 0;
    }
}

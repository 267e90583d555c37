package io.moecast.predict;

import io.moecast.analysis.StateDetectors;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cheap implementations (Vector API kernels, block-deferred smoothers in float, derived restarted
 * EMAs, lazy quantiles, sparse scoring on large shapes) against simple references.
 */
class FastPathTest {
    /** A drifting multinomial-ish stream: counts[t][layer*E + e]. */
    static int[][] drifting(int layers, int experts, int steps, long seed) {
        Random rnd = new Random(seed);
        int n = layers * experts;
        double[] base = new double[n];
        for (int i = 0; i < n; i++) {
            base[i] = 0.5 + rnd.nextDouble();
        }
        int[][] out = new int[steps][n];
        for (int t = 0; t < steps; t++) {
            for (int i = 0; i < n; i++) {
                double lam = 300 * base[i] * (1 + 0.3 * Math.sin(t / 150.0 + i));
                out[t][i] = (int) Math.max(0, Math.round(lam + Math.sqrt(lam) * rnd.nextGaussian()));
            }
        }
        return out;
    }

    // ---- shares and normalisation ------------------------------------------------------------------

    @Test
    void vectorSharesEqualTheScalarDefinition() {
        Random rnd = new Random(1);
        for (int[] shape : new int[][] {{1, 2}, {3, 5}, {2, 8}, {3, 37}, {2, 256}}) {
            int layers = shape[0];
            int experts = shape[1];
            int n = layers * experts;
            int[] c = new int[n];
            for (int i = 0; i < n; i++) {
                c[i] = rnd.nextInt(1000);
            }
            Arrays.fill(c, 0, experts, 0); // a layer that routed nothing
            double[] want = new double[n];
            AbstractPredictor.shares(c, want, layers, experts);
            double[] got = new double[n];
            double[] cum = new double[n];
            Arrays.fill(cum, 1.0);
            Kernels.sharesAndSum(c, got, cum, layers, experts);
            assertArrayEquals(want, got, 0.0, layers + "x" + experts);
            for (int i = 0; i < n; i++) {
                assertEquals(1.0 + want[i], cum[i], 0.0);
            }
            c[n - 1] = -3;
            assertThrows(IllegalArgumentException.class, () -> Kernels.sharesAndSum(c, got, cum, layers, experts));
        }
    }

    @Test
    void vectorNormaliseEqualsTheScalarDefinition() {
        Random rnd = new Random(2);
        for (int experts : new int[] {2, 5, 8, 16, 37, 256}) {
            int layers = 3;
            double[] v = new double[layers * experts];
            for (int i = 0; i < v.length; i++) {
                v[i] = rnd.nextGaussian();
            }
            v[1] = Double.NaN;
            v[experts + 2] = Double.POSITIVE_INFINITY;
            Arrays.fill(v, 2 * experts, 3 * experts, -1.0); // nothing positive: uniform
            double[] want = v.clone();
            for (int l = 0; l < layers; l++) {
                double s = 0;
                for (int e = 0; e < experts; e++) {
                    double x = want[l * experts + e];
                    x = !(x > 0) ? 0 : x == Double.POSITIVE_INFINITY ? Double.MAX_VALUE / experts : x;
                    want[l * experts + e] = x;
                    s += x;
                }
                for (int e = 0; e < experts; e++) {
                    want[l * experts + e] = s > 0 ? want[l * experts + e] / s : 1.0 / experts;
                }
            }
            Kernels.normalize(v, 0, layers, experts);
            assertArrayEquals(want, v, 1e-15, "E=" + experts);
        }
    }

    // ---- the Kalman filter -------------------------------------------------------------------------

    /** The filter as first written: per step, per series, in double (the reference). */
    static final class ReferenceKalman {
        final int n;
        final int[] lags;
        final int memory;
        final double slots;
        final double[][] ring;
        int pos;
        long seen;
        final double[] gamma;
        final double[] mu;
        final double[] p;
        final double[] r;
        final double[] q;

        ReferenceKalman(int n, int maxLag, int memory, long slots) {
            this.n = n;
            int k = 0;
            for (int l = 1; l <= maxLag; l *= 2) {
                k++;
            }
            lags = new int[k];
            for (int i = 0, l = 1; i < k; i++, l *= 2) {
                lags[i] = l;
            }
            this.memory = memory;
            this.slots = slots;
            ring = new double[lags[k - 1] + 1][];
            gamma = new double[k * n];
            mu = new double[n];
            p = new double[n];
            r = new double[n];
            q = new double[n];
        }

        double floor(double share) {
            if (slots <= 0) {
                return 1e-12;
            }
            double s = Math.min(1, Math.max(0, share));
            return Math.max(1e-12, s * (1 - s) / slots);
        }

        void update(double[] x) {
            int size = ring.length;
            for (int j = 0; j < lags.length; j++) {
                int k = lags[j];
                if (seen < k) {
                    break;
                }
                double lam = Math.max(1.0 / (seen - k + 1), 1.0 / memory);
                double[] old = ring[(pos - k + size) % size];
                for (int i = 0; i < n; i++) {
                    double d = x[i] - old[i];
                    gamma[j * n + i] += lam * (0.5 * d * d - gamma[j * n + i]);
                }
            }
            ring[pos] = x.clone();
            pos = (pos + 1) % size;
            seen++;
            if (seen == 1) {
                for (int i = 0; i < n; i++) {
                    mu[i] = x[i];
                    r[i] = floor(x[i]);
                    p[i] = Math.max(r[i], 1e-6);
                }
                return;
            }
            int m = 0;
            while (m < lags.length && seen > lags[m]) {
                m++;
            }
            for (int i = 0; i < n; i++) {
                double rr;
                double qq = 0;
                if (m < 2) {
                    rr = m == 1 ? gamma[i] : 0;
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
                    double slope = (m * skg - sk * sg) / (m * skk - sk * sk);
                    rr = (sg - slope * sk) / m;
                    qq = Math.max(0, 2 * slope);
                }
                r[i] = Math.max(rr, floor(mu[i]));
                q[i] = qq;
                double pp = p[i] + q[i];
                double gain = pp / (pp + r[i]);
                mu[i] += gain * (x[i] - mu[i]);
                p[i] = (1 - gain) * pp;
            }
        }
    }

    @Test
    void blockKalmanInFloatFollowsThePerStepDoubleReference() {
        // shapes: all-tail (21 series), three chunks with a partial last one (600); small memory so that
        // the steady (slope/intercept) regime is reached; forecasts at irregular steps force partial blocks
        for (int[] shape : new int[][] {{3, 7, 16, 40}, {2, 300, 256, 60}}) {
            int layers = shape[0];
            int experts = shape[1];
            int maxLag = shape[2];
            int memory = shape[3];
            int n = layers * experts;
            long slots = 4000;
            KalmanPredictor k = new KalmanPredictor(layers, experts, maxLag, memory, slots, 0.9);
            ReferenceKalman ref = new ReferenceKalman(n, maxLag, memory, slots);
            Random rnd = new Random(7);
            double[] level = new double[n];
            for (int i = 0; i < n; i++) {
                level[i] = 0.5 + rnd.nextDouble();
            }
            double[] share = new double[n];
            double[] got = new double[n];
            int steps = memory + maxLag + 400;
            double worst = 0;
            for (int t = 0; t < steps; t++) {
                int[] c = new int[n];
                for (int i = 0; i < n; i++) {
                    level[i] = Math.max(0.05, level[i] * (1 + 0.01 * rnd.nextGaussian()));
                    c[i] = (int) Math.round(200 * level[i] * (1 + 0.2 * rnd.nextGaussian()) + 1);
                    c[i] = Math.max(0, c[i]);
                }
                AbstractPredictor.shares(c, share, layers, experts);
                ref.update(share);
                k.observe(t, c);
                if (rnd.nextInt(23) == 0 || t == steps - 1) {
                    k.forecast(5, got, null);
                    double[] want = ref.mu.clone();
                    AbstractPredictor.normalize(want, layers, experts);
                    for (int i = 0; i < n; i++) {
                        worst = Math.max(worst, Math.abs(got[i] - want[i]) / want[i]);
                    }
                }
            }
            assertTrue(worst < 2e-5, shape[1] + " experts: worst relative level difference " + worst);
            for (int i : new int[] {0, n / 2, n - 1}) {
                double[] rq = k.noise(i);
                assertEquals(ref.r[i], rq[0], 1e-4 * ref.r[i] + 1e-12, "R of series " + i);
                assertEquals(ref.q[i], rq[1], 2e-3 * Math.max(ref.q[i], 1e-3 * ref.r[i]), "Q of series " + i);
            }
        }
    }

    // ---- auto --------------------------------------------------------------------------------------

    @Test
    void autoBlockDeferralIsInvisible() {
        // snapshots 32 steps apart (as on a large shape), so the smoothers run in blocks of up to 32 steps
        // unless a forecast flushes them; forecasting at every step must not change anything
        int layers = 2;
        int experts = 16;
        int n = layers * experts;
        int[][] data = drifting(layers, experts, 700, 3);
        AutoPredictor every = new AutoPredictor(layers, experts, 4000, 0, 0.9, 8, 1, 32);
        AutoPredictor rarely = new AutoPredictor(layers, experts, 4000, 0, 0.9, 8, 1, 32);
        every.attachDetector(StateDetectors.online(layers, experts));
        rarely.attachDetector(StateDetectors.online(layers, experts));
        double[] a = new double[n];
        double[] b = new double[n];
        double[] ua = new double[n];
        double[] ub = new double[n];
        for (int t = 0; t < data.length; t++) {
            every.observe(t, data[t]);
            rarely.observe(t, data[t]);
            every.forecast(37, a, null);
            if (t % 97 == 96) {
                // (the upper bounds' quantile is refreshed when asked for, so both ask at the same steps)
                every.forecast(37, a, ua);
                rarely.forecast(37, b, ub);
                assertArrayEquals(a, b, 0.0, "t=" + t);
                assertArrayEquals(ua, ub, 0.0, "t=" + t);
            }
        }
    }

    @Test
    void derivedRestartedEmasEqualExplicitOnes() {
        // stationary, then a shift, then stationary again: the detector changes state on the way
        int layers = 2;
        int experts = 8;
        int n = layers * experts;
        Random rnd = new Random(11);
        double[] s1 = Series.uniformish(layers, experts, 5);
        double[] s2 = Series.uniformish(layers, experts, 6);
        AutoPredictor auto = (AutoPredictor) Predictors.create("auto", layers, experts);
        double[] rates = AutoPredictor.RESTART_RATES;
        double[][] lv = new double[rates.length][n];
        double[][] w = new double[rates.length][layers];
        int[] seenEpoch = new int[layers];
        double[] share = new double[n];
        double[] got = new double[n];
        int changes = 0;
        for (int t = 0; t < 1600; t++) {
            double f = t < 600 ? 0 : t < 800 ? (t - 600) / 200.0 : 1;
            double[] sh = new double[n];
            for (int i = 0; i < n; i++) {
                sh[i] = (1 - f) * s1[i] + f * s2[i];
            }
            int[] c = Series.multinomial(sh, layers, experts, 3000, rnd);
            auto.observe(t, c);
            AbstractPredictor.shares(c, share, layers, experts);
            for (int l = 0; l < layers; l++) {
                if (auto.epoch(l) != seenEpoch[l]) {
                    seenEpoch[l] = auto.epoch(l);
                    changes++;
                    for (int j = 0; j < rates.length; j++) {
                        Arrays.fill(lv[j], l * experts, (l + 1) * experts, 0);
                        w[j][l] = 0;
                    }
                }
            }
            for (int j = 0; j < rates.length; j++) {
                double a = rates[j];
                for (int i = 0; i < n; i++) {
                    lv[j][i] = a == 0 ? lv[j][i] + share[i] : (1 - a) * lv[j][i] + a * share[i];
                }
                for (int l = 0; l < layers; l++) {
                    w[j][l] = a == 0 ? w[j][l] + 1 : (1 - a) * w[j][l] + a;
                }
            }
            if (t % 50 == 49) {
                for (int j = 0; j < rates.length; j++) {
                    auto.candidateNow(8 + j, 10, got);
                    for (int i = 0; i < n; i++) {
                        double want = lv[j][i] / w[j][i / experts];
                        // float state: a few 1e-6 relative (a wrong derivation is off by percent)
                        assertEquals(want, got[i], 2e-5 * want + 1e-9, "t=" + t + " rate " + rates[j] + " series " + i);
                    }
                }
            }
        }
        assertTrue(changes >= 2, "the stream should change state: " + changes);
    }

    /** Horizon-mean L1 error (mean over layers and origins) and coverage of the 90% bounds at h. */
    static double[] walkForward(Predictor p, int[][] data, int h, int from) {
        int layers = p.layers();
        int experts = p.experts();
        int n = layers * experts;
        double[] share = new double[n];
        double[][] shares = new double[data.length][];
        for (int t = 0; t < data.length; t++) {
            AbstractPredictor.shares(data[t], share, layers, experts);
            shares[t] = share.clone();
        }
        double[] m = new double[n];
        double[] u = new double[n];
        double l1 = 0;
        long cells = 0;
        long covered = 0;
        long count = 0;
        for (int t = 0; t + h < data.length; t++) {
            p.observe(t, data[t]);
            if (t < from || t % 5 != 0) {
                continue;
            }
            p.forecast(h, m, u);
            for (int l = 0; l < layers; l++) {
                double err = 0;
                for (int e = 0; e < experts; e++) {
                    int i = l * experts + e;
                    double act = 0;
                    for (int k = 1; k <= h; k++) {
                        act += shares[t + k][i];
                    }
                    act /= h;
                    err += Math.abs(m[i] - act);
                    covered += act <= u[i] ? 1 : 0;
                    count++;
                }
                l1 += err;
                cells++;
            }
        }
        return new double[] {l1 / cells, (double) covered / count};
    }

    @Test
    void sampledSpreadOutScoringChoosesAsWellAsScoringEverything() {
        // 8 x 32 = 256 series; "sampled" scores 8 of each layer's 32 experts per origin, origins at least 8
        // steps apart, bound snapshots 16 apart (what a large model gets by default); "full" scores every
        // expert at every origin
        int layers = 8;
        int experts = 32;
        int[][] data = drifting(layers, experts, 2600, 9);
        AutoPredictor full = new AutoPredictor(layers, experts, 4000, 0, 0.9, Integer.MAX_VALUE, Integer.MAX_VALUE, 1);
        AutoPredictor sampled = new AutoPredictor(layers, experts, 4000, 0, 0.9, 8, 16, 8);
        full.attachDetector(StateDetectors.online(layers, experts));
        sampled.attachDetector(StateDetectors.online(layers, experts));
        Predictor ema = Predictors.create("ema", layers, experts);
        int h = 50;
        double[] d = walkForward(full, data, h, 1500);
        double[] s = walkForward(sampled, data, h, 1500);
        double[] e = walkForward(ema, data, h, 1500);
        // both choose well (far better than a fixed fast EMA) and alike
        assertTrue(d[0] < 0.8 * e[0], "full " + d[0] + " vs ema " + e[0]);
        assertTrue(Math.abs(s[0] - d[0]) < 0.03 * d[0], "sampled " + s[0] + " vs full " + d[0]);
        // the bounds, calibrated on fewer origins, still cover about 90%
        assertTrue(d[1] > 0.8 && d[1] < 0.98, "full coverage " + d[1]);
        assertTrue(Math.abs(s[1] - d[1]) < 0.04, "sampled coverage " + s[1] + " vs full " + d[1]);
    }

    @Test
    void sampleRunsCoverEveryExpert() {
        // 20 experts, samples of 16: two runs, (0..15) and (16..19, 0..11), together every expert
        AutoPredictor p = new AutoPredictor(1, 20, 4000, 0, 0.9, 16, 256, 1);
        java.util.Set<Integer> seen = new java.util.TreeSet<>();
        for (int off = 0; off < 2; off++) {
            java.util.Set<Integer> run = new java.util.TreeSet<>();
            for (int k = 0; k < 16; k++) {
                run.add(p.sampledExpert(off, k));
            }
            assertEquals(16, run.size(), "distinct within a sample");
            seen.addAll(run);
        }
        assertEquals(20, seen.size());
        AutoPredictor all = new AutoPredictor(2, 16, 4000, 0, 0.9, 16, 256, 1);
        for (int k = 0; k < 16; k++) {
            assertEquals(k, all.sampledExpert(0, k), "a layer of 16 is scored whole, in order");
        }
    }

    // ---- the empirical bounds ----------------------------------------------------------------------

    /**
     * Upper bounds with a query at every step (as the evaluation asks) equal those of the first
     * implementation (eager quantiles, scalar loops), to rounding: golden values it produced.
     */
    @Test
    void boundsEqualThoseOfThePerStepImplementation() {
        int layers = 3;
        int experts = 16;
        int n = layers * experts;
        String[] specs = {"ema", "sw-avg:window=200"};
        // {t, h, u[5], u[40]}
        double[][][] golden = {
                {{999, 1, 0.067739559774347300, 0.072793692014773500}, {999, 7, 0.065940950398428900, 0.070652726923055050},
                        {999, 100, 0.071868627433895500, 0.073438198878878660}, {999, 1000, 0.094547160954142690, 0.099288588524428730},
                        {2999, 1, 0.084030280760813550, 0.060282715048326635}, {2999, 7, 0.083051751802225240, 0.057423325943084410},
                        {2999, 100, 0.087467223720659880, 0.060975807896185430}, {2999, 1000, 0.099988070919310390, 0.068885732399292950}},
                {{999, 1, 0.066357094422955840, 0.081837602859254150}, {999, 7, 0.066557512348163860, 0.080087829285119620},
                        {999, 100, 0.078904103425119110, 0.084163289800142220}, {999, 1000, 0.088806594376943900, 0.10116910780714274},
                        {2999, 1, 0.081749101310025910, 0.076718196410201760}, {2999, 7, 0.079088771416211480, 0.075115771836929000},
                        {2999, 100, 0.086012978215348870, 0.074403620212792590}, {2999, 1000, 0.088064339102607720, 0.075756069377677180}}};
        for (int s = 0; s < specs.length; s++) {
            Predictor p = Predictors.create(specs[s], layers, experts);
            Random rnd = new Random(42);
            double[] base = new double[n];
            for (int i = 0; i < n; i++) {
                base[i] = 0.5 + rnd.nextDouble();
            }
            int[] c = new int[n];
            int[] hs = {1, 7, 100, 1000};
            double[] m = new double[hs.length * n];
            double[] u = new double[hs.length * n];
            for (int t = 0; t < 3000; t++) {
                for (int i = 0; i < n; i++) {
                    double lam = 300 * base[i] * (1 + 0.3 * Math.sin(t / 150.0 + i));
                    c[i] = (int) Math.max(0, Math.round(lam + Math.sqrt(lam) * rnd.nextGaussian()));
                }
                p.observe(t, c);
                p.forecastHorizons(hs, m, u, null);
                for (double[] g : golden[s]) {
                    if (g[0] == t) {
                        int j = Arrays.binarySearch(hs, (int) g[1]);
                        assertEquals(g[2], u[j * n + 5], 1e-12, specs[s] + " t=" + t + " h=" + g[1]);
                        assertEquals(g[3], u[j * n + 40], 1e-12, specs[s] + " t=" + t + " h=" + g[1]);
                    }
                }
            }
        }
    }
}

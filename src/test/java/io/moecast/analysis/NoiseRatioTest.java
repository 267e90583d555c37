package io.moecast.analysis;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NoiseRatioTest {
    /**
     * One layer, two experts, window 3. Expert 0's shares: 0.5, 0.7, 0.4, 0.6 (expert 1 the
     * complement, so both have the same variance and differences).
     * Window {0.5,0.7,0.4}: mean 8/15, Σ(x−x̄)² = 0.0466667, unbiased variance 0.0233333;
     * differences 0.2, −0.3: σ² = (0.04 + 0.09)/(2·2) = 0.0325; R = 0.717949.
     * Window {0.7,0.4,0.6}: mean 17/30, Σ(x−x̄)² = 0.0466667, variance 0.0233333; differences −0.3, 0.2:
     * σ² = 0.0325 again.
     */
    @Test
    void matchesHandComputedValues() {
        NoiseRatio r = new NoiseRatio(1, 2, 3);
        int[][] steps = {{5, 5}, {7, 3}, {4, 6}, {6, 4}};
        r.observe(steps[0]);
        r.observe(steps[1]);
        assertFalse(r.full());
        assertTrue(Double.isNaN(r.ratio(0)));
        r.observe(steps[2]);
        assertTrue(r.full());
        assertEquals(0.0233333333, r.fluctuation(0), 1e-9);
        assertEquals(0.0325, r.noise(0), 1e-12);
        assertEquals(0.0233333333 / 0.0325, r.ratio(0), 1e-8);
        r.observe(steps[3]);
        assertEquals(0.0233333333, r.fluctuation(0), 1e-9);
        assertEquals(0.0325, r.noise(0), 1e-12);
    }

    @Test
    void aLinearTrendHasARatioFarAboveOne() {
        // x_t = t/1000 exactly: variance over w=10 of 0..9 (/1000) = 9.1667e-6 (unbiased), diffs all 1e-3:
        // σ² = 1e-6/2 → R = 18.33.
        NoiseRatio r = new NoiseRatio(1, 2, 10);
        double[] p = new double[2];
        for (int t = 0; t < 25; t++) {
            p[0] = 0.2 + t / 1000.0;
            p[1] = 1 - p[0];
            r.observeProportions(p);
        }
        assertEquals(55.0 / 6 * 1e-6, r.fluctuation(0), 1e-12);
        assertEquals(0.5e-6, r.noise(0), 1e-14);
        assertEquals(55.0 / 3, r.ratio(0), 1e-6);
    }

    @Test
    void constantLoadsHaveZeroRatio() {
        NoiseRatio r = new NoiseRatio(2, 4, 5);
        for (int t = 0; t < 12; t++) {
            r.observe(new int[] {1, 2, 3, 4, 0, 0, 0, 0});
        }
        assertEquals(0.0, r.ratio(0));
        assertEquals(0.0, r.ratio(1)); // a layer routing nothing has uniform shares: constant
    }

    @Test
    void stationaryNoiseHasRatioNearOneAtAnyAmplitude() {
        for (double sd : new double[] {1e-4, 1e-2}) {
            NoiseRatio r = new NoiseRatio(1, 8, 100);
            SplittableRandom rnd = new SplittableRandom(3);
            double[] p = new double[8];
            double acc = 0;
            int n = 0;
            for (int t = 0; t < 5000; t++) {
                double s = 0;
                for (int e = 0; e < 8; e++) {
                    p[e] = 0.125 + sd * SyntheticLoads.gauss(rnd);
                    s += p[e];
                }
                for (int e = 0; e < 8; e++) {
                    p[e] /= s;
                }
                r.observeProportions(p);
                if (r.full() && t % 100 == 0) {
                    acc += r.ratio(0);
                    n++;
                }
            }
            assertEquals(1.0, acc / n, 0.05, "noise sd " + sd);
        }
    }

    @Test
    void runningSumsStayExactOverLongRuns() {
        // Compare the streaming value with a direct computation after many recomputation cycles.
        NoiseRatio r = new NoiseRatio(1, 3, 7);
        SplittableRandom rnd = new SplittableRandom(9);
        double[][] hist = new double[10_003][3];
        for (int t = 0; t < hist.length; t++) {
            double a = rnd.nextDouble();
            double b = rnd.nextDouble() * (1 - a);
            hist[t] = new double[] {a, b, 1 - a - b};
            r.observeProportions(hist[t]);
        }
        int w = 7;
        int T = hist.length;
        double v = 0;
        double n = 0;
        for (int e = 0; e < 3; e++) {
            double m = 0;
            for (int t = T - w; t < T; t++) {
                m += hist[t][e];
            }
            m /= w;
            for (int t = T - w; t < T; t++) {
                v += (hist[t][e] - m) * (hist[t][e] - m);
            }
            for (int t = T - w + 1; t < T; t++) {
                double d = hist[t][e] - hist[t - 1][e];
                n += d * d;
            }
        }
        v = v / (w - 1) / 3;
        n = n / (2.0 * (w - 1)) / 3;
        assertEquals(v, r.fluctuation(0), 1e-12);
        assertEquals(n, r.noise(0), 1e-12);
    }

    /**
     * The vectorised streaming sums against the definition computed from the window at every step, on
     * expert counts that fill whole vectors, leave tails, or fit none (37, 256, 5), over long enough a
     * stream to pass the periodic exact recomputation (every 16 windows) several times.
     */
    @Test
    void streamingVectorSumsMatchTheWindowDefinitionAtEveryStep() {
        for (int experts : new int[] {5, 37, 256}) {
            int layers = 2;
            int w = 6;
            int le = layers * experts;
            NoiseRatio r = new NoiseRatio(layers, experts, w);
            SplittableRandom rnd = new SplittableRandom(experts);
            int steps = 20 * NoiseRatio.RECOMPUTE_WINDOWS * w / 4;
            double[][] hist = new double[steps][];
            for (int t = 0; t < steps; t++) {
                double[] p = new double[le];
                for (int l = 0; l < layers; l++) {
                    double s = 0;
                    for (int e = 0; e < experts; e++) {
                        p[l * experts + e] = 1 + 0.1 * SyntheticLoads.gauss(rnd) + (t > steps / 2 ? 0.002 * t * (e % 3) : 0);
                        s += p[l * experts + e];
                    }
                    for (int e = 0; e < experts; e++) {
                        p[l * experts + e] /= s;
                    }
                }
                hist[t] = p;
                r.observeProportions(p);
                if (t + 1 < w) {
                    continue;
                }
                for (int l = 0; l < layers; l++) {
                    double v = 0;
                    double n = 0;
                    for (int e = 0; e < experts; e++) {
                        int i = l * experts + e;
                        double m = 0;
                        for (int k = t - w + 1; k <= t; k++) {
                            m += hist[k][i];
                        }
                        m /= w;
                        for (int k = t - w + 1; k <= t; k++) {
                            v += (hist[k][i] - m) * (hist[k][i] - m);
                        }
                        for (int k = t - w + 2; k <= t; k++) {
                            double d = hist[k][i] - hist[k - 1][i];
                            n += d * d;
                        }
                    }
                    v = v / (w - 1) / experts;
                    n = n / (2.0 * (w - 1)) / experts;
                    assertEquals(v, r.fluctuation(l), 1e-9 * v + 1e-15, "E=" + experts + " t=" + t + " layer " + l);
                    assertEquals(n, r.noise(l), 1e-9 * n + 1e-15, "E=" + experts + " t=" + t + " layer " + l);
                }
            }
        }
    }
}

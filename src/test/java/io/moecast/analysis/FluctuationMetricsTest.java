package io.moecast.analysis;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FluctuationMetricsTest {
    /**
     * One layer, two experts; expert 0's shares 0.5, 0.7, 0.4, 0.6, 0.6 (expert 1 the complement).
     * After the third step: w=3 window {0.5,0.7,0.4}: mean 0.533333, variance (1/3)·0.0466667 =
     * 0.0155556, range 0.3; w=2 window {0.7,0.4}: mean 0.55, variance 0.0225, range 0.3. Shares
     * (0.4, 0.6): max/mean 1.2, CV 0.1/0.5 = 0.2, entropy −(0.4 ln 0.4 + 0.6 ln 0.6)/ln 2 = 0.970951,
     * TV from (0.7, 0.3) = 0.3.
     */
    @Test
    void matchesHandComputedValues() {
        FluctuationMetrics m = new FluctuationMetrics(1, 2, 3, 2);
        int[][] steps = {{5, 5}, {7, 3}, {4, 6}, {6, 4}, {6, 4}};
        m.observe(steps[0]);
        assertTrue(Double.isNaN(m.totalVariation(0)));
        assertTrue(Double.isNaN(m.variance(1, 0, 0)));
        assertEquals(1.0, m.maxOverMean(0), 1e-12);
        assertEquals(0.0, m.coefficientOfVariation(0), 1e-12);
        assertEquals(1.0, m.normalisedEntropy(0), 1e-12);
        m.observe(steps[1]);
        m.observe(steps[2]);
        assertEquals(0.5333333333, m.mean(0, 0, 0), 1e-9);
        assertEquals(0.0466666667 / 3, m.variance(0, 0, 0), 1e-9);
        assertEquals(0.3, m.range(0, 0, 0), 1e-12);
        assertEquals(0.55, m.mean(1, 0, 0), 1e-12);
        assertEquals(0.0225, m.variance(1, 0, 0), 1e-12);
        assertEquals(0.3, m.range(1, 0, 0), 1e-12);
        assertEquals(0.3, m.range(1, 0, 1), 1e-12);
        assertEquals(1.2, m.maxOverMean(0), 1e-12);
        assertEquals(0.2, m.coefficientOfVariation(0), 1e-12);
        assertEquals(0.970950594, m.normalisedEntropy(0), 1e-9);
        assertEquals(0.3, m.totalVariation(0), 1e-12);
        m.observe(steps[3]);
        m.observe(steps[4]);
        // w=2 window {0.6, 0.6}: variance 0, range 0 (ties); w=3 {0.4,0.6,0.6}: range 0.2
        assertEquals(0.0, m.variance(1, 0, 0), 1e-15);
        assertEquals(0.0, m.range(1, 0, 0), 1e-15);
        assertEquals(0.2, m.range(0, 0, 0), 1e-12);
        assertEquals(0.0, m.totalVariation(0), 1e-15);
        assertEquals((0.2 + 0.2) / 2, m.layerRange(0, 0), 1e-12);
        assertEquals(0.2, m.layerMaxRange(0, 0), 1e-12);
    }

    @Test
    void allLoadOnOneExpertIsMaximalImbalance() {
        FluctuationMetrics m = new FluctuationMetrics(1, 4, 2);
        m.observe(new int[] {0, 0, 9, 0});
        assertEquals(4.0, m.maxOverMean(0), 1e-12);
        assertEquals(Math.sqrt(3), m.coefficientOfVariation(0), 1e-12);
        assertEquals(0.0, m.normalisedEntropy(0), 1e-12);
    }

    /** Streaming values against direct recomputation over the window, on data with many ties. */
    @Test
    void matchesBruteForceOnLongRandomRuns() {
        int layers = 2;
        int experts = 5;
        int[] windows = {2, 3, 7, 10};
        FluctuationMetrics m = new FluctuationMetrics(layers, experts, windows);
        SplittableRandom r = new SplittableRandom(4);
        int T = 3000;
        double[][] p = new double[T][layers * experts];
        int[] counts = new int[layers * experts];
        for (int t = 0; t < T; t++) {
            for (int c = 0; c < counts.length; c++) {
                counts[c] = r.nextInt(4); // small counts: many equal shares
            }
            if (t % 97 == 0) {
                java.util.Arrays.fill(counts, 0, experts, 0); // an empty layer: uniform shares
            }
            m.observe(counts);
            for (int l = 0; l < layers; l++) {
                io.moecast.trace.LoadTrace.proportions(counts, l * experts, experts, p[t], l * experts);
            }
            if (t % 37 != 0 && t < T - 3) {
                continue;
            }
            for (int wi = 0; wi < windows.length; wi++) {
                int w = windows[wi];
                if (t + 1 < w) {
                    assertTrue(Double.isNaN(m.range(wi, 0, 0)));
                    continue;
                }
                for (int c = 0; c < counts.length; c++) {
                    double s = 0;
                    double mx = Double.NEGATIVE_INFINITY;
                    double mn = Double.POSITIVE_INFINITY;
                    for (int k = t - w + 1; k <= t; k++) {
                        s += p[k][c];
                        mx = Math.max(mx, p[k][c]);
                        mn = Math.min(mn, p[k][c]);
                    }
                    double mean = s / w;
                    double v = 0;
                    for (int k = t - w + 1; k <= t; k++) {
                        v += (p[k][c] - mean) * (p[k][c] - mean);
                    }
                    v /= w;
                    int l = c / experts;
                    int e = c % experts;
                    assertEquals(mean, m.mean(wi, l, e), 1e-12, "mean t=" + t + " w=" + w);
                    assertEquals(v, m.variance(wi, l, e), 1e-12, "variance t=" + t + " w=" + w);
                    assertEquals(mx - mn, m.range(wi, l, e), 0.0, "range t=" + t + " w=" + w);
                }
            }
        }
    }
}

package io.moecast.predict;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sw-avg keeps its window as 16-bit counts, and a step with a count above 65,535 as ints: both must
 * give back the shares exactly. Scaling a step's counts by a power of two leaves its shares bit for bit
 * the same (c·2ᵏ · 1/(Σ·2ᵏ) = c · 1/Σ), so a run with some steps scaled past 65,535 (and some layers
 * that route nothing) must forecast exactly what the unscaled run forecasts.
 */
class SlidingWindowCountsTest {
    @Test
    void wideStepsForecastLikeNarrowOnes() {
        int layers = 3;
        int experts = 19; // a vector and a scalar tail
        int n = layers * experts;
        Random rnd = new Random(7);
        Predictor narrow = Predictors.create("sw-avg:window=10", PredictorContext.of(layers, experts));
        Predictor wide = Predictors.create("sw-avg:window=10", PredictorContext.of(layers, experts));
        int[] c = new int[n];
        int[] scaled = new int[n];
        int wideSteps = 0;
        for (int t = 0; t < 80; t++) {
            for (int i = 0; i < n; i++) {
                c[i] = rnd.nextInt(3000);
            }
            if (t % 7 == 3) {
                Arrays.fill(c, experts, 2 * experts, 0); // a layer that routed nothing
            }
            boolean scale = t % 3 == 0 || (t >= 30 && t < 45);
            for (int i = 0; i < n; i++) {
                scaled[i] = scale ? c[i] << 6 : c[i];
            }
            wideSteps += scale && Arrays.stream(scaled).max().getAsInt() > Character.MAX_VALUE ? 1 : 0;
            narrow.observe(t, c);
            wide.observe(t, scaled);
            if (t % 5 == 4) {
                for (int h : new int[] {1, 3, 10, 25}) {
                    double[] m1 = new double[n];
                    double[] u1 = new double[n];
                    double[] m2 = new double[n];
                    double[] u2 = new double[n];
                    narrow.forecast(h, m1, u1);
                    wide.forecast(h, m2, u2);
                    assertArrayEquals(m1, m2, 0.0, "mean t=" + t + " h=" + h);
                    assertArrayEquals(u1, u2, 0.0, "upper t=" + t + " h=" + h);
                    double[] p1 = new double[h * n];
                    double[] p2 = new double[h * n];
                    narrow.forecastPath(h, p1);
                    wide.forecastPath(h, p2);
                    assertArrayEquals(p1, p2, 0.0, "path t=" + t + " h=" + h);
                }
            }
        }
        assertTrue(wideSteps > 20, "steps kept as ints: " + wideSteps);
    }
}

package io.moecast.predict;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What every registered predictor promises, checked on odd shapes and noisy drifting loads. */
class PredictorContractTest {
    static Stream<String> specs() {
        return Predictors.names().stream().filter(n -> !Predictors.needsTraining(n))
                .flatMap(n -> n.equals("arima") ? Stream.of("arima:refit=40:min=30:window=200", "arima:p=1:d=0:q=1:refit=50:min=30")
                        : Stream.of(n));
    }

    /** A drifting, noisy stream on 3 layers × 5 experts (an odd expert count), with an all-zero layer step. */
    static int[][] stream(int steps, long seed) {
        int layers = 3;
        int experts = 5;
        Random rnd = new Random(seed);
        double[] base = Series.uniformish(layers, experts, seed);
        int[][] out = new int[steps][];
        for (int t = 0; t < steps; t++) {
            double[] s = base.clone();
            for (int i = 0; i < s.length; i++) {
                s[i] *= 1 + 0.3 * Math.sin(t / 50.0 + i);
            }
            out[t] = Series.multinomial(s, layers, experts, 500, rnd);
            if (t == 77) {
                java.util.Arrays.fill(out[t], 5, 10, 0);
            }
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("specs")
    void forecastsAreSharesAndAgreeAcrossEntryPoints(String spec) {
        int layers = 3;
        int experts = 5;
        int n = layers * experts;
        Predictor p = Predictors.create(spec, layers, experts);
        int[][] data = stream(400, 5);
        int[] hs = {1, 3, 17, 100};
        for (int t = 0; t < data.length; t++) {
            p.observe(t, data[t]);
            if (t % 37 != 36) {
                continue;
            }
            double[] means = new double[hs.length * n];
            double[] uppers = new double[hs.length * n];
            double[] steps = new double[hs.length * n];
            p.forecastHorizons(hs, means, uppers, steps);
            for (int j = 0; j < hs.length; j++) {
                int h = hs[j];
                double[] m = new double[n];
                double[] u = new double[n];
                double[] s = new double[n];
                p.forecast(h, m, u);
                p.forecastStep(h, s);
                double[] path = new double[h * n];
                p.forecastPath(h, path);
                for (int i = 0; i < n; i++) {
                    assertEquals(m[i], means[j * n + i], 1e-12, spec + " mean t=" + t + " h=" + h);
                    assertEquals(u[i], uppers[j * n + i], 1e-12, spec + " upper");
                    assertEquals(s[i], steps[j * n + i], 1e-12, spec + " step");
                    assertEquals(path[(h - 1) * n + i], s[i], 1e-9, spec + " path row h-1 = step h");
                    assertTrue(m[i] >= 0 && m[i] <= 1 && u[i] >= m[i] - 1e-15 && u[i] <= 1, spec + " bounds");
                }
                for (int l = 0; l < layers; l++) {
                    double sm = 0;
                    double ss = 0;
                    for (int e = 0; e < experts; e++) {
                        sm += m[l * experts + e];
                        ss += s[l * experts + e];
                    }
                    assertEquals(1.0, sm, 1e-9, spec + " mean sums to 1");
                    assertEquals(1.0, ss, 1e-9, spec + " step sums to 1");
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("specs")
    void resetReplaysDeterministically(String spec) {
        int n = 15;
        int[][] data = stream(300, 9);
        Predictor a = Predictors.create(spec, 3, 5);
        Series.feed(a, 300, t -> data[t]);
        double[] m1 = new double[n];
        double[] u1 = new double[n];
        a.forecast(50, m1, u1);
        a.reset();
        assertEquals(0, a.observed());
        Series.feed(a, 300, t -> data[t]);
        double[] m2 = new double[n];
        double[] u2 = new double[n];
        a.forecast(50, m2, u2);
        assertArrayEquals(m1, m2, 0.0, spec);
        assertArrayEquals(u1, u2, 0.0, spec);
    }

    /**
     * Predictors whose per-step smoothers run in float (the Vector API block kernels: {@code kalman}, and
     * {@code auto} whose candidates include the same filter): shares are rounded to float (relative
     * 6e-8) before they enter the filters, so "exactly" means to float precision there.
     */
    static final java.util.Set<String> FLOAT_STATE = java.util.Set.of("auto", "kalman");

    @ParameterizedTest
    @MethodSource("specs")
    void constantLoadsAreForecastExactly(String spec) {
        double[] shares = {0.1, 0.2, 0.3, 0.25, 0.15, 0.5, 0.125, 0.125, 0.125, 0.125, 0.2, 0.2, 0.2, 0.2, 0.2};
        int[] counts = Series.countsExact(shares, 3, 5, 8000);
        Predictor p = Predictors.create(spec, 3, 5);
        Series.feed(p, 300, t -> counts);
        double[] m = new double[15];
        for (int h : new int[] {1, 10, 1000}) {
            p.forecast(h, m, null);
            assertArrayEquals(shares, m, FLOAT_STATE.contains(spec) ? 3e-8 : 1e-9, spec + " h=" + h);
        }
    }
}

package io.moecast.predict;

import io.moecast.UserError;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The paper's SW_Avg and the engines' baselines against hand-computed answers. */
class BaselinePredictorsTest {
    static final int L = 2;
    static final int E = 5;

    @ParameterizedTest
    @ValueSource(strings = {"sw-avg", "sw-avg:window=7", "last-window-sum", "last-window-sum:window=3", "ema", "last-value"})
    void constantSeriesIsForecastExactly(String spec) {
        double[] shares = {0.1, 0.2, 0.3, 0.25, 0.15, 0.5, 0.125, 0.125, 0.125, 0.125};
        int[] counts = Series.countsExact(shares, L, E, 8000);
        Predictor p = Predictors.create(spec, L, E);
        Series.feed(p, 50, t -> counts);
        double[] mean = new double[L * E];
        double[] upper = new double[L * E];
        for (int h : new int[] {1, 3, 10, 100}) {
            p.forecast(h, mean, upper);
            assertArrayEquals(shares, mean, 1e-12, spec + " h=" + h);
            for (int i = 0; i < mean.length; i++) {
                assertTrue(upper[i] >= mean[i] && upper[i] <= 1.0, "upper bound");
            }
            double[] path = new double[h * L * E];
            p.forecastPath(h, path);
            for (int k = 0; k < h; k++) {
                for (int i = 0; i < L * E; i++) {
                    assertEquals(shares[i], path[k * L * E + i], 1e-12);
                }
            }
        }
        assertEquals(50, p.observed());
    }

    /** Scalar reference of the paper's recursive sliding for one series. */
    static double[] recursiveSliding(List<Double> history, int w, int h) {
        Deque<Double> win = new ArrayDeque<>();
        int from = Math.max(0, history.size() - w);
        for (int i = from; i < history.size(); i++) {
            win.addLast(history.get(i));
        }
        double[] out = new double[h];
        for (int k = 0; k < h; k++) {
            double s = 0;
            for (double v : win) {
                s += v;
            }
            out[k] = s / win.size();
            win.removeFirst();
            win.addLast(out[k]);
        }
        return out;
    }

    @Test
    void swAvgIsThePapersRecursiveSliding() {
        Random rnd = new Random(7);
        int w = 4;
        Predictor p = Predictors.create("sw-avg:window=" + w, 1, 3);
        List<List<Double>> hist = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        double[] mean = new double[3];
        double[] step = new double[3];
        for (int t = 0; t < 12; t++) {
            int[] c = {1 + rnd.nextInt(100), 1 + rnd.nextInt(100), 1 + rnd.nextInt(100)};
            double tot = c[0] + c[1] + c[2];
            for (int e = 0; e < 3; e++) {
                hist.get(e).add(c[e] / tot);
            }
            p.observe(t, c);
            for (int h : new int[] {1, 2, 3, 5, 9}) {
                double[] path = new double[h * 3];
                p.forecastPath(h, path);
                p.forecast(h, mean, null);
                p.forecastStep(h, step);
                for (int e = 0; e < 3; e++) {
                    double[] ref = recursiveSliding(hist.get(e), w, h);
                    double avg = 0;
                    for (int k = 0; k < h; k++) {
                        assertEquals(ref[k], path[k * 3 + e], 1e-12, "t=" + t + " h=" + h + " k=" + k);
                        avg += ref[k] / h;
                    }
                    assertEquals(avg, mean[e], 1e-12);
                    assertEquals(ref[h - 1], step[e], 1e-12);
                }
            }
        }
    }

    @Test
    void windowSumNormalisesTheSummedCounts() {
        Predictor p = Predictors.create("last-window-sum:window=2", 1, 2);
        p.observe(0, new int[] {10, 0});
        double[] m = new double[2];
        p.forecast(5, m, null);
        assertArrayEquals(new double[] {1, 0}, m, 1e-15);
        p.observe(1, new int[] {30, 60});      // sum 40, 60
        p.forecast(5, m, null);
        assertArrayEquals(new double[] {0.4, 0.6}, m, 1e-15);
        p.observe(2, new int[] {0, 10});       // window = steps 1,2: 30, 70
        p.forecast(5, m, null);
        assertArrayEquals(new double[] {0.3, 0.7}, m, 1e-15);
    }

    @Test
    void emaIsMindSpeedsCountEma() {
        Predictor p = Predictors.create("ema", 1, 2);
        double m0 = 0;
        double m1 = 0;
        int[][] steps = {{100, 0}, {0, 100}, {50, 50}, {80, 20}};
        double[] m = new double[2];
        for (int t = 0; t < steps.length; t++) {
            m0 = 0.9 * m0 + 0.1 * steps[t][0];
            m1 = 0.9 * m1 + 0.1 * steps[t][1];
            p.observe(t, steps[t]);
            p.forecast(1, m, null);
            assertEquals(m0 / (m0 + m1), m[0], 1e-14);
            assertEquals(m1 / (m0 + m1), m[1], 1e-14);
        }
    }

    @Test
    void lastValueRepeatsTheLastStep() {
        Predictor p = Predictors.create("last-value", 1, 3);
        p.observe(0, new int[] {1, 1, 2});
        p.observe(5, new int[] {3, 1, 0});
        double[] m = new double[3];
        p.forecast(7, m, null);
        assertArrayEquals(new double[] {0.75, 0.25, 0}, m, 1e-15);
    }

    @Test
    void emptyHistoryAndEmptyLayersAreUniform() {
        Predictor p = Predictors.create("sw-avg", 2, 4);
        double[] m = new double[8];
        double[] u = new double[8];
        p.forecast(10, m, u);
        for (int i = 0; i < 8; i++) {
            assertEquals(0.25, m[i]);
            assertEquals(1.0, u[i]);
        }
        p.observe(0, new int[] {0, 0, 0, 0, 1, 2, 3, 4});
        p.forecast(1, m, null);
        assertEquals(0.25, m[0], 1e-15);
        assertEquals(0.4, m[7], 1e-15);
    }

    @Test
    void rejectsBadInput() {
        Predictor p = Predictors.create("ema", 1, 2);
        assertThrows(IllegalArgumentException.class, () -> p.observe(0, new int[3]));
        p.observe(3, new int[] {1, 1});
        assertThrows(IllegalArgumentException.class, () -> p.observe(3, new int[] {1, 1}));
        assertThrows(IllegalArgumentException.class, () -> p.observe(4, new int[] {-1, 1}));
        assertThrows(IllegalArgumentException.class, () -> p.forecast(0, new double[2], null));
        assertThrows(UserError.class, () -> Predictors.create("nope", 1, 2));
        assertThrows(UserError.class, () -> Predictors.create("sw-avg:window=0", 1, 2));
        assertThrows(UserError.class, () -> Predictors.create("sw-avg:windw=10", 1, 2));
        assertThrows(UserError.class, () -> Predictors.create("ema:beta", 1, 2));
        assertThrows(UserError.class, () -> Predictors.create("ema:beta=1.5", 1, 2));
    }

    @Test
    void resetForgetsHistory() {
        Predictor p = Predictors.create("sw-avg:window=3", 1, 2);
        p.observe(0, new int[] {1, 0});
        p.reset();
        assertEquals(0, p.observed());
        p.observe(0, new int[] {0, 1});
        double[] m = new double[2];
        p.forecast(4, m, null);
        assertArrayEquals(new double[] {0, 1}, m, 1e-15);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sw-avg:window=200", "ema:beta=0.99", "last-window-sum:window=200"})
    void upperBoundsCoverAboutTheirConfidenceOnStationaryNoise(String spec) {
        int layers = 2;
        int experts = 8;
        double[] shares = Series.uniformish(layers, experts, 3);
        Random rnd = new Random(11);
        Predictor p = Predictors.create(spec, layers, experts);
        int h = 10;
        int steps = 3000;
        int[][] data = new int[steps + h][];
        for (int t = 0; t < data.length; t++) {
            data[t] = Series.multinomial(shares, layers, experts, 2000, rnd);
        }
        double[] mean = new double[layers * experts];
        double[] upper = new double[layers * experts];
        double[] actual = new double[layers * experts];
        double[] sh = new double[layers * experts];
        long covered = 0;
        long total = 0;
        for (int t = 0; t < steps; t++) {
            p.observe(t, data[t]);
            if (t < 500 || t % 5 != 0) {
                continue;
            }
            p.forecast(h, mean, upper);
            java.util.Arrays.fill(actual, 0);
            for (int k = 1; k <= h; k++) {
                AbstractPredictor.shares(data[t + k], sh, layers, experts);
                for (int i = 0; i < sh.length; i++) {
                    actual[i] += sh[i] / h;
                }
            }
            for (int i = 0; i < sh.length; i++) {
                covered += actual[i] <= upper[i] ? 1 : 0;
                total++;
            }
        }
        double cov = covered / (double) total;
        assertTrue(cov > 0.85 && cov < 0.95, spec + " coverage " + cov);
    }
}

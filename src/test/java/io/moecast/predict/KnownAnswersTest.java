package io.moecast.predict;

import io.moecast.trace.TraceMeta;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Predictors on series whose best forecast is known: a linear trend, a random walk, an AR(1), white
 * noise. Series ride on expert 0 of a two-expert layer with 10^8 tokens per step, so the counts carry
 * the series to ~1e−8.
 */
class KnownAnswersTest {
    static final int N = 100_000_000;

    static int[] two(double x) {
        int k = (int) Math.round(x * N);
        return new int[] {k, N - k};
    }

    static PredictorContext ctx() {
        return PredictorContext.of(1, 2).withMeta(TraceMeta.empty().tokensPerStep(N).topK(1));
    }

    static double mean(Predictor p, int h) {
        double[] m = new double[2];
        p.forecast(h, m, null);
        return m[0];
    }

    @Test
    void linearTrendIsExtrapolatedByHoltAndSecondDifferenceArima() {
        double b = 1e-4;
        int steps = 2000;
        Predictor holt = Predictors.create("holt", ctx());
        Predictor arima = Predictors.create("arima:p=1:d=2:q=0", ctx());
        Predictor sw = Predictors.create("sw-avg:window=100", ctx());
        for (int t = 0; t < steps; t++) {
            int[] c = two(0.2 + b * t);
            holt.observe(t, c);
            arima.observe(t, c);
            sw.observe(t, c);
        }
        double last = 0.2 + b * (steps - 1);
        for (int h : new int[] {1, 10, 100}) {
            double want = last + b * (h + 1) / 2.0;
            assertEquals(want, mean(holt, h), 2e-6, "holt h=" + h);
            assertEquals(want, mean(arima, h), 2e-6, "arima d=2 h=" + h);
        }
        // the paper's SW_Avg lags a trend: its next-step forecast is the window mean, (w-1)/2 steps behind
        double[] s = new double[2];
        sw.forecastStep(1, s);
        assertEquals(last - b * 99 / 2.0, s[0], 1e-7);
    }

    @Test
    void randomWalkIsForecastByItsLastValue() {
        Random rnd = new Random(3);
        Predictor kalman = Predictors.create("kalman", ctx());
        Predictor arima = Predictors.create("arima:p=1:d=1:q=1", ctx());
        double x = 0.5;
        for (int t = 0; t < 3000; t++) {
            x = Math.min(0.9, Math.max(0.1, x + 0.002 * rnd.nextGaussian()));
            int[] c = two(x);
            kalman.observe(t, c);
            arima.observe(t, c);
        }
        // noise 1e-8 against steps of 2e-3: the optimal forecast is the last value
        assertEquals(x, mean(kalman, 100), 1e-5, "kalman");
        assertEquals(x, mean(arima, 100), 2e-4, "arima(1,1,1)");
        double[] rq = ((KalmanPredictor) kalman).noise(0);
        assertTrue(rq[1] > 100 * rq[0], "Q dominates R on a random walk: " + rq[0] + " " + rq[1]);
    }

    @Test
    void ar1DecaysToItsMean() {
        Random rnd = new Random(4);
        double mu = 0.5;
        double phi = 0.8;
        int steps = 3000;
        int window = 2000;
        ArimaPredictor arima = (ArimaPredictor) Predictors.create("arima:p=1:d=0:q=0:window=" + window, ctx());
        double x = mu;
        double[] xs = new double[steps];
        for (int t = 0; t < steps; t++) {
            x = mu + phi * (x - mu) + 0.01 * rnd.nextGaussian();
            int[] c = two(x);
            xs[t] = c[0] / (double) N;
            arima.observe(t, c);
        }
        arima.refitNow();
        double est = arima.coefficients(0)[0];
        assertEquals(phi, est, 0.05, "AR(1) coefficient");
        double m = 0;
        for (int t = steps - window; t < steps; t++) {
            m += xs[t];
        }
        m /= window;
        double[] s = new double[2];
        for (int k : new int[] {1, 5, 50}) {
            arima.forecastStep(k, s);
            assertEquals(m + Math.pow(est, k) * (xs[steps - 1] - m), s[0], 1e-9, "k=" + k);
        }
    }

    @Test
    void whiteNoiseIsAveragedByKalmanAndAuto() {
        Random rnd = new Random(5);
        PredictorContext c = PredictorContext.of(1, 2).withMeta(TraceMeta.empty().tokensPerStep(2000).topK(1));
        Predictor kalman = Predictors.create("kalman", c);
        Predictor auto = Predictors.create("auto", c);
        Predictor ema = Predictors.create("ema", c);
        double kErr = 0;
        double aErr = 0;
        double eErr = 0;
        int n = 0;
        for (int t = 0; t < 6000; t++) {
            int[] cnt = Series.multinomial(new double[] {0.3, 0.7}, 1, 2, 2000, rnd);
            kalman.observe(t, cnt);
            auto.observe(t, cnt);
            ema.observe(t, cnt);
            if (t >= 3000 && t % 10 == 0) {
                kErr += Math.abs(mean(kalman, 1000) - 0.3);
                aErr += Math.abs(mean(auto, 1000) - 0.3);
                eErr += Math.abs(mean(ema, 1000) - 0.3);
                n++;
            }
        }
        // EMA 0.9 keeps ~19 steps of 2,000 tokens: |error| ≈ 0.8·sqrt(0.21/2000/19) ≈ 0.0019
        assertTrue(eErr / n > 0.001, "ema error " + eErr / n);
        assertTrue(kErr / n < 0.5 * eErr / n, "kalman learns to average: " + kErr / n + " vs ema " + eErr / n);
        assertTrue(aErr / n < 0.4 * eErr / n, "auto picks a slow smoother: " + aErr / n + " vs ema " + eErr / n);
    }

    @Test
    void autoFollowsARandomWalkClosely() {
        Random rnd = new Random(6);
        Predictor auto = Predictors.create("auto", ctx());
        Predictor slow = Predictors.create("sw-avg:window=500", ctx());
        double x = 0.5;
        double aErr = 0;
        double sErr = 0;
        double[] xs = new double[4011];
        for (int t = 0; t < xs.length; t++) {
            x = Math.min(0.95, Math.max(0.05, x + 0.003 * rnd.nextGaussian()));
            xs[t] = x;
        }
        for (int t = 0; t < 4000; t++) {
            int[] c = two(xs[t]);
            auto.observe(t, c);
            slow.observe(t, c);
            if (t >= 2000 && t % 10 == 0) {
                double act = 0;
                for (int k = 1; k <= 10; k++) {
                    act += xs[t + k] / 10;
                }
                aErr += Math.abs(mean(auto, 10) - act);
                sErr += Math.abs(mean(slow, 10) - act);
            }
        }
        assertTrue(aErr < 0.2 * sErr, "auto tracks the walk: " + aErr + " vs slow window " + sErr);
    }
}

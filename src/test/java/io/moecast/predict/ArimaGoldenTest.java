package io.moecast.predict;

import com.fasterxml.jackson.databind.JsonNode;
import io.moecast.util.Json;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ARIMA against statsmodels (golden values made by src/test/resources/predict/arima_golden.py):
 * the Hannan–Rissanen coefficients, the forecasts with those coefficients, and the forecasts of
 * statsmodels' maximum-likelihood fit (forecasts only: a different estimator).
 */
class ArimaGoldenTest {
    static JsonNode golden() throws Exception {
        try (InputStream in = ArimaGoldenTest.class.getResourceAsStream("/predict/arima_golden.json")) {
            return Json.MAPPER.readTree(in);
        }
    }

    /** Feeds a golden case to a one-layer, two-expert ARIMA (expert 0 carries the series) and fits it on all of it. */
    static ArimaPredictor fitted(JsonNode c, long bigN) {
        int p = c.get("order").get(0).asInt();
        int d = c.get("order").get(1).asInt();
        int q = c.get("order").get(2).asInt();
        JsonNode k = c.get("counts");
        int len = k.size();
        ArimaPredictor a = new ArimaPredictor(1, 2, p, d, q, len - d, Integer.MAX_VALUE, 50, 0.9);
        for (int t = 0; t < len; t++) {
            long v = k.get(t).asLong();
            a.observe(t, new int[] {(int) v, (int) (bigN - v)});
        }
        a.refitNow();
        return a;
    }

    @TestFactory
    List<DynamicTest> matchesStatsmodels() throws Exception {
        JsonNode g = golden();
        long bigN = g.get("N").asLong();
        int h = g.get("H").asInt();
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : g.get("cases")) {
            tests.add(DynamicTest.dynamicTest(c.get("name").asText(), () -> {
                ArimaPredictor a = fitted(c, bigN);
                int p = c.get("order").get(0).asInt();
                int q = c.get("order").get(2).asInt();
                double[] coef = a.coefficients(0);
                for (int j = 0; j < p; j++) {
                    assertEquals(c.get("hr_ar").get(j).asDouble(), coef[j], 1e-7, "ar " + (j + 1));
                }
                for (int j = 0; j < q; j++) {
                    assertEquals(c.get("hr_ma").get(j).asDouble(), coef[p + j], 1e-7, "ma " + (j + 1));
                }
                assertTrue(c.get("hr_stationary").asBoolean() && c.get("hr_invertible").asBoolean());
                double[] path = new double[h * 2];
                a.forecastPath(h, path);
                double maxHr = 0;
                double maxCond = 0;
                double maxMle = 0;
                double scale = 0;
                JsonNode k = c.get("counts");
                for (int t = 1; t < k.size(); t++) {
                    scale = Math.max(scale, Math.abs(k.get(t).asLong() - k.get(t - 1).asLong()) / (double) bigN);
                }
                for (int s = 0; s < h; s++) {
                    double ours = path[s * 2];
                    maxHr = Math.max(maxHr, Math.abs(ours - c.get("hr_forecast").get(s).asDouble()));
                    maxCond = Math.max(maxCond, Math.abs(ours - c.get("conditional_forecast").get(s).asDouble()));
                    maxMle = Math.max(maxMle, Math.abs(ours - c.get("mle_forecast").get(s).asDouble()));
                }
                System.out.printf("%s: max |ours - statsmodels HR| = %.3g, |ours - conditional| = %.3g, |ours - statsmodels MLE| = %.3g, max |step| = %.3g%n",
                        c.get("name").asText(), maxHr, maxCond, maxMle, scale);
                assertTrue(maxCond < 1e-9, "conditional forecast with the same coefficients: " + maxCond);
                if (c.get("order").get(1).asInt() == 1) {
                    assertTrue(maxHr < 1e-6, "statsmodels' forecast with the same coefficients: " + maxHr);
                }
                // another estimator: close, within half the largest observed step (times the horizon
                // when d = 2, where a slope difference accumulates)
                double tol = 0.5 * scale * (c.get("order").get(1).asInt() == 2 ? h : 1);
                assertTrue(maxMle < tol, "forecast vs MLE fit: " + maxMle + " (tolerance " + tol + ")");
            }));
        }
        return tests;
    }
}

package io.moecast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.TraceMeta;
import io.moecast.trace.Traces;
import io.moecast.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code moecast run} end to end on a small generated trace (the JMH stages are left out: they need minutes). */
class RunCommandTest {
    /** A trace with a drifting transient start, then stable noisy loads: 1,500 steps × 2 layers × 8 experts. */
    static LoadTrace generated(long seed) {
        int S = 1500;
        int L = 2;
        int E = 8;
        int N = 4096;
        Random rnd = new Random(seed);
        int[] c = new int[S * L * E];
        double[][] target = new double[L][E];
        for (int l = 0; l < L; l++) {
            for (int e = 0; e < E; e++) {
                target[l][e] = 0.5 + rnd.nextDouble();
            }
        }
        for (int s = 0; s < S; s++) {
            for (int l = 0; l < L; l++) {
                double[] p = new double[E];
                double sum = 0;
                for (int e = 0; e < E; e++) {
                    double drift = s < 300 ? Math.sin(s / 30.0 + e) * (300 - s) / 300.0 : 0;
                    p[e] = Math.max(0.05, target[l][e] + drift);
                    sum += p[e];
                }
                int left = N;
                for (int e = 0; e < E; e++) {
                    int n = e == E - 1 ? left : Math.min(left, (int) Math.round(N * p[e] / sum * (1 + 0.05 * rnd.nextGaussian())));
                    c[(s * L + l) * E + e] = Math.max(0, n);
                    left -= Math.max(0, n);
                }
            }
        }
        TraceMeta meta = TraceMeta.empty().model("generated").tokensPerStep(N / 2).topK(2);
        return new LoadTrace(meta, S, L, E, 0, c);
    }

    @Test
    void writesTheReportWithEverySectionFilled(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("gen.npy");
        Path train = dir.resolve("gen2.npy");
        Traces.write(generated(1), trace);
        Traces.write(generated(2), train);
        Path out = dir.resolve("report");
        CliRun r = CliRun.run("run", trace.toString(), "--train", train.toString(), "--quick", "--no-bench", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        for (String f : new String[] {"report.md", "report.html", "summary.json", "evaluation.md", "placement.md",
                "loads.png", "error-vs-horizon.png", "balancedness.png"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f + " missing");
        }
        String md = Files.readString(out.resolve("report.md"));
        for (String section : new String[] {"## 1. Traces", "## 2. Transient and stable states", "## 3. Forecasts", "## 4. Placement"}) {
            assertTrue(md.contains(section), section);
        }
        assertTrue(md.contains("**auto (default)**"));
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("data:image/png;base64,"), "charts embedded in the HTML");
        assertFalse(html.contains("src=\"loads.png\""));
        JsonNode s = Json.MAPPER.readTree(out.resolve("summary.json").toFile()).path("result");
        assertEquals("gen.npy", s.path("trace").asText());
        assertTrue(s.path("analysis").get(0).path("modelTransitionStep").asLong() >= 0, "the generated trace becomes stable");
        JsonNode l1 = s.path("evaluation").path("horizonMeanL1Pct");
        assertTrue(l1.has("auto") && l1.has("ema") && l1.has("lstm") && l1.has("hindsight"), l1.toString());
        assertTrue(l1.path("auto").path("1000").asDouble() > 0);
        JsonNode rows = s.path("placement").path("rows");
        double oracle = rows.path("oracle").path("stableBalancedness").asDouble();
        double stat = rows.path("static").path("stableBalancedness").asDouble();
        assertTrue(oracle >= stat && oracle <= 1.0, "oracle " + oracle + " static " + stat);
    }

    @Test
    void badOptionsStopWithOneLine(@TempDir Path dir) {
        Path trace = dir.resolve("gen.npy");
        Traces.write(generated(1), trace);
        CliRun r = CliRun.run("run", trace.toString(), "--gpus", "3", "--no-bench", "--out", dir.resolve("o").toString());
        assertEquals(2, r.exitCode());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        CliRun missing = CliRun.run("run", dir.resolve("nope.npy").toString(), "--no-bench");
        assertEquals(2, missing.exitCode());
        assertTrue(missing.err().contains("nope.npy"));
    }
}

package io.moecast.predict.eval;

import io.moecast.cli.Main;
import io.moecast.predict.AbstractPredictor;
import io.moecast.predict.PredictorContext;
import io.moecast.predict.PredictorSpec;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.TraceMeta;
import io.moecast.trace.Traces;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The walk-forward metrics against a hand computation, the hindsight row, and the command end to end. */
class EvaluationTest {
    static LoadTrace trace(int steps, int layers, int experts, long seed) {
        Random r = new Random(seed);
        int[] c = new int[steps * layers * experts];
        for (int t = 0; t < steps; t++) {
            for (int i = 0; i < layers * experts; i++) {
                c[t * layers * experts + i] = 50 + r.nextInt(100) + (int) (40 * Math.sin(t / 30.0 + i));
            }
        }
        return new LoadTrace(TraceMeta.empty().tokensPerStep(1000).topK(1), steps, layers, experts, 0, c);
    }

    @Test
    void lastValueErrorsMatchAHandComputation() {
        LoadTrace tr = trace(200, 2, 4, 1);
        int n = 8;
        Evaluation.Result r = Evaluation.run(tr, List.of(PredictorSpec.parse("last-value")), PredictorContext.of(2, 4), null,
                new Evaluation.Config(new int[] {1, 5}, 1, 1, true, 1, 5));
        double[][] sh = new double[200][n];
        int[] row = new int[n];
        for (int t = 0; t < 200; t++) {
            tr.copyStep(t, row);
            AbstractPredictor.shares(row, sh[t], 2, 4);
        }
        for (int hi = 0; hi < 2; hi++) {
            int h = hi == 0 ? 1 : 5;
            double l1m = 0;
            double l1s = 0;
            double rel = 0;
            long relN = 0;
            long origins = 0;
            for (int t = 0; t + h <= 199; t++) {
                for (int l = 0; l < 2; l++) {
                    for (int e = 0; e < 4; e++) {
                        int i = l * 4 + e;
                        double act = 0;
                        for (int k = 1; k <= h; k++) {
                            act += sh[t + k][i] / h;
                        }
                        l1m += Math.abs(sh[t][i] - act);
                        l1s += Math.abs(sh[t][i] - sh[t + h][i]);
                        if (act >= 1.0 / 40) {
                            rel += Math.abs(sh[t][i] - act) / act;
                            relN++;
                        }
                    }
                    origins++;
                }
            }
            Metrics m = r.runs.get(0).metrics(hi, -1);
            assertEquals(origins, m.origins());
            assertEquals(l1m / origins, m.l1Mean(), 1e-12, "h=" + h);
            assertEquals(l1s / origins, m.l1Step(), 1e-12);
            assertEquals(l1m / origins / 4 * 100, m.maePpMean(), 1e-10);
            assertEquals(rel / relN, m.relMean(), 1e-12);
            assertTrue(m.coverage() >= 0 && m.coverage() <= 1);
        }
        // the hindsight row is the best hidden window on exactly these origins
        for (int hi = 0; hi < 2; hi++) {
            double best = Double.POSITIVE_INFINITY;
            for (Evaluation.Run run : r.runs) {
                if (run.hidden) {
                    best = Math.min(best, run.metrics(hi, -1).l1Mean());
                }
            }
            assertEquals(best, r.hindsight(hi, -1).l1Mean(), 0.0);
            assertTrue(r.hindsightWindow[hi][2] >= 10);
        }
    }

    @Test
    void commandWritesTablesJsonAndCharts(@TempDir Path dir) throws Exception {
        Path t = dir.resolve("run.npy");
        Path t2 = dir.resolve("run2.npy");
        Traces.write(trace(400, 2, 4, 2), t);
        Traces.write(trace(400, 2, 4, 3), t2);
        Path out = dir.resolve("out");
        int rc = Main.execute("evaluate", t.toString(), "--train", t2.toString(),
                "--predictors", "auto,ema,last-window-sum,lstm-shared:epochs=1:hidden=4,lstm:epochs=1:hidden=4",
                "--horizons", "1,10,100", "--chart-horizon", "100", "--out", out.toString());
        assertEquals(0, rc);
        String md = Files.readString(out.resolve("run.md"));
        assertTrue(md.contains("## Horizon-mean L1 error (%), stable state") || md.contains("transient state"), md);
        assertTrue(md.contains("| auto (default) |"), md);
        assertTrue(md.contains("*hindsight sw-avg (window)*"), md);
        assertTrue(md.contains("lstm-shared:epochs=1:hidden=4"), md);
        assertTrue(Files.size(out.resolve("run.json")) > 1000);
        assertTrue(Files.size(out.resolve("run-error-vs-horizon.png")) > 1000);
        assertTrue(Files.size(out.resolve("run-forecast-vs-actual.png")) > 1000);
    }

    @Test
    void badOptionsAreUserErrors(@TempDir Path dir) throws Exception {
        Path t = dir.resolve("run.npy");
        Traces.write(trace(50, 1, 4, 2), t);
        assertEquals(2, Main.execute("evaluate", t.toString(), "--predictors", "nope", "--out", dir.resolve("o").toString()));
        assertEquals(2, Main.execute("evaluate", t.toString(), "--horizons", "0", "--out", dir.resolve("o").toString()));
        assertEquals(2, Main.execute("evaluate", t.toString(), "--predictors", "lstm", "--out", dir.resolve("o").toString()));
        assertEquals(2, Main.execute("evaluate", dir.resolve("missing.npy").toString()));
    }
}

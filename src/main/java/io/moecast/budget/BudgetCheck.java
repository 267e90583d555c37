package io.moecast.budget;

import io.moecast.Build;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Measures with JMH ({@code io.moecast.bench.BudgetBench}) what moecast adds to one step of a preset,
 * and checks it against a fraction of the step time:
 * <ul>
 *   <li>predictor {@code observe}, every step;</li>
 *   <li>{@code forecast} + EPLB-equivalent {@code plan} of every layer, every {@code replan} steps,
 *       amortised per step;</li>
 *   <li>the verdict row: per step = observe + (forecast + plan) / replan, PASS when ≤ fraction × step
 *       time;</li>
 *   <li>separately and only for information, the routing histogram: the CPU router on a sample batch of
 *       one layer (at most 4,096 tokens), scaled to the preset's tokens per GPU per step × MoE layers. In
 *       a real job the router and its histogram run on the GPU inside the step, so this row is not part
 *       of the verdict.</li>
 * </ul>
 */
public final class BudgetCheck {
    /**
     * How long JMH measures, per benchmark (warm-up iterations x ms, measurement iterations x ms; one
     * fork). SMOKE is for {@code moecast run --quick}: indicative figures in a two-minute run.
     */
    public enum Effort {
        SMOKE(2, 300, 2, 300), QUICK(3, 500, 2, 500), DEFAULT(3, 1000, 3, 1000);

        final int warmups;
        final int warmupMs;
        final int iterations;
        final int iterationMs;

        Effort(int warmups, int warmupMs, int iterations, int iterationMs) {
            this.warmups = warmups;
            this.warmupMs = warmupMs;
            this.iterations = iterations;
            this.iterationMs = iterationMs;
        }
    }

    /**
     * Steps the predictor is fed before it is measured: past the longest horizon it calibrates and scores
     * (5,000 steps), so the figures are its steady state.
     */
    public static final int WARM_STEPS = 6000;

    /** Largest routing sample measured per call (scaled linearly to the tokens per GPU per step). */
    public static final int MAX_SAMPLE_TOKENS = 4096;

    private BudgetCheck() {
    }

    /** One measured component. */
    public record Row(String component, String cadence, double perCallUs, double perStepUs, double share, String verdict) {
    }

    /** The result of a budget check. */
    public record Result(ModelPreset preset, String predictor, int replan, double fraction, String router,
                         int sampleTokens, Effort effort, List<Row> rows, double addedUs, boolean pass,
                         Map<String, double[]> raw) {
        public double stepUs() {
            return preset.stepTimeMs() * 1e3;
        }

        public double budgetUs() {
            return stepUs() * fraction;
        }

        public Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("preset", preset.toMap());
            m.put("predictor", predictor);
            m.put("replan", replan);
            m.put("fraction", fraction);
            m.put("router", router);
            m.put("routing_sample_tokens", sampleTokens);
            m.put("effort", effort.name().toLowerCase(Locale.ROOT));
            m.put("step_us", stepUs());
            m.put("budget_us", budgetUs());
            m.put("added_us_per_step", addedUs);
            m.put("added_share", addedUs / stepUs());
            m.put("verdict", pass ? "PASS" : "FAIL");
            List<Object> rs = new ArrayList<>();
            for (Row r : rows) {
                Map<String, Object> x = new LinkedHashMap<>();
                x.put("component", r.component());
                x.put("cadence", r.cadence());
                x.put("per_call_us", r.perCallUs());
                x.put("per_step_us", r.perStepUs());
                x.put("share_of_step", r.share());
                x.put("verdict", r.verdict());
                rs.add(x);
            }
            m.put("rows", rs);
            Map<String, Object> jmh = new LinkedHashMap<>();
            raw.forEach((k, v) -> jmh.put(k, Map.of("score_us", v[0], "error_us", v[1])));
            m.put("jmh", jmh);
            return m;
        }

        public String toText() {
            StringBuilder sb = new StringBuilder();
            ModelPreset p = preset;
            sb.append(String.format(Locale.ROOT, "moecast budget %s (%s): %s%n", p.name(), p.kind().label(), p.description()));
            sb.append(String.format(Locale.ROOT, "  shape %d MoE layers x %d experts, top-%d; placement %d experts + %d redundant on %d GPUs%s%n",
                    p.moeLayers(), p.experts(), p.topK(), p.experts(), p.redundant(), p.epGpus(), p.nodes() > 1 ? " in " + p.nodes() + " nodes" : ""));
            sb.append(String.format(Locale.ROOT, "  step %.1f ms (%s); budget %.2f%% = %.1f us; predictor %s, re-plan every %d steps; JMH %s, one thread%n",
                    p.stepTimeMs(), p.stepTimeGiven() ? "given" : String.format(Locale.ROOT, "6 x %.3g active x %d tokens / (%d GPUs x %.0f TFLOP/s x MFU %.3f)",
                            p.activeParams(), p.tokensPerStep(), p.gpus(), p.peakTflops(), p.mfu()),
                    100 * fraction, budgetUs(), predictor, replan, effort.name().toLowerCase(Locale.ROOT)));
            sb.append('\n');
            sb.append(String.format(Locale.ROOT, "| %-50s | %-22s | %12s | %12s | %10s | %-7s |%n", "component", "cadence", "per call us", "per step us", "share", "verdict"));
            sb.append("|").append("-".repeat(52)).append("|").append("-".repeat(24)).append("|").append("-".repeat(14)).append("|")
                    .append("-".repeat(14)).append("|").append("-".repeat(12)).append("|").append("-".repeat(9)).append("|\n");
            for (Row r : rows) {
                sb.append(String.format(Locale.ROOT, "| %-50s | %-22s | %12s | %12s | %9.4f%% | %-7s |%n", r.component(), r.cadence(),
                        Double.isNaN(r.perCallUs()) ? "-" : String.format(Locale.ROOT, "%.2f", r.perCallUs()),
                        String.format(Locale.ROOT, "%.2f", r.perStepUs()), 100 * r.share(), r.verdict()));
            }
            sb.append(String.format(Locale.ROOT, "%n  verdict: %s: predictor + planning add %.2f us per step = observe + (forecast + plan) / %d = %.4f%% of the step; budget %.2f%% = %.1f us%n",
                    pass ? "PASS" : "FAIL", addedUs, replan, 100 * addedUs / stepUs(), 100 * fraction, budgetUs()));
            sb.append("  the routing histogram row is for information only: in a real job the router runs on the GPU inside the step; "
                    + "this is what the CPU router would cost, and it is not in the verdict\n");
            sb.append("  figures: ").append(p.sources()).append('\n');
            return sb.toString();
        }
    }

    /** Runs the JMH suite for a preset and builds the verdict. */
    public static Result run(ModelPreset p, String predictor, int replan, double fraction, String router, Effort effort)
            throws RunnerException {
        int sample = Math.max(1, Math.min(p.tokensPerGpuStep(), MAX_SAMPLE_TOKENS));
        ChainedOptionsBuilder ob = new OptionsBuilder()
                .include("io\\.moecast\\.bench\\.BudgetBench\\.")
                .forks(1)
                .jvmArgsAppend(jvmArgs())
                .warmupIterations(effort.warmups)
                .warmupTime(TimeValue.milliseconds(effort.warmupMs))
                .measurementIterations(effort.iterations)
                .measurementTime(TimeValue.milliseconds(effort.iterationMs))
                .threads(1)
                .verbosity(VerboseMode.SILENT)
                .param("layers", String.valueOf(p.moeLayers()))
                .param("experts", String.valueOf(p.experts()))
                .param("topK", String.valueOf(p.topK()))
                .param("scoring", p.scoring().cliName())
                .param("groups", String.valueOf(p.routingGroups()))
                .param("topkGroups", String.valueOf(p.topkGroups()))
                .param("gpus", String.valueOf(p.epGpus()))
                .param("nodes", String.valueOf(p.nodes()))
                .param("redundant", String.valueOf(p.redundant()))
                .param("predictor", predictor)
                .param("replan", String.valueOf(replan))
                .param("sampleTokens", String.valueOf(sample))
                .param("router", router)
                .param("warm", String.valueOf(WARM_STEPS));
        Collection<RunResult> results = new Runner(ob.build()).run();
        Map<String, double[]> raw = new LinkedHashMap<>();
        for (RunResult r : results) {
            String label = r.getParams().getBenchmark();
            label = label.substring(label.lastIndexOf('.') + 1);
            raw.put(label, new double[] {r.getPrimaryResult().getScore(), r.getPrimaryResult().getScoreError()});
        }
        for (String k : List.of("observe", "forecast", "plan", "routeHistogram")) {
            if (!raw.containsKey(k)) {
                throw new IllegalStateException("JMH returned no result for BudgetBench." + k + " (see the benchmark's output)");
            }
        }
        double stepUs = p.stepTimeMs() * 1e3;
        double budget = stepUs * fraction;
        double observe = raw.get("observe")[0];
        double forecast = raw.get("forecast")[0];
        double plan = raw.get("plan")[0];
        double route = raw.get("routeHistogram")[0];
        double routePerStep = route / sample * p.tokensPerGpuStep() * p.moeLayers();
        double added = observe + (forecast + plan) / replan;
        List<Row> rows = new ArrayList<>();
        rows.add(new Row("predictor observe", "every step", observe, observe, observe / stepUs, ""));
        rows.add(new Row("predictor forecast", "every " + replan + " steps", forecast, forecast / replan, forecast / replan / stepUs, ""));
        rows.add(new Row("EPLB-equivalent plan (all layers)", "every " + replan + " steps", plan, plan / replan, plan / replan / stepUs, ""));
        rows.add(new Row("= predictor + planning (the verdict)", "per step", Double.NaN, added, added / stepUs, added <= budget ? "PASS" : "FAIL"));
        rows.add(new Row("info: CPU routing histogram (" + router + ", " + p.tokensPerGpuStep() + " tok/GPU)",
                "every step, " + p.moeLayers() + " layers", route, routePerStep, routePerStep / stepUs, "info"));
        return new Result(p, predictor, replan, fraction, router, sample, effort, rows, added, added <= budget, raw);
    }

    private static String[] jvmArgs() {
        List<String> a = new ArrayList<>(List.of(Build.jvmFlags()));
        a.add("-Xmx2g");
        return a.toArray(String[]::new);
    }
}

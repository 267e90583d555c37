package io.moecast.cli;

import io.moecast.UserError;
import io.moecast.analysis.AnalysisReport;
import io.moecast.analysis.LoadState;
import io.moecast.analysis.StateDetectors;
import io.moecast.analysis.TraceAnalysis;
import io.moecast.budget.BudgetCheck;
import io.moecast.budget.Presets;
import io.moecast.placement.MigrationAwarePlanner;
import io.moecast.placement.PlacementReport;
import io.moecast.placement.PlacementShape;
import io.moecast.placement.PlacementSimulation;
import io.moecast.predict.PredictorContext;
import io.moecast.predict.PredictorSpec;
import io.moecast.predict.Predictors;
import io.moecast.predict.eval.Evaluation;
import io.moecast.predict.eval.EvaluationReport;
import io.moecast.predict.eval.Metrics;
import io.moecast.report.Charts;
import io.moecast.report.MachineInfo;
import io.moecast.report.Report;
import io.moecast.report.ResultsWriter;
import io.moecast.routing.cuda.CudaSupport;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.TraceReader;
import io.moecast.trace.TraceSummary;
import io.moecast.trace.Traces;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code moecast run [TRACE]}: the main job, end to end, into one report. Trace summary → transient/stable
 * analysis → predictor evaluation (the paper's three, the engines' baselines, the default predictor) →
 * placement simulation → step-time budget verdicts → kernel benchmarks (short JMH; CUDA when a GPU is
 * present). Writes {@code report.md}, a self-contained {@code report.html}, {@code summary.json} with every
 * headline figure, the charts and each stage's full output.
 */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The main job: summary, transient/stable analysis, forecast evaluation, placement, step-time "
                + "budgets and kernel benchmarks of a trace, in one report (report.md, report.html, summary.json, charts).",
                "Without TRACE it runs on the bundled traces (traces/): the first is evaluated, the second trains the "
                        + "LSTM (as the source paper trained on one run and tested on another)."})
public final class RunCommand implements Runnable {
    static final String BUNDLED_1 = "moe-gpt-jdk-e16-top2-seed1.npy";
    static final String BUNDLED_2 = "moe-gpt-jdk-e16-top2-seed2.npy";
    /** Budget presets of the report: the paper's two setups, DeepSeek-V3 training and a serving preset. */
    static final List<String> BUDGET_PRESETS = List.of("gpt3-125m-moe", "gpt3-350m-moe", "deepseek-v3", "deepseek-v3-decode");

    @Parameters(arity = "0..1", paramLabel = "TRACE", description = "Trace to run on (default: the bundled seed-1 training trace).")
    Path trace;

    @Option(names = "--train", paramLabel = "TRACE2",
            description = "Another run of the same setup to train the LSTM on (default with the bundled traces: seed 2).")
    Path train;

    @Option(names = "--quick", description = "A short run (under 2 minutes here): fewer horizons and forecast origins, short benchmarks.")
    boolean quick;

    @Option(names = "--gpus", defaultValue = "4", description = "GPUs for the placement simulation (default ${DEFAULT-VALUE}).")
    int gpus;

    @Option(names = "--redundant", description = "Redundant expert slots per layer (default: one per GPU).")
    Integer redundant;

    @Option(names = "--replan", defaultValue = "100", description = "Re-plan every N steps in the placement simulation (default ${DEFAULT-VALUE}).")
    int replan;

    @Option(names = "--no-bench", description = "Skip the JMH stages (budget verdicts and kernel benchmarks).")
    boolean noBench;

    @Mixin
    OutputOptions output;

    private final Map<String, Object> summary = new LinkedHashMap<>();
    private final long t0 = System.nanoTime();
    private int stage;
    private static final int STAGES = 6;

    @Override
    public void run() {
        if (replan < 1) {
            throw UserError.option("--replan", "must be at least 1 step, got " + replan);
        }
        if (gpus < 1) {
            throw UserError.option("--gpus", "must be at least 1, got " + gpus);
        }
        Path main = trace;
        Path second = train;
        if (main == null) {
            Path dir = bundledDir();
            main = dir.resolve(BUNDLED_1);
            if (second == null) {
                second = dir.resolve(BUNDLED_2);
            }
        }
        List<Path> traces = new ArrayList<>(List.of(main));
        if (second != null) {
            traces.add(second);
        }
        validate(traces);
        ResultsWriter w = output.results("run");
        Report r = new Report("moecast run: " + main.getFileName());
        summary.put("trace", main.getFileName().toString());
        summary.put("train", second == null ? null : second.getFileName().toString());
        summary.put("mode", quick ? "quick" : "default");
        r.p(String.format(Locale.ROOT, "Machine: %s. moecast %s, commit %s. Mode: %s. Every figure below was computed by this run; "
                        + "each stage's full output is in this folder.", MachineInfo.oneLine(), io.moecast.Build.version(),
                MachineInfo.get().get("commit"), quick ? "`--quick`" : "default"));

        LoadTrace mainTrace = summaryStage(r, traces);
        LoadTrace trainTrace = second == null ? null : loadTrain(second, mainTrace);
        analysisStage(r, w, traces);
        evaluationStage(r, w, main, mainTrace, trainTrace, second == null ? null : second.getFileName().toString());
        placementStage(r, w, main, mainTrace);
        if (noBench) {
            stage += 2;
            r.h2("5. Step-time budgets").p("Skipped (`--no-bench`).");
            r.h2("6. Kernel benchmarks").p("Skipped (`--no-bench`).");
        } else {
            budgetStage(r, w);
            kernelStage(r, w);
        }
        summary.put("seconds", seconds());
        r.p(String.format(Locale.ROOT, "Total time: %.1f s.", seconds()));
        r.writeTo(w, "report");
        w.writeJson("summary.json", summary);
        if (output.json) {
            OutputOptions.print(ResultsWriter.envelope("run", summary), System.out);
        } else {
            System.out.printf(Locale.ROOT, "%nmoecast run finished in %.1f s%n  report: %s%n  html:   %s%n  figures: %s%n",
                    seconds(), w.dir().resolve("report.md"), w.dir().resolve("report.html"), w.dir().resolve("summary.json"));
        }
    }

    // ---------------------------------------------------------------- stages

    /** Checks every input and option before any work starts, so bad input stops with one line and no output. */
    private void validate(List<Path> traces) {
        int layers = -1;
        int experts = -1;
        for (Path p : traces) {
            try (TraceReader rd = Traces.open(p)) {
                if (layers < 0) {
                    layers = rd.layers();
                    experts = rd.experts();
                    if (rd.steps() >= 0 && rd.steps() <= replan) {
                        throw UserError.option("--replan", p.getFileName() + " has " + rd.steps()
                                + " steps; placement needs more than one window of " + replan);
                    }
                } else if (rd.layers() != layers || rd.experts() != experts) {
                    throw UserError.option("--train", p + " has " + rd.layers() + " layers x " + rd.experts()
                            + " experts, the trace " + layers + " x " + experts);
                }
            } catch (IOException e) {
                throw UserError.inFile(p, "", "cannot read: " + e.getMessage());
            }
        }
        int R = redundant != null ? redundant : gpus;
        try {
            PlacementShape.of(layers, experts, R, gpus, 1, 1);
        } catch (IllegalArgumentException e) {
            throw UserError.option(redundant != null ? "--redundant" : "--gpus", e.getMessage());
        }
    }


    private LoadTrace summaryStage(Report r, List<Path> traces) {
        begin("trace summary");
        r.h2("1. Traces");
        List<List<String>> rows = new ArrayList<>();
        List<Object> out = new ArrayList<>();
        for (Path p : traces) {
            try (TraceReader rd = Traces.open(p)) {
                TraceSummary s = TraceSummary.of(rd);
                out.add(s.toMap());
                double meanImb = 0;
                for (double v : s.imbalanceMean()) {
                    meanImb += v / s.layers();
                }
                rows.add(List.of("`" + p.getFileName() + "`", String.format(Locale.ROOT, "%,d × %d × %d", s.steps(), s.layers(), s.experts()),
                        s.topK() > 0 ? "top-" + s.topK() : "?", s.tokensPerStepMeta() > 0 ? String.format(Locale.ROOT, "%,d", s.tokensPerStepMeta()) : "?",
                        String.format(Locale.ROOT, "%,d", s.slotsMedian()), String.format(Locale.ROOT, "%.2f", meanImb)));
            } catch (IOException e) {
                throw UserError.inFile(p, "", "cannot read: " + e.getMessage());
            }
        }
        r.table(List.of("trace", "steps × MoE layers × experts", "routing", "tokens/step", "routed slots/layer/step (median)", "mean max/mean load"), rows);
        summary.put("traces", out);
        return Traces.load(traces.getFirst());
    }

    private LoadTrace loadTrain(Path p, LoadTrace main) {
        LoadTrace t = Traces.load(p);
        if (t.layers() != main.layers() || t.experts() != main.experts()) {
            throw UserError.option("--train", p + " has " + t.layers() + " layers x " + t.experts() + " experts, the trace "
                    + main.layers() + " x " + main.experts());
        }
        return t;
    }

    private void analysisStage(Report r, ResultsWriter w, List<Path> traces) {
        begin("state analysis");
        r.h2("2. Transient and stable states");
        List<Object> out = new ArrayList<>();
        List<List<String>> rows = new ArrayList<>();
        boolean first = true;
        byte[] loadsChart = null;
        byte[] ratioChart = null;
        for (Path p : traces) {
            TraceAnalysis a = TraceAnalysis.run(p, TraceAnalysis.Options.defaults());
            String base = stem(p);
            Map<String, Object> doc = a.toMap();
            w.writeJson("analysis-" + base + ".json", doc);
            w.writeText("analysis-" + base + ".md", AnalysisReport.markdown(a, List.of()));
            out.add(Map.of("trace", p.getFileName().toString(), "modelTransitionStep", a.timeline.modelTransitionStep(),
                    "layerTransitionSteps", transitions(a), "modelRelapses", a.timeline.modelRelapses()));
            List<String> row = new ArrayList<>();
            row.add("`" + p.getFileName() + "`");
            StringBuilder layers = new StringBuilder();
            for (int l = 0; l < a.layers; l++) {
                long ts = a.timeline.transitionStep(l);
                layers.append(l == 0 ? "" : ", ").append(ts < 0 ? "never" : String.format(Locale.ROOT, "%,d", ts));
            }
            long mt = a.timeline.modelTransitionStep();
            row.add(layers.toString());
            row.add(mt < 0 ? "never" : String.format(Locale.ROOT, "%,d", mt));
            row.add(a.timeline.modelRelapses().isEmpty() ? "none" : a.timeline.modelRelapses().toString());
            rows.add(row);
            if (first) {
                Map<String, byte[]> charts = AnalysisReport.charts(a);
                int worst = 0;
                for (int l = 1; l < a.layers; l++) {
                    if (a.timeline.transitionStep(l) > a.timeline.transitionStep(worst)) {
                        worst = l;
                    }
                }
                String label = Integer.toString(a.layerResults[worst].label);
                loadsChart = charts.get("proportions-layer" + label + ".png");
                ratioChart = charts.get("states-ratio.png");
                first = false;
            }
        }
        r.p("Criterion (the same for every trace): " + "a layer is stable once its windowed variance of load proportions "
                + "stays within a fixed multiple of its own step-to-step noise for a sustained window; see `analysis-*.md` "
                + "for the fluctuation metrics (variance, range, imbalance) per state.");
        r.table(List.of("trace", "transition step per MoE layer", "model transition step", "relapses"), rows);
        if (loadsChart != null) {
            r.chart("loads.png", "Load proportions over training steps of the layer that stabilised last (transient state shaded)", loadsChart);
        }
        if (ratioChart != null) {
            r.chart("states-ratio.png", "Fluctuation-to-noise ratio per layer: the state criterion", ratioChart);
        }
        summary.put("analysis", out);
    }

    private static List<Long> transitions(TraceAnalysis a) {
        List<Long> t = new ArrayList<>();
        for (int l = 0; l < a.layers; l++) {
            t.add(a.timeline.transitionStep(l));
        }
        return t;
    }

    private void evaluationStage(Report r, ResultsWriter w, Path mainPath, LoadTrace t, LoadTrace tr, String trainName) {
        begin("forecast evaluation");
        r.h2("3. Forecasts");
        int[] hs = quick ? new int[] {10, 100, 1000, 2000} : new int[] {1, 10, 100, 1000, 2000};
        List<String> names = new ArrayList<>();
        names.addAll(Predictors.PAPER);
        names.addAll(Predictors.BASELINES);
        names.add(Predictors.DEFAULT);
        List<PredictorSpec> specs = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (String n : names) {
            if (Predictors.needsTraining(n) && tr == null) {
                skipped.add(n);
                continue;
            }
            specs.add(PredictorSpec.parse(n, "--predictors"));
        }
        PredictorContext ctx = PredictorContext.of(t.layers(), t.experts()).withMeta(t.meta()).withTrain(tr).withSeed(1);
        int stride = quick ? 5 : 1;
        Evaluation.Config cfg = new Evaluation.Config(hs, stride, 1, true, Runtime.getRuntime().availableProcessors(), 1000);
        Evaluation.Result res = Evaluation.run(t, specs, ctx, () -> StateDetectors.online(t.layers(), t.experts()), cfg);
        String label = mainPath.getFileName().toString();
        w.writeText("evaluation.md", EvaluationReport.markdown(res, label));
        w.writeJson("evaluation.json", EvaluationReport.json(res, label));
        int state = res.hasStates ? Evaluation.STABLE : -1;
        List<String> header = new ArrayList<>(List.of("predictor"));
        for (int h : hs) {
            header.add("h = " + String.format(Locale.ROOT, "%,d", h));
        }
        List<List<String>> rows = new ArrayList<>();
        Map<String, Map<String, Double>> l1 = new LinkedHashMap<>();
        for (Evaluation.Run run : res.visibleRuns()) {
            List<String> row = new ArrayList<>(List.of(run.spec.equals(Predictors.DEFAULT) ? "**" + run.spec + " (default)**" : run.spec));
            Map<String, Double> m = new LinkedHashMap<>();
            for (int hi = 0; hi < hs.length; hi++) {
                Metrics mt = run.metrics(hi, state);
                double v = mt == null ? Double.NaN : 100 * mt.l1Mean();
                row.add(pct(v));
                m.put(Integer.toString(hs[hi]), v);
            }
            rows.add(row);
            l1.put(run.spec, m);
        }
        List<String> hrow = new ArrayList<>(List.of("hindsight sw-avg (window chosen on the scored data)"));
        Map<String, Double> hm = new LinkedHashMap<>();
        for (int hi = 0; hi < hs.length; hi++) {
            Metrics mt = res.hindsight(hi, state);
            double v = mt == null ? Double.NaN : 100 * mt.l1Mean();
            int[] win = res.hindsightWindow[hi];
            hrow.add(pct(v) + (win == null ? "" : " (" + win[state < 0 ? 2 : state] + ")"));
            hm.put(Integer.toString(hs[hi]), v);
        }
        rows.add(hrow);
        l1.put("hindsight", hm);
        r.p(String.format(Locale.ROOT, "Walk-forward over `%s` (forecast origins every %s), %s. Headline metric: horizon-mean **L1 error** "
                        + "Σₑ|p̂ₑ − pₑ| per layer in %% (twice the share of the layer's tokens forecast on the wrong expert), "
                        + "%s state at the forecast origin (online detector), pooled over layers.%s Full tables (per state, "
                        + "per-step errors, MAE, relative error, coverage of the 90%% upper bounds, cost): `evaluation.md`.",
                label, stride == 1 ? "step" : stride + " steps", trainName == null ? "no training trace (LSTM skipped)" : "LSTM trained on `" + trainName + "` (another run)",
                state < 0 ? "all" : "stable", skipped.isEmpty() ? "" : " Skipped (no training trace): " + String.join(", ", skipped) + "."));
        r.table(header, rows);
        Map<String, Object> ev = new LinkedHashMap<>();
        ev.put("state", state < 0 ? "all" : "stable");
        ev.put("horizons", hs);
        ev.put("horizonMeanL1Pct", l1);
        Map<String, Double> def = l1.get(Predictors.DEFAULT);
        List<String> notes = new ArrayList<>();
        for (String base : List.of("ema", "last-window-sum")) {
            Map<String, Double> b = l1.get(base);
            if (def != null && b != null) {
                Map<String, Double> rel = new LinkedHashMap<>();
                for (String h : List.of("1000", "2000")) {
                    if (def.containsKey(h) && b.containsKey(h)) {
                        double d = 100 * (1 - def.get(h) / b.get(h));
                        rel.put(h, d);
                        notes.add(String.format(Locale.ROOT, "%s at h = %s: %.1f%% %s than %s", Predictors.DEFAULT, h, Math.abs(d), d >= 0 ? "lower" : "higher", base));
                    }
                }
                ev.put("defaultVs_" + base + "_pctLower", rel);
            }
        }
        if (!notes.isEmpty()) {
            r.p(String.join("; ", notes) + ".");
        }
        summary.put("evaluation", ev);
        List<String> show = new ArrayList<>();
        for (PredictorSpec s : specs) {
            if (List.of(Predictors.DEFAULT, "sw-avg", "ema", "last-window-sum", "arima", "lstm").contains(s.text())) {
                show.add(s.text());
            }
        }
        byte[] fc = EvaluationReport.forecastChart(res, label, show);
        if (fc != null) {
            r.chart("forecast-vs-actual.png", "Forecast vs actual load proportions (h = 1,000, the most volatile layer)", fc);
        }
        r.chart("error-vs-horizon.png", "Forecast error vs horizon per predictor", EvaluationReport.horizonChart(res, label));
    }

    private void placementStage(Report r, ResultsWriter w, Path mainPath, LoadTrace t) {
        begin("placement simulation");
        r.h2("4. Placement");
        int R = redundant != null ? redundant : gpus;
        PlacementShape shape;
        try {
            shape = PlacementShape.of(t.layers(), t.experts(), R, gpus, 1, 1);
        } catch (IllegalArgumentException e) {
            throw UserError.option("--gpus/--redundant", e.getMessage());
        }
        if (t.steps() <= replan) {
            throw UserError.option("--replan", "the trace has " + t.steps() + " steps; placement needs more than one window of " + replan);
        }
        int moves = MigrationAwarePlanner.defaultMaxMoves(shape);
        PlacementSimulation.Config cfg = new PlacementSimulation.Config(gpus, R, 1, 1, replan, "eplb", 0, 0.005, moves);
        List<String> preds = List.of(Predictors.DEFAULT);
        List<PlacementSimulation.Outcome> outs;
        try (TraceReader rd = t.reader(mainPath)) {
            outs = new PlacementSimulation(cfg).run(rd, PlacementSimulation.standardStrategies(cfg, preds, t.layers(), t.experts(), true),
                    StateDetectors.online(t.layers(), t.experts()));
        } catch (IOException e) {
            throw UserError.inFile(mainPath, "", "cannot read: " + e.getMessage());
        }
        PlacementReport rep = new PlacementReport(mainPath.getFileName().toString(), shape, cfg, preds, outs);
        w.writeText("placement.md", rep.toText());
        w.writeJson("placement.json", rep.toMap());
        List<List<String>> rows = new ArrayList<>();
        Map<String, Object> bal = new LinkedHashMap<>();
        for (PlacementSimulation.Outcome o : rep.outcomes()) {
            PlacementSimulation.Summary st = o.summary(LoadState.STABLE);
            PlacementSimulation.Summary tr = o.summary(LoadState.TRANSIENT);
            String name = o.strategy.name();
            rows.add(List.of(name.equals(Predictors.DEFAULT) ? "**" + name + " (default)**" : name, cadenceOf(o),
                    f4(tr.windows() == 0 ? Double.NaN : tr.balancedness()), f4(st.windows() == 0 ? Double.NaN : st.balancedness()),
                    f2(st.windows() == 0 ? Double.NaN : st.maxOverMean()), String.format(Locale.ROOT, "%,d", o.moves)));
            bal.put(name, Map.of("stableBalancedness", st.windows() == 0 ? Double.NaN : st.balancedness(),
                    "transientBalancedness", tr.windows() == 0 ? Double.NaN : tr.balancedness(), "experts_moved", o.moves));
        }
        r.p(String.format(Locale.ROOT, "`%s`: %d experts + %d redundant slots per layer on %d GPUs, EPLB-equivalent plans; at every "
                + "re-plan each row plans on its load estimate for the next window and is scored on the loads that came. "
                + "**Balancedness** = Σ over layers of mean GPU load / Σ over layers of max GPU load (1 = perfect), as vLLM "
                + "reports it. Full table: `placement.md`.", mainPath.getFileName(), t.experts(), R, gpus));
        r.table(List.of("load estimate", "re-plan every", "balancedness, transient", "balancedness, stable", "max/mean, stable", "experts moved"), rows);
        r.chart("balancedness.png", "Balancedness over re-plans", rep.chart());
        summary.put("placement", Map.of("gpus", gpus, "redundant", R, "replan", replan, "rows", bal));
    }

    private static String cadenceOf(PlacementSimulation.Outcome o) {
        return o.strategy.source() == PlacementSimulation.Source.STATIC ? "never" : String.format(Locale.ROOT, "%,d", o.strategy.cadence());
    }

    private void budgetStage(Report r, ResultsWriter w) {
        begin("step-time budgets (JMH)");
        r.h2("5. Step-time budgets");
        checkJmhLock(r);
        List<List<String>> rows = new ArrayList<>();
        List<Object> out = new ArrayList<>();
        StringBuilder full = new StringBuilder();
        for (String name : BUDGET_PRESETS) {
            System.err.printf(Locale.ROOT, "  budget %s ...%n", name);
            BudgetCheck.Result res = withJmhLock(() -> BudgetCheck.run(Presets.get(name), Predictors.DEFAULT, 100, 0.01, "auto",
                    quick ? BudgetCheck.Effort.SMOKE : BudgetCheck.Effort.QUICK), r);
            full.append(res.toText()).append('\n');
            out.add(res.toMap());
            rows.add(List.of(name, res.preset().kind().label(), String.format(Locale.ROOT, "%,.1f", res.preset().stepTimeMs()),
                    String.format(Locale.ROOT, "%,.1f", res.budgetUs()), String.format(Locale.ROOT, "%,.1f", res.addedUs()),
                    String.format(Locale.ROOT, "%.4f%%", 100 * res.addedUs() / res.stepUs()), res.pass() ? "**PASS**" : "**FAIL**"));
        }
        w.writeText("budget.md", full.toString());
        r.p("What moecast adds to a training or serving step, measured with JMH on this machine (one thread): the default "
                + "predictor's `observe` every step, plus `forecast` and EPLB-equivalent planning of every layer every 100 steps, "
                + "amortised per step; PASS when that stays within 1% of the step time. Step times are estimates from "
                + "6 · active parameters · tokens / (GPUs · peak FLOP/s · MFU) or published decode latencies; every figure and "
                + "its source, and the CPU routing-histogram cost (shown separately), are in `budget.md`.");
        r.table(List.of("preset", "kind", "step (ms)", "budget (µs)", "added per step (µs)", "share of step", "verdict"), rows);
        summary.put("budget", out);
    }

    private void kernelStage(Report r, ResultsWriter w) {
        begin("kernel benchmarks (JMH)");
        r.h2("6. Routing kernels");
        String tokens = quick ? "65536" : "1048576";
        Map<String, String[]> route = new LinkedHashMap<>();
        route.put("tokens", new String[] {tokens});
        route.put("experts", new String[] {"64"});
        route.put("k", new String[] {"2"});
        route.put("mode", new String[] {"topk-softmax"});
        route.put("impl", new String[] {"vector-1t", "scalar-1t"});
        Map<String, String[]> roof = new LinkedHashMap<>();
        roof.put("tokens", new String[] {tokens});
        roof.put("experts", new String[] {"64"});
        roof.put("threads", new String[] {"1"});
        List<BenchCommand.Row> rows = new ArrayList<>();
        rows.addAll(withJmhLock(() -> BenchCommand.runGroup(new BenchCommand.Group("run kernels", BenchCommand.ROUTE, route), "quick", w.dir()), r));
        rows.addAll(withJmhLock(() -> BenchCommand.runGroup(new BenchCommand.Group("run roof", BenchCommand.ROOF, roof), "quick", w.dir()), r));
        Path peer = peerJar();
        if (peer != null) {
            Map<String, String[]> shape = new LinkedHashMap<>(route);
            shape.put("impl", new String[] {"torch-1t"});
            rows.addAll(BenchCommand.runPeer(peer, "quick", w.dir(), shape));
        }
        List<List<String>> table = new ArrayList<>();
        DefaultCategoryDataset ds = new DefaultCategoryDataset();
        List<Object> out = new ArrayList<>();
        double roofGbs = Double.NaN;
        for (BenchCommand.Row x : rows) {
            if (RoutingSummary.isRoof(x)) {
                roofGbs = (Double) RoutingSummary.derived(x).get("logits_gb_per_s");
            }
        }
        for (BenchCommand.Row x : rows) {
            Map<String, Object> d = RoutingSummary.derived(x);
            double gbs = (Double) d.get("logits_gb_per_s");
            double ns = (Double) d.get("ns_per_token");
            String what = RoutingSummary.isRoof(x) ? "memory-read roof"
                    : x.benchmark().contains("Torch") ? "libtorch peer"
                    : x.p("impl").startsWith("vector") ? "vector router" : "scalar reference";
            table.add(List.of(what, String.format(Locale.ROOT, "%.1f", ns), String.format(Locale.ROOT, "%.2f", gbs),
                    String.format(Locale.ROOT, "%.2f×", roofGbs / gbs)));
            ds.addValue(gbs, "GB/s", what);
            Map<String, Object> m = new LinkedHashMap<>(x.params());
            m.put("what", what);
            m.putAll(d);
            out.add(m);
        }
        r.p(String.format(Locale.ROOT, "Top-k gating with the per-expert histogram, topk-softmax, T = %s tokens, E = 64, k = 2, "
                + "float32 logits, one thread each, JMH with short settings (`moecast bench routing` runs the full suite): "
                + "the Vector API router, the scalar reference, the memory-read roof (a Vector API sum over the same bytes) "
                + "and the libtorch peer (softmax + topk + counting the ids). × roof = time / the roof's time.%s", tokens,
                peer == null ? " The libtorch peer is left out (build it with `mvn -Ppeer package -DskipTests`)." : ""));
        r.table(List.of("kernel", "ns/token", "GB/s of logits", "× roof"), table);
        JFreeChart c = ChartFactory.createBarChart("Routing throughput, T = " + tokens + ", E = 64, k = 2 (one thread)",
                null, "GB/s of logits read (higher is better)", ds, PlotOrientation.HORIZONTAL, false, false, false);
        r.chart("kernels.png", "Routing kernel throughput against the memory-read roof and the peer", Charts.png(c, 1000, 360));
        Map<String, Object> k = new LinkedHashMap<>();
        k.put("cpu", out);
        var gpu = CudaSupport.availability();
        if (gpu.available()) {
            k.put("cuda", gpuTiming());
            r.p("CUDA (" + gpu.message() + "): see `summary.json` → kernels.cuda for CUDA-event timings.");
        } else {
            k.put("cuda", "skipped: " + gpu.message());
            r.p("CUDA: skipped (" + gpu.message() + ").");
        }
        summary.put("kernels", k);
    }

    /** The short CUDA-event timing of the GPU check, loaded reflectively so JCuda links only with a GPU. */
    private static Object gpuTiming() {
        try {
            var m = Class.forName("io.moecast.routing.cuda.GpuTiming").getDeclaredMethod("run", boolean.class);
            m.setAccessible(true);
            return m.invoke(null, true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return "failed: " + e;
        }
    }

    private static Path peerJar() {
        try {
            Path jar = Path.of(RunCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path p = jar.resolveSibling("moecast-peer.jar");
            return Files.isRegularFile(p) && !jar.equals(p) ? p : null;
        } catch (Exception e) {
            return null;
        }
    }

    // ---------------------------------------------------------------- helpers

    interface JmhCall<T> {
        T call() throws Exception;
    }

    /**
     * Before the first JMH run: when another JMH run holds its lock ({@code java.io.tmpdir/jmh.lock}),
     * go on anyway (JMH reads {@code jmh.ignoreLock} once, so it is set before JMH starts) and say in the
     * report and on the console that the figures are disturbed.
     */
    private void checkJmhLock(Report r) {
        if (Boolean.getBoolean("jmh.ignoreLock") || !jmhLockHeld()) {
            return;
        }
        System.setProperty("jmh.ignoreLock", "true");
        String warn = "another JMH run was in progress on this machine while these benchmarks ran: their figures are disturbed";
        System.err.println("moecast: WARNING: " + warn);
        r.p("**Warning:** " + warn + ".");
        summary.put("warning", warn);
    }

    static boolean jmhLockHeld() {
        Path lock = Path.of(System.getProperty("java.io.tmpdir"), "jmh.lock");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(lock,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.channels.FileLock l = ch.tryLock();
            if (l == null) {
                return true;
            }
            l.release();
            return false;
        } catch (java.nio.channels.OverlappingFileLockException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private <T> T withJmhLock(JmhCall<T> call, Report r) {
        try {
            return call.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException("JMH failed: " + e.getMessage(), e);
        }
    }

    private void begin(String name) {
        stage++;
        System.err.printf(Locale.ROOT, "[%d/%d] %-32s (elapsed %.1fs)%n", stage, STAGES, name, seconds());
    }

    private double seconds() {
        return (System.nanoTime() - t0) / 1e9;
    }

    static Path bundledDir() {
        Path repo = MachineInfo.repoRoot();
        for (Path dir : new Path[] {repo == null ? null : repo.resolve("traces"), Path.of("traces")}) {
            if (dir != null && Files.isRegularFile(dir.resolve(BUNDLED_1))) {
                // relative to the working directory where possible: the report names the traces, not this machine's paths
                Path cwd = Path.of("").toAbsolutePath();
                Path abs = dir.toAbsolutePath().normalize();
                return abs.startsWith(cwd) ? cwd.relativize(abs) : dir;
            }
        }
        throw new UserError("moecast run: no TRACE given and the bundled traces (traces/" + BUNDLED_1
                + ") are not here; run it from the repository (./moecast run) or give a trace");
    }

    private static String stem(Path p) {
        return p.getFileName().toString().replaceAll("\\.(npy|npz|csv|jsonl|ndjson)(\\.gz)?$", "");
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String f4(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String f2(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.2f", v);
    }
}

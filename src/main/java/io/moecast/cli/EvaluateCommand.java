package io.moecast.cli;

import io.moecast.UserError;
import io.moecast.analysis.StateDetectors;
import io.moecast.predict.PredictorContext;
import io.moecast.predict.PredictorSpec;
import io.moecast.predict.Predictors;
import io.moecast.predict.eval.Evaluation;
import io.moecast.predict.eval.EvaluationReport;
import io.moecast.report.ResultsWriter;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.Traces;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** {@code moecast evaluate TRACE [--train TRACE2] --predictors ... --horizons ...}. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = {"Walk-forward evaluation of load predictors on a trace: errors per horizon, per MoE layer and per "
                + "state at the forecast origin (online detector), against the hindsight-best sliding window; a "
                + "Markdown table like the source paper's, JSON, and charts.",
                "Predictors: a comma-separated list of names (optionally name:key=value:...), or the groups 'all', "
                        + "'paper', 'baselines', 'default'."})
public final class EvaluateCommand implements Runnable {
    @Parameters(paramLabel = "TRACE", description = "The trace to evaluate on (.npy, .npz, .csv, .jsonl, optionally .gz).")
    Path trace;

    @Option(names = "--train", paramLabel = "TRACE2", description = "A second trace (another run of the same setup) to train model-based predictors (lstm) on; without it they are skipped.")
    Path train;

    @Option(names = "--predictors", paramLabel = "LIST", split = ",", defaultValue = "all",
            description = "Predictors to evaluate (default: ${DEFAULT-VALUE}).")
    List<String> predictors;

    @Option(names = "--horizons", paramLabel = "H,...", split = ",", defaultValue = "1,10,100,1000,2000",
            description = "Forecast horizons in steps (default: ${DEFAULT-VALUE}).")
    List<Integer> horizons;

    @Option(names = "--stride", defaultValue = "1", description = "Forecast at every N-th step (default: ${DEFAULT-VALUE}).")
    int stride;

    @Option(names = "--warmup", defaultValue = "1", description = "Steps observed before the first forecast (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--no-hindsight", description = "Skip the hindsight sliding-window row.")
    boolean noHindsight;

    @Option(names = "--no-states", description = "Do not split errors by transient/stable state.")
    boolean noStates;

    @Option(names = "--threads", defaultValue = "0", description = "Predictors evaluated in parallel (default: the CPU count).")
    int threads;

    @Option(names = "--chart-horizon", defaultValue = "1000", description = "Horizon of the forecast-vs-actual chart (one of --horizons; default: ${DEFAULT-VALUE}).")
    int chartHorizon;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed (model initialisation; default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    OutputOptions output;

    @Override
    public void run() {
        int[] hs = horizons.stream().mapToInt(Integer::intValue).toArray();
        for (int h : hs) {
            if (h < 1) {
                throw UserError.option("--horizons", "must be >= 1, got " + h);
            }
        }
        if (Arrays.stream(hs).distinct().count() != hs.length) {
            throw UserError.option("--horizons", "repeated horizon");
        }
        if (stride < 1) {
            throw UserError.option("--stride", "must be >= 1");
        }
        if (warmup < 1) {
            throw UserError.option("--warmup", "must be >= 1");
        }
        if (threads < 0) {
            throw UserError.option("--threads", "must be >= 0");
        }
        LoadTrace t = Traces.load(trace);
        if (t.steps() < 2) {
            throw UserError.inFile(trace, "", "needs at least 2 steps to evaluate");
        }
        if (t.experts() < 2) {
            throw UserError.inFile(trace, "", "needs at least 2 experts per layer");
        }
        LoadTrace tr = null;
        if (train != null) {
            tr = Traces.load(train);
            if (tr.layers() != t.layers() || tr.experts() != t.experts()) {
                throw UserError.option("--train", train + " has shape " + tr.layers() + " x " + tr.experts()
                        + ", the trace " + t.layers() + " x " + t.experts());
            }
        }
        List<String> skipped = new ArrayList<>();
        List<PredictorSpec> specs = specs(predictors, tr != null, skipped);
        PredictorContext ctx = PredictorContext.of(t.layers(), t.experts()).withMeta(t.meta()).withTrain(tr).withSeed(seed);
        int hc = Arrays.stream(hs).anyMatch(h -> h == chartHorizon) ? chartHorizon : 0;
        int th = threads == 0 ? Runtime.getRuntime().availableProcessors() : threads;
        Evaluation.Config cfg = new Evaluation.Config(hs, stride, warmup, !noHindsight, th, hc);
        Evaluation.Result r = Evaluation.run(t, specs, ctx,
                noStates ? null : () -> StateDetectors.online(t.layers(), t.experts()), cfg);
        String label = trace.getFileName().toString();
        String md = EvaluationReport.markdown(r, label);
        if (!skipped.isEmpty()) {
            md += "\nSkipped (no --train trace): " + String.join(", ", skipped) + ".\n";
        }
        Map<String, Object> doc = EvaluationReport.json(r, label);
        if (train != null) {
            doc.put("train", train.getFileName().toString());
        }
        ResultsWriter w = output.results("evaluate");
        String base = label.replaceAll("\\.(npy|npz|csv|jsonl)(\\.gz)?$", "");
        w.writeText(base + ".md", md);
        w.writeJson(base + ".json", doc);
        List<String> show = new ArrayList<>();
        for (PredictorSpec s : specs) {
            if (s.text().equals(Predictors.DEFAULT) || List.of("sw-avg", "ema", "last-window-sum", "arima", "lstm").contains(s.text())) {
                show.add(s.text());
            }
        }
        byte[] fc = EvaluationReport.forecastChart(r, label, show);
        if (fc != null) {
            w.writeBytes(base + "-forecast-vs-actual.png", fc);
        }
        w.writeBytes(base + "-error-vs-horizon.png", EvaluationReport.horizonChart(r, label));
        if (output.json) {
            OutputOptions.print(ResultsWriter.envelope("evaluate", doc), System.out);
        } else {
            System.out.print(md);
            System.out.println("\nwrote " + w.dir());
        }
    }

    /** Expands groups, parses specs, drops model-based predictors when there is nothing to train on. */
    static List<PredictorSpec> specs(List<String> names, boolean haveTrain, List<String> skipped) {
        Set<String> out = new LinkedHashSet<>();
        for (String raw : names) {
            String s = raw.trim();
            switch (s) {
                case "all" -> out.addAll(Predictors.names());
                case "paper" -> out.addAll(Predictors.PAPER);
                case "baselines" -> out.addAll(Predictors.BASELINES);
                case "default" -> out.add(Predictors.DEFAULT);
                default -> out.add(s);
            }
        }
        List<PredictorSpec> specs = new ArrayList<>();
        for (String s : out) {
            PredictorSpec p = PredictorSpec.parse(s, "--predictors");
            if (!Predictors.exists(p.name())) {
                throw UserError.option("--predictors", "unknown predictor '" + p.name() + "' (known: " + String.join(", ", Predictors.names()) + ")");
            }
            if (Predictors.needsTraining(p.name()) && !haveTrain) {
                skipped.add(s);
                continue;
            }
            specs.add(p);
        }
        if (specs.isEmpty()) {
            throw UserError.option("--predictors", "nothing to evaluate" + (skipped.isEmpty() ? "" : " (" + String.join(", ", skipped) + " need --train)"));
        }
        return specs;
    }
}

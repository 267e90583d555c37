package io.moecast.cli;

import io.moecast.UserError;
import io.moecast.budget.BudgetCheck;
import io.moecast.budget.ModelPreset;
import io.moecast.budget.Presets;
import io.moecast.predict.Predictors;
import io.moecast.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code moecast budget --preset NAME}: what prediction and placement add to a step, measured with JMH. */
@Command(name = "budget", mixinStandardHelpOptions = true,
        description = {"Measure with JMH (one thread) what moecast adds to one step of a model preset: predictor observe "
                + "(every step), forecast + EPLB-equivalent planning (every --replan steps, amortised), and separately the "
                + "routing histogram; PASS when predictor + planning stay within --fraction of the step time.",
                "Presets: gpt3-125m-moe, gpt3-350m-moe, mixtral-8x7b, olmoe-1b-7b, qwen3-235b-a22b, deepseek-v3 (training); "
                        + "deepseek-v3-decode, qwen3-235b-a22b-decode (serving). --list shows them with their sources."})
public final class BudgetCommand implements Runnable {
    @Option(names = "--preset", paramLabel = "NAME", split = ",", description = "Preset(s); 'all' for every preset.")
    List<String> presets;

    @Option(names = "--list", description = "List the presets, their step times and sources, and exit.")
    boolean list;

    @Option(names = "--predictor", paramLabel = "P", description = "Predictor (default: the default predictor).")
    String predictor;

    @Option(names = "--replan", paramLabel = "N", defaultValue = "100", description = "Re-plan every N steps (default ${DEFAULT-VALUE}).")
    int replan;

    @Option(names = "--fraction", paramLabel = "F", defaultValue = "0.01", description = "Budget as a fraction of the step time (default ${DEFAULT-VALUE}).")
    double fraction;

    @Option(names = "--step-ms", paramLabel = "MS", description = "Measured step time in ms (instead of the preset's).")
    Double stepMs;

    @Option(names = "--router", defaultValue = "auto", description = "Router for the histogram cost: auto, scalar, vector (default ${DEFAULT-VALUE}).")
    String router;

    @Option(names = "--quick", description = "Short JMH run (about 10 s per preset) instead of the default (about 30 s).")
    boolean quick;

    @Option(names = "--layers", description = "Override: MoE layers.")
    Integer layers;
    @Option(names = "--experts", description = "Override: experts per MoE layer.")
    Integer experts;
    @Option(names = "--topk", description = "Override: experts per token.")
    Integer topk;
    @Option(names = "--active-params", description = "Override: active parameters per token (e.g. 37e9).")
    Double activeParams;
    @Option(names = "--tokens-per-step", description = "Override: tokens per step (whole job).")
    Long tokensPerStep;
    @Option(names = "--gpus", description = "Override: GPUs of the job (step-time estimate).")
    Integer gpus;
    @Option(names = "--peak-tflops", description = "Override: peak dense TFLOP/s per GPU.")
    Double peakTflops;
    @Option(names = "--mfu", description = "Override: model FLOP utilisation (0..1].")
    Double mfu;
    @Option(names = "--ep-gpus", description = "Override: GPUs the experts are placed on (expert-parallel group).")
    Integer epGpus;
    @Option(names = "--nodes", description = "Override: nodes of the expert-parallel group.")
    Integer nodes;
    @Option(names = "--redundant", description = "Override: redundant expert slots per layer.")
    Integer redundant;
    @Option(names = "--tokens-per-gpu", description = "Override: tokens routed per GPU per step (histogram cost).")
    Integer tokensPerGpu;

    @Mixin
    OutputOptions output;

    @Override
    public void run() {
        if (list) {
            StringBuilder sb = new StringBuilder();
            List<Object> all = new ArrayList<>();
            for (ModelPreset p : Presets.all()) {
                sb.append(String.format(java.util.Locale.ROOT, "%-24s %-8s %3d x %3d top-%d  EP %3d GPUs + %3d redundant  step %9.1f ms  %s%n    %s%n",
                        p.name(), p.kind().label(), p.moeLayers(), p.experts(), p.topK(), p.epGpus(), p.redundant(), p.stepTimeMs(),
                        p.description(), p.sources()));
                all.add(p.toMap());
            }
            output.emit("budget-presets", "budget-presets", all, sb::toString, System.out);
            return;
        }
        if (presets == null || presets.isEmpty()) {
            throw UserError.option("--preset", "give a preset (or 'all'); see --list");
        }
        if (!(fraction > 0) || fraction > 1) {
            throw UserError.option("--fraction", "must be in (0, 1], got " + fraction);
        }
        if (replan < 1) {
            throw UserError.option("--replan", "must be at least 1, got " + replan);
        }
        if (stepMs != null && !(stepMs > 0)) {
            throw UserError.option("--step-ms", "must be > 0, got " + stepMs);
        }
        List<String> names = presets.size() == 1 && presets.getFirst().equalsIgnoreCase("all") ? Presets.names() : presets;
        String pred = predictor != null ? predictor : Predictors.DEFAULT;
        List<ModelPreset> chosen = new ArrayList<>();
        for (String n : names) {
            ModelPreset p;
            try {
                p = Presets.get(n).with(layers, experts, topk, activeParams, tokensPerStep, gpus, peakTflops, mfu, epGpus, nodes,
                        redundant, tokensPerGpu);
                if (stepMs != null) {
                    p = p.withStepMs(stepMs);
                }
                p.placementShape();
                p.routingSpec();
            } catch (IllegalArgumentException e) {
                throw UserError.option("--preset " + n, e.getMessage());
            }
            Predictors.create(pred, p.moeLayers(), p.experts()); // validates the name before JMH starts
            chosen.add(p);
        }
        List<BudgetCheck.Result> results = new ArrayList<>();
        try (Progress prog = Progress.start("budget (JMH)", chosen.size())) {
            for (ModelPreset p : chosen) {
                results.add(BudgetCheck.run(p, pred, replan, fraction, router, quick ? BudgetCheck.Effort.QUICK : BudgetCheck.Effort.DEFAULT));
                prog.step(1);
            }
        } catch (org.openjdk.jmh.runner.RunnerException e) {
            if (String.valueOf(e.getMessage()).contains("jmh.lock")) {
                throw new UserError("budget: another JMH run holds its lock (" + System.getProperty("java.io.tmpdir")
                        + "/jmh.lock); wait for it to finish (or run with MOECAST_JAVA_OPTS=-Djmh.ignoreLock=true to measure anyway)");
            }
            throw new IllegalStateException("JMH failed: " + e.getMessage(), e);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        List<Object> rs = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        for (BudgetCheck.Result r : results) {
            rs.add(r.toMap());
            text.append(r.toText()).append('\n');
        }
        if (results.size() > 1) {
            text.append(summary(results));
        }
        doc.put("results", rs);
        String name = results.size() == 1 ? "budget-" + results.getFirst().preset().name() : "budget";
        output.emit("budget", name, doc, text::toString, System.out);
    }

    static String summary(List<BudgetCheck.Result> results) {
        StringBuilder sb = new StringBuilder("summary (per step; verdict: predictor + planning against the budget)\n\n");
        sb.append(String.format(java.util.Locale.ROOT, "| %-24s | %-8s | %10s | %10s | %11s | %14s | %12s | %9s | %7s | %22s |%n",
                "preset", "kind", "step ms", "budget us", "observe us", "forecast+plan", "added us", "share", "verdict", "info: CPU histogram us"));
        sb.append("|").append("-".repeat(26)).append("|").append("-".repeat(10)).append("|").append("-".repeat(12)).append("|")
                .append("-".repeat(12)).append("|").append("-".repeat(13)).append("|").append("-".repeat(16)).append("|")
                .append("-".repeat(14)).append("|").append("-".repeat(11)).append("|").append("-".repeat(9)).append("|")
                .append("-".repeat(24)).append("|\n");
        for (BudgetCheck.Result r : results) {
            double observe = r.rows().getFirst().perStepUs();
            sb.append(String.format(java.util.Locale.ROOT, "| %-24s | %-8s | %10.1f | %10.1f | %11.2f | %14.2f | %12.2f | %8.4f%% | %-7s | %22.1f |%n",
                    r.preset().name(), r.preset().kind().label(), r.preset().stepTimeMs(), r.budgetUs(), observe, r.addedUs() - observe,
                    r.addedUs(), 100 * r.addedUs() / r.stepUs(), r.pass() ? "PASS" : "FAIL", r.rows().getLast().perStepUs()));
        }
        sb.append("\nadded = observe (every step) + (forecast + EPLB-equivalent plan) / re-plan interval; the CPU histogram column is "
                + "informative (routing runs on the GPU inside the step) and not part of the verdict.\n");
        return sb.toString();
    }
}

package io.moecast.cli;

import io.moecast.UserError;
import io.moecast.analysis.OfflineStateDetector;
import io.moecast.analysis.StateCriterion;
import io.moecast.analysis.StateDetectors;
import io.moecast.analysis.StateTimeline;
import io.moecast.report.ResultsWriter;
import io.moecast.routing.Router;
import io.moecast.routing.Routers;
import io.moecast.routing.ScoringMode;
import io.moecast.sim.RouterTrainingSimulator;
import io.moecast.sim.SimConfig;
import io.moecast.trace.TraceMeta;
import io.moecast.trace.TraceWriter;
import io.moecast.trace.Traces;
import io.moecast.util.Json;
import io.moecast.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code moecast simulate}: train routers on synthetic data through the routing kernels, record the loads. */
@Command(name = "simulate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Router-training simulator: each step draws a batch of tokens (Zipfian vocabulary, clustered "
                + "embeddings that drift as under training), routes every MoE layer through the routing kernels, "
                + "records the per-expert histogram and takes an Adam step on the gate weights (specialisation "
                + "objective + auxiliary load-balancing loss). Writes the load trace (any format) and reports where "
                + "the loads turned from transient to stable.",
                "Objective and data: see io.moecast.sim.RouterTrainingSimulator or the README."})
public final class SimulateCommand implements Runnable {
    @Parameters(index = "0", arity = "0..1", paramLabel = "OUT",
            description = "Trace to write (.npy, .npz, .csv, .jsonl, optionally .gz); default: simulated.npy in the results folder.")
    Path trace;

    @Option(names = "--layers", description = "MoE layers (default ${DEFAULT-VALUE}).")
    int layers = SimConfig.defaults().layers();
    @Option(names = "--experts", description = "Experts per layer (default ${DEFAULT-VALUE}).")
    int experts = SimConfig.defaults().experts();
    @Option(names = {"--k", "--topk"}, description = "Experts per token (default ${DEFAULT-VALUE}).")
    int k = SimConfig.defaults().k();
    @Option(names = "--scoring", description = "softmax-topk, topk-softmax or sigmoid-grouped (default ${DEFAULT-VALUE}).")
    String scoring = SimConfig.defaults().mode().cliName();
    @Option(names = {"--hidden", "--d"}, description = "Hidden size d (default ${DEFAULT-VALUE}).")
    int d = SimConfig.defaults().d();
    @Option(names = "--tokens", description = "Tokens per step (default ${DEFAULT-VALUE}).")
    int tokens = SimConfig.defaults().tokens();
    @Option(names = "--capacity-factor", description = "Capacity per expert = ceil(CF x tokens x k / experts); "
            + "token-slots over it are dropped and counted separately; 0 = no limit (default ${DEFAULT-VALUE}).")
    double capacityFactor = SimConfig.defaults().capacityFactor();
    @Option(names = "--steps", description = "Training steps (default ${DEFAULT-VALUE}).")
    int steps = SimConfig.defaults().steps();
    @Option(names = "--seed", description = "Seed (default ${DEFAULT-VALUE}); the same seed and router give the same trace.")
    long seed = SimConfig.defaults().seed();
    @Option(names = "--aux", description = "Auxiliary load-balancing loss coefficient, 0 allowed (default ${DEFAULT-VALUE}).")
    double aux = SimConfig.defaults().aux();
    @Option(names = "--lr", description = "Peak learning rate of the gates, Adam (default ${DEFAULT-VALUE}).")
    double lr = SimConfig.defaults().lr();
    @Option(names = "--warmup", description = "Linear warm-up steps (default ${DEFAULT-VALUE}).")
    int warmup = SimConfig.defaults().warmup();
    @Option(names = "--min-lr-ratio", description = "Cosine decay ends at lr x this (default ${DEFAULT-VALUE}).")
    double minLrRatio = SimConfig.defaults().minLrRatio();
    @Option(names = "--vocab", description = "Vocabulary size (default ${DEFAULT-VALUE}).")
    int vocab = SimConfig.defaults().vocab();
    @Option(names = "--clusters", description = "Embedding clusters / topics (default ${DEFAULT-VALUE}).")
    int clusters = SimConfig.defaults().clusters();
    @Option(names = "--zipf", description = "Zipf exponent of token frequencies (default ${DEFAULT-VALUE}).")
    double zipf = SimConfig.defaults().zipf();
    @Option(names = "--seq-len", description = "Tokens per sequence (default ${DEFAULT-VALUE}).")
    int seqLen = SimConfig.defaults().seqLen();
    @Option(names = "--topic-mix", description = "Share of a sequence's tokens drawn from its topic (default ${DEFAULT-VALUE}).")
    double topicMix = SimConfig.defaults().topicMix();
    @Option(names = "--drift", description = "Random-walk drift of the embedding clusters per step at peak lr (default ${DEFAULT-VALUE}).")
    double drift = SimConfig.defaults().drift();
    @Option(names = "--settle", description = "Training time (steps at peak lr) over which representations settle (default ${DEFAULT-VALUE}).")
    double settle = SimConfig.defaults().settle();
    @Option(names = "--expert-rate", description = "How fast an expert's skill follows the tokens it gets (default ${DEFAULT-VALUE}).")
    double expertRate = SimConfig.defaults().expertRate();
    @Option(names = "--impl", description = "Router implementation: auto, scalar, vector, cuda (default ${DEFAULT-VALUE}).")
    String impl = "auto";
    @Option(names = "--threads", description = "Router threads (default: every processor; the scalar reference uses one).")
    Integer threads;
    @Option(names = "--micro-batch", description = "Tokens per routing call, 0 = the whole step (default: "
            + RouterTrainingSimulator.DEFAULT_MICRO_BATCH + " on CPU routers, the whole step on a GPU router; results do not depend on it).")
    Integer microBatch;
    @Option(names = "--dropped", paramLabel = "FILE", description = "Also write the token-slots dropped at capacity, per expert and step, as a trace.")
    Path droppedTrace;
    @Option(names = "--state-window", description = "Window of the transient/stable detector (default ${DEFAULT-VALUE}).")
    int stateWindow = StateCriterion.DEFAULT_WINDOW;
    @Option(names = "--csv-long", description = "Write CSV in long form.")
    boolean csvLong;

    @Mixin
    OutputOptions output;

    SimConfig config() {
        ScoringMode mode;
        try {
            mode = ScoringMode.parse(scoring);
        } catch (IllegalArgumentException e) {
            throw UserError.option("--scoring", e.getMessage());
        }
        try {
            return new SimConfig(layers, experts, k, mode, d, tokens, capacityFactor, steps, seed, aux, lr, warmup,
                    minLrRatio, vocab, clusters, zipf, seqLen, topicMix, drift, settle, expertRate);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
    }

    @Override
    public void run() {
        SimConfig cfg = config();
        if (microBatch != null && microBatch < 0) {
            throw UserError.option("--micro-batch", "must be 0 (whole step) or positive");
        }
        StateCriterion criterion;
        try {
            criterion = StateCriterion.of(stateWindow);
        } catch (IllegalArgumentException e) {
            throw UserError.option("--state-window", e.getMessage());
        }
        Router router;
        try {
            if (threads != null && threads < 1) {
                throw UserError.option("--threads", "must be at least 1");
            }
            router = threads == null ? Routers.create(impl) : Routers.create(impl, threads);
        } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
            throw UserError.option("--impl", e.getMessage());
        }
        ResultsWriter results = trace == null || output.out != null ? output.results("simulate") : null;
        Path out = trace != null ? trace : results.dir().resolve("simulated.npy");
        TraceMeta meta = meta(cfg, router);
        int mb = microBatch != null ? microBatch
                : router.name().equals("cuda") ? 0 : RouterTrainingSimulator.DEFAULT_MICRO_BATCH;
        RouterTrainingSimulator sim = new RouterTrainingSimulator(cfg, router, mb);
        OfflineStateDetector states = StateDetectors.offline(cfg.layers(), cfg.experts(), criterion);
        long[] droppedPerLayer = new long[cfg.layers()];
        long routedSlots = (long) cfg.tokens() * cfg.k() * cfg.steps() * cfg.layers();
        double seconds;
        try (TraceWriter w = Traces.writer(out, meta, cfg.layers(), cfg.experts(), 0, csvLong);
             TraceWriter dw = droppedTrace == null ? null
                     : Traces.writer(droppedTrace, meta.copy().source("moecast simulate (token-slots dropped at capacity)"),
                     cfg.layers(), cfg.experts(), 0, csvLong);
             Progress p = Progress.start("simulate", cfg.steps())) {
            long t0 = System.nanoTime();
            for (int s = 0; s < cfg.steps(); s++) {
                int[] counts = sim.step();
                w.write(counts);
                states.observe(s, counts);
                int[] dropped = sim.dropped();
                for (int l = 0; l < cfg.layers(); l++) {
                    for (int e = 0; e < cfg.experts(); e++) {
                        droppedPerLayer[l] += dropped[l * cfg.experts() + e];
                    }
                }
                if (dw != null) {
                    dw.write(dropped);
                }
                p.step(1);
            }
            seconds = (System.nanoTime() - t0) / 1e9;
            w.commit();
            if (dw != null) {
                dw.commit();
            }
        } catch (IOException e) {
            throw new UserError(out + ": cannot write: " + e.getMessage(), e);
        } finally {
            if (router instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // helper threads are daemons
                }
            }
        }
        StateTimeline tl = states.finish();
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("trace", out.toString());
        if (droppedTrace != null) {
            result.put("droppedTrace", droppedTrace.toString());
        }
        result.put("config", cfg.toMap());
        result.put("router", router.name());
        result.put("microBatch", mb);
        result.put("seconds", seconds);
        result.put("stepsPerSecond", cfg.steps() / seconds);
        long dropTotal = 0;
        List<Object> perLayer = new ArrayList<>();
        for (int l = 0; l < cfg.layers(); l++) {
            dropTotal += droppedPerLayer[l];
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("layer", l);
            m.put("transitionStep", tl.transitionStep(l));
            m.put("relapses", tl.relapses(l));
            m.put("droppedSlots", droppedPerLayer[l]);
            perLayer.add(m);
        }
        result.put("droppedSlots", dropTotal);
        result.put("droppedFraction", dropTotal / (double) routedSlots);
        result.put("modelTransitionStep", tl.modelTransitionStep());
        result.put("states", tl.toMap(l -> l));
        result.put("layers", perLayer);
        String text = text(cfg, router, out, seconds, tl, dropTotal, routedSlots);
        if (results != null) {
            results.writeJson("simulate.json", result);
            results.writeText("simulate.md", text);
        }
        if (output.json) {
            OutputOptions.print(ResultsWriter.envelope("simulate", result), System.out);
        } else {
            System.out.print(text);
        }
    }

    static TraceMeta meta(SimConfig cfg, Router router) {
        TraceMeta meta = TraceMeta.empty();
        meta.model(String.format(Locale.ROOT, "moecast router-training simulator: %d MoE layers x %d experts, top-%d %s, d %d",
                cfg.layers(), cfg.experts(), cfg.k(), cfg.mode().cliName(), cfg.d()));
        meta.source("moecast simulate");
        for (Map.Entry<String, Object> e : cfg.toMap().entrySet()) {
            meta.json().set(e.getKey(), Json.MAPPER.valueToTree(e.getValue()));
        }
        int[] idx = new int[cfg.layers()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = i;
        }
        meta.moeLayerIndices(idx);
        meta.json().put("router", router.name());
        return meta;
    }

    private String text(SimConfig cfg, Router router, Path out, double seconds, StateTimeline tl, long dropped, long slots) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "# moecast simulate%n%n"));
        sb.append(String.format(Locale.ROOT, "- trace: `%s` (%d steps x %d layers x %d experts, top-%d %s, %d tokens/step, d %d)%n",
                out, cfg.steps(), cfg.layers(), cfg.experts(), cfg.k(), cfg.mode().cliName(), cfg.tokens(), cfg.d()));
        sb.append(String.format(Locale.ROOT, "- router: %s; %.1f s, %.2f steps/s%n", router.name(), seconds, cfg.steps() / seconds));
        sb.append(String.format(Locale.ROOT, "- aux %.4g, lr %.4g (warm-up %d, cosine to %.0f%%), capacity factor %s, seed %d%n",
                cfg.aux(), cfg.lr(), cfg.warmup(), 100 * cfg.minLrRatio(),
                cfg.capacityFactor() > 0 ? String.format(Locale.ROOT, "%.3g (%d slots/expert)", cfg.capacityFactor(), cfg.capacity()) : "none",
                cfg.seed()));
        if (cfg.capacityFactor() > 0) {
            sb.append(String.format(Locale.ROOT, "- dropped at capacity: %,d token-slots (%.3f%% of routed)%n", dropped, 100.0 * dropped / slots));
        }
        sb.append(String.format(Locale.ROOT, "%nStates (%s):%n%n| layer | transition step | relapses |%n|---|---|---|%n", tl.criterion()));
        for (int l = 0; l < cfg.layers(); l++) {
            long t = tl.transitionStep(l);
            sb.append(String.format(Locale.ROOT, "| %d | %s | %s |%n", l, t < 0 ? "never stable" : Long.toString(t),
                    tl.relapses(l).isEmpty() ? "none" : tl.relapses(l).toString()));
        }
        long m = tl.modelTransitionStep();
        sb.append(String.format(Locale.ROOT, "%nModel stable from step %s.%n", m < 0 ? "- (never)" : Long.toString(m)));
        return sb.toString();
    }
}

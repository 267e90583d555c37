package io.moecast.budget;

import io.moecast.placement.PlacementShape;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model and deployment to check a step-time budget against: the MoE shape (what the predictor,
 * the planner and the router work on), how experts are placed (the expert-parallel group: GPUs,
 * nodes, redundant slots), and how long one step lasts.
 *
 * <p><b>Step time.</b> {@code stepMs} when given (a measured or published step time: always the case
 * for serving decode steps, which are memory-bound), else the training estimate
 * <pre>  6 · activeParams · tokensPerStep / (gpus · peakFlops · mfu)</pre>
 * (the usual 6·N·D training cost: forward 2·N·D, backward 4·N·D; attention FLOPs ignored).
 *
 * <p>Every field can be overridden from the command line; {@link #sources()} says where each figure
 * comes from (model cards and papers, or "assumed" when moecast chose it).
 */
public record ModelPreset(
        String name,
        Kind kind,
        String description,
        int moeLayers,
        int experts,
        int topK,
        ScoringMode scoring,
        int routingGroups,
        int topkGroups,
        double activeParams,
        long tokensPerStep,
        int gpus,
        double peakTflops,
        double mfu,
        double stepMs,
        int epGpus,
        int nodes,
        int redundant,
        int tokensPerGpuStep,
        String sources) {

    public enum Kind {
        TRAINING, SERVING;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public ModelPreset {
        if (moeLayers < 1 || experts < 1 || topK < 1 || topK > experts) {
            throw new IllegalArgumentException(name + ": bad MoE shape " + moeLayers + " x " + experts + " top-" + topK);
        }
        if (stepMs <= 0 && (activeParams <= 0 || tokensPerStep <= 0 || gpus < 1 || peakTflops <= 0 || mfu <= 0 || mfu > 1)) {
            throw new IllegalArgumentException(name + ": the step-time estimate needs active params, tokens per step, GPUs, "
                    + "peak TFLOP/s and an MFU in (0, 1] (or give --step-ms)");
        }
    }

    /** Step time in milliseconds: the given one, else the 6·N·D estimate. */
    public double stepTimeMs() {
        return stepMs > 0 ? stepMs : estimatedStepMs();
    }

    /** The 6·N·D estimate in ms (NaN when an input is missing). */
    public double estimatedStepMs() {
        if (activeParams <= 0 || tokensPerStep <= 0 || gpus < 1 || peakTflops <= 0 || mfu <= 0) {
            return Double.NaN;
        }
        return 6.0 * activeParams * tokensPerStep / (gpus * peakTflops * 1e12 * mfu) * 1e3;
    }

    /** Whether the step time is the given one rather than estimated. */
    public boolean stepTimeGiven() {
        return stepMs > 0;
    }

    /** The placement shape for the expert-parallel group. */
    public PlacementShape placementShape() {
        return PlacementShape.of(moeLayers, experts, redundant, epGpus, nodes, routingGroups);
    }

    /** The router spec of one MoE layer. */
    public RoutingSpec routingSpec() {
        return scoring == ScoringMode.SIGMOID_GROUPED
                ? RoutingSpec.grouped(experts, topK, routingGroups, topkGroups, null)
                : RoutingSpec.of(experts, topK, scoring);
    }

    public ModelPreset withStepMs(double v) {
        return new ModelPreset(name, kind, description, moeLayers, experts, topK, scoring, routingGroups, topkGroups,
                activeParams, tokensPerStep, gpus, peakTflops, mfu, v, epGpus, nodes, redundant, tokensPerGpuStep, sources);
    }

    public ModelPreset with(Integer moeLayers, Integer experts, Integer topK, Double activeParams, Long tokensPerStep,
                            Integer gpus, Double peakTflops, Double mfu, Integer epGpus, Integer nodes, Integer redundant,
                            Integer tokensPerGpuStep) {
        return new ModelPreset(name, kind, description,
                moeLayers != null ? moeLayers : this.moeLayers,
                experts != null ? experts : this.experts,
                topK != null ? topK : this.topK,
                scoring, routingGroups, topkGroups,
                activeParams != null ? activeParams : this.activeParams,
                tokensPerStep != null ? tokensPerStep : this.tokensPerStep,
                gpus != null ? gpus : this.gpus,
                peakTflops != null ? peakTflops : this.peakTflops,
                mfu != null ? mfu : this.mfu,
                stepMs,
                epGpus != null ? epGpus : this.epGpus,
                nodes != null ? nodes : this.nodes,
                redundant != null ? redundant : this.redundant,
                tokensPerGpuStep != null ? tokensPerGpuStep : this.tokensPerGpuStep,
                sources);
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", name);
        m.put("kind", kind.label());
        m.put("description", description);
        m.put("moe_layers", moeLayers);
        m.put("experts", experts);
        m.put("top_k", topK);
        m.put("scoring", scoring.cliName());
        m.put("routing_groups", routingGroups);
        m.put("topk_groups", topkGroups);
        m.put("active_params", activeParams);
        m.put("tokens_per_step", tokensPerStep);
        m.put("gpus", gpus);
        m.put("peak_tflops", peakTflops);
        m.put("mfu", mfu);
        m.put("step_ms_given", stepMs > 0 ? stepMs : null);
        m.put("step_ms_estimated", Double.isNaN(estimatedStepMs()) ? null : estimatedStepMs());
        m.put("step_ms", stepTimeMs());
        m.put("ep_gpus", epGpus);
        m.put("nodes", nodes);
        m.put("redundant", redundant);
        m.put("tokens_per_gpu_step", tokensPerGpuStep);
        m.put("sources", sources);
        return m;
    }
}

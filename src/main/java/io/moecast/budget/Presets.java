package io.moecast.budget;

import io.moecast.budget.ModelPreset.Kind;
import io.moecast.routing.ScoringMode;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The built-in model presets. Model-shape figures come from papers and model cards; deployment figures
 * (GPUs, tokens per step, MFU) are published where the model's authors gave them and otherwise
 * <b>assumed</b> by moecast and marked so; every one can be overridden on the command line.
 *
 * <p>Hardware peaks (dense, no sparsity): RTX 4090 BF16 tensor 165.2 TFLOP/s with FP32 accumulate
 * (NVIDIA Ada Lovelace architecture whitepaper, appendix); A800 = A100 BF16 312 TFLOP/s (NVIDIA A100
 * datasheet; the A800 differs only in NVLink bandwidth); H100/H800 SXM BF16 989 TFLOP/s (NVIDIA H100
 * datasheet; the H800 keeps the H100's compute).
 */
public final class Presets {
    private Presets() {
    }

    /** Active parameters of a GPT-3-style model whose every other FFN is an MoE layer with top-k experts:
     *  the dense count plus (k−1) extra expert FFNs (2 matrices d×4d) per MoE layer. */
    static double gpt3MoeActive(double denseParams, int moeLayers, int k, int d) {
        return denseParams + (double) moeLayers * (k - 1) * 8.0 * d * d;
    }

    private static final List<ModelPreset> ALL = List.of(
            new ModelPreset("gpt3-125m-moe", Kind.TRAINING,
                    "GPT-3 Small 125M with 16-expert MoE in every other layer, 4x RTX 4090 (the source paper's setup 1)",
                    6, 16, 2, ScoringMode.SOFTMAX_TOPK, 1, 1,
                    gpt3MoeActive(125e6, 6, 2, 768), 256L * 2048, 4, 165.2, 0.30, 0,
                    4, 1, 4, 256 * 2048 / 4,
                    "shape, batch 256 and GPUs: Cong et al., arXiv 2404.16914, Table I (12 layers, 6 MoE, 16 experts, d=768, "
                            + "4x RTX 4090); top-2 and sequence length 2048 (GPT-3's context, Brown et al. 2020) assumed, the paper "
                            + "gives neither; MFU 0.30 assumed; 1 redundant slot per GPU chosen by moecast"),
            new ModelPreset("gpt3-350m-moe", Kind.TRAINING,
                    "GPT-3 Medium 350M with 128-expert MoE in every other layer, 4x A800 (the source paper's setup 2)",
                    12, 128, 2, ScoringMode.SOFTMAX_TOPK, 1, 1,
                    gpt3MoeActive(350e6, 12, 2, 1024), 256L * 2048, 4, 312, 0.30, 0,
                    4, 1, 4, 256 * 2048 / 4,
                    "shape, batch 256 and GPUs: Cong et al., arXiv 2404.16914, Table I (24 layers, 12 MoE, 128 experts, d=1024, "
                            + "4x A800); top-2 and sequence length 2048 assumed; MFU 0.30 assumed; 1 redundant slot per GPU chosen by moecast"),
            new ModelPreset("mixtral-8x7b", Kind.TRAINING,
                    "Mixtral 8x7B (32 MoE layers x 8 experts, top-2), EP8 inside 8-GPU nodes of a 256-GPU H100 job",
                    32, 8, 2, ScoringMode.TOPK_SOFTMAX, 1, 1,
                    12.9e9, 1024L * 4096, 256, 989, 0.40, 0,
                    8, 1, 8, 1024 * 4096 / 256,
                    "shape: Jiang et al., Mixtral of Experts, arXiv 2401.04088 (32 layers, 8 experts, top-2; 47B total, 13B active) "
                            + "and Mistral AI's release note (12.9B active); training deployment not published: 256 H100, 4M-token "
                            + "steps (1024 x 4096), MFU 0.40 and 1 redundant slot per GPU assumed"),
            new ModelPreset("olmoe-1b-7b", Kind.TRAINING,
                    "OLMoE-1B-7B (16 MoE layers x 64 experts, top-8), EP8 inside 8-GPU H100 nodes",
                    16, 64, 8, ScoringMode.SOFTMAX_TOPK, 1, 1,
                    1.3e9, 1024L * 4096, 128, 989, 0.35, 0,
                    8, 1, 8, 1024 * 4096 / 128,
                    "shape: Muennighoff et al., OLMoE, arXiv 2409.02060 and the allenai/OLMoE-1B-7B-0924 model card (16 layers, "
                            + "64 experts, top-8, 6.9B total, 1.3B active, 4,096 context); 128 H100 per a third-party summary of the "
                            + "paper (labindex.ai); 4M-token steps (1024 x 4096), MFU 0.35 and 1 redundant slot per GPU assumed"),
            new ModelPreset("qwen3-235b-a22b", Kind.TRAINING,
                    "Qwen3-235B-A22B (94 MoE layers x 128 experts, top-8), EP32 over 4 nodes of a 2048-GPU job",
                    94, 128, 8, ScoringMode.TOPK_SOFTMAX, 1, 1,
                    22e9, 1024L * 4096, 2048, 989, 0.30, 0,
                    32, 4, 32, 1024 * 4096 / 2048,
                    "shape: Qwen3 Technical Report, arXiv 2505.09388, Table 2, and the Qwen/Qwen3-235B-A22B model card (94 layers, "
                            + "128 experts, 8 activated, no shared expert, 235B total, 22B active; top-k probabilities renormalised); "
                            + "training hardware not published: 2048 H100-class GPUs, 4M-token steps, MFU 0.30, EP32 with 1 redundant "
                            + "slot per GPU assumed"),
            new ModelPreset("deepseek-v3", Kind.TRAINING,
                    "DeepSeek-V3 (58 MoE layers x 256 routed experts, top-8 of 8 groups keep 4), 2048 H800, EP64 over 8 nodes",
                    58, 256, 8, ScoringMode.SIGMOID_GROUPED, 8, 4,
                    37e9, 15360L * 4096, 2048, 989, 0.346, 0,
                    64, 8, 64, 15360 * 4096 / 2048,
                    "DeepSeek-V3 Technical Report, arXiv 2412.19437: 61 layers of which the first 3 dense (58 MoE), 1 shared + "
                            + "256 routed experts, 8 activated, at most 4 nodes per token (8 groups, keep 4), 37B active of 671B; "
                            + "2048 H800, EP64 over 8 nodes, final batch 15,360 sequences x 4K tokens; MFU 0.346 derived from its "
                            + "180K H800 GPU-hours per trillion tokens (6 x 37e9 x 1e12 / (180e3 h x 3600 x 989e12)), i.e. a ~20 s "
                            + "step; the training run used no redundant experts: 1 per GPU chosen by moecast (--redundant 0 to drop)"),
            new ModelPreset("deepseek-v3-decode", Kind.SERVING,
                    "DeepSeek-V3 decode step: EP320 over 40 nodes, one expert per GPU, 64 GPUs for redundant experts",
                    58, 256, 8, ScoringMode.SIGMOID_GROUPED, 8, 4,
                    37e9, 320L * 83, 320, 989, 0.0, 45,
                    320, 40, 64, 83,
                    "deployment: DeepSeek-V3 Technical Report, arXiv 2412.19437, section 3.4.2 (decoding unit of 40 nodes, 320 GPUs, "
                            + "EP320, one expert per GPU, 64 GPUs for redundant and shared experts); step 45 ms from DeepSeek's "
                            + "inference-system overview (Open Infra Index, day 6: 20-22 output tokens/s per user, i.e. 45-50 ms per "
                            + "decode step; the tight end); 83 tokens per GPU per step = its 14.8k output tokens/s per 8-GPU node x 45 ms / 8"),
            new ModelPreset("qwen3-235b-a22b-decode", Kind.SERVING,
                    "Qwen3-235B-A22B decode step: EP32 over 4 nodes with 32 redundant experts",
                    94, 128, 8, ScoringMode.TOPK_SOFTMAX, 1, 1,
                    22e9, 32L * 83, 32, 989, 0.0, 25,
                    32, 4, 32, 83,
                    "shape: Qwen3 Technical Report, arXiv 2505.09388, and the model card; step 25 ms estimated as half of "
                            + "DeepSeek-V3's 45-50 ms decode step, following RTP-LLM's Qwen3 deployment note (attention ~50%, "
                            + "dispatch/combine ~40%, MoE GEMM ~50% of DeepSeek-V3's in the same deployment mode); EP32 with 32 "
                            + "redundant experts and 83 tokens per GPU per step assumed (as DeepSeek-V3's decode)"));

    public static List<ModelPreset> all() {
        return ALL;
    }

    public static List<String> names() {
        return ALL.stream().map(ModelPreset::name).toList();
    }

    /** The preset by name (case-insensitive). */
    public static ModelPreset get(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        for (ModelPreset p : ALL) {
            if (p.name().equals(n)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown preset '" + name + "' (use one of " + String.join(", ", names()) + ")");
    }

    public static Map<String, ModelPreset> byName() {
        Map<String, ModelPreset> m = new LinkedHashMap<>();
        for (ModelPreset p : ALL) {
            m.put(p.name(), p);
        }
        return m;
    }
}

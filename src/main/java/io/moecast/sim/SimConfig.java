package io.moecast.sim;

import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Settings of the router-training simulator ({@link RouterTrainingSimulator}). Immutable; change
 * settings through {@link #toBuilder()}. Defaults: 12 MoE layers × 16 experts, top-2 softmax-topk,
 * d = 256, 8,192 tokens per step, no capacity limit, auxiliary loss 0.01, Adam with learning rate 0.01
 * warmed up over 200 steps then cosine-decayed to 10%, 3,000 steps, seed 1; data: 8,192-token Zipf(1.1)
 * vocabulary in 32 clusters, sequences of 64 tokens taking 20% of their tokens from their topic,
 * centre drift 0.02, representations settling over 300 peak-lr steps, expert skill rate 0.02.
 * Every setting that changes the trace is recorded in the trace's metadata ({@link #toMap()}).
 *
 * @param layers          MoE layers
 * @param experts         experts per layer
 * @param k               experts per token
 * @param mode            scoring mode of the router
 * @param d               hidden size
 * @param tokens          tokens per step
 * @param capacityFactor  capacity per expert = ceil(cf·tokens·k/experts) token-slots; 0 = no limit
 * @param steps           training steps
 * @param seed            seed of every random choice (data, initialisation)
 * @param aux             coefficient of the auxiliary load-balancing loss (0 allowed)
 * @param lr              peak learning rate of the gate (Adam)
 * @param warmup          linear warm-up steps
 * @param minLrRatio      the cosine decay ends at lr·minLrRatio
 * @param vocab           vocabulary size
 * @param clusters        clusters of token embeddings (topics)
 * @param zipf            Zipf exponent of token frequencies
 * @param seqLen          tokens per sequence (a sequence draws {@code topicMix} of its tokens from one topic)
 * @param topicMix        share of a sequence's tokens drawn from its topic
 * @param drift           drift of the cluster centres per step at the peak learning rate (relative to their spread)
 * @param settle          training time (in steps at the peak learning rate) over which representations settle
 *                        from their initial to their trained structure (e-folding)
 * @param expertRate      how fast an expert's skill follows the tokens it processes (per step, at peak lr)
 */
public record SimConfig(int layers, int experts, int k, ScoringMode mode, int d, int tokens, double capacityFactor,
                        int steps, long seed, double aux, double lr, int warmup, double minLrRatio,
                        int vocab, int clusters, double zipf, int seqLen, double topicMix, double drift,
                        double settle, double expertRate) {
    /** Rank of the token-specific and context parts of a hidden state (see {@link RouterTrainingSimulator}). */
    public static final int RANK = 16;
    /** Context vectors in the bank a token occurrence draws its context from. */
    public static final int CONTEXTS = 256;

    public static SimConfig defaults() {
        return new SimConfig(12, 16, 2, ScoringMode.SOFTMAX_TOPK, 256, 8192, 0.0, 3000, 1L, 0.01, 0.01, 200, 0.1,
                8192, 32, 1.1, 64, 0.2, 0.02, 300, 0.02);
    }

    public SimConfig {
        check(layers >= 1, "--layers", "must be at least 1");
        check(experts >= 1, "--experts", "must be at least 1");
        check(k >= 1 && k <= experts, "--k", "must be between 1 and the number of experts (" + experts + ")");
        check(d >= 1, "--hidden", "must be at least 1");
        check(tokens >= 1 && (long) tokens * Math.max(d, experts) <= Integer.MAX_VALUE - 8, "--tokens",
                "must be at least 1 and tokens x hidden must fit an array");
        check(capacityFactor == 0 || capacityFactor > 0 && Double.isFinite(capacityFactor), "--capacity-factor", "must be 0 (no limit) or positive");
        check(steps >= 1, "--steps", "must be at least 1");
        check(aux >= 0 && Double.isFinite(aux), "--aux", "must be 0 or positive");
        check(lr > 0 && Double.isFinite(lr), "--lr", "must be positive");
        check(warmup >= 0, "--warmup", "must be 0 or positive");
        check(minLrRatio >= 0 && minLrRatio <= 1, "--min-lr-ratio", "must be between 0 and 1");
        check(vocab >= 1, "--vocab", "must be at least 1");
        check(clusters >= 1 && clusters <= vocab, "--clusters", "must be between 1 and the vocabulary size");
        check(zipf >= 0 && Double.isFinite(zipf), "--zipf", "must be 0 or positive");
        check(seqLen >= 1, "--seq-len", "must be at least 1");
        check(topicMix >= 0 && topicMix <= 1, "--topic-mix", "must be between 0 and 1");
        check(drift >= 0 && Double.isFinite(drift), "--drift", "must be 0 or positive");
        check(settle > 0 && Double.isFinite(settle), "--settle", "must be positive");
        check(expertRate >= 0 && expertRate <= 1, "--expert-rate", "must be between 0 and 1");
        if (mode == null) {
            throw new IllegalArgumentException("--scoring: missing");
        }
        spec(experts, k, mode); // validates groups for sigmoid-grouped
    }

    private static void check(boolean ok, String option, String problem) {
        if (!ok) {
            throw new IllegalArgumentException(option + ": " + problem);
        }
    }

    static RoutingSpec spec(int experts, int k, ScoringMode mode) {
        return RoutingSpec.of(experts, k, mode);
    }

    public RoutingSpec spec() {
        return spec(experts, k, mode);
    }

    /** Capacity per expert in token-slots, or Integer.MAX_VALUE when there is no limit. */
    public int capacity() {
        if (capacityFactor <= 0) {
            return Integer.MAX_VALUE;
        }
        return (int) Math.min(Integer.MAX_VALUE, (long) Math.ceil(capacityFactor * tokens * (double) k / experts));
    }

    /** Learning rate at a step: linear warm-up, then cosine decay to lr·minLrRatio at the last step. */
    public double lrAt(long step) {
        if (step < warmup) {
            return lr * (step + 1) / warmup;
        }
        long span = Math.max(1, steps - warmup);
        double f = Math.min(1.0, (step - warmup) / (double) span);
        return lr * (minLrRatio + (1 - minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * f)));
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    public SimConfig withSteps(int v) {
        return toBuilder().steps(v).build();
    }

    public SimConfig withSeed(long v) {
        return toBuilder().seed(v).build();
    }

    /** A mutable copy for changing several settings; {@link #build()} validates. */
    public static final class Builder {
        int layers, experts, k, d, tokens, steps, warmup, vocab, clusters, seqLen;
        ScoringMode mode;
        double capacityFactor, aux, lr, minLrRatio, zipf, topicMix, drift, settle, expertRate;
        long seed;

        Builder(SimConfig c) {
            layers = c.layers; experts = c.experts; k = c.k; mode = c.mode; d = c.d; tokens = c.tokens;
            capacityFactor = c.capacityFactor; steps = c.steps; seed = c.seed; aux = c.aux; lr = c.lr;
            warmup = c.warmup; minLrRatio = c.minLrRatio; vocab = c.vocab; clusters = c.clusters; zipf = c.zipf;
            seqLen = c.seqLen; topicMix = c.topicMix; drift = c.drift; settle = c.settle; expertRate = c.expertRate;
        }

        public Builder layers(int v) { layers = v; return this; }
        public Builder experts(int v) { experts = v; return this; }
        public Builder k(int v) { k = v; return this; }
        public Builder mode(ScoringMode v) { mode = v; return this; }
        public Builder d(int v) { d = v; return this; }
        public Builder tokens(int v) { tokens = v; return this; }
        public Builder capacityFactor(double v) { capacityFactor = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder aux(double v) { aux = v; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder warmup(int v) { warmup = v; return this; }
        public Builder minLrRatio(double v) { minLrRatio = v; return this; }
        public Builder vocab(int v) { vocab = v; return this; }
        public Builder clusters(int v) { clusters = v; return this; }
        public Builder zipf(double v) { zipf = v; return this; }
        public Builder seqLen(int v) { seqLen = v; return this; }
        public Builder topicMix(double v) { topicMix = v; return this; }
        public Builder drift(double v) { drift = v; return this; }
        public Builder settle(double v) { settle = v; return this; }
        public Builder expertRate(double v) { expertRate = v; return this; }

        public SimConfig build() {
            return new SimConfig(layers, experts, k, mode, d, tokens, capacityFactor, steps, seed, aux, lr, warmup,
                    minLrRatio, vocab, clusters, zipf, seqLen, topicMix, drift, settle, expertRate);
        }
    }

    /** Sidecar keys describing the run (the trace metadata keeps them). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("layers", layers);
        m.put("experts", experts);
        m.put("topk", k);
        m.put("scoring", mode.cliName());
        m.put("d", d);
        m.put("tokens_per_step", tokens);
        m.put("cap", capacityFactor);
        m.put("steps", steps);
        m.put("seed", seed);
        m.put("aux", aux);
        m.put("lr", lr);
        m.put("warmup", warmup);
        m.put("min_lr_ratio", minLrRatio);
        m.put("vocab", vocab);
        m.put("clusters", clusters);
        m.put("zipf", zipf);
        m.put("seq", seqLen);
        m.put("topic_mix", topicMix);
        m.put("drift", drift);
        m.put("settle", settle);
        m.put("expert_rate", expertRate);
        return m;
    }
}

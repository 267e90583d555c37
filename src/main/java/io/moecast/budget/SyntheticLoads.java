package io.moecast.budget;

import java.util.Random;

/**
 * Seeded synthetic expert loads and router logits for cost measurements at a model's shape, with
 * production-like skew: each layer's expert shares follow a Zipf-like law (exponent 0.8, so the hottest
 * of 256 experts carries several times the mean, as published counts show) over a random expert order,
 * and each step adds multiplicative noise of a few percent. Costs of observe/forecast/plan/route do not
 * depend on the values beyond their shape, except through data-dependent branches, which this keeps
 * realistic.
 */
public final class SyntheticLoads {
    private final int layers;
    private final int experts;
    private final long slotsPerStep;
    private final Random rnd;
    private final double[] share;

    public SyntheticLoads(int layers, int experts, long slotsPerStep, long seed) {
        this.layers = layers;
        this.experts = experts;
        this.slotsPerStep = slotsPerStep;
        this.rnd = new Random(seed);
        this.share = new double[layers * experts];
        for (int l = 0; l < layers; l++) {
            int[] order = new int[experts];
            for (int e = 0; e < experts; e++) {
                order[e] = e;
            }
            for (int e = experts - 1; e > 0; e--) {
                int j = rnd.nextInt(e + 1);
                int t = order[e];
                order[e] = order[j];
                order[j] = t;
            }
            double sum = 0;
            for (int e = 0; e < experts; e++) {
                double w = 1.0 / Math.pow(e + 1, 0.8);
                share[l * experts + order[e]] = w;
                sum += w;
            }
            for (int e = 0; e < experts; e++) {
                share[l * experts + e] /= sum;
            }
        }
    }

    /** {@code n} steps of counts, {@code [step][layer * experts + expert]}. */
    public int[][] ring(int n) {
        int[][] out = new int[n][layers * experts];
        for (int s = 0; s < n; s++) {
            for (int i = 0; i < layers * experts; i++) {
                double v = share[i] * slotsPerStep * (1 + 0.05 * rnd.nextGaussian());
                out[s][i] = (int) Math.max(0, Math.round(v));
            }
        }
        return out;
    }

    /** Router logits {@code [tokens][experts]}: standard normal plus a per-expert bias that follows the shares. */
    public float[] logits(int tokens, int experts) {
        float[] x = new float[tokens * experts];
        for (int t = 0; t < tokens; t++) {
            for (int e = 0; e < experts; e++) {
                x[t * experts + e] = (float) (rnd.nextGaussian() + Math.log(share[e % share.length] * experts));
            }
        }
        return x;
    }
}

package io.moecast.predict;

import java.util.Arrays;

/**
 * {@code ema}: MindSpeed's expert-load prediction for training-time expert placement
 * ({@code mindspeed/core/transformer/moe/expert_placement}): per expert, on the raw token counts,
 * {@code m ← β·m + (1−β)·count} with β = 0.9, starting from m = 0. The forecast for every future step is
 * m normalised per layer (the zero start only scales m, so the shares are unaffected).
 * Parameter: {@code beta} (default 0.9).
 */
public final class EmaPredictor extends FlatPredictor {
    private final double beta;
    private final double[] m;

    public EmaPredictor(int layers, int experts, double beta, double confidence) {
        super("ema", layers, experts, confidence, true);
        if (!(beta >= 0 && beta < 1)) {
            throw new IllegalArgumentException("beta must be in [0, 1): " + beta);
        }
        this.beta = beta;
        this.m = new double[n];
    }

    public double beta() {
        return beta;
    }

    @Override
    protected void update(long step, int[] counts, double[] share) {
        Kernels.emaCounts(m, counts, beta, 1 - beta, n);
    }

    @Override
    protected void level(double[] out) {
        System.arraycopy(m, 0, out, 0, n);
        normalize(out, layers, experts);
    }

    @Override
    protected void resetState() {
        Arrays.fill(m, 0);
    }
}

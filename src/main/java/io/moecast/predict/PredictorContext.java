package io.moecast.predict;

import io.moecast.analysis.OnlineStateDetector;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.TraceMeta;

import java.util.function.Supplier;

/**
 * What a predictor may be told besides its shape: the trace metadata (tokens per step, top-k: the
 * multinomial noise floor), a training trace for model-based predictors (the LSTM), a source of online
 * transient/stable detectors for state-aware predictors, and a random seed. Immutable; the
 * {@code with...} methods return copies.
 *
 * @param layers    MoE layers
 * @param experts   experts per MoE layer
 * @param meta      trace metadata (never null; empty when unknown)
 * @param train     a trace to train model-based predictors on, or null
 * @param detectors makes a fresh online state detector for this shape, or null (no state information)
 * @param seed      random seed (model initialisation)
 */
public record PredictorContext(int layers, int experts, TraceMeta meta, LoadTrace train,
                               Supplier<OnlineStateDetector> detectors, long seed) {
    public PredictorContext {
        if (layers < 1 || experts < 2) {
            throw new IllegalArgumentException("need layers >= 1 and experts >= 2, got " + layers + " x " + experts);
        }
        if ((long) layers * experts > Integer.MAX_VALUE / 16) {
            throw new IllegalArgumentException("shape too large: " + layers + " x " + experts);
        }
        meta = meta == null ? TraceMeta.empty() : meta;
    }

    /** Just a shape: no metadata, no training trace; state detectors from the default factory. */
    public static PredictorContext of(int layers, int experts) {
        return new PredictorContext(layers, experts, null, null, Predictors.defaultDetectors(layers, experts), 1L);
    }

    public PredictorContext withMeta(TraceMeta m) {
        return new PredictorContext(layers, experts, m, train, detectors, seed);
    }

    public PredictorContext withTrain(LoadTrace t) {
        return new PredictorContext(layers, experts, meta, t, detectors, seed);
    }

    public PredictorContext withDetectors(Supplier<OnlineStateDetector> d) {
        return new PredictorContext(layers, experts, meta, train, d, seed);
    }

    public PredictorContext withSeed(long s) {
        return new PredictorContext(layers, experts, meta, train, detectors, s);
    }

    /** Token slots routed per layer per step (tokens per step × top-k) when the metadata says, else 0. */
    public long slotsPerStep() {
        long tps = meta.tokensPerStep();
        int k = meta.topK();
        return tps > 0 ? tps * Math.max(1, k) : 0;
    }
}

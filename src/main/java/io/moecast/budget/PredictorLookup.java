package io.moecast.budget;

import io.moecast.predict.Predictor;
import io.moecast.predict.Predictors;

/** Builds predictors by name through {@link Predictors} (names may carry parameters: {@code ema:beta=0.9}). */
public final class PredictorLookup {
    private PredictorLookup() {
    }

    /** {@code Predictors.create(spec, layers, experts)}; bad names raise {@link io.moecast.UserError}. */
    public static Predictor create(String spec, int layers, int experts) {
        return Predictors.create(spec, layers, experts);
    }

    /** The name of the default predictor. */
    public static String defaultName() {
        return Predictors.DEFAULT;
    }
}

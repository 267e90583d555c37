package io.moecast.budget;

import io.moecast.UserError;
import io.moecast.predict.Predictor;

import java.lang.reflect.InvocationTargetException;

/**
 * Builds predictors by name through {@code io.moecast.predict.Predictors} (the predictor factory).
 * The one place placement and budget code reach the factory.
 */
public final class PredictorLookup {
    private PredictorLookup() {
    }

    /** {@code Predictors.create(name, layers, experts)}; unknown names become a {@link UserError} for --predictor. */
    public static Predictor create(String name, int layers, int experts) {
        try {
            Class<?> c = Class.forName("io.moecast.predict.Predictors");
            return (Predictor) c.getMethod("create", String.class, int.class, int.class).invoke(null, name, layers, experts);
        } catch (InvocationTargetException e) {
            Throwable t = e.getCause();
            if (t instanceof UserError u) {
                throw u;
            }
            if (t instanceof IllegalArgumentException) {
                throw UserError.option("--predictor", t.getMessage());
            }
            throw new IllegalStateException(t);
        } catch (ReflectiveOperationException e) {
            throw UserError.option("--predictor", "the predictor factory (io.moecast.predict.Predictors) is not in this build");
        }
    }

    /** The name of the default predictor ({@code Predictors.DEFAULT}). */
    public static String defaultName() {
        try {
            return (String) Class.forName("io.moecast.predict.Predictors").getField("DEFAULT").get(null);
        } catch (ReflectiveOperationException e) {
            return "sw-avg";
        }
    }
}

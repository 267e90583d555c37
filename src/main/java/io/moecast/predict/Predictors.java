package io.moecast.predict;

import io.moecast.UserError;
import io.moecast.analysis.OnlineStateDetector;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * Creates predictors by name. A name may carry parameters ({@link PredictorSpec}:
 * {@code sw-avg:window=200}); every predictor takes {@code conf} (the one-sided confidence of its upper
 * bounds, default 0.9).
 *
 * <pre>{@code
 * Predictor p = Predictors.create(Predictors.DEFAULT, layers, experts);
 * for (each training step) p.observe(step, counts);
 * p.forecast(1000, mean, upper);
 * }</pre>
 */
public final class Predictors {
    /** The default predictor: one choice for every trace, all its parameters set online from the past. */
    public static final String DEFAULT = "sw-avg";

    /** The source paper's predictors. */
    public static final List<String> PAPER = List.of("sw-avg", "arima", "lstm");
    /** What the engines ship: vLLM/SGLang's summed window, MindSpeed's EMA, and the naive last value. */
    public static final List<String> BASELINES = List.of("last-window-sum", "ema", "last-value");

    private record Entry(String description, BiFunction<PredictorSpec, PredictorContext, Predictor> make) {
    }

    private static final Map<String, Entry> REGISTRY = new LinkedHashMap<>();

    static {
        register("sw-avg", "the paper's SW_Avg: mean of the last w shares, extended by recursive sliding (window=1000)",
                (s, c) -> new SlidingWindowPredictor(c.layers(), c.experts(), s.getInt("window", 1000, 1, 10_000_000), conf(s)));
        register("last-window-sum", "vLLM/SGLang EPLB: token counts of the last w steps summed (window=1000)",
                (s, c) -> new WindowSumPredictor(c.layers(), c.experts(), s.getInt("window", 1000, 1, 10_000_000), conf(s)));
        register("ema", "MindSpeed: m <- beta*m + (1-beta)*counts (beta=0.9)",
                (s, c) -> new EmaPredictor(c.layers(), c.experts(), s.getDouble("beta", 0.9, 0, 0.999999999), conf(s)));
        register("last-value", "the last step's shares (locality: Prophet, Pro-Prophet)",
                (s, c) -> new LastValuePredictor(c.layers(), c.experts(), conf(s)));
    }

    private Predictors() {
    }

    private static void register(String name, String description, BiFunction<PredictorSpec, PredictorContext, Predictor> make) {
        REGISTRY.put(name, new Entry(description, make));
    }

    static double conf(PredictorSpec s) {
        return s.getDouble("conf", 0.9, 0.5, 0.9999);
    }

    /** Creates a predictor for a shape (no trace metadata, no training trace). */
    public static Predictor create(String spec, int layers, int experts) {
        return create(spec, PredictorContext.of(layers, experts));
    }

    /** Creates a predictor; bad names or parameters raise {@link UserError}. */
    public static Predictor create(String spec, PredictorContext ctx) {
        return create(PredictorSpec.parse(spec, "predictor"), ctx);
    }

    public static Predictor create(PredictorSpec spec, PredictorContext ctx) {
        Entry e = REGISTRY.get(spec.name());
        if (e == null) {
            throw UserError.option("predictor", "unknown predictor '" + spec.name() + "' (known: " + String.join(", ", names()) + ")");
        }
        Predictor p = e.make().apply(spec, ctx);
        spec.checkAllUsed();
        return p;
    }

    /** All registered names, in presentation order. */
    public static List<String> names() {
        return new ArrayList<>(REGISTRY.keySet());
    }

    public static boolean exists(String name) {
        return REGISTRY.containsKey(name);
    }

    /** One line describing a predictor and its parameters. */
    public static String describe(String name) {
        Entry e = REGISTRY.get(name);
        return e == null ? null : e.description();
    }

    /**
     * The online state detectors state-aware predictors use by default: null until an implementation
     * is available (then those predictors treat the whole run as one state).
     */
    static Supplier<OnlineStateDetector> defaultDetectors(int layers, int experts) {
        return null;
    }
}

package io.moecast.predict;

import io.moecast.UserError;
import io.moecast.analysis.OnlineStateDetector;
import io.moecast.analysis.StateDetectors;

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
    public static final String DEFAULT = "auto";

    /** The source paper's predictors. */
    public static final List<String> PAPER = List.of("sw-avg", "arima", "lstm");
    /** What the engines ship: vLLM/SGLang's summed window, MindSpeed's EMA, and the naive last value. */
    public static final List<String> BASELINES = List.of("last-window-sum", "ema", "last-value");

    private record Entry(String description, BiFunction<PredictorSpec, PredictorContext, Predictor> make) {
    }

    private static final Map<String, Entry> REGISTRY = new LinkedHashMap<>();

    static {
        register("auto", "the default: per layer and horizon, the smoother (EMAs, EMAs restarted at state changes, damped trends) "
                        + "with the lowest recent out-of-sample error at that horizon in the current state (memory=4000; on large shapes scored on "
                        + "sample=16 experts of each layer per origin, origins at least spread steps apart (0: from the shape, 1 up to 1,024 series), "
                        + "bounds spread out above bounds=256 series per step)",
                (s, c) -> new AutoPredictor(c.layers(), c.experts(), s.getInt("memory", 4000, 10, Integer.MAX_VALUE), c.slotsPerStep(), conf(s),
                        perStep(s.getInt("sample", AutoPredictor.SAMPLE, 0, Integer.MAX_VALUE)),
                        perStep(s.getInt("bounds", EmpiricalBounds.SERIES_PER_SNAPSHOT, 0, Integer.MAX_VALUE)),
                        spread(s.getInt("spread", 0, 0, 1 << 20), c.layers(), c.experts())));
        register("sw-avg", "the paper's SW_Avg: mean of the last w shares, extended by recursive sliding (window=1000)",
                (s, c) -> new SlidingWindowPredictor(c.layers(), c.experts(), s.getInt("window", 1000, 1, 10_000_000), conf(s)));
        register("arima", "the paper's ARIMA(p,d,q) per series, Hannan-Rissanen refits (p=5, d=1, q=5, window=1000, refit=100, min=100)",
                (s, c) -> {
                    int w = s.getInt("window", 1000, 10, 1_000_000);
                    return new ArimaPredictor(c.layers(), c.experts(), s.getInt("p", 5, 0, 50), s.getInt("d", 1, 0, 2),
                            s.getInt("q", 5, 0, 50), w, s.getInt("refit", 100, 1, Integer.MAX_VALUE),
                            Math.min(w, s.getInt("min", 100, 10, 1_000_000)), conf(s));
                });
        register("lstm", "the paper's LSTM: one joint model over all experts of all layers, trained by BPTT on --train "
                        + "(hidden=64, block=10, chunk=25, epochs=30, horizons=1/10/100/1000/2000)",
                (s, c) -> LstmPredictor.train(s, c, false));
        register("lstm-shared", "LSTM with weights shared across expert series (any shape), trained by BPTT on --train "
                        + "(hidden=32, block=10, chunk=25, epochs=8)",
                (s, c) -> LstmPredictor.train(s, c, true));
        register("last-window-sum", "vLLM/SGLang EPLB: token counts of the last w steps summed (window=1000)",
                (s, c) -> new WindowSumPredictor(c.layers(), c.experts(), s.getInt("window", 1000, 1, 10_000_000), conf(s)));
        register("ema", "MindSpeed: m <- beta*m + (1-beta)*counts (beta=0.9)",
                (s, c) -> new EmaPredictor(c.layers(), c.experts(), s.getDouble("beta", 0.9, 0, 0.999999999), conf(s)));
        register("kalman", "local-level Kalman filter per series, R and Q estimated online from the variogram (maxlag=256, memory=2000)",
                (s, c) -> new KalmanPredictor(c.layers(), c.experts(), s.getInt("maxlag", 256, 2, 1 << 16),
                        s.getInt("memory", 2000, 10, Integer.MAX_VALUE), c.slotsPerStep(), conf(s)));
        register("holt", "Holt's level + trend smoothing, (alpha, beta) chosen online per layer by one-step error (phi=1, memory=1000)",
                (s, c) -> new HoltPredictor(c.layers(), c.experts(), s.getDouble("phi", 1.0, 0.5, 1.0),
                        s.getInt("memory", 1000, 10, Integer.MAX_VALUE), conf(s)));
        register("last-value", "the last step's shares (locality: Prophet, Pro-Prophet)",
                (s, c) -> new LastValuePredictor(c.layers(), c.experts(), conf(s)));
    }

    private Predictors() {
    }

    private static void register(String name, String description, BiFunction<PredictorSpec, PredictorContext, Predictor> make) {
        REGISTRY.put(name, new Entry(description, make));
    }

    /** auto's scoring spread: 0 means the shape's default. */
    static int spread(int v, int layers, int experts) {
        return v == 0 ? AutoPredictor.defaultSpread(layers, experts) : v;
    }

    /** A per-step series budget from a parameter: 0 means no limit (every origin). */
    static int perStep(int v) {
        return v == 0 ? Integer.MAX_VALUE : v;
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
        if (p instanceof AbstractPredictor ap && ctx.detectors() != null && ap.usesStates()) {
            ap.attachDetector(ctx.detectors().get());
        }
        return p;
    }

    /** All registered names, in presentation order. */
    public static List<String> names() {
        return new ArrayList<>(REGISTRY.keySet());
    }

    /** Whether a predictor needs a training trace ({@link PredictorContext#train()}). */
    public static boolean needsTraining(String name) {
        return name.startsWith("lstm");
    }

    public static boolean exists(String name) {
        return REGISTRY.containsKey(name);
    }

    /** One line describing a predictor and its parameters. */
    public static String describe(String name) {
        Entry e = REGISTRY.get(name);
        return e == null ? null : e.description();
    }

    /** The online state detectors predictors get by default: the analysis package's default criterion. */
    static Supplier<OnlineStateDetector> defaultDetectors(int layers, int experts) {
        return () -> StateDetectors.online(layers, experts);
    }
}

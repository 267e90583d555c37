package io.moecast.predict;

import io.moecast.analysis.LoadState;
import io.moecast.analysis.OnlineStateDetector;

import java.util.Arrays;

/**
 * Shared plumbing of every moecast predictor: shape checks, the per-step conversion of counts to
 * shares (a layer that routed nothing counts as uniform), the step counter, the empty-history forecast
 * (uniform shares, upper bound 1), and the upper bounds. Subclasses implement {@link #update},
 * {@link #forecastMean} and {@link #forecastPath}.
 *
 * <p>Upper bounds come from {@link EmpiricalBounds} (the predictor's own out-of-sample errors at a grid
 * of horizons, calibrated to {@link #confidence()}) unless a subclass supplies model-based ones by
 * overriding {@link #modelUpper}.
 */
public abstract class AbstractPredictor implements Predictor {
    protected final String name;
    protected final int layers;
    protected final int experts;
    /** layers × experts */
    protected final int n;
    /** The shares of the last observed step (read-only for subclasses). */
    protected final double[] share;
    /**
     * Running sum of the shares of every observed step (read-only for subclasses): a horizon mean is a
     * difference of two snapshots of it. Updated in the same pass that computes {@link #share}.
     */
    protected final double[] cum;
    /**
     * Per layer, 1/Σ counts of the last observed step (0 for a layer that routed nothing, whose shares
     * are 1/E): {@code share[i] == counts[i] * layerInv[layer]} exactly (read-only for subclasses).
     */
    protected final double[] layerInv;
    private final double confidence;
    private final EmpiricalBounds bounds;
    private final EmpiricalBounds.MeanForecaster meanFn = this::forecastMean;
    private long observed;
    private long lastStep;
    private OnlineStateDetector detector;
    private int[] epochs;
    private LoadState[] states;

    protected AbstractPredictor(String name, int layers, int experts, double confidence, boolean empiricalBounds) {
        this(name, layers, experts, confidence, empiricalBounds, EmpiricalBounds.SERIES_PER_SNAPSHOT, false);
    }

    AbstractPredictor(String name, int layers, int experts, double confidence, boolean empiricalBounds, int boundsPerSnapshot) {
        this(name, layers, experts, confidence, empiricalBounds, boundsPerSnapshot, false);
    }

    /**
     * @param boundsPerSnapshot series the empirical bounds evaluate per step of spacing on large shapes
     *                          (see {@link EmpiricalBounds}); {@code Integer.MAX_VALUE}: every origin
     * @param forecastGrows     whether a horizon-mean forecast h steps ahead costs O(h·n) (the recursive
     *                          sliding of {@code sw-avg}) rather than O(n): the bounds then space their
     *                          snapshots by that cost on large shapes
     */
    AbstractPredictor(String name, int layers, int experts, double confidence, boolean empiricalBounds, int boundsPerSnapshot,
                      boolean forecastGrows) {
        if (layers < 1 || experts < 2) {
            throw new IllegalArgumentException("need layers >= 1 and experts >= 2, got " + layers + " x " + experts);
        }
        if (!(confidence > 0 && confidence < 1)) {
            throw new IllegalArgumentException("confidence must be in (0, 1): " + confidence);
        }
        this.name = name;
        this.layers = layers;
        this.experts = experts;
        this.n = Math.multiplyExact(layers, experts);
        this.share = new double[n];
        this.cum = new double[n];
        this.layerInv = new double[layers];
        this.confidence = confidence;
        this.bounds = empiricalBounds ? new EmpiricalBounds(layers, experts, confidence, cum, boundsPerSnapshot, forecastGrows,
                this instanceof FlatPredictor) : null;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final int layers() {
        return layers;
    }

    @Override
    public final int experts() {
        return experts;
    }

    @Override
    public final double confidence() {
        return confidence;
    }

    @Override
    public final long observed() {
        return observed;
    }

    /** The step number of the last observed step (undefined before the first). */
    protected final long lastStep() {
        return lastStep;
    }

    @Override
    public final void observe(long step, int[] counts) {
        if (counts.length != n) {
            throw new IllegalArgumentException("counts has " + counts.length + " values, expected " + layers + " x " + experts);
        }
        if (observed > 0 && step <= lastStep) {
            throw new IllegalArgumentException("steps must increase: got " + step + " after " + lastStep);
        }
        Kernels.sharesAndSum(counts, share, cum, layerInv, layers, experts);
        if (detector != null) {
            detector.observe(step, counts, share);
            for (int l = 0; l < layers; l++) {
                LoadState s = detector.state(l);
                if (s != states[l]) {
                    states[l] = s;
                    epochs[l]++;
                }
            }
        }
        update(step, counts, share);
        observed++;
        lastStep = step;
        if (bounds != null) {
            bounds.observe(epochs, meanFn);
        }
    }

    /**
     * Gives this predictor an online transient/stable detector (before the first step). Its upper
     * bounds are then calibrated per state, and state-aware subclasses read {@link #state} and
     * {@link #epoch}.
     */
    public final void attachDetector(OnlineStateDetector d) {
        if (observed > 0) {
            throw new IllegalStateException("attach the detector before the first step");
        }
        if (d.layers() != layers || d.experts() != experts) {
            throw new IllegalArgumentException("detector shape " + d.layers() + " x " + d.experts() + " != " + layers + " x " + experts);
        }
        this.detector = d;
        this.epochs = new int[layers];
        this.states = new LoadState[layers];
        Arrays.fill(states, LoadState.TRANSIENT);
    }

    /**
     * Whether this predictor reads the states of an online detector: its empirical bounds are calibrated
     * per state, and state-aware subclasses say so. {@link Predictors} attaches a detector only then (a
     * detector costs O(n) per step).
     */
    protected boolean usesStates() {
        return bounds != null;
    }

    /** Whether a state detector is attached. */
    protected final boolean hasStates() {
        return detector != null;
    }

    /** The state of a layer as of the last step (TRANSIENT before any step or without a detector). */
    public final LoadState state(int layer) {
        return detector == null ? LoadState.TRANSIENT : states[layer];
    }

    /** How many times a layer's state has changed so far (0 without a detector). */
    protected final int epoch(int layer) {
        return detector == null ? 0 : epochs[layer];
    }

    /** One new step: its counts and shares (both read-only; {@code share} is reused). */
    protected abstract void update(long step, int[] counts, double[] share);

    @Override
    public final void forecast(int horizon, double[] mean, double[] upper) {
        checkHorizon(horizon);
        checkLength(mean, n, "mean");
        if (upper != null) {
            checkLength(upper, n, "upper");
        }
        if (observed == 0) {
            Arrays.fill(mean, 1.0 / experts);
            if (upper != null) {
                Arrays.fill(upper, 1.0);
            }
            return;
        }
        forecastMean(horizon, mean);
        if (upper != null) {
            if (bounds != null) {
                bounds.upper(horizon, mean, upper);
            } else {
                modelUpper(horizon, mean, upper);
            }
        }
    }

    @Override
    public final void forecastHorizons(int[] horizons, double[] means, double[] uppers, double[] steps) {
        int hn = horizons.length;
        for (int h : horizons) {
            checkHorizon(h);
        }
        if (means != null) {
            checkLength(means, (long) hn * n, "means");
        }
        if (uppers != null) {
            checkLength(uppers, (long) hn * n, "uppers");
        }
        if (steps != null) {
            checkLength(steps, (long) hn * n, "steps");
        }
        if (observed == 0) {
            if (means != null) {
                Arrays.fill(means, 0, hn * n, 1.0 / experts);
            }
            if (uppers != null) {
                Arrays.fill(uppers, 0, hn * n, 1.0);
            }
            if (steps != null) {
                Arrays.fill(steps, 0, hn * n, 1.0 / experts);
            }
            return;
        }
        double[] m = means != null || uppers == null ? means : new double[hn * n];
        horizons(horizons, m, steps);
        if (uppers != null) {
            double[] mm = new double[n];
            double[] uu = new double[n];
            for (int j = 0; j < hn; j++) {
                System.arraycopy(m, j * n, mm, 0, n);
                if (bounds != null) {
                    bounds.upper(horizons[j], mm, uu);
                } else {
                    modelUpper(horizons[j], mm, uu);
                }
                System.arraycopy(uu, 0, uppers, j * n, n);
            }
        }
    }

    /**
     * Horizon means and single-step forecasts for several horizons (either output may be null); the
     * default asks {@link #forecastMean} and {@link #step} once per horizon.
     */
    protected void horizons(int[] horizons, double[] means, double[] steps) {
        double[] tmp = new double[n];
        for (int j = 0; j < horizons.length; j++) {
            if (means != null) {
                forecastMean(horizons[j], tmp);
                System.arraycopy(tmp, 0, means, j * n, n);
            }
            if (steps != null) {
                step(horizons[j], tmp);
                System.arraycopy(tmp, 0, steps, j * n, n);
            }
        }
    }

    /** The forecast mean share over steps t+1..t+h (called only after at least one step). */
    protected abstract void forecastMean(int horizon, double[] mean);

    /** Model-based upper bounds, for subclasses built without empirical bounds. */
    protected void modelUpper(int horizon, double[] mean, double[] upper) {
        Arrays.fill(upper, 1.0);
    }

    @Override
    public final void forecastPath(int horizon, double[] path) {
        checkHorizon(horizon);
        checkLength(path, (long) horizon * n, "path");
        if (observed == 0) {
            Arrays.fill(path, 0, horizon * n, 1.0 / experts);
            return;
        }
        path(horizon, path);
    }

    /** The per-step forecast path (called only after at least one step). */
    protected abstract void path(int horizon, double[] path);

    @Override
    public void forecastStep(int k, double[] out) {
        checkHorizon(k);
        checkLength(out, n, "out");
        if (observed == 0) {
            Arrays.fill(out, 1.0 / experts);
            return;
        }
        step(k, out);
    }

    /** The forecast for step t+k alone; the default computes the path. */
    protected void step(int k, double[] out) {
        double[] p = new double[k * n];
        path(k, p);
        System.arraycopy(p, (k - 1) * n, out, 0, n);
    }

    @Override
    public final void reset() {
        observed = 0;
        lastStep = 0;
        Arrays.fill(share, 0);
        Arrays.fill(cum, 0);
        Arrays.fill(layerInv, 0);
        if (bounds != null) {
            bounds.reset();
        }
        if (detector != null) {
            detector.reset();
            Arrays.fill(epochs, 0);
            Arrays.fill(states, LoadState.TRANSIENT);
        }
        resetState();
    }

    /** Forgets the subclass's history. */
    protected abstract void resetState();

    /** Per-layer shares of {@code counts} into {@code dst} (uniform for a layer that routed nothing). */
    public static void shares(int[] counts, double[] dst, int layers, int experts) {
        for (int l = 0, o = 0; l < layers; l++, o += experts) {
            long s = 0;
            for (int e = 0; e < experts; e++) {
                int c = counts[o + e];
                if (c < 0) {
                    throw new IllegalArgumentException("negative count " + c + " at layer " + l + " expert " + e);
                }
                s += c;
            }
            if (s == 0) {
                Arrays.fill(dst, o, o + experts, 1.0 / experts);
            } else {
                double inv = 1.0 / s;
                for (int e = 0; e < experts; e++) {
                    dst[o + e] = counts[o + e] * inv;
                }
            }
        }
    }

    /**
     * Projects each layer of {@code v} onto shares: negative values (and NaN) become 0, then the layer
     * is rescaled to sum to 1 (uniform if nothing positive is left). Model forecasts (ARIMA, Holt,
     * LSTM) pass through it.
     */
    public static void normalize(double[] v, int layers, int experts) {
        normalize(v, 0, layers, experts);
    }

    public static void normalize(double[] v, int off, int layers, int experts) {
        Kernels.normalize(v, off, layers, experts);
    }

    static void checkHorizon(int h) {
        if (h < 1) {
            throw new IllegalArgumentException("horizon must be >= 1: " + h);
        }
    }

    static void checkLength(double[] a, long need, String what) {
        if (a == null || a.length < need) {
            throw new IllegalArgumentException(what + " needs " + need + " doubles, got " + (a == null ? "null" : a.length));
        }
    }
}

package io.moecast.predict;

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
    private final double confidence;
    private final EmpiricalBounds bounds;
    private final EmpiricalBounds.MeanForecaster meanFn = this::forecastMean;
    private long observed;
    private long lastStep;

    protected AbstractPredictor(String name, int layers, int experts, double confidence, boolean empiricalBounds) {
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
        this.confidence = confidence;
        this.bounds = empiricalBounds ? new EmpiricalBounds(layers, experts, confidence) : null;
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
        shares(counts, share, layers, experts);
        update(step, counts, share);
        observed++;
        lastStep = step;
        if (bounds != null) {
            bounds.observe(share, meanFn);
        }
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
        if (bounds != null) {
            bounds.reset();
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
        for (int l = 0, o = off; l < layers; l++, o += experts) {
            double s = 0;
            for (int e = 0; e < experts; e++) {
                double x = v[o + e];
                if (!(x > 0)) {
                    x = 0;
                } else if (x == Double.POSITIVE_INFINITY) {
                    x = Double.MAX_VALUE / experts;
                }
                v[o + e] = x;
                s += x;
            }
            if (s > 0) {
                double inv = 1.0 / s;
                for (int e = 0; e < experts; e++) {
                    v[o + e] *= inv;
                }
            } else {
                Arrays.fill(v, o, o + experts, 1.0 / experts);
            }
        }
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

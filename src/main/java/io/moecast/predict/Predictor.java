package io.moecast.predict;

/**
 * A load forecaster, batched over all MoE layers × experts at once (flat primitive arrays, index
 * {@code layer * experts + expert}; no object per series). Usable as a library inside a training
 * job: call {@link #observe} once per training step with that step's token counts, and
 * {@link #forecast} whenever a plan is needed. The cost of {@code observe} does not grow with the
 * length of the history.
 *
 * <p>All forecasts are load <em>proportions</em>: an expert's share of its layer's routed tokens, so
 * each layer's E values sum to 1.
 */
public interface Predictor {
    /** The name used on the command line ({@code sw-avg}, {@code ema}, {@code kalman}, ...). */
    String name();

    /** Number of MoE layers and experts this instance was built for. */
    int layers();

    int experts();

    /**
     * Feeds one step: {@code counts[layer * experts + expert]} tokens (each top-k slot counted).
     * Steps arrive in order; {@code step} is the training step number.
     */
    void observe(long step, int[] counts);

    /**
     * Forecasts the next {@code horizon} steps after the last observed one.
     *
     * @param horizon     h ≥ 1 steps ahead
     * @param mean        out: the forecast mean share over steps t+1..t+h, per layer and expert
     *                    (length layers·experts; each layer sums to 1)
     * @param upper       out (may be null): a one-sided upper bound for that horizon-mean share at the
     *                    predictor's confidence level ({@link #confidence()}), for placement headroom
     */
    void forecast(int horizon, double[] mean, double[] upper);

    /**
     * Forecasts each of the next {@code horizon} steps: {@code path[(i * layers + l) * experts + e]} for
     * step t+1+i. Needs horizon·layers·experts doubles; meant for charts and per-step errors on
     * modest shapes.
     */
    void forecastPath(int horizon, double[] path);

    /**
     * The forecast for the single step t+k (k ≥ 1) into {@code out} (length layers·experts), i.e. row
     * k−1 of {@link #forecastPath}. The default computes the whole path; predictors whose path is cheap
     * to index (flat forecasts, closed forms) override it.
     */
    default void forecastStep(int k, double[] out) {
        int n = layers() * experts();
        double[] path = new double[k * n];
        forecastPath(k, path);
        System.arraycopy(path, (k - 1) * n, out, 0, n);
    }

    /** One-sided confidence level of the upper bounds (default 0.9). */
    default double confidence() {
        return 0.9;
    }

    /** Steps observed so far. */
    long observed();

    /** Forgets all history (keeps the shape). */
    void reset();
}

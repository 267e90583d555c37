package io.moecast.analysis;

/**
 * The transient/stable criterion: a layer is <em>calm</em> at step t when its fluctuation-to-noise
 * ratio R over the last {@code window} steps ({@link NoiseRatio}) is at most {@code threshold}; it
 * becomes <em>stable</em> once it has been calm for {@code hold} consecutive steps, and relapses into
 * the <em>transient</em> state once it has been not calm for {@code hold} consecutive steps.
 *
 * <p>The defaults are the same for every trace, whatever its shape, top-k, capacity or tokens per
 * step: window 100 steps (the source paper's), threshold 3 (the loads' moving part adds at most twice
 * the variance of the step-to-step noise), hold = one window ("sustained over a window"). Nothing is
 * fitted to a trace; the noise level the ratio divides by is estimated from the trace itself, step by
 * step.
 *
 * @param window    steps in the sliding window (at least 3)
 * @param threshold the largest R a calm window may have (above 1: R ≈ 1 for a series without drift)
 * @param hold      consecutive steps a change of state must be sustained (at least 1)
 */
public record StateCriterion(int window, double threshold, int hold) {
    public static final int DEFAULT_WINDOW = 100;
    public static final double DEFAULT_THRESHOLD = 3.0;
    public static final StateCriterion DEFAULT = of(DEFAULT_WINDOW);

    public StateCriterion {
        if (window < 3) {
            throw new IllegalArgumentException("state window must be at least 3 steps, got " + window);
        }
        if (!(threshold > 1.0) || Double.isInfinite(threshold)) {
            throw new IllegalArgumentException("ratio threshold must be a finite number above 1, got " + threshold);
        }
        if (hold < 1) {
            throw new IllegalArgumentException("hold must be at least 1 step, got " + hold);
        }
    }

    /** The default threshold with {@code window} steps and hold = window. */
    public static StateCriterion of(int window) {
        return new StateCriterion(window, DEFAULT_THRESHOLD, window);
    }

    public StateCriterion withWindow(int w) {
        return new StateCriterion(w, threshold, w);
    }

    @Override
    public String toString() {
        return "R_" + window + " <= " + threshold + " sustained " + hold + " steps";
    }
}

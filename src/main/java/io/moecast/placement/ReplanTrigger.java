package io.moecast.placement;

/**
 * Decides whether a layer needs a new plan at all: skip it when the forecast says the current
 * placement is already balanced enough (forecast balancedness, mean/max GPU load, at or above
 * {@code minBalancedness}). SGLang skips rebalancing on a similar condition (sglang#8345); ROCm ATOM
 * has a {@code --eplb-rebalance-min-balancedness} flag. {@code minBalancedness = 1} re-plans only
 * when the forecast is not perfectly balanced, 0 never re-plans. No allocation.
 */
public final class ReplanTrigger {
    private final double minBalancedness;
    private final double[] gpu;

    public ReplanTrigger(PlacementShape shape, double minBalancedness) {
        if (!(minBalancedness >= 0) || minBalancedness > 1) {
            throw new IllegalArgumentException("trigger balancedness must be in [0, 1], got " + minBalancedness);
        }
        this.minBalancedness = minBalancedness;
        this.gpu = new double[shape.gpus()];
    }

    public double minBalancedness() {
        return minBalancedness;
    }

    /** Forecast balancedness of the current placement of a layer. */
    public double forecastBalancedness(Placement current, int layer, double[] load, int off) {
        current.gpuLoads(layer, load, off, gpu);
        return PlacementMetrics.balancedness(gpu, current.shape().gpus());
    }

    /** True when the layer should be re-planned (its forecast balancedness is below the threshold). */
    public boolean shouldReplan(Placement current, int layer, double[] load, int off) {
        return forecastBalancedness(current, layer, load, off) < minBalancedness;
    }
}

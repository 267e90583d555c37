package io.moecast.placement;

/**
 * Turns a per-layer load estimate into a placement. Load estimates are flat,
 * {@code load[layer * experts + expert]}, finite and non-negative, in any unit (tokens, shares):
 * every planner is scale-invariant within a layer. Each layer is planned independently.
 *
 * <p>Implementations own a workspace sized for their {@link PlacementShape} at construction; planning
 * allocates nothing. Not thread-safe: use one instance per thread.
 */
public interface Planner {
    /** Short name used on the command line ({@code eplb}, {@code lpt}, {@code migration}). */
    String name();

    PlacementShape shape();

    /** Plans every layer into {@code out} (which may hold the current placement; see implementations). */
    default void plan(double[] load, Placement out) {
        checkLoads(load, shape());
        for (int l = 0; l < shape().layers(); l++) {
            planLayer(l, load, l * shape().experts(), out);
        }
    }

    /** Plans one layer from {@code load[off .. off + experts)} into layer {@code layer} of {@code out}. */
    void planLayer(int layer, double[] load, int off, Placement out);

    /** Rejects a load array of the wrong length or holding NaN, ±∞ or negative values. */
    static void checkLoads(double[] load, PlacementShape shape) {
        int n = shape.layers() * shape.experts();
        if (load.length < n) {
            throw new IllegalArgumentException("load has " + load.length + " values, expected layers x experts = " + n);
        }
        for (int i = 0; i < n; i++) {
            double v = load[i];
            if (!(v >= 0) || v == Double.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("load of layer " + i / shape.experts() + " expert " + i % shape.experts()
                        + " is " + v + " (loads must be finite and non-negative)");
            }
        }
    }
}

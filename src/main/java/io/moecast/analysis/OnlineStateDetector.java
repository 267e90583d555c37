package io.moecast.analysis;

/**
 * Decides at step t, from steps ≤ t only, whether each MoE layer (and the model as a whole) is in the
 * transient or the stable state. Fed step by step like a {@link io.moecast.predict.Predictor};
 * O(layers·experts·window) memory, O(layers·experts) work per step.
 */
public interface OnlineStateDetector {
    int layers();

    int experts();

    /** Feeds one step: {@code counts[layer * experts + expert]}. */
    void observe(long step, int[] counts);

    /**
     * Feeds one step whose proportions the caller has already computed ({@code proportions[layer *
     * experts + expert]}, each layer's counts divided by their sum, uniform for a layer that routed
     * nothing, exactly as {@link io.moecast.trace.LoadTrace#proportions} computes them), so they are
     * not computed twice. The default ignores them.
     */
    default void observe(long step, int[] counts, double[] proportions) {
        observe(step, counts);
    }

    /** The state of one MoE layer as of the last observed step. */
    LoadState state(int layer);

    /** The state of the whole model (stable once every layer is stable). */
    LoadState modelState();

    /** Forgets all history. */
    void reset();
}

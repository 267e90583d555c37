package io.moecast.analysis;

/**
 * The online transient/stable detector: the fluctuation-to-noise ratio of each layer
 * ({@link NoiseRatio}) against a {@link StateCriterion}, with the change of state reported once it has
 * been sustained for the criterion's hold. Decides at step t from steps ≤ t only.
 * O(layers·experts·window) memory, O(layers·experts) work and no allocation per step.
 *
 * <p>Every layer starts TRANSIENT (nothing is known before a full window has been seen, and the
 * transient state is the safe assumption: it asks for headroom); the model is STABLE while every layer
 * is.
 */
public final class RatioStateDetector implements OnlineStateDetector {
    private final StateCriterion criterion;
    private final NoiseRatio ratio;
    private final StateSegmenter[] layers;

    public RatioStateDetector(int layers, int experts, StateCriterion criterion) {
        this.criterion = criterion;
        this.ratio = new NoiseRatio(layers, experts, criterion.window());
        this.layers = new StateSegmenter[layers];
        for (int l = 0; l < layers; l++) {
            this.layers[l] = new StateSegmenter(criterion, false);
        }
    }

    public StateCriterion criterion() {
        return criterion;
    }

    @Override
    public int layers() {
        return layers.length;
    }

    @Override
    public int experts() {
        return ratio.experts();
    }

    @Override
    public void observe(long step, int[] counts) {
        ratio.observe(counts);
        decide(step);
    }

    @Override
    public void observe(long step, int[] counts, double[] proportions) {
        ratio.observeShares(counts, proportions);
        decide(step);
    }

    /** Feeds one step of proportions, {@code p[layer*experts + expert]}. */
    public void observeProportions(long step, double[] p) {
        ratio.observeProportions(p);
        decide(step);
    }

    private void decide(long step) {
        boolean full = ratio.full();
        double th = criterion.threshold();
        for (int l = 0; l < layers.length; l++) {
            layers[l].accept(step, full && ratio.ratio(l) <= th);
        }
    }

    @Override
    public LoadState state(int layer) {
        return layers[layer].state();
    }

    @Override
    public LoadState modelState() {
        for (StateSegmenter s : layers) {
            if (s.state() != LoadState.STABLE) {
                return LoadState.TRANSIENT;
            }
        }
        return LoadState.STABLE;
    }

    /** The current ratio R of a layer (NaN before a full window). */
    public double ratio(int layer) {
        return ratio.ratio(layer);
    }

    /** The step-to-step noise variance estimate of a layer's proportions (NaN before a full window). */
    public double noise(int layer) {
        return ratio.noise(layer);
    }

    /**
     * Where the layer's current state began, dated back to where its evidence starts (the first step
     * of the first calm window for a stable state); the first step for a layer still in its first
     * transient state.
     */
    public long stateSince(int layer) {
        return layers[layer].stateStart();
    }

    @Override
    public void reset() {
        ratio.reset();
        for (StateSegmenter s : layers) {
            s.reset();
        }
    }
}

package io.moecast.analysis;

import java.util.ArrayList;
import java.util.List;

/**
 * Offline transient/stable segmentation of a whole trace, fed step by step (so it shares one pass
 * with other analyses): the same ratio and criterion as the online detector, with every change dated
 * back to where its evidence begins ({@link StateSegmenter}). {@link #finish()} gives the
 * {@link StateTimeline}. O(layers·experts·window) memory.
 */
public final class OfflineStateDetector {
    private final StateCriterion criterion;
    private final NoiseRatio ratio;
    private final StateSegmenter[] segs;
    private long first = Long.MIN_VALUE;
    private long next;

    public OfflineStateDetector(int layers, int experts, StateCriterion criterion) {
        this.criterion = criterion;
        this.ratio = new NoiseRatio(layers, experts, criterion.window());
        this.segs = new StateSegmenter[layers];
        for (int l = 0; l < layers; l++) {
            segs[l] = new StateSegmenter(criterion, true);
        }
    }

    public StateCriterion criterion() {
        return criterion;
    }

    /** Feeds step {@code step} (consecutive from the first). */
    public void observe(long step, int[] counts) {
        ratio.observe(counts);
        decide(step);
    }

    public void observeProportions(long step, double[] p) {
        ratio.observeProportions(p);
        decide(step);
    }

    private void decide(long step) {
        if (first == Long.MIN_VALUE) {
            first = step;
        } else if (step != next) {
            throw new IllegalArgumentException("steps must be consecutive: expected " + next + ", got " + step);
        }
        next = step + 1;
        boolean full = ratio.full();
        for (int l = 0; l < segs.length; l++) {
            segs[l].accept(step, full && ratio.ratio(l) <= criterion.threshold());
        }
    }

    /** The ratio R of a layer for the window ending at the last step (NaN before a full window). */
    public double ratio(int layer) {
        return ratio.ratio(layer);
    }

    /** The noise variance estimate of a layer for the window ending at the last step. */
    public double noise(int layer) {
        return ratio.noise(layer);
    }

    public double fluctuation(int layer) {
        return ratio.fluctuation(layer);
    }

    /** The segmentation of the steps seen so far. */
    public StateTimeline finish() {
        if (first == Long.MIN_VALUE) {
            throw new IllegalStateException("no steps observed");
        }
        List<List<Segment>> ls = new ArrayList<>();
        for (StateSegmenter s : segs) {
            ls.add(s.segments());
        }
        return new StateTimeline(criterion, first, next, ls);
    }
}

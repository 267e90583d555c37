package io.moecast.analysis;

import io.moecast.UserError;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.TraceReader;
import io.moecast.trace.Traces;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Transient/stable detection, online and offline. Stable signatures: keep them.
 *
 * <h2>Criterion</h2>
 * For each MoE layer and each step t, over the window of the last w steps (default 100), the
 * <b>fluctuation-to-noise ratio</b> R = V / σ² compares the windowed variance of the experts' load
 * proportions (V, averaged over experts) with the step-to-step noise variance σ² estimated from the
 * same window as half the mean squared successive difference ({@link NoiseRatio}). A load series whose
 * mean does not move has R ≈ 1 whatever its noise amplitude (tokens per step, top-k, capacity drops,
 * correlated tokens of a sequence, which on the bundled traces put the noise at 4–6× the multinomial
 * floor p(1−p)/N); a mean that moves within the window (the transient state's drift) adds to V but
 * hardly to σ². The window is <em>calm</em> when R ≤ 3: the moving part of the loads adds at most twice
 * the variance of the noise. A layer becomes <b>stable</b> once it has been calm for a whole window
 * (hold = w steps) and <b>relapses</b> into the transient state once it has not been calm for a whole
 * window. The model is stable while every layer is. No number is fitted to a trace: the only scale, the
 * noise, is measured from the trace as it goes.
 *
 * <p><b>Online</b> ({@link #online}): decides at step t from steps ≤ t, so a change is reported once
 * sustained (a stable state about w + hold steps after it began). <b>Offline</b> ({@link #offline}):
 * the same decisions with each change dated back to where its evidence begins: a stable state to the
 * oldest step of its first calm window, a relapse to the middle of the first window that was not calm.
 *
 * <p>What the criterion does not see: noise that is large but has no memory (loads jumping at random
 * around a fixed mean) is noise, not drift, so it is stable here: the recent mean is then the best
 * forecast there is; its size is reported separately (noise level, imbalance).
 */
public final class StateDetectors {
    private StateDetectors() {
    }

    /** The online detector with the default criterion (window 100, R ≤ 3, hold 100). */
    public static OnlineStateDetector online(int layers, int experts) {
        return new RatioStateDetector(layers, experts, StateCriterion.DEFAULT);
    }

    /** The online detector with the default threshold and a window (and hold) of {@code window} steps. */
    public static RatioStateDetector online(int layers, int experts, int window) {
        return new RatioStateDetector(layers, experts, StateCriterion.of(window));
    }

    public static RatioStateDetector online(int layers, int experts, StateCriterion criterion) {
        return new RatioStateDetector(layers, experts, criterion);
    }

    /** An offline detector to feed step by step (see {@link OfflineStateDetector#finish()}). */
    public static OfflineStateDetector offline(int layers, int experts, StateCriterion criterion) {
        return new OfflineStateDetector(layers, experts, criterion);
    }

    /** Segments a trace file (streamed, never loaded whole) with the default criterion. */
    public static StateTimeline offline(Path trace) {
        return offline(trace, StateCriterion.DEFAULT);
    }

    public static StateTimeline offline(Path trace, StateCriterion criterion) {
        try (TraceReader r = Traces.open(trace)) {
            return offline(r, criterion);
        } catch (IOException e) {
            throw UserError.inFile(trace, "", "cannot read: " + e.getMessage());
        }
    }

    /** Segments the rest of a reader. */
    public static StateTimeline offline(TraceReader r, StateCriterion criterion) throws IOException {
        OfflineStateDetector d = new OfflineStateDetector(r.layers(), r.experts(), criterion);
        int[] step = new int[r.layers() * r.experts()];
        boolean any = false;
        while (r.next(step)) {
            d.observe(r.firstStep() + r.index(), step);
            any = true;
        }
        if (!any) {
            throw UserError.inFile(r.path(), "", "the trace has no steps");
        }
        return d.finish();
    }

    /** Segments an in-memory trace with the default criterion. */
    public static StateTimeline offline(LoadTrace t) {
        return offline(t, StateCriterion.DEFAULT);
    }

    public static StateTimeline offline(LoadTrace t, StateCriterion criterion) {
        OfflineStateDetector d = new OfflineStateDetector(t.layers(), t.experts(), criterion);
        int[] step = new int[t.layers() * t.experts()];
        for (int s = 0; s < t.steps(); s++) {
            t.copyStep(s, step);
            d.observe(t.firstStep() + s, step);
        }
        return d.finish();
    }
}

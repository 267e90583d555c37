package io.moecast.analysis;

import java.util.ArrayList;
import java.util.List;

/**
 * Turns the per-step calm/not-calm decisions of one layer into states, with the hold of a
 * {@link StateCriterion}. Two views of the same decisions:
 * <ul>
 *   <li><b>online</b> ({@link #state()}): the state as known at the last step, deciding only from
 *       steps seen so far (a change is reported once it has been sustained for {@code hold} steps);</li>
 *   <li><b>offline</b> ({@link #segments()}): the same changes dated back to where the evidence for
 *       them begins. A stable state is dated to the first step of the first calm window of the run
 *       (the window's oldest step), a relapse to the middle of the first window that was not calm (the onset lies somewhere in it).</li>
 * </ul>
 * O(1) memory apart from the list of segments (one per change of state).
 */
public final class StateSegmenter {
    private final int window;
    private final int hold;
    private final boolean record;
    private final List<Segment> segments = new ArrayList<>();
    private long first;
    private LoadState state;
    private long stateStart;
    private boolean runCalm;
    private long runStart;
    private long runLen;
    private long last;
    private boolean started;

    /**
     * @param record keep the list of segments (offline); an online detector passes false to keep
     *               memory bounded
     */
    public StateSegmenter(StateCriterion criterion, boolean record) {
        this.window = criterion.window();
        this.hold = criterion.hold();
        this.record = record;
        reset();
    }

    public void reset() {
        segments.clear();
        state = LoadState.TRANSIENT;
        started = false;
        runLen = 0;
        runCalm = false;
    }

    /**
     * Feeds the decision for the window ending at {@code step}: {@code calm} (R at most the threshold;
     * false while the window is not yet full). Steps must be consecutive.
     */
    public void accept(long step, boolean calm) {
        if (!started) {
            started = true;
            first = step;
            stateStart = step;
        }
        last = step;
        if (runLen > 0 && calm == runCalm) {
            runLen++;
        } else {
            runCalm = calm;
            runStart = step;
            runLen = 1;
        }
        if (runLen != hold) {
            return;
        }
        if (state == LoadState.TRANSIENT && runCalm) {
            long begin = Math.max(runStart - window + 1, first);
            if (begin <= stateStart && stateStart != first) {
                begin = stateStart + 1;
            }
            change(LoadState.STABLE, begin);
        } else if (state == LoadState.STABLE && !runCalm) {
            // The first window that was not calm holds the onset somewhere in its w steps: its middle.
            change(LoadState.TRANSIENT, Math.max(runStart - window / 2, stateStart + 1));
        }
    }

    private void change(LoadState to, long begin) {
        if (record && begin > stateStart) {
            segments.add(new Segment(state, stateStart, begin));
        }
        state = to;
        stateStart = begin;
    }

    /** The state as of the last step fed (online view). */
    public LoadState state() {
        return state;
    }

    /** First step of the current state, dated back to where its evidence begins. */
    public long stateStart() {
        return stateStart;
    }

    /** Consecutive steps with the same calm decision, ending at the last step fed. */
    public long runLength() {
        return runLen;
    }

    /** The segments so far, the current (open) one ending after the last step fed. */
    public List<Segment> segments() {
        if (!record) {
            throw new IllegalStateException("this segmenter does not record segments");
        }
        List<Segment> out = new ArrayList<>(segments);
        if (started) {
            out.add(new Segment(state, stateStart, last + 1));
        }
        return out;
    }
}

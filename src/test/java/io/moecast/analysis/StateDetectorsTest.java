package io.moecast.analysis;

import io.moecast.trace.LoadTrace;
import io.moecast.trace.Traces;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StateDetectorsTest {
    static Path trace(String name) {
        return Path.of(System.getProperty("moecast.repo", ".")).resolve("traces").resolve(name);
    }

    private static void assertNear(long expected, long actual, long tol, String what) {
        assertTrue(Math.abs(expected - actual) <= tol, what + ": expected " + expected + " ± " + tol + ", got " + actual);
    }

    /**
     * Shapes the detector must handle alike: tokens per step, experts, noise, capacity. The moving
     * phases drift enough for R to sit well above the threshold (about 10-20 times the noise).
     */
    static SyntheticLoads shape(int which) {
        SyntheticLoads g = new SyntheticLoads();
        switch (which) {
            case 0 -> { } // 16 experts, 8,192 slots, overdispersed noise
            case 1 -> { g.experts = 64; g.tokens = 1_000_000; g.jitter = 0.0; g.moveSd = 0.03; } // far more tokens, multinomial noise only
            case 2 -> { g.experts = 8; g.tokens = 512; g.jitter = 0.2; g.moveSd = 0.2; } // few tokens, loud noise
            case 3 -> { g.experts = 32; g.tokens = 16384; g.capacity = 1.25; } // top-1 with capacity: heavy experts clipped
            default -> throw new IllegalArgumentException();
        }
        return g;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3})
    void findsAKnownTransitionWithinFivePercent(int which) {
        SyntheticLoads g = shape(which);
        g.seed = 11 + which;
        int steps = 3000;
        int change = 900;
        LoadTrace t = g.generate(new boolean[] {true, false}, new int[] {change, steps - change});
        StateTimeline tl = StateDetectors.offline(t);
        for (int l = 0; l < t.layers(); l++) {
            assertNear(change, tl.transitionStep(l), steps / 20, "shape " + which + " layer " + l);
            assertEquals(List.of(), tl.relapses(l), "no relapse in a still phase");
        }
        assertNear(change, tl.modelTransitionStep(), steps / 20, "model");
    }

    @Test
    void findsARelapseAndTheReturnToStability() {
        SyntheticLoads g = shape(0);
        g.seed = 5;
        int steps = 4000;
        LoadTrace t = g.generate(new boolean[] {true, false, true, false}, new int[] {600, 1400, 600, 1400});
        StateTimeline tl = StateDetectors.offline(t);
        for (int l = 0; l < t.layers(); l++) {
            assertNear(600, tl.transitionStep(l), steps / 20, "transition, layer " + l);
            List<Long> rel = tl.relapses(l);
            assertEquals(1, rel.size(), "one relapse, layer " + l + ": " + tl.segments(l));
            assertNear(2000, rel.getFirst(), steps / 20, "relapse, layer " + l);
            List<Segment> segs = tl.segments(l);
            assertEquals(LoadState.STABLE, segs.getLast().state());
            assertNear(2600, segs.getLast().start(), steps / 20, "return to stable, layer " + l);
        }
        assertEquals(1, tl.modelRelapses().size());
    }

    @Test
    void aTraceThatIsStillFromTheStartIsStableFromItsFirstStep() {
        SyntheticLoads g = shape(0);
        LoadTrace t = g.generate(new boolean[] {false}, new int[] {1000});
        StateTimeline tl = StateDetectors.offline(t);
        assertEquals(0, tl.modelTransitionStep());
        assertEquals(1000, tl.modelStepsIn(LoadState.STABLE));
    }

    @Test
    void aTraceThatNeverSettlesHasNoTransition() {
        SyntheticLoads g = shape(0);
        LoadTrace t = g.generate(new boolean[] {true}, new int[] {1500});
        StateTimeline tl = StateDetectors.offline(t);
        assertEquals(-1, tl.modelTransitionStep());
        for (int l = 0; l < t.layers(); l++) {
            assertEquals(-1, tl.transitionStep(l));
        }
    }

    @Test
    void onlineDecidesFromThePastOnlyAndLagsBySustainedEvidence() {
        SyntheticLoads g = shape(0);
        g.seed = 21;
        int change = 800;
        LoadTrace t = g.generate(new boolean[] {true, false}, new int[] {change, 1700});
        OnlineStateDetector d = StateDetectors.online(t.layers(), t.experts());
        int[] step = new int[t.layers() * t.experts()];
        long firstStable = -1;
        for (int s = 0; s < t.steps(); s++) {
            t.copyStep(s, step);
            d.observe(s, step);
            if (s < change) {
                assertEquals(LoadState.TRANSIENT, d.modelState(), "step " + s);
            }
            if (firstStable < 0 && d.modelState() == LoadState.STABLE) {
                firstStable = s;
            }
        }
        // evidence: one full calm window (100 steps) sustained for 100 steps
        assertTrue(firstStable >= change && firstStable <= change + 2 * 100 + 125, "online stable at " + firstStable);
        // online answers agree with a replay (decisions depend on the past only)
        d.reset();
        OnlineStateDetector d2 = StateDetectors.online(t.layers(), t.experts());
        for (int s = 0; s < t.steps(); s++) {
            t.copyStep(s, step);
            d.observe(s, step);
            d2.observe(s, step);
            assertEquals(d2.modelState(), d.modelState());
        }
    }

    @Test
    void onlineAndOfflineAgreeOnTheStateAfterTheHold() {
        SyntheticLoads g = shape(2);
        LoadTrace t = g.generate(new boolean[] {true, false, true, false}, new int[] {500, 1000, 500, 1000});
        RatioStateDetector on = StateDetectors.online(t.layers(), t.experts(), 100);
        StateTimeline off = StateDetectors.offline(t, StateCriterion.of(100));
        int[] step = new int[t.layers() * t.experts()];
        for (int s = 0; s < t.steps(); s++) {
            t.copyStep(s, step);
            on.observe(s, step);
            for (int l = 0; l < t.layers(); l++) {
                // the online state at s is the offline state of the segment holding s, once that
                // segment has been sustained for the hold (offline dates changes back)
                if (on.state(l) == LoadState.STABLE) {
                    assertEquals(LoadState.STABLE, off.stateAt(l, on.stateSince(l)), "layer " + l + " step " + s);
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"moe-gpt-jdk-e16-top2-seed1.npy", "moe-gpt-jdk-e16-top2-seed2.npy"})
    void bundledTracesHaveAnEarlyTransitionStableUnderSmallWindowChanges(String name) {
        Path p = trace(name);
        LoadTrace t = Traces.load(p);
        StateTimeline base = StateDetectors.offline(t);
        long steps = t.steps();
        for (int l = 0; l < t.layers(); l++) {
            long tr = base.transitionStep(l);
            assertTrue(tr > 0 && tr < steps / 5, name + " layer " + l + " transition " + tr);
            assertEquals(List.of(), base.relapses(l), name + " layer " + l + " relapses");
        }
        for (int w : new int[] {90, 110}) {
            StateTimeline other = StateDetectors.offline(t, StateCriterion.of(w));
            for (int l = 0; l < t.layers(); l++) {
                assertNear(base.transitionStep(l), other.transitionStep(l), 60, name + " layer " + l + " window " + w);
            }
            assertNear(base.modelTransitionStep(), other.modelTransitionStep(), 60, name + " model, window " + w);
        }
        // streaming from the file gives the same answer as the in-memory trace
        StateTimeline streamed = StateDetectors.offline(p);
        for (int l = 0; l < t.layers(); l++) {
            assertEquals(base.segments(l), streamed.segments(l));
        }
    }

    @Test
    void theModelIgnoresAStableBlipShorterThanTheHold() {
        StateCriterion c = StateCriterion.of(100);
        List<Segment> a = List.of(new Segment(LoadState.TRANSIENT, 0, 500), new Segment(LoadState.STABLE, 500, 3000));
        List<Segment> b = List.of(new Segment(LoadState.TRANSIENT, 0, 300), new Segment(LoadState.STABLE, 300, 506),
                new Segment(LoadState.TRANSIENT, 506, 700), new Segment(LoadState.STABLE, 700, 3000));
        StateTimeline tl = new StateTimeline(c, 0, 3000, List.of(a, b));
        assertEquals(700, tl.modelTransitionStep(), tl.modelSegments().toString());
        assertEquals(List.of(), tl.modelRelapses());
        assertEquals(LoadState.TRANSIENT, tl.modelStateAt(503));
        assertEquals(2, tl.modelSegments().size());
        // a long enough stable stretch stays, and the relapse after it is reported
        List<Segment> b2 = List.of(new Segment(LoadState.TRANSIENT, 0, 300), new Segment(LoadState.STABLE, 300, 900),
                new Segment(LoadState.TRANSIENT, 900, 1000), new Segment(LoadState.STABLE, 1000, 3000));
        StateTimeline tl2 = new StateTimeline(c, 0, 3000, List.of(a, b2));
        assertEquals(500, tl2.modelTransitionStep());
        assertEquals(List.of(900L), tl2.modelRelapses());
    }
}

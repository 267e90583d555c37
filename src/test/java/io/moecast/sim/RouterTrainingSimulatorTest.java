package io.moecast.sim;

import io.moecast.analysis.OfflineStateDetector;
import io.moecast.analysis.StateCriterion;
import io.moecast.analysis.StateDetectors;
import io.moecast.analysis.StateTimeline;
import io.moecast.routing.Routers;
import io.moecast.routing.ScoringMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RouterTrainingSimulatorTest {
    /** A small configuration that still trains like the default (fast enough for the test suite). */
    static SimConfig small() {
        return SimConfig.defaults().toBuilder().layers(2).experts(8).k(2).d(32).tokens(1024).steps(40)
                .vocab(1024).clusters(12).warmup(10).build();
    }

    private static int[][] run(SimConfig c, String impl, int microBatch) {
        RouterTrainingSimulator s = new RouterTrainingSimulator(c, Routers.create(impl), microBatch);
        int[][] out = new int[c.steps()][];
        for (int t = 0; t < c.steps(); t++) {
            out[t] = s.step().clone();
        }
        return out;
    }

    @Test
    void sameSeedSameTrace() {
        SimConfig c = small();
        int[][] a = run(c, "scalar", 256);
        int[][] b = run(c, "scalar", 256);
        for (int t = 0; t < c.steps(); t++) {
            assertArrayEquals(a[t], b[t], "step " + t);
        }
        int[][] v1 = run(c, "auto", 256);
        int[][] v2 = run(c, "auto", 256);
        for (int t = 0; t < c.steps(); t++) {
            assertArrayEquals(v1[t], v2[t], "default router, step " + t);
        }
        int[][] other = run(c.withSeed(2), "scalar", 256);
        assertFalse(Arrays.deepEquals(a, other), "another seed gives another trace");
    }

    @Test
    void microBatchingDoesNotChangeTheTrace() {
        SimConfig c = small().withSteps(15);
        int[][] whole = run(c, "scalar", 0);
        int[][] chunked = run(c, "scalar", 100); // uneven chunks
        for (int t = 0; t < c.steps(); t++) {
            assertArrayEquals(whole[t], chunked[t], "step " + t);
        }
    }

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void everyModeRoutesEveryTokenSlot(ScoringMode mode) {
        SimConfig c = small().toBuilder().mode(mode).steps(12).build();
        RouterTrainingSimulator s = new RouterTrainingSimulator(c, Routers.create("auto"));
        for (int t = 0; t < c.steps(); t++) {
            int[] counts = s.step();
            for (int l = 0; l < c.layers(); l++) {
                int sum = 0;
                for (int e = 0; e < c.experts(); e++) {
                    assertTrue(counts[l * c.experts() + e] >= 0);
                    sum += counts[l * c.experts() + e];
                }
                assertEquals(c.tokens() * c.k(), sum, "no capacity limit: every slot is kept");
            }
            assertTrue(Double.isFinite(s.lastLoss()));
        }
    }

    @Test
    void capacityDropsAreCountedSeparately() {
        SimConfig c = small().toBuilder().capacityFactor(1.0).steps(20).build();
        int cap = c.capacity();
        assertEquals(256, cap); // 1.0 × 1024 × 2 / 8
        RouterTrainingSimulator s = new RouterTrainingSimulator(c, Routers.create("scalar"));
        long dropped = 0;
        for (int t = 0; t < c.steps(); t++) {
            int[] kept = s.step();
            int[] drop = s.dropped();
            for (int l = 0; l < c.layers(); l++) {
                int sum = 0;
                for (int e = 0; e < c.experts(); e++) {
                    int i = l * c.experts() + e;
                    assertTrue(kept[i] <= cap, "kept within capacity");
                    assertTrue(drop[i] == 0 || kept[i] == cap, "an expert drops only when full");
                    sum += kept[i] + drop[i];
                    dropped += drop[i];
                }
                assertEquals(c.tokens() * c.k(), sum, "kept + dropped = routed");
            }
        }
        assertTrue(dropped > 0, "an imbalanced router overflows capacity factor 1.0");
    }

    @Test
    void theAuxiliaryLossBalancesTheLoad() {
        SimConfig base = small().toBuilder().steps(120).build();
        double with = finalImbalance(base.toBuilder().aux(0.1).build());
        double without = finalImbalance(base.toBuilder().aux(0.0).build());
        assertTrue(with < without, "aux 0.1 max/mean " + with + " vs aux 0 " + without);
    }

    private static double finalImbalance(SimConfig c) {
        RouterTrainingSimulator s = new RouterTrainingSimulator(c, Routers.create("scalar"));
        double acc = 0;
        int n = 0;
        for (int t = 0; t < c.steps(); t++) {
            int[] counts = s.step();
            if (t >= c.steps() - 20) {
                for (int l = 0; l < c.layers(); l++) {
                    int mx = 0;
                    for (int e = 0; e < c.experts(); e++) {
                        mx = Math.max(mx, counts[l * c.experts() + e]);
                    }
                    acc += mx / (c.tokens() * (double) c.k() / c.experts());
                    n++;
                }
            }
        }
        return acc / n;
    }

    /** The loads go through a transient and settle into a stable state, as the detector sees it. */
    @Test
    void showsATransientThenAStableState() {
        SimConfig c = SimConfig.defaults().toBuilder().layers(2).experts(16).d(32).tokens(2048).steps(700)
                .warmup(100).build();
        RouterTrainingSimulator s = new RouterTrainingSimulator(c, Routers.create("auto"));
        OfflineStateDetector d = StateDetectors.offline(c.layers(), c.experts(), StateCriterion.DEFAULT);
        for (int t = 0; t < c.steps(); t++) {
            d.observe(t, s.step());
        }
        StateTimeline tl = d.finish();
        for (int l = 0; l < c.layers(); l++) {
            long tr = tl.transitionStep(l);
            assertTrue(tr > 0, "layer " + l + " starts transient: " + tl.segments(l));
            assertTrue(tr < c.steps() / 2, "layer " + l + " is stable in the second half: " + tl.segments(l));
        }
        assertNotEquals(-1, tl.modelTransitionStep());
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> small().toBuilder().k(9).build());
        assertThrows(IllegalArgumentException.class, () -> small().toBuilder().capacityFactor(-1).build());
        assertThrows(IllegalArgumentException.class, () -> small().toBuilder().aux(-0.1).build());
        assertThrows(IllegalArgumentException.class, () -> small().toBuilder().mode(ScoringMode.SIGMOID_GROUPED).experts(8).k(8).build());
    }

    @Test
    void learningRateWarmsUpThenDecays() {
        SimConfig c = SimConfig.defaults();
        assertEquals(c.lr() / c.warmup(), c.lrAt(0), 1e-15);
        assertEquals(c.lr(), c.lrAt(c.warmup() - 1), 1e-15);
        assertEquals(c.lr(), c.lrAt(c.warmup()), 1e-15);
        assertEquals(c.lr() * c.minLrRatio(), c.lrAt(c.steps()), 1e-15);
        assertTrue(c.lrAt(1000) > c.lrAt(2000));
    }
}

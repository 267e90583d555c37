package io.moecast.routing;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reference router on cases worked out by hand: these pin down the documented semantics. */
class ScalarRouterTest {
    private static final float NAN = Float.NaN;
    private static final float INF = Float.POSITIVE_INFINITY;
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    private static RoutingOutput route(RoutingSpec spec, float... row) {
        RoutingOutput out = new RoutingOutput();
        new ScalarRouter().route(row, row.length / spec.experts(), spec, out);
        return out;
    }

    private static int[] ids(RoutingOutput out) {
        int[] r = new int[out.tokens() * out.k()];
        System.arraycopy(out.ids(), 0, r, 0, r.length);
        return r;
    }

    private static float[] weights(RoutingOutput out) {
        float[] r = new float[out.tokens() * out.k()];
        System.arraycopy(out.weights(), 0, r, 0, r.length);
        return r;
    }

    @Test
    void tiesGoToTheLowerIndex() {
        RoutingOutput out = route(RoutingSpec.of(5, 3, ScoringMode.TOPK_SOFTMAX), 1f, 3f, 2f, 3f, 3f);
        assertArrayEquals(new int[] {1, 3, 4}, ids(out));
        assertArrayEquals(new float[] {1f / 3, 1f / 3, 1f / 3}, weights(out), 1e-7f);
    }

    @Test
    void negativeZeroEqualsPositiveZero() {
        assertArrayEquals(new int[] {0, 1}, ids(route(RoutingSpec.of(3, 2, ScoringMode.TOPK_SOFTMAX), -0.0f, 0.0f, -1f)));
        assertArrayEquals(new int[] {0, 1}, ids(route(RoutingSpec.of(3, 2, ScoringMode.TOPK_SOFTMAX), 0.0f, -0.0f, -1f)));
    }

    @Test
    void nanNeverWinsAndRanksBelowNegativeInfinity() {
        RoutingOutput out = route(RoutingSpec.of(5, 4, ScoringMode.TOPK_SOFTMAX), NAN, 1f, NAN, 0f, NEG_INF);
        assertArrayEquals(new int[] {1, 3, 4, 0}, ids(out));
        double e = Math.E;
        assertArrayEquals(new float[] {(float) (e / (e + 1)), (float) (1 / (e + 1)), 0f, 0f}, weights(out), 1e-7f);
        out = route(RoutingSpec.of(5, 2, ScoringMode.SOFTMAX_TOPK), NAN, 1f, NAN, 0f, NEG_INF);
        assertArrayEquals(new int[] {1, 3}, ids(out));
        assertArrayEquals(new float[] {(float) (e / (e + 1)), (float) (1 / (e + 1))}, weights(out), 1e-7f);
    }

    @Test
    void allNanRowsTakeTheFirstExpertsWithUniformWeights() {
        float[] row = {NAN, NAN, NAN, NAN};
        assertArrayEquals(new int[] {0, 1}, ids(route(RoutingSpec.of(4, 2, ScoringMode.TOPK_SOFTMAX), row)));
        assertArrayEquals(new float[] {0.5f, 0.5f}, weights(route(RoutingSpec.of(4, 2, ScoringMode.TOPK_SOFTMAX), row)));
        assertArrayEquals(new float[] {0.25f, 0.25f}, weights(route(RoutingSpec.of(4, 2, ScoringMode.SOFTMAX_TOPK), row)));
        RoutingOutput g = route(RoutingSpec.grouped(4, 2, 2, 1, null), row);
        assertArrayEquals(new int[] {0, 1}, ids(g));
        assertArrayEquals(new float[] {0.5f, 0.5f}, weights(g));
    }

    @Test
    void allNegativeInfinityRows() {
        float[] row = {NEG_INF, NEG_INF, NEG_INF};
        RoutingOutput out = route(RoutingSpec.of(3, 3, ScoringMode.TOPK_SOFTMAX), row);
        assertArrayEquals(new int[] {0, 1, 2}, ids(out));
        assertArrayEquals(new float[] {1f / 3, 1f / 3, 1f / 3}, weights(out));
        out = route(RoutingSpec.of(3, 1, ScoringMode.SOFTMAX_TOPK), row);
        assertArrayEquals(new int[] {0}, ids(out));
        assertArrayEquals(new float[] {1f / 3}, weights(out));
        // sigmoid(-inf) = 0 for every expert: the weights fall back to uniform
        out = route(RoutingSpec.grouped(3, 2, 1, 1, null), row);
        assertArrayEquals(new int[] {0, 1}, ids(out));
        assertArrayEquals(new float[] {0.5f, 0.5f}, weights(out));
    }

    @Test
    void severalPositiveInfinitiesShareTheMass() {
        float[] row = {INF, 1f, INF, INF};
        RoutingOutput out = route(RoutingSpec.of(4, 2, ScoringMode.SOFTMAX_TOPK), row);
        assertArrayEquals(new int[] {0, 2}, ids(out));
        assertArrayEquals(new float[] {1f / 3, 1f / 3}, weights(out));
        out = route(RoutingSpec.of(4, 4, ScoringMode.SOFTMAX_TOPK), row);
        assertArrayEquals(new int[] {0, 2, 3, 1}, ids(out));
        assertArrayEquals(new float[] {1f / 3, 1f / 3, 1f / 3, 0f}, weights(out));
        out = route(RoutingSpec.of(4, 2, ScoringMode.TOPK_SOFTMAX), row);
        assertArrayEquals(new float[] {0.5f, 0.5f}, weights(out));
        out = route(RoutingSpec.of(4, 4, ScoringMode.TOPK_SOFTMAX), row);
        assertArrayEquals(new float[] {1f / 3, 1f / 3, 1f / 3, 0f}, weights(out));
    }

    @Test
    void kEqualsEIsAFullSortDescending() {
        float[] row = {0.5f, -2f, 7f, 0.5f, 3f, -0f};
        RoutingOutput out = route(RoutingSpec.of(6, 6, ScoringMode.SOFTMAX_TOPK), row);
        assertArrayEquals(new int[] {2, 4, 0, 3, 5, 1}, ids(out));
        double m = 7, sum = 0;
        for (float v : row) {
            sum += Math.exp(v - m);
        }
        float[] w = weights(out);
        double total = 0;
        for (int j = 0; j < 6; j++) {
            assertEquals(Math.exp(row[out.id(0, j)] - m) / sum, w[j], 1e-7);
            total += w[j];
        }
        assertEquals(1.0, total, 1e-6);
    }

    @ParameterizedTest
    @EnumSource(ScoringMode.class)
    void oneExpertAlwaysWins(ScoringMode mode) {
        RoutingOutput out = route(RoutingSpec.of(1, 1, mode), 3f, NAN, NEG_INF, INF, -7f);
        assertArrayEquals(new int[] {0, 0, 0, 0, 0}, ids(out));
        assertArrayEquals(new float[] {1f, 1f, 1f, 1f, 1f}, weights(out));
        assertArrayEquals(new long[] {5}, out.counts());
    }

    @Test
    void topkSoftmaxWeightsAreSoftmaxOverTheSelected() {
        RoutingOutput out = route(RoutingSpec.of(4, 2, ScoringMode.TOPK_SOFTMAX), 0f, 2f, 1f, -3f);
        assertArrayEquals(new int[] {1, 2}, ids(out));
        double e = Math.E;
        assertArrayEquals(new float[] {(float) (e / (e + 1)), (float) (1 / (e + 1))}, weights(out), 1e-7f);
    }

    @Test
    void sigmoidGroupedKeepsTheBestGroupsBySumOfTopTwo() {
        // 4 groups of 2. Group sums of sigmoid: g0 = s(5)+s(-5) = 1.0, g1 = 2 s(1) = 1.462,
        // g2 = 2 s(0.9) = 1.422, g3 = s(2)+s(-9) = 0.881. Keep 2 groups: g1, g2. Plain top-2 would take 0.
        float[] row = {5f, -5f, 1f, 1f, 0.9f, 0.9f, 2f, -9f};
        RoutingOutput out = route(RoutingSpec.grouped(8, 2, 4, 2, null), row);
        assertArrayEquals(new int[] {2, 3}, ids(out));
        assertArrayEquals(new float[] {0.5f, 0.5f}, weights(out));
        // k = 3 within groups 1 and 2: 2, 3 (tie: lower index), then 4
        out = route(RoutingSpec.grouped(8, 3, 4, 2, null), row);
        assertArrayEquals(new int[] {2, 3, 4}, ids(out));
        double s1 = 1 / (1 + Math.exp(-1.0)), s09 = 1 / (1 + Math.exp(-0.9));
        double sum = 2 * s1 + s09;
        assertArrayEquals(new float[] {(float) (s1 / sum), (float) (s1 / sum), (float) (s09 / sum)}, weights(out), 1e-7f);
    }

    @Test
    void sigmoidGroupedBiasSteersSelectionButNotWeights() {
        float[] row = {5f, -5f, 1f, 1f, 0.9f, 0.9f, 2f, -9f};
        float[] bias = new float[8];
        bias[4] = 1f; // g2 = s(0.9)+1 + s(0.9) = 2.42: best group; g1 next
        RoutingOutput out = route(RoutingSpec.grouped(8, 2, 4, 2, bias), row);
        assertArrayEquals(new int[] {4, 2}, ids(out));
        double s1 = 1 / (1 + Math.exp(-1.0)), s09 = 1 / (1 + Math.exp(-0.9));
        assertArrayEquals(new float[] {(float) (s09 / (s09 + s1)), (float) (s1 / (s09 + s1))}, weights(out), 1e-7f);
        // a bias can pull a weak group in: +2 on expert 7 makes g3 = s(2) + s(-9) + 2 = 2.88
        bias[7] = 2f;
        out = route(RoutingSpec.grouped(8, 2, 4, 2, bias), row);
        assertArrayEquals(new int[] {7, 4}, ids(out));
    }

    @Test
    void sigmoidGroupedGroupTieGoesToTheLowerGroup() {
        float[] row = {1f, 0f, 1f, 0f, 1f, 0f};
        RoutingOutput out = route(RoutingSpec.grouped(6, 2, 3, 1, null), row);
        assertArrayEquals(new int[] {0, 1}, ids(out));
    }

    @Test
    void sigmoidGroupedWithOneExpertPerGroupUsesItsOnlyKey() {
        float[] row = {0f, 3f, 1f, 2f};
        RoutingOutput out = route(RoutingSpec.grouped(4, 2, 4, 2, null), row);
        assertArrayEquals(new int[] {1, 3}, ids(out));
    }

    @Test
    void countsAreTheHistogramOfAllSlotsAndAreResetPerCall() {
        Random r = new Random(1);
        int E = 7, T = 1001, k = 3;
        float[] logits = new float[T * E];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian();
        }
        RoutingOutput out = new RoutingOutput();
        ScalarRouter router = new ScalarRouter();
        for (int rep = 0; rep < 2; rep++) {
            router.route(logits, T, RoutingSpec.of(E, k, ScoringMode.SOFTMAX_TOPK), out);
            long[] expect = new long[E];
            for (int t = 0; t < T; t++) {
                boolean[] seen = new boolean[E];
                for (int j = 0; j < k; j++) {
                    int id = out.id(t, j);
                    assertTrue(id >= 0 && id < E && !seen[id], "distinct ids in range");
                    seen[id] = true;
                    expect[id]++;
                }
            }
            assertArrayEquals(expect, out.counts());
        }
    }

    @Test
    void segmentEntryPointMatchesHeapForF32AndBf16() {
        Random r = new Random(2);
        int E = 12, T = 57, k = 3;
        float[] logits = new float[T * E];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian() * 3;
        }
        logits[5] = NAN;
        logits[30] = INF;
        RoutingSpec spec = RoutingSpec.of(E, k, ScoringMode.SOFTMAX_TOPK);
        try (Arena arena = Arena.ofConfined()) {
            for (Precision p : Precision.values()) {
                float[] heap = logits.clone();
                MemorySegment seg = arena.allocate((long) heap.length * p.bytes());
                for (int i = 0; i < heap.length; i++) {
                    if (p == Precision.F32) {
                        seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, heap[i]);
                    } else {
                        short b = Precision.floatToBf16(heap[i]);
                        seg.setAtIndex(ValueLayout.JAVA_SHORT, i, b);
                        heap[i] = Precision.bf16ToFloat(b);
                    }
                }
                RoutingOutput out = new RoutingOutput();
                new ScalarRouter().route(heap, T, spec, out);
                MemorySegment ids = arena.allocate((long) T * k * 4);
                MemorySegment w = arena.allocate((long) T * k * 4);
                long[] counts = new long[E];
                new ScalarRouter().route(seg, p, T, spec, ids, w, counts);
                for (int i = 0; i < T * k; i++) {
                    assertEquals(out.ids()[i], ids.getAtIndex(ValueLayout.JAVA_INT, i), p + " id " + i);
                    assertEquals(out.weights()[i], w.getAtIndex(ValueLayout.JAVA_FLOAT, i), p + " weight " + i);
                }
                assertArrayEquals(out.counts(), counts);
            }
        }
    }

    @Test
    void routeHiddenIsTheGateProductThenRouting() {
        Random r = new Random(3);
        int T = 9, d = 5, E = 4;
        float[] x = new float[T * d];
        float[] w = new float[d * E];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) r.nextGaussian();
        }
        float[] logits = new float[T * E];
        for (int t = 0; t < T; t++) {
            for (int e = 0; e < E; e++) {
                float s = 0;
                for (int i = 0; i < d; i++) {
                    s += x[t * d + i] * w[i * E + e];
                }
                logits[t * E + e] = s;
            }
        }
        RoutingSpec spec = RoutingSpec.of(E, 2, ScoringMode.TOPK_SOFTMAX);
        RoutingOutput a = new RoutingOutput();
        RoutingOutput b = new RoutingOutput();
        new ScalarRouter().route(logits, T, spec, a);
        new ScalarRouter().routeHidden(x, w, T, d, spec, b);
        assertArrayEquals(ids(a), ids(b));
        assertArrayEquals(weights(a), weights(b));
        assertArrayEquals(a.counts(), b.counts());
    }

    @Test
    void invalidSpecsAreRejectedWithClearMessages() {
        assertThrows(IllegalArgumentException.class, () -> RoutingSpec.of(0, 1, ScoringMode.TOPK_SOFTMAX));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> RoutingSpec.of(4, 5, ScoringMode.TOPK_SOFTMAX))
                .getMessage().contains("k must be between 1"));
        assertThrows(IllegalArgumentException.class, () -> RoutingSpec.of(4, 0, ScoringMode.SOFTMAX_TOPK));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> RoutingSpec.grouped(10, 2, 4, 2, null))
                .getMessage().contains("must divide"));
        assertThrows(IllegalArgumentException.class, () -> RoutingSpec.grouped(8, 2, 4, 5, null));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> RoutingSpec.grouped(8, 5, 4, 2, null))
                .getMessage().contains("exceeds the experts in the kept groups"));
        assertThrows(IllegalArgumentException.class, () -> RoutingSpec.grouped(8, 2, 4, 2, new float[7]));
        float[] bad = new float[8];
        bad[3] = NAN;
        assertThrows(IllegalArgumentException.class, () -> RoutingSpec.grouped(8, 2, 4, 2, bad));
        assertThrows(IllegalArgumentException.class,
                () -> new ScalarRouter().route(new float[7], 2, RoutingSpec.of(4, 1, ScoringMode.TOPK_SOFTMAX), new RoutingOutput()));
    }

    @Test
    void defaultGroupsFollowTheExpertCount() {
        RoutingSpec s = RoutingSpec.of(64, 8, ScoringMode.SIGMOID_GROUPED);
        assertEquals(8, s.groups());
        assertEquals(4, s.topkGroups());
        assertEquals(6, RoutingSpec.of(60, 2, ScoringMode.SIGMOID_GROUPED).groups());
        assertEquals(5, RoutingSpec.of(100, 2, ScoringMode.SIGMOID_GROUPED).groups());
        assertEquals(7, RoutingSpec.of(7, 2, ScoringMode.SIGMOID_GROUPED).groups());
        assertEquals(1, RoutingSpec.of(1, 1, ScoringMode.SIGMOID_GROUPED).groups());
        RoutingSpec small = RoutingSpec.of(3, 1, ScoringMode.SIGMOID_GROUPED);
        assertEquals(3, small.groups());
        assertEquals(3, small.topkGroups());
    }
}

package io.moecast.routing;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every router implementation against the scalar reference (HdrHistogram style: one parameterised suite
 * over all implementations): identical ids and counts, weights within 1e-6 relative, counts summing to
 * T·k, on random and adversarial rows (ties, NaN/±∞ rows, all-NaN, all −∞, several +∞, huge and tiny
 * magnitudes), E in {1, 3, 7, 60, 64, 100, 128, 160, 256}, k from 1 to E, every mode, 1 and 2 threads,
 * T not a multiple of the vector length.
 */
class RouterEquivalenceTest {
    static final int[] EXPERTS = {1, 3, 7, 60, 64, 100, 128, 160, 256};
    /** Enough tokens that 2 threads really split the batch, and odd. */
    static final int TOKENS = 1299;
    private static final List<Router> OPEN = new ArrayList<>();

    /** Implementations under test: name and threads. */
    static Stream<Arguments> impls() {
        return Stream.of(Arguments.of("vector", 1), Arguments.of("vector", 2));
    }

    static Router open(String impl, int threads) {
        if (impl.equals("vector")) {
            assumeTrue(Routers.vectorAvailable(), "Vector API not available: " + Routers.vectorUnavailableReason());
        }
        Router r = Routers.create(impl, threads);
        assertEquals(impl, r.name());
        OPEN.add(r);
        return r;
    }

    @AfterAll
    static void close() throws Exception {
        for (Router r : OPEN) {
            if (r instanceof AutoCloseable c) {
                c.close();
            }
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Arguments impl : impls().toList()) {
            for (ScoringMode mode : ScoringMode.values()) {
                for (int e : EXPERTS) {
                    for (int k : new int[] {1, 2, 8, e}) {
                        if (k <= e && (k != e || e <= 64 || mode != ScoringMode.SIGMOID_GROUPED)) {
                            out.add(Arguments.of(impl.get()[0], impl.get()[1], mode, e, k));
                        }
                    }
                }
            }
        }
        return out.stream().distinct();
    }

    /** A spec for the shape; sigmoid-grouped gets random biases and enough kept groups for k. */
    static RoutingSpec spec(ScoringMode mode, int E, int k, Random r) {
        if (mode != ScoringMode.SIGMOID_GROUPED) {
            return RoutingSpec.of(E, k, mode);
        }
        int g = RoutingSpec.defaultGroups(E);
        int keep = Math.min(g, Math.max(RoutingSpec.DEFAULT_TOPK_GROUPS, (k * g + E - 1) / E));
        float[] bias = new float[E];
        for (int i = 0; i < E; i++) {
            bias[i] = (float) (r.nextGaussian() * 0.1);
        }
        return RoutingSpec.grouped(E, k, g, Math.min(g, keep), bias);
    }

    /** Rows cycle through kinds: normal, ties, NaN/±∞ sprinkled, all NaN, all −∞, several +∞, huge, tiny. */
    static float[] adversarial(int tokens, int E, Random r) {
        float[] a = new float[tokens * E];
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0.0f, 0.0f,
                Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE};
        for (int t = 0; t < tokens; t++) {
            int kind = t % 10;
            for (int e = 0; e < E; e++) {
                float v = switch (kind) {
                    case 0, 1, 2 -> (float) r.nextGaussian();
                    case 3 -> r.nextInt(3);                                        // many ties
                    case 4 -> r.nextInt(8) == 0 ? specials[r.nextInt(specials.length)] : (float) r.nextGaussian();
                    case 5 -> r.nextInt(4) == 0 ? Float.NaN : Float.NEGATIVE_INFINITY;  // NaN and −∞ only
                    case 6 -> r.nextInt(3) == 0 ? Float.POSITIVE_INFINITY : (float) r.nextGaussian();
                    case 7 -> (float) (r.nextGaussian() * 1e30);                   // huge
                    case 8 -> (float) (r.nextGaussian() * 1e-40);                  // tiny, subnormal
                    default -> (float) (r.nextGaussian() * 30);                    // wide softmax range
                };
                a[t * E + e] = v;
            }
            if (t % 97 == 11) {
                java.util.Arrays.fill(a, t * E, (t + 1) * E, Float.NaN);          // all NaN
            } else if (t % 97 == 12) {
                java.util.Arrays.fill(a, t * E, (t + 1) * E, Float.NEGATIVE_INFINITY);
            } else if (t % 97 == 13) {
                java.util.Arrays.fill(a, t * E, (t + 1) * E, 1.5f);              // one big tie
            }
        }
        return a;
    }

    static void assertSame(RoutingSpec spec, int tokens, int[] eIds, float[] eW, long[] eCounts,
                           int[] ids, float[] w, long[] counts, float[] logits, String what) {
        int k = spec.k();
        int E = spec.experts();
        long total = 0;
        for (long c : counts) {
            total += c;
        }
        assertEquals((long) tokens * k, total, what + ": counts sum");
        for (int t = 0; t < tokens; t++) {
            for (int j = 0; j < k; j++) {
                int i = t * k + j;
                if (eIds[i] != ids[i]) {
                    fail(what + ": token " + t + " slot " + j + ": id " + ids[i] + ", reference " + eIds[i]
                            + " (row " + rowString(logits, t, E) + ")");
                }
                double ref = eW[i];
                double tol = Math.max(1e-6 * Math.abs(ref), 1e-37);
                if (!(Math.abs(w[i] - ref) <= tol)) {
                    fail(what + ": token " + t + " slot " + j + ": weight " + w[i] + ", reference " + eW[i]
                            + " (rel " + Math.abs(w[i] - ref) / Math.abs(ref) + ", row " + rowString(logits, t, E) + ")");
                }
            }
        }
        assertArrayEquals(eCounts, counts, what + ": counts");
    }

    private static String rowString(float[] a, int t, int E) {
        if (a == null) {
            return "?";
        }
        StringBuilder sb = new StringBuilder("[");
        for (int e = 0; e < Math.min(E, 16); e++) {
            sb.append(e > 0 ? ", " : "").append(a[t * E + e]);
        }
        return sb.append(E > 16 ? ", ...]" : "]").toString();
    }

    @ParameterizedTest(name = "{0} x{1} {2} E={3} k={4}")
    @MethodSource("cases")
    void sameAsReferenceOnAdversarialRows(String impl, int threads, ScoringMode mode, int E, int k) {
        Router router = open(impl, threads);
        Random r = new Random(E * 1000L + k * 10L + mode.ordinal());
        RoutingSpec spec = spec(mode, E, k, r);
        float[] logits = adversarial(TOKENS, E, r);
        RoutingOutput expect = new RoutingOutput();
        new ScalarRouter().route(logits, TOKENS, spec, expect);
        RoutingOutput got = new RoutingOutput();
        for (int rep = 0; rep < 2; rep++) { // the second call reuses the output and scratch
            router.route(logits, TOKENS, spec, got);
            assertSame(spec, TOKENS, expect.ids(), expect.weights(), expect.counts(),
                    got.ids(), got.weights(), got.counts(), logits, impl + " " + spec);
        }
    }

    /** sigmoid-grouped without bias: exact key ties (and near-ties) exercise the fall-back to the reference. */
    @ParameterizedTest(name = "{0} x{1} E={2} k={3}")
    @MethodSource("unbiasedGroupedCases")
    void sigmoidGroupedWithoutBiasSameAsReference(String impl, int threads, int E, int k) {
        Router router = open(impl, threads);
        Random r = new Random(E * 7L + k);
        RoutingSpec spec = RoutingSpec.of(E, k, ScoringMode.SIGMOID_GROUPED);
        float[] logits = adversarial(TOKENS, E, r);
        for (int i = 0; i < logits.length; i += 3) {
            logits[i] = Math.round(logits[i] * 4) / 4f; // many equal values: equal keys
        }
        RoutingOutput expect = new RoutingOutput();
        new ScalarRouter().route(logits, TOKENS, spec, expect);
        RoutingOutput got = new RoutingOutput();
        router.route(logits, TOKENS, spec, got);
        assertSame(spec, TOKENS, expect.ids(), expect.weights(), expect.counts(),
                got.ids(), got.weights(), got.counts(), logits, impl + " " + spec);
    }

    static Stream<Arguments> unbiasedGroupedCases() {
        List<Arguments> out = new ArrayList<>();
        for (Arguments impl : impls().toList()) {
            for (int[] ek : new int[][] {{64, 2}, {64, 8}, {256, 8}, {60, 3}, {7, 2}}) {
                out.add(Arguments.of(impl.get()[0], impl.get()[1], ek[0], ek[1]));
            }
        }
        return out.stream();
    }

    static Stream<Arguments> segmentCases() {
        List<Arguments> out = new ArrayList<>();
        for (Arguments impl : impls().toList()) {
            for (Precision p : Precision.values()) {
                for (int[] ek : new int[][] {{64, 2}, {7, 3}, {160, 8}}) {
                    for (ScoringMode mode : ScoringMode.values()) {
                        out.add(Arguments.of(impl.get()[0], impl.get()[1], p, mode, ek[0], ek[1]));
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} x{1} {2} {3} E={4} k={5}")
    @MethodSource("segmentCases")
    void segmentEntryPointSameAsReference(String impl, int threads, Precision p, ScoringMode mode, int E, int k) {
        Router router = open(impl, threads);
        Random r = new Random(7 + E);
        RoutingSpec spec = spec(mode, E, k, r);
        int T = 2 * 1299 + 5;
        float[] logits = adversarial(T, E, r);
        // shared arena: the router's helper threads read it (a confined one is routed on one thread)
        try (Arena arena = mode == ScoringMode.TOPK_SOFTMAX && E == 7 ? Arena.ofConfined() : Arena.ofShared()) {
            MemorySegment seg = arena.allocate((long) logits.length * p.bytes());
            for (int i = 0; i < logits.length; i++) {
                if (p == Precision.F32) {
                    seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, logits[i]);
                } else {
                    short b = Precision.floatToBf16(logits[i]);
                    seg.setAtIndex(ValueLayout.JAVA_SHORT, i, b);
                    logits[i] = Precision.bf16ToFloat(b);
                }
            }
            RoutingOutput expect = new RoutingOutput();
            new ScalarRouter().route(logits, T, spec, expect);
            MemorySegment ids = arena.allocate((long) T * k * 4);
            MemorySegment w = arena.allocate((long) T * k * 4);
            long[] counts = new long[E];
            router.route(seg, p, T, spec, ids, w, counts);
            assertSame(spec, T, expect.ids(), expect.weights(), expect.counts(),
                    ids.toArray(ValueLayout.JAVA_INT), w.toArray(ValueLayout.JAVA_FLOAT), counts, logits, impl + " " + p + " " + spec);
        }
    }

    static Stream<Arguments> hiddenCases() {
        List<Arguments> out = new ArrayList<>();
        for (Arguments impl : impls().toList()) {
            for (int[] edk : new int[][] {{64, 96, 2}, {64, 33, 8}, {60, 50, 2}, {7, 16, 3}, {128, 64, 8}}) {
                out.add(Arguments.of(impl.get()[0], impl.get()[1], edk[0], edk[1], edk[2]));
            }
        }
        return out.stream();
    }

    /**
     * Fused gate: the vector GEMM uses FMA, the reference separate multiply and add, so logits differ
     * in the last bits and near-ties may resolve differently. Ids must match wherever the reference's
     * (k)-th and (k+1)-th logits (and consecutive selected ones) are more than 1e-4 apart.
     */
    @ParameterizedTest(name = "{0} x{1} E={2} d={3} k={4}")
    @MethodSource("hiddenCases")
    void fusedGateSameAsReferenceAwayFromNearTies(String impl, int threads, int E, int d, int k) {
        Router router = open(impl, threads);
        Random r = new Random(E + d + k);
        int T = 1203;
        float[] x = new float[T * d];
        float[] w = new float[d * E];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() / Math.sqrt(d));
        }
        for (ScoringMode mode : new ScoringMode[] {ScoringMode.TOPK_SOFTMAX, ScoringMode.SOFTMAX_TOPK}) {
            RoutingSpec spec = RoutingSpec.of(E, k, mode);
            RoutingOutput expect = new RoutingOutput();
            new ScalarRouter().routeHidden(x, w, T, d, spec, expect);
            RoutingOutput got = new RoutingOutput();
            router.routeHidden(x, w, T, d, spec, got);
            float[] row = new float[E];
            int compared = 0;
            long total = 0;
            for (long c : got.counts()) {
                total += c;
            }
            assertEquals((long) T * k, total);
            for (int t = 0; t < T; t++) {
                ScalarRouter.gateRow(x, t * d, w, d, E, row);
                float[] sorted = row.clone();
                java.util.Arrays.sort(sorted);
                double minGap = Double.POSITIVE_INFINITY;
                for (int j = 0; j < Math.min(k + 1, E) - 1; j++) {
                    minGap = Math.min(minGap, sorted[E - 1 - j] - sorted[E - 2 - j]);
                }
                if (minGap < 1e-4) {
                    continue;
                }
                compared++;
                for (int j = 0; j < k; j++) {
                    assertEquals(expect.id(t, j), got.id(t, j), "token " + t + " slot " + j);
                    assertEquals(expect.weight(t, j), got.weight(t, j), 1e-4 * Math.abs(expect.weight(t, j)) + 1e-30);
                }
            }
            assertTrue(compared > T / 2, "most rows compared: " + compared);
        }
    }
}

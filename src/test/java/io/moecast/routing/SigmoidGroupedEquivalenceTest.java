package io.moecast.routing;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/**
 * sigmoid-grouped against the scalar reference on rows built to sit on the decision boundaries of the
 * vector router's float-key fast path: near-ties of keys (gaps from 0 to a few float ulps, around the
 * certified margin), exact ties of group scores (the same top two in two groups), saturation (|x| &gt; 17,
 * where the float sigmoid is 1 or its error dominates), equal biases, large biases, groups of 1, 2, 3,
 * 8, 10 and 32 experts, E = 256 with 8 groups, 4 kept and k = 8 (DeepSeek-V3's shape). Ids and counts
 * identical, weights within 1e-6 relative.
 */
class SigmoidGroupedEquivalenceTest {
    /** E, G, topkGroups, k. */
    static final int[][] SHAPES = {
        {64, 8, 4, 1}, {64, 8, 4, 2}, {64, 8, 4, 8}, {256, 8, 4, 8}, {256, 8, 4, 1},
        {16, 16, 4, 2}, {16, 16, 16, 3},            // groups of one expert
        {16, 8, 3, 2}, {32, 16, 8, 6}, {10, 5, 2, 4}, // groups of two
        {60, 6, 3, 5}, {21, 7, 2, 6},                // groups of 10 and 3 (scalar group scores)
        {96, 3, 2, 8}, {24, 3, 2, 4},                // groups of 32 (whole vectors) and 8 with padding
        {64, 8, 8, 8}, {64, 1, 1, 8}, {7, 7, 3, 2}, {64, 8, 1, 8},
    };

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (Arguments impl : RouterEquivalenceTest.impls().toList()) {
            for (int[] s : SHAPES) {
                for (String bias : new String[] {"zero", "equal", "random", "pairs", "large"}) {
                    out.add(Arguments.of(impl.get()[0], impl.get()[1], s[0], s[1], s[2], s[3], bias));
                }
            }
        }
        return out.stream();
    }

    static float[] bias(String kind, int E, Random r) {
        float[] b = new float[E];
        for (int e = 0; e < E; e++) {
            b[e] = switch (kind) {
                case "zero" -> 0f;
                case "equal" -> 0.125f;
                case "random" -> (float) (r.nextGaussian() * 0.05);
                case "pairs" -> (float) ((e / 2) % 3) * 0.01f;    // equal in pairs and across groups
                default -> (float) (r.nextGaussian() * 20);       // |bias| far above the sigmoid range
            };
        }
        return b;
    }

    /** Row kinds: near-ties of keys, group-score ties, saturation, plain, and a sprinkle of NaN/±∞/|x| &gt; 700. */
    static float[] rows(int tokens, int E, int size, float[] bias, Random r) {
        float[] a = new float[tokens * E];
        for (int t = 0; t < tokens; t++) {
            int o = t * E;
            int kind = t % 8;
            for (int e = 0; e < E; e++) {
                a[o + e] = (float) r.nextGaussian();
            }
            switch (kind) {
                case 0 -> { } // plain
                case 1, 2 -> { // near-ties: copy values with gaps of 0 .. a few ulps (of x and of the key)
                    for (int e = 0; e < E; e++) {
                        int src = o + r.nextInt(E);
                        float v = a[src];
                        int ulps = r.nextInt(4) == 0 ? 0 : r.nextInt(9) - 4;
                        a[o + e] = r.nextBoolean() ? v : Float.intBitsToFloat(Float.floatToRawIntBits(v) + ulps * (kind == 1 ? 1 : 7));
                    }
                }
                case 3 -> { // keys (sigmoid + bias) tied with another expert's: x chosen so sigmoid(x) + b_e ≈ sigmoid(y) + b_f
                    for (int e = 0; e < E; e++) {
                        int f = r.nextInt(E);
                        double target = sigmoid(a[o + f]) + bias[f] - bias[e];
                        if (target > 1e-6 && target < 1 - 1e-6) {
                            a[o + e] = (float) Math.log(target / (1 - target)) ;
                        }
                    }
                }
                case 4 -> { // saturation: many |x| in (17, 40)
                    for (int e = 0; e < E; e++) {
                        if (r.nextInt(3) > 0) {
                            a[o + e] = (float) ((17 + r.nextDouble() * 23) * (r.nextInt(4) == 0 ? -1 : 1));
                        }
                    }
                }
                case 5 -> { // group-score ties: a group's values permuted into another group
                    int groups = E / size;
                    if (groups > 1) {
                        for (int rep = 0; rep < 3; rep++) {
                            int g = r.nextInt(groups);
                            int h = r.nextInt(groups);
                            for (int i = 0; i < size; i++) {
                                a[o + h * size + i] = a[o + g * size + (i + rep) % size];
                            }
                        }
                    }
                }
                case 6 -> { // coarse values: many exact ties
                    for (int e = 0; e < E; e++) {
                        a[o + e] = r.nextInt(5) * 0.5f - 1f;
                    }
                }
                default -> { // specials sprinkled
                    float[] sp = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 701f, -701f, 699f, -699f, 88f, -88f};
                    a[o + r.nextInt(E)] = sp[r.nextInt(sp.length)];
                }
            }
        }
        return a;
    }

    private static double sigmoid(double x) {
        return 1.0 / (1.0 + Math.exp(-x));
    }

    @ParameterizedTest(name = "{0} x{1} E={2} G={3} keep={4} k={5} bias={6}")
    @MethodSource("cases")
    void sameAsReferenceOnDecisionBoundaries(String impl, int threads, int E, int G, int tg, int k, String biasKind) {
        Router router = RouterEquivalenceTest.open(impl, threads);
        Random r = new Random(E * 31L + G * 7L + tg * 3L + k + biasKind.hashCode());
        float[] bias = bias(biasKind, E, r);
        RoutingSpec spec = RoutingSpec.grouped(E, k, G, tg, bias);
        int tokens = 1029;
        float[] logits = rows(tokens, E, E / G, bias, r);
        RoutingOutput expect = new RoutingOutput();
        new ScalarRouter().route(logits, tokens, spec, expect);
        RoutingOutput got = new RoutingOutput();
        router.route(logits, tokens, spec, got);
        RouterEquivalenceTest.assertSame(spec, tokens, expect.ids(), expect.weights(), expect.counts(),
                got.ids(), got.weights(), got.counts(), logits, impl + " " + spec + " bias " + biasKind);
    }
}

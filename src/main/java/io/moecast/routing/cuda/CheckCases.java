package io.moecast.routing.cuda;

import io.moecast.routing.Precision;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Random and adversarial routing batches for checking an implementation against the scalar reference:
 * many expert counts (powers of two, odd, prime, above 256), every k up to 8, every mode, both input
 * types, sigmoid groupings of every divisor, zero/random/coarse biases, and rows built to break kernels:
 * ties, NaN, ±∞, several +∞, all-NaN and all −∞ rows, −0.0 next to +0.0, sigmoid saturation (|x| &gt; 37
 * and x &lt; −700 tie in double), tiny logits (sigmoid 0.5 ties). Deterministic for a seed.
 */
public final class CheckCases {
    /** Expert counts every run includes (fast-path sizes, padded sizes, odd sizes, generic-only sizes). */
    static final int[] SPECIAL_E = {1, 2, 3, 4, 5, 7, 8, 12, 16, 20, 24, 32, 40, 48, 60, 64, 72, 96, 100, 128, 160, 192, 200,
        255, 256, 257, 384, 512};

    /** One batch: logits held as floats (bf16 cases hold bf16-representable values). */
    public record Case(int index, String kind, RoutingSpec spec, Precision precision, int tokens, float[] logits,
                       KernelPlan.Variant variant) {
        /** The logits in the case's precision, native order, in a fresh segment of {@code arena}. */
        public MemorySegment segment(Arena arena) {
            long n = (long) tokens * spec.experts();
            if (precision == Precision.F32) {
                MemorySegment s = arena.allocate(Math.max(4, n * 4), 16);
                MemorySegment.copy(logits, 0, s, ValueLayout.JAVA_FLOAT, 0, (int) n);
                return s.asSlice(0, n * 4);
            }
            MemorySegment s = arena.allocate(Math.max(2, n * 2), 16);
            for (long i = 0; i < n; i++) {
                s.setAtIndex(ValueLayout.JAVA_SHORT, i, Precision.floatToBf16(logits[(int) i]));
            }
            return s.asSlice(0, n * 2);
        }

        @Override
        public String toString() {
            return "#" + index + " " + kind + " " + spec + " " + precision + " T=" + tokens + " " + variant;
        }
    }

    private CheckCases() {
    }

    /** {@code n} cases from {@code seed}; {@code maxTokens} bounds T (the reference is slow for huge batches). */
    public static List<Case> generate(long seed, int n, int maxTokens) {
        SplittableRandom r = new SplittableRandom(seed);
        String[] kinds = {"normal", "ties", "specials", "rows", "saturate", "wide"};
        List<Case> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String kind = kinds[i % kinds.length];
            int E = i < SPECIAL_E.length * 3 ? SPECIAL_E[i % SPECIAL_E.length]
                    : r.nextInt(4) == 0 ? SPECIAL_E[r.nextInt(SPECIAL_E.length)] : 1 + r.nextInt(r.nextBoolean() ? 64 : 320);
            ScoringMode mode = ScoringMode.values()[(i / kinds.length) % 3];
            if (kind.equals("saturate") && r.nextInt(3) != 0) {
                mode = ScoringMode.SIGMOID_GROUPED;
            }
            Precision precision = r.nextInt(3) == 0 ? Precision.BF16 : Precision.F32;
            RoutingSpec spec = spec(r, E, mode);
            int tokens = i % 97 == 13 ? 0 : 1 + r.nextInt(Math.max(1, r.nextInt(8) == 0 ? maxTokens : Math.min(maxTokens, 300)));
            float[] logits = new float[tokens * E];
            fill(r, kind, logits, tokens, E);
            if (precision == Precision.BF16) {
                for (int j = 0; j < logits.length; j++) {
                    logits[j] = Precision.bf16ToFloat(Precision.floatToBf16(logits[j]));
                }
            }
            KernelPlan.Variant variant = KernelPlan.Variant.AUTO;
            if (i % 5 == 4) {
                variant = KernelPlan.Variant.GENERIC;
            } else if (i % 5 == 3 && applies(spec, precision, KernelPlan.Variant.V4)) {
                variant = KernelPlan.Variant.V4;
            }
            out.add(new Case(i, kind, spec, precision, tokens, logits, variant));
        }
        return out;
    }

    static boolean applies(RoutingSpec spec, Precision p, KernelPlan.Variant v) {
        try {
            KernelPlan.of(spec, p, 256, v);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static RoutingSpec spec(SplittableRandom r, int E, ScoringMode mode) {
        int kMax = Math.min(KernelPlan.MAX_K, E);
        int k = r.nextInt(4) == 0 ? kMax : 1 + r.nextInt(kMax);
        if (mode != ScoringMode.SIGMOID_GROUPED) {
            return RoutingSpec.of(E, k, mode);
        }
        List<Integer> divisors = new ArrayList<>();
        for (int g = 1; g <= E; g++) {
            if (E % g == 0) {
                divisors.add(g);
            }
        }
        int G = r.nextBoolean() && E % 8 == 0 ? 8 : divisors.get(r.nextInt(divisors.size()));
        int gs = E / G;
        int minKeep = (k + gs - 1) / gs;
        int keep = minKeep + r.nextInt(G - minKeep + 1);
        float[] bias = new float[E];
        int biasKind = r.nextInt(3);
        for (int e = 0; e < E; e++) {
            bias[e] = switch (biasKind) {
                case 0 -> 0f;
                case 1 -> (float) (r.nextGaussian() * 0.1);
                default -> 0.25f * (r.nextInt(5) - 2);   // coarse: biased keys tie across experts
            };
        }
        return RoutingSpec.grouped(E, k, G, keep, bias);
    }

    private static void fill(SplittableRandom r, String kind, float[] x, int T, int E) {
        for (int t = 0; t < T; t++) {
            int o = t * E;
            int rowKind = r.nextInt(20);
            if (kind.equals("rows") && rowKind < 12) {
                for (int e = 0; e < E; e++) {
                    x[o + e] = switch (rowKind % 6) {
                        case 0 -> Float.NaN;
                        case 1 -> Float.NEGATIVE_INFINITY;
                        case 2 -> r.nextInt(3) == 0 ? Float.POSITIVE_INFINITY : (float) r.nextGaussian();
                        case 3 -> 1.5f;
                        case 4 -> r.nextBoolean() ? -0.0f : 0.0f;
                        default -> r.nextBoolean() ? Float.NaN : Float.NEGATIVE_INFINITY;
                    };
                }
                continue;
            }
            for (int e = 0; e < E; e++) {
                x[o + e] = switch (kind) {
                    case "ties" -> r.nextInt(7) - 3;
                    case "specials" -> special(r);
                    case "saturate" -> switch (r.nextInt(5)) {
                        case 0 -> 30f + 30f * (float) r.nextDouble();       // sigmoid rounds to 1.0 in double
                        case 1 -> -700f - 100f * (float) r.nextDouble();    // exp(-x) overflows / subnormal
                        case 2 -> (float) (r.nextGaussian() * 1e-20);        // sigmoid rounds to 0.5
                        case 3 -> 36f + (float) r.nextDouble() * 2f;          // the edge of saturation
                        default -> (float) r.nextGaussian() * 4f;
                    };
                    case "wide" -> (float) (r.nextGaussian() * 30.0);
                    default -> (float) r.nextGaussian();
                };
            }
        }
    }

    private static float special(SplittableRandom r) {
        int c = r.nextInt(20);
        return switch (c) {
            case 0 -> Float.NaN;
            case 1 -> Float.POSITIVE_INFINITY;
            case 2 -> Float.NEGATIVE_INFINITY;
            case 3 -> -0.0f;
            case 4 -> 0.0f;
            case 5 -> Float.MAX_VALUE;
            case 6 -> -Float.MAX_VALUE;
            case 7 -> Float.MIN_VALUE;
            default -> (float) r.nextGaussian();
        };
    }
}

package io.moecast.predict;

import java.util.Random;
import java.util.function.IntFunction;

/** Synthetic count streams with known answers for the predictor tests. */
final class Series {
    private Series() {
    }

    /** Counts for one step from shares (rounded to {@code total} tokens per layer, exact). */
    static int[] countsExact(double[] shares, int layers, int experts, int total) {
        int[] c = new int[layers * experts];
        for (int l = 0; l < layers; l++) {
            int used = 0;
            for (int e = 0; e < experts; e++) {
                int i = l * experts + e;
                c[i] = e == experts - 1 ? total - used : (int) Math.round(shares[i] * total);
                used += c[i];
            }
        }
        return c;
    }

    /** Multinomial counts: {@code total} draws per layer from {@code shares}. */
    static int[] multinomial(double[] shares, int layers, int experts, int total, Random rnd) {
        int[] c = new int[layers * experts];
        double[] cdf = new double[experts];
        for (int l = 0; l < layers; l++) {
            double s = 0;
            for (int e = 0; e < experts; e++) {
                s += shares[l * experts + e];
                cdf[e] = s;
            }
            for (int t = 0; t < total; t++) {
                double u = rnd.nextDouble() * s;
                int e = 0;
                while (e < experts - 1 && cdf[e] < u) {
                    e++;
                }
                c[l * experts + e]++;
            }
        }
        return c;
    }

    /** Feeds {@code steps} steps from a generator to a predictor. */
    static void feed(Predictor p, int steps, IntFunction<int[]> gen) {
        for (int t = 0; t < steps; t++) {
            p.observe(t, gen.apply(t));
        }
    }

    static double[] uniformish(int layers, int experts, long seed) {
        Random r = new Random(seed);
        double[] v = new double[layers * experts];
        for (int l = 0; l < layers; l++) {
            double s = 0;
            for (int e = 0; e < experts; e++) {
                v[l * experts + e] = 0.5 + r.nextDouble();
                s += v[l * experts + e];
            }
            for (int e = 0; e < experts; e++) {
                v[l * experts + e] /= s;
            }
        }
        return v;
    }
}

package io.moecast.analysis;

import io.moecast.trace.LoadTrace;
import io.moecast.trace.TraceMeta;

import java.util.SplittableRandom;

/**
 * Generated load traces with known changes of regime, for the detector tests. Each layer has expert
 * logits μ(t); loads are drawn per step as N token-slots from softmax(μ(t) + per-step jitter)
 * (the jitter makes the noise overdispersed, as correlated tokens of a sequence do on real traces),
 * optionally clipped at a capacity. In a <em>moving</em> phase μ wanders (steps of {@code moveSd}, pulled back
 * to its start with {@code reversion}) (the transient state's drift); in a <em>still</em> phase μ stays put.
 */
final class SyntheticLoads {
    int layers = 2;
    int experts = 16;
    long tokens = 8192;
    double jitter = 0.1;
    double moveSd = 0.12;
    double initialSpread = 1.0;
    /** Pull of the moving logits back to their start per step (an Ornstein-Uhlenbeck wander, so loads never collapse onto one expert). */
    double reversion = 1.0 / 200;
    /** Capacity per expert as a multiple of the mean load, 0 = none (dropped slots are not counted). */
    double capacity = 0;
    long seed = 1;

    /** Phases: {@code moving[i]} for {@code lengths[i]} steps. */
    LoadTrace generate(boolean[] moving, int[] lengths) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int steps = 0;
        for (int n : lengths) {
            steps += n;
        }
        int E = experts;
        double[][] mu = new double[layers][E];
        double[][] mu0 = new double[layers][E];
        for (int l = 0; l < layers; l++) {
            for (int e = 0; e < E; e++) {
                mu0[l][e] = initialSpread * gauss(rnd);
                mu[l][e] = mu0[l][e];
            }
        }
        int[] counts = new int[steps * layers * E];
        double[] p = new double[E];
        double[] cum = new double[E];
        int s = 0;
        for (int ph = 0; ph < lengths.length; ph++) {
            for (int i = 0; i < lengths[ph]; i++, s++) {
                for (int l = 0; l < layers; l++) {
                    if (moving[ph]) {
                        for (int e = 0; e < E; e++) {
                            mu[l][e] += reversion * (mu0[l][e] - mu[l][e]) + moveSd * gauss(rnd);
                        }
                    }
                    double max = Double.NEGATIVE_INFINITY;
                    for (int e = 0; e < E; e++) {
                        p[e] = mu[l][e] + jitter * gauss(rnd);
                        max = Math.max(max, p[e]);
                    }
                    double z = 0;
                    for (int e = 0; e < E; e++) {
                        p[e] = Math.exp(p[e] - max);
                        z += p[e];
                    }
                    int off = (s * layers + l) * E;
                    multinomial(rnd, tokens, p, z, cum, counts, off);
                    if (capacity > 0) {
                        int cap = (int) Math.ceil(capacity * tokens / E);
                        for (int e = 0; e < E; e++) {
                            counts[off + e] = Math.min(counts[off + e], cap);
                        }
                    }
                }
            }
        }
        return new LoadTrace(TraceMeta.empty(), steps, layers, E, 0, counts);
    }

    /** Multinomial counts: exact sampling for small N, normal approximation per binomial otherwise. */
    private void multinomial(SplittableRandom rnd, long n, double[] w, double z, double[] cum, int[] out, int off) {
        int E = w.length;
        long left = n;
        double mass = z;
        for (int e = 0; e < E; e++) {
            if (e == E - 1 || left == 0) {
                out[off + e] = (int) left;
                left = 0;
                continue;
            }
            double q = Math.min(1.0, Math.max(0.0, w[e] / mass));
            long c;
            if (left < 200) {
                c = 0;
                for (long j = 0; j < left; j++) {
                    if (rnd.nextDouble() < q) {
                        c++;
                    }
                }
            } else {
                double m = left * q;
                double sd = Math.sqrt(left * q * (1 - q));
                c = Math.round(m + sd * gauss(rnd));
                c = Math.max(0, Math.min(left, c));
            }
            out[off + e] = (int) c;
            left -= c;
            mass -= w[e];
        }
    }

    static double gauss(SplittableRandom r) {
        double u = r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }
}

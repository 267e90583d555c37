package io.moecast.routing.panama;

import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScalarRouter;
import io.moecast.routing.ScoringMode;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import static io.moecast.routing.panama.VectorMath.F;
import static io.moecast.routing.panama.VectorMath.GONE_KEY;
import static io.moecast.routing.panama.VectorMath.I;
import static io.moecast.routing.panama.VectorMath.L;
import static io.moecast.routing.panama.VectorMath.NEG_INF_KEY;
import static io.moecast.routing.panama.VectorMath.POS_INF_KEY;

/**
 * One worker's routing kernels and scratch (one instance per thread, reused across batches, so the
 * steady state allocates nothing). Rows are {@code a[off .. off+E)}; results go to
 * {@code ids/w[outOff .. outOff+k)} and {@link #counts}.
 *
 * <p>Selection works on integer keys ({@link VectorMath#keys}); k passes of: max tree, one
 * {@code reduceLanes(MAX)}, locate the lowest index holding the max with {@code eq} masks packed into
 * one {@code long} ({@code numberOfTrailingZeros}), knock it out. Weights avoid exponentials where the
 * math allows: top-k on raw logits, k − 1 accurate double exps for the renormalised modes, and the E
 * exps of a full softmax vectorised in float. Rows whose best logit is ±∞ or NaN, and the
 * sigmoid-grouped mode, go through the scalar reference code (exact by construction).
 */
final class RowKernels {
    final long[] counts;
    private final int[] keys;
    private final double[] ek;
    private final ScalarRouter scalar = new ScalarRouter();

    RowKernels(int experts, int k) {
        this.counts = new long[experts];
        int nv = (experts + L - 1) / L;
        this.keys = new int[nv * L];
        this.ek = new double[k];
    }

    /** Routes {@code rows} rows starting at {@code a[off]}. */
    void route(float[] a, int off, int rows, RoutingSpec spec, int[] ids, float[] w, int outOff) {
        int E = spec.experts();
        int k = spec.k();
        if (spec.mode() == ScoringMode.SIGMOID_GROUPED) {
            for (int r = 0; r < rows; r++) {
                scalar.routeOne(a, off + r * E, spec, ids, w, outOff + r * k, counts);
            }
        } else if (E == 4 * L) {
            route4(a, off, rows, spec, ids, w, outOff);
        } else {
            routeAny(a, off, rows, spec, ids, w, outOff);
        }
    }

    private static long locate(IntVector k0, IntVector k1, IntVector k2, IntVector k3, int s) {
        return k0.eq(s).toLong() | k1.eq(s).toLong() << L | k2.eq(s).toLong() << (2 * L) | k3.eq(s).toLong() << (3 * L);
    }

    private static int max4(IntVector k0, IntVector k1, IntVector k2, IntVector k3) {
        return k0.max(k1).max(k2.max(k3)).reduceLanes(VectorOperators.MAX);
    }

    /** E = 4 vectors: the row lives in registers for all k passes. */
    private void route4(float[] a, int off, int rows, RoutingSpec spec, int[] ids, float[] w, int outOff) {
        final int k = spec.k();
        final boolean full = spec.mode() == ScoringMode.SOFTMAX_TOPK;
        final long[] cnt = counts;
        for (int r = 0; r < rows; r++, off += 4 * L, outOff += k) {
            FloatVector x0 = FloatVector.fromArray(F, a, off);
            FloatVector x1 = FloatVector.fromArray(F, a, off + L);
            FloatVector x2 = FloatVector.fromArray(F, a, off + 2 * L);
            FloatVector x3 = FloatVector.fromArray(F, a, off + 3 * L);
            IntVector k0 = VectorMath.keys(x0);
            IntVector k1 = VectorMath.keys(x1);
            IntVector k2 = VectorMath.keys(x2);
            IntVector k3 = VectorMath.keys(x3);
            int s = max4(k0, k1, k2, k3);
            if (s >= POS_INF_KEY || s <= NEG_INF_KEY) {
                scalar.routeOne(a, off, spec, ids, w, outOff, cnt);
                continue;
            }
            long bits = locate(k0, k1, k2, k3, s);
            int id = Long.numberOfTrailingZeros(bits);
            ids[outOff] = id;
            cnt[id]++;
            for (int j = 1; j < k; j++) {
                long low = bits & -bits;
                k0 = k0.blend(GONE_KEY, VectorMask.fromLong(I, low));
                k1 = k1.blend(GONE_KEY, VectorMask.fromLong(I, low >>> L));
                k2 = k2.blend(GONE_KEY, VectorMask.fromLong(I, low >>> (2 * L)));
                k3 = k3.blend(GONE_KEY, VectorMask.fromLong(I, low >>> (3 * L)));
                int sj = max4(k0, k1, k2, k3);
                bits = locate(k0, k1, k2, k3, sj);
                id = Long.numberOfTrailingZeros(bits);
                ids[outOff + j] = id;
                cnt[id]++;
            }
            float m = a[off + ids[outOff]];
            if (full) {
                FloatVector e = VectorMath.expNonPositive(x0.sub(m)).add(VectorMath.expNonPositive(x1.sub(m)))
                        .add(VectorMath.expNonPositive(x2.sub(m)).add(VectorMath.expNonPositive(x3.sub(m))));
                fullWeights(a, off, m, VectorMath.sumToDouble(e), k, ids, w, outOff);
            } else {
                renormalisedWeights(a, off, m, k, ids, w, outOff);
            }
        }
    }

    /** Any E: keys in a scratch array padded with {@link VectorMath#GONE_KEY}; a masked tail vector. */
    private void routeAny(float[] a, int off, int rows, RoutingSpec spec, int[] ids, float[] w, int outOff) {
        final int E = spec.experts();
        final int k = spec.k();
        final boolean full = spec.mode() == ScoringMode.SOFTMAX_TOPK;
        final int nv = (E + L - 1) / L;
        final int last = (nv - 1) * L;
        final VectorMask<Float> tail = F.indexInRange(last, E);
        final VectorMask<Integer> pad = tail.not().cast(I);
        final int[] ks = keys;
        final long[] cnt = counts;
        for (int r = 0; r < rows; r++, off += E, outOff += k) {
            IntVector mx = IntVector.broadcast(I, GONE_KEY);
            for (int v = 0; v < last; v += L) {
                IntVector kv = VectorMath.keys(FloatVector.fromArray(F, a, off + v));
                kv.intoArray(ks, v);
                mx = mx.max(kv);
            }
            IntVector kt = VectorMath.keys(FloatVector.fromArray(F, a, off + last, tail)).blend(GONE_KEY, pad);
            kt.intoArray(ks, last);
            int s = mx.max(kt).reduceLanes(VectorOperators.MAX);
            if (s >= POS_INF_KEY || s <= NEG_INF_KEY) {
                scalar.routeOne(a, off, spec, ids, w, outOff, cnt);
                continue;
            }
            for (int j = 0; j < k; j++) {
                if (j > 0) {
                    IntVector m = IntVector.fromArray(I, ks, 0);
                    for (int v = L; v <= last; v += L) {
                        m = m.max(IntVector.fromArray(I, ks, v));
                    }
                    s = m.reduceLanes(VectorOperators.MAX);
                }
                int id = -1;
                for (int v = 0; v <= last; v += L) {
                    long bits = IntVector.fromArray(I, ks, v).eq(s).toLong();
                    if (bits != 0) {
                        id = v + Long.numberOfTrailingZeros(bits);
                        break;
                    }
                }
                ks[id] = GONE_KEY;
                ids[outOff + j] = id;
                cnt[id]++;
            }
            float m = a[off + ids[outOff]];
            if (full) {
                FloatVector acc = FloatVector.zero(F);
                for (int v = 0; v < last; v += L) {
                    acc = acc.add(VectorMath.expNonPositive(FloatVector.fromArray(F, a, off + v).sub(m)));
                }
                FloatVector xt = FloatVector.fromArray(F, a, off + last, tail);
                acc = acc.add(VectorMath.expNonPositive(xt.sub(m)).blend(0f, tail.not()));
                fullWeights(a, off, m, VectorMath.sumToDouble(acc), k, ids, w, outOff);
            } else {
                renormalisedWeights(a, off, m, k, ids, w, outOff);
            }
        }
    }

    /** softmax-topk: p_j = exp(x_j − m) / Σ_E exp(x_e − m); the numerators in accurate double. */
    private static void fullWeights(float[] a, int off, float m, double sum, int k, int[] ids, float[] w, int outOff) {
        double inv = 1.0 / sum;
        w[outOff] = (float) inv;
        for (int j = 1; j < k; j++) {
            w[outOff + j] = (float) (VectorMath.expNonPositive((double) a[off + ids[outOff + j]] - m) * inv);
        }
    }

    /** topk-softmax: softmax over the k selected (the first is the largest and finite). */
    private void renormalisedWeights(float[] a, int off, float m, int k, int[] ids, float[] w, int outOff) {
        if (k == 1) {
            w[outOff] = 1f;
            return;
        }
        double[] e = ek;
        double sum = 1.0;
        for (int j = 1; j < k; j++) {
            double v = VectorMath.expNonPositive((double) a[off + ids[outOff + j]] - m);
            e[j] = v;
            sum += v;
        }
        w[outOff] = (float) (1.0 / sum);
        for (int j = 1; j < k; j++) {
            w[outOff + j] = (float) (e[j] / sum);
        }
    }
}

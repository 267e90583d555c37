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

    /** Rows per block: selection, then exponential sums, then weights, each a loop of its own. */
    private static final int BLOCK = 64;

    /*
     * Code shape: each phase is its own method taking only arrays and ints, so C2 compiles it as a root
     * with its own inlining budget (a single big loop body hits NodeCountInliningCutoff, and a vector
     * passed to a method that was not inlined is boxed: hundreds of bytes per token). For the same
     * reason no vector is carried around a loop: the knock-out state is a scalar long ("taken").
     */

    /** E = 4 vectors: the row stays in registers for all k passes. */
    private void route4(float[] a, int off, int rows, RoutingSpec spec, int[] ids, float[] w, int outOff) {
        final int k = spec.k();
        final boolean full = spec.mode() == ScoringMode.SOFTMAX_TOPK;
        final int E = 4 * L;
        for (int r0 = 0; r0 < rows; r0 += BLOCK) {
            int n = Math.min(BLOCK, rows - r0);
            int rowOff = off + r0 * E;
            int o = outOff + r0 * k;
            boolean anyRare = select4(a, rowOff, n, k, ids, o, counts, rare, keys);
            if (full) {
                expSums4(a, rowOff, n, k, ids, o, rare, sums);
                fullWeights(a, rowOff, E, n, k, ids, w, o, rare, sums);
            } else if (k > 1) {
                renormalisedWeights(a, rowOff, E, n, k, ids, w, o, rare);
            } else {
                for (int r = 0; r < n; r++) {
                    w[o + r] = 1f;
                }
            }
            if (anyRare) {
                rareRows(a, rowOff, n, spec, ids, w, o);
            }
        }
    }

    private final boolean[] rare = new boolean[BLOCK];
    private final double[] sums = new double[BLOCK];

    /** Top-k ids of n rows with E = 4L; marks rows whose best is ±∞ or NaN as rare (not counted). */
    private static boolean select4(float[] a, int off, int n, int k, int[] ids, int o, long[] cnt, boolean[] rare,
                                   int[] ks) {
        boolean anyRare = false;
        for (int r = 0; r < n; r++, off += 4 * L, o += k) {
            IntVector k0 = VectorMath.keys(FloatVector.fromArray(F, a, off));
            IntVector k1 = VectorMath.keys(FloatVector.fromArray(F, a, off + L));
            IntVector k2 = VectorMath.keys(FloatVector.fromArray(F, a, off + 2 * L));
            IntVector k3 = VectorMath.keys(FloatVector.fromArray(F, a, off + 3 * L));
            int s = max4(k0, k1, k2, k3);
            boolean isRare = s >= POS_INF_KEY || s <= NEG_INF_KEY;
            rare[r] = isRare;
            if (isRare) {
                anyRare = true;
                continue;
            }
            long bits = locate(k0, k1, k2, k3, s);
            long taken = bits & -bits;
            int id = Long.numberOfTrailingZeros(bits);
            ids[o] = id;
            cnt[id]++;
            if (k > 1) {
                k0.intoArray(ks, 0);
                k1.intoArray(ks, L);
                k2.intoArray(ks, 2 * L);
                k3.intoArray(ks, 3 * L);
                for (int j = 1; j < k; j++) {
                    long low = nextBest4(ks, taken);
                    taken |= low;
                    id = Long.numberOfTrailingZeros(low);
                    ids[o + j] = id;
                    cnt[id]++;
                }
            }
        }
        return anyRare;
    }

    /**
     * One knock-out pass over the keys of one row ({@code ks[0 .. 4L)}): the lowest-index position of the
     * largest key outside {@code taken}, as a one-bit mask. Scalar signature on purpose: whether C2
     * inlines it or not, no vector crosses a call boundary.
     */
    private static long nextBest4(int[] ks, long taken) {
        IntVector m0 = IntVector.fromArray(I, ks, 0).blend(GONE_KEY, VectorMask.fromLong(I, taken));
        IntVector m1 = IntVector.fromArray(I, ks, L).blend(GONE_KEY, VectorMask.fromLong(I, taken >>> L));
        IntVector m2 = IntVector.fromArray(I, ks, 2 * L).blend(GONE_KEY, VectorMask.fromLong(I, taken >>> (2 * L)));
        IntVector m3 = IntVector.fromArray(I, ks, 3 * L).blend(GONE_KEY, VectorMask.fromLong(I, taken >>> (3 * L)));
        long bits = locate(m0, m1, m2, m3, max4(m0, m1, m2, m3));
        return bits & -bits;
    }

    /** Σ_E exp(x − m) per row (m = the row's best logit), E = 4L, vectorised float exps. */
    private static void expSums4(float[] a, int off, int n, int k, int[] ids, int o, boolean[] rare, double[] sums) {
        for (int r = 0; r < n; r++, off += 4 * L, o += k) {
            if (!rare[r]) {
                sums[r] = expSum(a, off, 4 * L, a[off + ids[o]]);
            }
        }
    }

    /** Σ exp(a[i] − m) over a[off .. off+len), len a multiple of L (one exp in the loop body: see above). */
    private static float expSum(float[] a, int off, int len, float m) {
        FloatVector acc = FloatVector.zero(F);
        for (int v = 0; v < len; v += L) {
            acc = acc.add(VectorMath.expNonPositive(FloatVector.fromArray(F, a, off + v).sub(m)));
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Rare rows (best logit ±∞ or NaN): the reference code, exact by construction. */
    private void rareRows(float[] a, int off, int n, RoutingSpec spec, int[] ids, float[] w, int o) {
        int E = spec.experts();
        int k = spec.k();
        for (int r = 0; r < n; r++) {
            if (rare[r]) {
                scalar.routeOne(a, off + r * E, spec, ids, w, o + r * k, counts);
            }
        }
    }

    /** Any E: keys in a scratch array padded with {@link VectorMath#GONE_KEY}; a masked tail vector. */
    private void routeAny(float[] a, int off, int rows, RoutingSpec spec, int[] ids, float[] w, int outOff) {
        final int k = spec.k();
        final int E = spec.experts();
        final boolean full = spec.mode() == ScoringMode.SOFTMAX_TOPK;
        for (int r0 = 0; r0 < rows; r0 += BLOCK) {
            int n = Math.min(BLOCK, rows - r0);
            int rowOff = off + r0 * E;
            int o = outOff + r0 * k;
            boolean anyRare = selectAny(a, rowOff, E, n, k, ids, o, counts, rare, keys);
            if (full) {
                expSumsAny(a, rowOff, E, n, k, ids, o, rare, sums);
                fullWeights(a, rowOff, E, n, k, ids, w, o, rare, sums);
            } else if (k > 1) {
                renormalisedWeights(a, rowOff, E, n, k, ids, w, o, rare);
            } else {
                for (int r = 0; r < n; r++) {
                    w[o + r] = 1f;
                }
            }
            if (anyRare) {
                rareRows(a, rowOff, n, spec, ids, w, o);
            }
        }
    }

    private static boolean selectAny(float[] a, int off, int E, int n, int k, int[] ids, int o, long[] cnt,
                                     boolean[] rare, int[] ks) {
        final int nv = (E + L - 1) / L;
        final int last = (nv - 1) * L;
        final VectorMask<Float> tail = F.indexInRange(last, E);
        final VectorMask<Integer> pad = tail.not().cast(I);
        boolean anyRare = false;
        for (int r = 0; r < n; r++, off += E, o += k) {
            IntVector mx = IntVector.broadcast(I, GONE_KEY);
            for (int v = 0; v < last; v += L) {
                IntVector kv = VectorMath.keys(FloatVector.fromArray(F, a, off + v));
                kv.intoArray(ks, v);
                mx = mx.max(kv);
            }
            IntVector kt = VectorMath.keys(FloatVector.fromArray(F, a, off + last, tail)).blend(GONE_KEY, pad);
            kt.intoArray(ks, last);
            int s = mx.max(kt).reduceLanes(VectorOperators.MAX);
            boolean isRare = s >= POS_INF_KEY || s <= NEG_INF_KEY;
            rare[r] = isRare;
            if (isRare) {
                anyRare = true;
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
                ids[o + j] = id;
                cnt[id]++;
            }
        }
        return anyRare;
    }

    private static void expSumsAny(float[] a, int off, int E, int n, int k, int[] ids, int o, boolean[] rare, double[] sums) {
        final int nv = (E + L - 1) / L;
        final int last = (nv - 1) * L;
        final VectorMask<Float> tail = F.indexInRange(last, E);
        final VectorMask<Float> pad = tail.not();
        for (int r = 0; r < n; r++, off += E, o += k) {
            if (rare[r]) {
                continue;
            }
            float m = a[off + ids[o]];
            FloatVector acc = VectorMath.expNonPositive(FloatVector.fromArray(F, a, off + last, tail).sub(m)).blend(0f, pad);
            for (int v = 0; v < last; v += L) {
                acc = acc.add(VectorMath.expNonPositive(FloatVector.fromArray(F, a, off + v).sub(m)));
            }
            sums[r] = acc.reduceLanes(VectorOperators.ADD);
        }
    }

    /** softmax-topk: p_j = exp(x_j − m) / Σ_E exp(x_e − m); the k numerators in accurate double. */
    private static void fullWeights(float[] a, int off, int E, int n, int k, int[] ids, float[] w, int o,
                                    boolean[] rare, double[] sums) {
        for (int r = 0; r < n; r++, off += E, o += k) {
            if (rare[r]) {
                continue;
            }
            float m = a[off + ids[o]];
            double inv = 1.0 / sums[r];
            w[o] = (float) inv;
            for (int j = 1; j < k; j++) {
                w[o + j] = (float) (VectorMath.expNonPositive((double) a[off + ids[o + j]] - m) * inv);
            }
        }
    }

    /** topk-softmax: softmax over the k selected (the first is the largest and finite), in double. */
    private void renormalisedWeights(float[] a, int off, int E, int n, int k, int[] ids, float[] w, int o, boolean[] rare) {
        double[] e = ek;
        for (int r = 0; r < n; r++, off += E, o += k) {
            if (rare[r]) {
                continue;
            }
            float m = a[off + ids[o]];
            double sum = 1.0;
            for (int j = 1; j < k; j++) {
                double v = VectorMath.expNonPositive((double) a[off + ids[o + j]] - m);
                e[j] = v;
                sum += v;
            }
            double inv = 1.0 / sum;
            w[o] = (float) inv;
            for (int j = 1; j < k; j++) {
                w[o + j] = (float) (e[j] * inv);
            }
        }
    }
}

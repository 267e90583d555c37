package io.moecast.predict;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The predictors' hot loops on the Vector API (with scalar tails). Each kernel has a plain scalar
 * twin used by the tests as the reference.
 */
final class Kernels {
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** int lanes matching {@link #D} (same lane count, half the bits) */
    static final VectorSpecies<Integer> DI = VectorSpecies.of(int.class, jdk.incubator.vector.VectorShape.forBitSize(D.vectorBitSize() / 2));
    /** short (char) lanes matching {@link #D} (same lane count, a quarter of the bits) */
    static final VectorSpecies<Short> DS = VectorSpecies.of(short.class,
            jdk.incubator.vector.VectorShape.forBitSize(Math.max(64, D.vectorBitSize() / 4)));
    /** whether the char kernels can run on vectors (lane counts match) */
    static final boolean CHARS = DS.length() == D.length() && DI.length() == D.length();

    private Kernels() {
    }

    /**
     * One row of the paper's recursive sliding, over i in [0, n): p = s·inv; acc += p;
     * s += p − old[oo+i]; then, when given, store[so+i] = p and out[ro+i] = p (old is read before the
     * store, which may be the same slot).
     */
    static void slideRow(double[] s, double[] acc, double[] old, int oo, double inv,
                         double[] store, int so, double[] out, int ro, int n) {
        int i = 0;
        int ub = D.loopBound(n);
        for (; i < ub; i += D.length()) {
            DoubleVector sv = DoubleVector.fromArray(D, s, i);
            DoubleVector p = sv.mul(inv);
            DoubleVector o = DoubleVector.fromArray(D, old, oo + i);
            DoubleVector.fromArray(D, acc, i).add(p).intoArray(acc, i);
            sv.add(p.sub(o)).intoArray(s, i);
            if (store != null) {
                p.intoArray(store, so + i);
            }
            if (out != null) {
                p.intoArray(out, ro + i);
            }
        }
        for (; i < n; i++) {
            double p = s[i] * inv;
            double o = old[oo + i];
            acc[i] += p;
            s[i] += p - o;
            if (store != null) {
                store[so + i] = p;
            }
            if (out != null) {
                out[ro + i] = p;
            }
        }
    }

    /**
     * {@link #slideRow} with the leaving row kept as counts: old[oo+i] is the share
     * {@code counts[oo + l·E + e]·rowInv[io + l]} (the exact double the share was), layer by layer.
     */
    static void slideRowCounts(double[] s, double[] acc, int[] counts, int oo, double[] rowInv, int io, int layers, int experts,
                               double inv, double[] store, int so, double[] out, int ro) {
        int ub = DI.length() == D.length() ? D.loopBound(experts) : 0;
        for (int l = 0, b = 0; l < layers; l++, b += experts) {
            double ci = rowInv[io + l];
            int e = 0;
            for (; e < ub; e += D.length()) {
                int i = b + e;
                DoubleVector sv = DoubleVector.fromArray(D, s, i);
                DoubleVector p = sv.mul(inv);
                DoubleVector o = ((DoubleVector) IntVector.fromArray(DI, counts, oo + i).convertShape(VectorOperators.I2D, D, 0)).mul(ci);
                DoubleVector.fromArray(D, acc, i).add(p).intoArray(acc, i);
                sv.add(p.sub(o)).intoArray(s, i);
                if (store != null) {
                    p.intoArray(store, so + i);
                }
                if (out != null) {
                    p.intoArray(out, ro + i);
                }
            }
            for (; e < experts; e++) {
                int i = b + e;
                double p = s[i] * inv;
                double o = counts[oo + i] * ci;
                acc[i] += p;
                s[i] += p - o;
                if (store != null) {
                    store[so + i] = p;
                }
                if (out != null) {
                    out[ro + i] = p;
                }
            }
        }
    }

    /**
     * {@code rows} consecutive {@link #slideRowCounts} rows (2 to 4) in one pass over the series, none
     * stored, only the last written out (when {@code out} is given): per series the same operations in
     * the same order as row after row, with s and acc read and written once instead of once per row.
     * Row j leaves ring row {@code oo[j]} (offset into counts) with 1/Σ at rowInv[io[j] + layer].
     */
    static void slideRowsCounts(double[] s, double[] acc, char[] counts, int[] oo, double[] rowInv, int[] io, int rows,
                                int layers, int experts, double inv, double[] out, int ro) {
        int ub = CHARS ? D.loopBound(experts) : 0;
        int o0 = oo[0];
        int o1 = oo[1];
        int o2 = rows > 2 ? oo[2] : 0;
        int o3 = rows > 3 ? oo[3] : 0;
        for (int l = 0, b = 0; l < layers; l++, b += experts) {
            double c0 = rowInv[io[0] + l];
            double c1 = rowInv[io[1] + l];
            double c2 = rows > 2 ? rowInv[io[2] + l] : 0;
            double c3 = rows > 3 ? rowInv[io[3] + l] : 0;
            int e = 0;
            for (; e < ub; e += D.length()) {
                int i = b + e;
                DoubleVector sv = DoubleVector.fromArray(D, s, i);
                DoubleVector av = DoubleVector.fromArray(D, acc, i);
                DoubleVector p = sv.mul(inv);
                av = av.add(p);
                sv = sv.add(p.sub(widen(counts, o0 + i).mul(c0)));
                p = sv.mul(inv);
                av = av.add(p);
                sv = sv.add(p.sub(widen(counts, o1 + i).mul(c1)));
                if (rows > 2) {
                    p = sv.mul(inv);
                    av = av.add(p);
                    sv = sv.add(p.sub(widen(counts, o2 + i).mul(c2)));
                    if (rows > 3) {
                        p = sv.mul(inv);
                        av = av.add(p);
                        sv = sv.add(p.sub(widen(counts, o3 + i).mul(c3)));
                    }
                }
                sv.intoArray(s, i);
                av.intoArray(acc, i);
                if (out != null) {
                    p.intoArray(out, ro + i);
                }
            }
            for (; e < experts; e++) {
                int i = b + e;
                double sv = s[i];
                double av = acc[i];
                double p = 0;
                for (int j = 0; j < rows; j++) {
                    p = sv * inv;
                    av += p;
                    sv += p - counts[oo[j] + i] * rowInv[io[j] + l];
                }
                s[i] = sv;
                acc[i] = av;
                if (out != null) {
                    out[ro + i] = p;
                }
            }
        }
    }

    /** {@link #slideRowCounts} with the leaving row kept as 16-bit counts. */
    static void slideRowCounts16(double[] s, double[] acc, char[] counts, int oo, double[] rowInv, int io, int layers, int experts,
                                 double inv, double[] store, int so, double[] out, int ro) {
        int ub = CHARS ? D.loopBound(experts) : 0;
        for (int l = 0, b = 0; l < layers; l++, b += experts) {
            double ci = rowInv[io + l];
            int e = 0;
            for (; e < ub; e += D.length()) {
                int i = b + e;
                DoubleVector sv = DoubleVector.fromArray(D, s, i);
                DoubleVector p = sv.mul(inv);
                DoubleVector o = widen(counts, oo + i).mul(ci);
                DoubleVector.fromArray(D, acc, i).add(p).intoArray(acc, i);
                sv.add(p.sub(o)).intoArray(s, i);
                if (store != null) {
                    p.intoArray(store, so + i);
                }
                if (out != null) {
                    p.intoArray(out, ro + i);
                }
            }
            for (; e < experts; e++) {
                int i = b + e;
                double p = s[i] * inv;
                double o = counts[oo + i] * ci;
                acc[i] += p;
                s[i] += p - o;
                if (store != null) {
                    store[so + i] = p;
                }
                if (out != null) {
                    out[ro + i] = p;
                }
            }
        }
    }

    /** Eight (one double vector's worth of) unsigned 16-bit counts as doubles. */
    static DoubleVector widen(char[] a, int at) {
        return (DoubleVector) ((IntVector) ShortVector.fromCharArray(DS, a, at).convertShape(VectorOperators.S2I, DI, 0))
                .lanewise(VectorOperators.AND, 0xFFFF).convertShape(VectorOperators.I2D, D, 0);
    }

    /**
     * One step into a window kept as 16-bit counts, over i in [b, b+len): sum[i] += share[i] − old·oldInv
     * with old the leaving count (from {@code oldWide} when that row was kept as ints, else from
     * {@code ring}), or sum[i] += share[i] while the window fills (oldInv NaN); then ring[o+i] =
     * counts[i] (the low 16 bits). Returns the largest count (the row goes to ints if it exceeds 65,535).
     */
    static int windowIn16(double[] sum, double[] share, int[] counts, char[] ring, int[] oldWide, int o, double oldInv, int b, int len) {
        boolean evict = !Double.isNaN(oldInv);
        int e = 0;
        int max = 0;
        if (CHARS) {
            IntVector mx = IntVector.zero(DI);
            for (int ub = D.loopBound(len); e < ub; e += D.length()) {
                int i = b + e;
                DoubleVector x = DoubleVector.fromArray(D, share, i);
                if (evict) {
                    DoubleVector old = oldWide != null
                            ? (DoubleVector) IntVector.fromArray(DI, oldWide, o + i).convertShape(VectorOperators.I2D, D, 0)
                            : widen(ring, o + i);
                    x = x.sub(old.mul(oldInv));
                }
                DoubleVector.fromArray(D, sum, i).add(x).intoArray(sum, i);
                IntVector c = IntVector.fromArray(DI, counts, i);
                mx = mx.max(c);
                ((ShortVector) c.convertShape(VectorOperators.I2S, DS, 0)).intoCharArray(ring, o + i);
            }
            max = mx.reduceLanes(VectorOperators.MAX);
        }
        for (; e < len; e++) {
            int i = b + e;
            if (evict) {
                double old = oldWide != null ? oldWide[o + i] : ring[o + i];
                sum[i] += share[i] - old * oldInv;
            } else {
                sum[i] += share[i];
            }
            ring[o + i] = (char) counts[i];
            max = Math.max(max, counts[i]);
        }
        return max;
    }

    /** Scalar reference of {@link #slideRow}. */
    static void slideRowScalar(double[] s, double[] acc, double[] old, int oo, double inv,
                               double[] store, int so, double[] out, int ro, int n) {
        for (int i = 0; i < n; i++) {
            double p = s[i] * inv;
            double o = old[oo + i];
            acc[i] += p;
            s[i] += p - o;
            if (store != null) {
                store[so + i] = p;
            }
            if (out != null) {
                out[ro + i] = p;
            }
        }
    }

    /**
     * Per layer, the shares of {@code counts} into {@code share} (c/Σc: the same values as
     * {@link AbstractPredictor#shares}; uniform for a layer that routed nothing) and {@code cum += share}.
     * Throws on a negative count (before writing that layer).
     */
    static void sharesAndSum(int[] counts, double[] share, double[] cum, int layers, int experts) {
        sharesAndSum(counts, share, cum, null, layers, experts);
    }

    /**
     * {@link #sharesAndSum(int[], double[], double[], int, int)}, and each layer's 1/Σc into
     * {@code inv[layer]} when given (0 for a layer that routed nothing): {@code share[i] == counts[i]·inv}
     * exactly, so a predictor may keep the counts (4 bytes) instead of the shares (8) and recover them.
     */
    static void sharesAndSum(int[] counts, double[] share, double[] cum, double[] invOut, int layers, int experts) {
        int ub = experts >= D.length() && DI.length() == D.length() ? D.loopBound(experts) : 0;
        for (int l = 0, o = 0; l < layers; l++, o += experts) {
            // the layer total, exact in double (a sum of ints below 2^53); the smallest count
            double s = 0;
            int min = 0;
            int e = 0;
            if (ub > 0) {
                DoubleVector acc = DoubleVector.zero(D);
                IntVector mn = IntVector.zero(DI);
                for (; e < ub; e += D.length()) {
                    IntVector c = IntVector.fromArray(DI, counts, o + e);
                    mn = mn.min(c);
                    acc = acc.add(c.convertShape(VectorOperators.I2D, D, 0));
                }
                s = acc.reduceLanes(VectorOperators.ADD);
                min = mn.reduceLanes(VectorOperators.MIN);
            }
            for (; e < experts; e++) {
                int c = counts[o + e];
                min = Math.min(min, c);
                s += c;
            }
            if (min < 0) {
                for (e = 0; e < experts; e++) {
                    if (counts[o + e] < 0) {
                        throw new IllegalArgumentException("negative count " + counts[o + e] + " at layer " + l + " expert " + e);
                    }
                }
            }
            if (s == 0) {
                Arrays.fill(share, o, o + experts, 1.0 / experts);
                for (e = 0; e < experts; e++) {
                    cum[o + e] += 1.0 / experts;
                }
                if (invOut != null) {
                    invOut[l] = 0;
                }
                continue;
            }
            double inv = 1.0 / s;
            if (invOut != null) {
                invOut[l] = inv;
            }
            e = 0;
            for (; e < ub; e += D.length()) {
                DoubleVector x = ((DoubleVector) IntVector.fromArray(DI, counts, o + e).convertShape(VectorOperators.I2D, D, 0)).mul(inv);
                x.intoArray(share, o + e);
                DoubleVector.fromArray(D, cum, o + e).add(x).intoArray(cum, o + e);
            }
            for (; e < experts; e++) {
                double x = counts[o + e] * inv;
                share[o + e] = x;
                cum[o + e] += x;
            }
        }
    }

    /**
     * {@link AbstractPredictor#normalize}: per layer of v[off..], values that are not positive (NaN
     * included) become 0, +∞ becomes MAX/E, then the layer is scaled to sum 1 (uniform when nothing
     * positive is left).
     */
    static void normalize(double[] v, int off, int layers, int experts) {
        int ub = D.loopBound(experts);
        double big = Double.MAX_VALUE / experts;
        DoubleVector zero = DoubleVector.zero(D);
        for (int l = 0, o = off; l < layers; l++, o += experts) {
            DoubleVector acc = zero;
            int e = 0;
            for (; e < ub; e += D.length()) {
                DoubleVector x = DoubleVector.fromArray(D, v, o + e);
                x = zero.blend(x, x.compare(VectorOperators.GT, 0.0));
                x = x.blend(big, x.compare(VectorOperators.EQ, Double.POSITIVE_INFINITY));
                x.intoArray(v, o + e);
                acc = acc.add(x);
            }
            double s = acc.reduceLanes(VectorOperators.ADD);
            for (; e < experts; e++) {
                double x = v[o + e];
                if (!(x > 0)) {
                    x = 0;
                } else if (x == Double.POSITIVE_INFINITY) {
                    x = big;
                }
                v[o + e] = x;
                s += x;
            }
            if (s > 0) {
                double inv = 1.0 / s;
                e = 0;
                for (; e < ub; e += D.length()) {
                    DoubleVector.fromArray(D, v, o + e).mul(inv).intoArray(v, o + e);
                }
                for (; e < experts; e++) {
                    v[o + e] *= inv;
                }
            } else {
                Arrays.fill(v, o, o + experts, 1.0 / experts);
            }
        }
    }

    /** m[i] = keep·m[i] + a·counts[i], i < n (per element the scalar expression). */
    static void emaCounts(double[] m, int[] counts, double keep, double a, int n) {
        int i = 0;
        if (DI.length() == D.length()) {
            for (int ub = D.loopBound(n); i < ub; i += D.length()) {
                DoubleVector c = (DoubleVector) IntVector.fromArray(DI, counts, i).convertShape(VectorOperators.I2D, D, 0);
                DoubleVector.fromArray(D, m, i).mul(keep).add(c.mul(a)).intoArray(m, i);
            }
        }
        for (; i < n; i++) {
            m[i] = keep * m[i] + a * counts[i];
        }
    }

    /** Σ a[ao+i]·b[bo+i], i < len. */
    static double dot(double[] a, int ao, double[] b, int bo, int len) {
        int i = 0;
        int ub = D.loopBound(len);
        DoubleVector acc = DoubleVector.zero(D);
        for (; i < ub; i += D.length()) {
            acc = DoubleVector.fromArray(D, a, ao + i).fma(DoubleVector.fromArray(D, b, bo + i), acc);
        }
        double s = acc.reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        for (; i < len; i++) {
            s += a[ao + i] * b[bo + i];
        }
        return s;
    }

    /** dst[do+i] += k·src[so+i], i < len. */
    static void axpy(double k, double[] src, int so, double[] dst, int dof, int len) {
        int i = 0;
        int ub = D.loopBound(len);
        DoubleVector kv = DoubleVector.broadcast(D, k);
        for (; i < ub; i += D.length()) {
            DoubleVector.fromArray(D, src, so + i).fma(kv, DoubleVector.fromArray(D, dst, dof + i)).intoArray(dst, dof + i);
        }
        for (; i < len; i++) {
            dst[dof + i] += k * src[so + i];
        }
    }
}

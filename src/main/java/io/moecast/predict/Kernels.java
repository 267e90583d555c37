package io.moecast.predict;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The predictors' hot loops on the Vector API (with scalar tails). Each kernel has a plain scalar
 * twin used by the tests as the reference.
 */
final class Kernels {
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;

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

package io.moecast.sim;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/** {@link RowOps} on the Vector API (loaded reflectively, see {@link RowOps#best()}). */
final class VectorRowOps extends RowOps {
    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    @Override
    void axpy(double a, double[] x, int xo, double[] y, int yo, int n) {
        int i = 0;
        for (int b = S.loopBound(n); i < b; i += L) {
            DoubleVector.fromArray(S, x, xo + i).fma(DoubleVector.broadcast(S, a), DoubleVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] = Math.fma(a, x[xo + i], y[yo + i]);
        }
    }

    @Override
    void add3(double[] f, double[] a, int ao, double[] b, int bo, double[] c, int co, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            DoubleVector v = DoubleVector.fromArray(S, f, i);
            DoubleVector.fromArray(S, a, ao + i).add(v).intoArray(a, ao + i);
            DoubleVector.fromArray(S, b, bo + i).add(v).intoArray(b, bo + i);
            DoubleVector.fromArray(S, c, co + i).add(v).intoArray(c, co + i);
        }
        for (; i < n; i++) {
            double v = f[i];
            a[ao + i] += v;
            b[bo + i] += v;
            c[co + i] += v;
        }
    }

    @Override
    void mul3(double[] a, int ao, double[] b, int bo, double[] c, int co, double[] dst, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            DoubleVector.fromArray(S, a, ao + i).mul(DoubleVector.fromArray(S, b, bo + i))
                    .mul(DoubleVector.fromArray(S, c, co + i)).intoArray(dst, i);
        }
        for (; i < n; i++) {
            dst[i] = a[ao + i] * b[bo + i] * c[co + i];
        }
    }

    @Override
    void expRow(double[] src, int so, double[] dst, int dOff, int n, boolean negate) {
        int bound = S.loopBound(n);
        if (negate) {
            int i = 0;
            for (; i < bound; i += L) {
                DoubleVector.fromArray(S, src, so + i).neg().lanewise(VectorOperators.EXP).intoArray(dst, dOff + i);
            }
            for (; i < n; i++) {
                dst[dOff + i] = Math.exp(-src[so + i]);
            }
            return;
        }
        double m = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, src[so + i]);
        }
        int i = 0;
        for (; i < bound; i += L) {
            DoubleVector.fromArray(S, src, so + i).sub(m).lanewise(VectorOperators.EXP).intoArray(dst, dOff + i);
        }
        for (; i < n; i++) {
            dst[dOff + i] = Math.exp(src[so + i] - m);
        }
    }

    @Override
    void auxAdd(double[] f, double[] p, double[] fe, double fp, double scale, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            DoubleVector d = DoubleVector.fromArray(S, fe, i).sub(fp).mul(DoubleVector.fromArray(S, p, i)).mul(scale);
            DoubleVector.fromArray(S, f, i).add(d).intoArray(f, i);
        }
        for (; i < n; i++) {
            f[i] += (fe[i] - fp) * p[i] * scale;
        }
    }

    @Override
    void scale(double[] x, double a, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            DoubleVector.fromArray(S, x, i).mul(a).intoArray(x, i);
        }
        for (; i < n; i++) {
            x[i] *= a;
        }
    }

    @Override
    String name() {
        return "vector";
    }
}

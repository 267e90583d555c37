package io.moecast.sim;

/**
 * The short-row operations of the simulator's backward pass (rows of E experts). The Vector API version
 * ({@code VectorRowOps}) is loaded only when {@code jdk.incubator.vector} is present. Every operation is
 * element-wise (sums are left to the caller, in a fixed order), so results do not depend on the vector
 * width; the exponential may differ from {@link Math#exp} in the last bit.
 */
abstract class RowOps {
    /** y[yo..yo+n) = fma(a, x[xo..xo+n), y[yo..]). */
    abstract void axpy(double a, double[] x, int xo, double[] y, int yo, int n);

    /** a[ao..] += f, b[bo..] += f, c[co..] += f for f = f[0..n). */
    abstract void add3(double[] f, double[] a, int ao, double[] b, int bo, double[] c, int co, int n);

    /** dst[0..n) = a[ao..]·b[bo..]·c[co..]. */
    abstract void mul3(double[] a, int ao, double[] b, int bo, double[] c, int co, double[] dst, int n);

    /** dst[i] = exp(src[so+i] − max) with max the row maximum, or exp(−src[so+i]) when negate. */
    abstract void expRow(double[] src, int so, double[] dst, int dOff, int n, boolean negate);

    /** f[i] += ((fe[i] − fp)·p[i])·scale. */
    abstract void auxAdd(double[] f, double[] p, double[] fe, double fp, double scale, int n);

    /** x[i] *= a. */
    abstract void scale(double[] x, double a, int n);

    abstract String name();

    static RowOps best() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()) {
            try {
                return (RowOps) Class.forName("io.moecast.sim.VectorRowOps").getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                // fall back below
            }
        }
        return new Scalar();
    }

    static final class Scalar extends RowOps {
        @Override
        void axpy(double a, double[] x, int xo, double[] y, int yo, int n) {
            for (int i = 0; i < n; i++) {
                y[yo + i] = Math.fma(a, x[xo + i], y[yo + i]);
            }
        }

        @Override
        void add3(double[] f, double[] a, int ao, double[] b, int bo, double[] c, int co, int n) {
            for (int i = 0; i < n; i++) {
                double v = f[i];
                a[ao + i] += v;
                b[bo + i] += v;
                c[co + i] += v;
            }
        }

        @Override
        void mul3(double[] a, int ao, double[] b, int bo, double[] c, int co, double[] dst, int n) {
            for (int i = 0; i < n; i++) {
                dst[i] = a[ao + i] * b[bo + i] * c[co + i];
            }
        }

        @Override
        void expRow(double[] src, int so, double[] dst, int dOff, int n, boolean negate) {
            if (negate) {
                for (int i = 0; i < n; i++) {
                    dst[dOff + i] = Math.exp(-src[so + i]);
                }
                return;
            }
            double m = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                m = Math.max(m, src[so + i]);
            }
            for (int i = 0; i < n; i++) {
                dst[dOff + i] = Math.exp(src[so + i] - m);
            }
        }

        @Override
        void auxAdd(double[] f, double[] p, double[] fe, double fp, double scale, int n) {
            for (int i = 0; i < n; i++) {
                f[i] += (fe[i] - fp) * p[i] * scale;
            }
        }

        @Override
        void scale(double[] x, double a, int n) {
            for (int i = 0; i < n; i++) {
                x[i] *= a;
            }
        }

        @Override
        String name() {
            return "scalar";
        }
    }
}

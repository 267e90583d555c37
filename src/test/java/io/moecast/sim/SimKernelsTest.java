package io.moecast.sim;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The Vector API kernels of the simulator against the scalar ones, on odd sizes. */
class SimKernelsTest {
    private static double[] random(SplittableRandom r, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextDouble() * 4 - 2;
        }
        return a;
    }

    @Test
    void vectorKernelsAreLoadedWhenTheModuleIsPresent() {
        assertEquals("vector", HiddenKernels.best().name());
        assertEquals("vector", RowOps.best().name());
    }

    @Test
    void hiddenStatesAreBitIdentical() {
        SplittableRandom r = new SplittableRandom(1);
        for (int d : new int[] {1, 7, 16, 37, 256}) {
            int n = 9;
            float[] cen = new float[3 * d];
            float[] tok = new float[5 * d];
            float[] ctx = new float[4 * d];
            for (float[] a : new float[][] {cen, tok, ctx}) {
                for (int i = 0; i < a.length; i++) {
                    a[i] = (float) (r.nextDouble() * 2 - 1);
                }
            }
            int[] tokC = new int[12];
            int[] tokI = new int[12];
            int[] ctxI = new int[12];
            for (int t = 0; t < 12; t++) {
                tokC[t] = r.nextInt(3);
                tokI[t] = r.nextInt(5);
                ctxI[t] = r.nextInt(4);
            }
            float[] a = new float[n * d];
            float[] b = new float[n * d];
            new HiddenKernels.Scalar().build(a, cen, tok, ctx, tokC, tokI, ctxI, 2, n, d, 1.7f);
            HiddenKernels.best().build(b, cen, tok, ctx, tokC, tokI, ctxI, 2, n, d, 1.7f);
            assertArrayEquals(a, b, "d=" + d);
        }
    }

    @Test
    void rowOperationsAgree() {
        RowOps s = new RowOps.Scalar();
        RowOps v = RowOps.best();
        SplittableRandom r = new SplittableRandom(2);
        for (int n : new int[] {1, 3, 8, 16, 17, 64}) {
            double[] x = random(r, n + 5);
            double[] y1 = random(r, n + 4);
            double[] y2 = y1.clone();
            s.axpy(0.37, x, 5, y1, 4, n);
            v.axpy(0.37, x, 5, y2, 4, n);
            assertArrayEquals(y1, y2, "axpy n=" + n); // fma in both: identical bits

            double[] f = random(r, n);
            double[][] s3 = {random(r, n + 2), random(r, n + 3), random(r, n + 1)};
            double[][] v3 = {s3[0].clone(), s3[1].clone(), s3[2].clone()};
            s.add3(f, s3[0], 2, s3[1], 3, s3[2], 1, n);
            v.add3(f, v3[0], 2, v3[1], 3, v3[2], 1, n);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(s3[i], v3[i], "add3 n=" + n);
            }

            double[] d1 = new double[n];
            double[] d2 = new double[n];
            s.mul3(s3[0], 1, s3[1], 2, s3[2], 0, d1, n);
            v.mul3(s3[0], 1, s3[1], 2, s3[2], 0, d2, n);
            assertArrayEquals(d1, d2, "mul3 n=" + n);

            double[] p = random(r, n);
            double[] fe = random(r, n);
            double[] f1 = random(r, n);
            double[] f2 = f1.clone();
            s.auxAdd(f1, p, fe, 0.3, 0.01, n);
            v.auxAdd(f2, p, fe, 0.3, 0.01, n);
            assertArrayEquals(f1, f2, "auxAdd n=" + n);

            for (boolean neg : new boolean[] {false, true}) {
                double[] e1 = new double[n + 1];
                double[] e2 = new double[n + 1];
                s.expRow(x, 2, e1, 1, n, neg);
                v.expRow(x, 2, e2, 1, n, neg);
                for (int i = 0; i < e1.length; i++) {
                    assertEquals(e1[i], e2[i], 2 * Math.ulp(e1[i]), "exp n=" + n + " i=" + i);
                }
            }
            double[] a1 = x.clone();
            double[] a2 = x.clone();
            s.scale(a1, 1.3, n);
            v.scale(a2, 1.3, n);
            assertArrayEquals(a1, a2, "scale n=" + n);
        }
    }
}

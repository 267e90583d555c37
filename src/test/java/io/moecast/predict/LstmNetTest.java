package io.moecast.predict;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The LSTM's backpropagation against finite differences, and its Vector API kernels against scalar code. */
class LstmNetTest {
    /** loss = Σ_s Σ r_s·y_s over a chunk from a zero state. */
    static double loss(LstmNet net, float[][] x, float[][] r, int steps, int batch) {
        float[] h = new float[batch * net.hid];
        float[] c = new float[batch * net.hid];
        LstmNet.Chunk ch = new LstmNet.Chunk(net, steps, batch);
        net.forwardChunk(ch, x, steps, h, c);
        double s = 0;
        for (int t = 0; t < steps; t++) {
            for (int i = 0; i < r[t].length; i++) {
                s += (double) r[t][i] * ch.y[t][i];
            }
        }
        return s;
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        int in = 3;
        int hid = 5;
        int out = 2;
        int batch = 2;
        int steps = 6;
        LstmNet net = new LstmNet(in, hid, out, 42);
        Random rnd = new Random(1);
        for (int i = 0; i < net.v.length; i++) {
            net.v[i] = (float) rnd.nextGaussian() * 0.5f;
        }
        float[][] x = new float[steps][batch * in];
        float[][] r = new float[steps][batch * out];
        for (int t = 0; t < steps; t++) {
            for (int i = 0; i < x[t].length; i++) {
                x[t][i] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < r[t].length; i++) {
                r[t][i] = (float) rnd.nextGaussian();
            }
        }
        float[] h = new float[batch * hid];
        float[] c = new float[batch * hid];
        LstmNet.Chunk ch = new LstmNet.Chunk(net, steps, batch);
        net.forwardChunk(ch, x, steps, h, c);
        LstmNet.Grad g = new LstmNet.Grad(net);
        net.backwardChunk(ch, r, steps, g);
        float[][] params = {net.w, net.b, net.v, net.d};
        float[][] grads = {g.w, g.b, g.v, g.d};
        double eps = 1e-2;
        int checked = 0;
        for (int a = 0; a < 4; a++) {
            for (int i = 0; i < params[a].length; i += Math.max(1, params[a].length / 23)) {
                float keep = params[a][i];
                params[a][i] = (float) (keep + eps);
                double up = loss(net, x, r, steps, batch);
                params[a][i] = (float) (keep - eps);
                double down = loss(net, x, r, steps, batch);
                params[a][i] = keep;
                double num = (up - down) / (2 * eps);
                double ana = grads[a][i];
                assertEquals(num, ana, 2e-3 + 2e-2 * Math.abs(num), "param group " + a + " index " + i);
                checked++;
            }
        }
        assertTrue(checked > 50);
    }

    @Test
    void vectorKernelsMatchScalar() {
        Random rnd = new Random(2);
        for (int len : new int[] {1, 7, 16, 17, 33, 100}) {
            float[] a = new float[len + 3];
            float[] b = new float[len + 5];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) rnd.nextGaussian();
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) rnd.nextGaussian();
            }
            double ref = 0;
            for (int i = 0; i < len; i++) {
                ref += a[3 + i] * b[5 + i];
            }
            assertEquals(ref, LstmNet.dot(a, 3, b, 5, len), 1e-4 * (1 + Math.abs(ref)), "dot " + len);
            float[] d1 = b.clone();
            LstmNet.axpy(0.7f, a, 3, d1, 5, len);
            for (int i = 0; i < len; i++) {
                assertEquals(b[5 + i] + 0.7f * a[3 + i], d1[5 + i], 1e-5);
            }
        }
        for (int n : new int[] {1, 3, 8, 15, 48, 67}) {
            double[] s1 = new double[n];
            double[] acc1 = new double[n];
            double[] old = new double[2 * n + 3];
            for (int i = 0; i < n; i++) {
                s1[i] = rnd.nextDouble();
                acc1[i] = rnd.nextDouble();
            }
            for (int i = 0; i < old.length; i++) {
                old[i] = rnd.nextDouble();
            }
            old[n + 2] = Double.NaN;
            double[] s2 = s1.clone();
            double[] acc2 = acc1.clone();
            double[] st1 = new double[n + 2];
            double[] st2 = new double[n + 2];
            double[] o1 = new double[n];
            double[] o2 = new double[n];
            Kernels.slideRow(s1, acc1, old, 1, 0.25, st1, 2, o1, 0, n);
            Kernels.slideRowScalar(s2, acc2, old, 1, 0.25, st2, 2, o2, 0, n);
            for (int i = 0; i < n; i++) {
                assertEquals(s2[i], s1[i], 0.0, "s n=" + n);
                assertEquals(acc2[i], acc1[i], 0.0);
                assertEquals(o2[i], o1[i], 0.0);
            }
            assertEquals(java.util.Arrays.toString(st2), java.util.Arrays.toString(st1));
        }
    }

    /**
     * The shared model's grouped inference (rows as vector lanes, transposed state) gives the row-by-row
     * results: a few steps of many rows (not a multiple of the lane count), then the head.
     */
    @Test
    void groupedSharedInferenceMatchesRowByRow() {
        int hid = 32;
        int out = 5;
        int rows = 3 * LstmNet.F.length() + 7;
        LstmNet net = new LstmNet(1, hid, out, 9);
        Random rnd = new Random(4);
        for (int i = 0; i < net.b.length; i++) {
            net.b[i] = (float) rnd.nextGaussian() * 0.3f;
        }
        for (int i = 0; i < net.d.length; i++) {
            net.d[i] = (float) rnd.nextGaussian() * 0.3f;
        }
        int L = LstmNet.F.length();
        int padded = net.groups(rows) * L;
        float[] h = new float[rows * hid];
        float[] c = new float[rows * hid];
        float[] pre = new float[rows * 4 * hid];
        float[] g = new float[rows * 4 * hid];
        float[] hT = new float[padded * hid];
        float[] cT = new float[padded * hid];
        float[] preT = new float[padded * 4 * hid];
        float[] gT = new float[L * 4 * hid];
        float[] x = new float[padded];
        for (int s = 0; s < 4; s++) {
            for (int r = 0; r < rows; r++) {
                x[r] = (float) rnd.nextGaussian();
            }
            net.recurrent(rows, h, pre);
            net.stepWithPre(rows, x, pre, h, c, g);
            net.recurrentGrouped(rows, hT, preT);
            net.stepWithPreGrouped(rows, x, preT, hT, cT, gT);
        }
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < hid; k++) {
                int t = ((r / L) * hid + k) * L + r % L;
                assertEquals(h[r * hid + k], hT[t], 2e-5, "h row " + r + " unit " + k);
                assertEquals(c[r * hid + k], cT[t], 2e-5, "c row " + r + " unit " + k);
            }
        }
        float[] y = new float[rows * out];
        float[] yT = new float[rows * out];
        net.head(rows, h, y, 0);
        net.headGrouped(rows, hT, yT, new float[L]);
        for (int i = 0; i < y.length; i++) {
            assertEquals(y[i], yT[i], 2e-5, "y " + i);
        }
    }
}

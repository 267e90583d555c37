package io.moecast.routing.panama;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

import static io.moecast.routing.panama.VectorMath.F;
import static io.moecast.routing.panama.VectorMath.L;

/**
 * The router's gate GEMM on the Vector API: {@code out[r*E + e] = Σ_i x[xOff + r*d + i] · w[i*E + e]},
 * float32 with FMA, ascending i. Register blocking: 4 tokens × 4 column vectors (16 accumulators, the
 * 4 W vectors of row i loaded once per 4 tokens), or 4 tokens × 1 column vector for other E.
 */
final class Gate {
    private Gate() {
    }

    static void multiply(float[] x, int xOff, int rows, float[] w, int d, int E, float[] out) {
        int r = 0;
        if (E == 4 * L) {
            for (; r + 4 <= rows; r += 4) {
                block4x4(x, xOff + r * d, w, d, out, r * E);
            }
        }
        for (; r + 4 <= rows; r += 4) {
            block4xN(x, xOff + r * d, w, d, E, out, r * E);
        }
        for (; r < rows; r++) {
            row1(x, xOff + r * d, w, d, E, out, r * E);
        }
    }

    private static void block4x4(float[] x, int xo, float[] w, int d, float[] out, int oo) {
        final int E = 4 * L;
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        for (int i = 0, wo = 0; i < d; i++, wo += E) {
            FloatVector w0 = FloatVector.fromArray(F, w, wo);
            FloatVector w1 = FloatVector.fromArray(F, w, wo + L);
            FloatVector w2 = FloatVector.fromArray(F, w, wo + 2 * L);
            FloatVector w3 = FloatVector.fromArray(F, w, wo + 3 * L);
            FloatVector b0 = FloatVector.broadcast(F, x[xo + i]);
            FloatVector b1 = FloatVector.broadcast(F, x[xo + d + i]);
            FloatVector b2 = FloatVector.broadcast(F, x[xo + 2 * d + i]);
            FloatVector b3 = FloatVector.broadcast(F, x[xo + 3 * d + i]);
            a00 = w0.fma(b0, a00);
            a01 = w1.fma(b0, a01);
            a02 = w2.fma(b0, a02);
            a03 = w3.fma(b0, a03);
            a10 = w0.fma(b1, a10);
            a11 = w1.fma(b1, a11);
            a12 = w2.fma(b1, a12);
            a13 = w3.fma(b1, a13);
            a20 = w0.fma(b2, a20);
            a21 = w1.fma(b2, a21);
            a22 = w2.fma(b2, a22);
            a23 = w3.fma(b2, a23);
            a30 = w0.fma(b3, a30);
            a31 = w1.fma(b3, a31);
            a32 = w2.fma(b3, a32);
            a33 = w3.fma(b3, a33);
        }
        a00.intoArray(out, oo);
        a01.intoArray(out, oo + L);
        a02.intoArray(out, oo + 2 * L);
        a03.intoArray(out, oo + 3 * L);
        a10.intoArray(out, oo + E);
        a11.intoArray(out, oo + E + L);
        a12.intoArray(out, oo + E + 2 * L);
        a13.intoArray(out, oo + E + 3 * L);
        a20.intoArray(out, oo + 2 * E);
        a21.intoArray(out, oo + 2 * E + L);
        a22.intoArray(out, oo + 2 * E + 2 * L);
        a23.intoArray(out, oo + 2 * E + 3 * L);
        a30.intoArray(out, oo + 3 * E);
        a31.intoArray(out, oo + 3 * E + L);
        a32.intoArray(out, oo + 3 * E + 2 * L);
        a33.intoArray(out, oo + 3 * E + 3 * L);
    }

    private static void block4xN(float[] x, int xo, float[] w, int d, int E, float[] out, int oo) {
        for (int c = 0; c < E; c += L) {
            VectorMask<Float> m = F.indexInRange(c, E);
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0, wo = c; i < d; i++, wo += E) {
                FloatVector wv = FloatVector.fromArray(F, w, wo, m);
                a0 = wv.fma(FloatVector.broadcast(F, x[xo + i]), a0);
                a1 = wv.fma(FloatVector.broadcast(F, x[xo + d + i]), a1);
                a2 = wv.fma(FloatVector.broadcast(F, x[xo + 2 * d + i]), a2);
                a3 = wv.fma(FloatVector.broadcast(F, x[xo + 3 * d + i]), a3);
            }
            a0.intoArray(out, oo + c, m);
            a1.intoArray(out, oo + E + c, m);
            a2.intoArray(out, oo + 2 * E + c, m);
            a3.intoArray(out, oo + 3 * E + c, m);
        }
    }

    private static void row1(float[] x, int xo, float[] w, int d, int E, float[] out, int oo) {
        for (int c = 0; c < E; c += L) {
            VectorMask<Float> m = F.indexInRange(c, E);
            FloatVector a = FloatVector.zero(F);
            for (int i = 0, wo = c; i < d; i++, wo += E) {
                a = FloatVector.fromArray(F, w, wo, m).fma(FloatVector.broadcast(F, x[xo + i]), a);
            }
            a.intoArray(out, oo + c, m);
        }
    }
}

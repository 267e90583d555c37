package io.moecast.routing.panama;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static io.moecast.routing.panama.VectorMath.F;
import static io.moecast.routing.panama.VectorMath.L;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The building blocks: selection keys order like the reference, the exps are as accurate as claimed. */
class VectorMathTest {
    private static final float[] SPECIAL = {Float.NaN, Float.intBitsToFloat(0xffc00001), Float.intBitsToFloat(0x7f800001),
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE,
            Float.MAX_VALUE, -Float.MAX_VALUE, 1f, -1f, Float.MIN_NORMAL, -Float.MIN_NORMAL};

    /** The reference order on floats: NaN lowest (all NaNs equal), −0 == +0. */
    private static int refCompare(float a, float b) {
        boolean na = Float.isNaN(a);
        boolean nb = Float.isNaN(b);
        if (na || nb) {
            return na && nb ? 0 : na ? -1 : 1;
        }
        return a == b ? 0 : a < b ? -1 : 1;
    }

    private static float sample(Random r) {
        return switch (r.nextInt(4)) {
            case 0 -> SPECIAL[r.nextInt(SPECIAL.length)];
            case 1 -> Float.intBitsToFloat(r.nextInt());
            default -> (float) r.nextGaussian();
        };
    }

    @Test
    void keysOrderExactlyLikeTheReference() {
        Random r = new Random(1);
        for (int i = 0; i < 200_000; i++) {
            float a = sample(r);
            float b = sample(r);
            assertEquals(refCompare(a, b), Integer.signum(Integer.compare(VectorMath.key(a), VectorMath.key(b))), a + " vs " + b);
            assertTrue(VectorMath.key(a) > VectorMath.GONE_KEY);
        }
        assertEquals(VectorMath.NAN_KEY, VectorMath.key(Float.NaN));
        assertEquals(VectorMath.POS_INF_KEY, VectorMath.key(Float.POSITIVE_INFINITY));
        assertEquals(VectorMath.NEG_INF_KEY, VectorMath.key(Float.NEGATIVE_INFINITY));
    }

    @Test
    void vectorKeysEqualScalarKeys() {
        Random r = new Random(2);
        float[] x = new float[L];
        int[] k = new int[L];
        for (int rep = 0; rep < 5_000; rep++) {
            for (int i = 0; i < L; i++) {
                x[i] = sample(r);
            }
            VectorMath.keys(FloatVector.fromArray(F, x, 0)).intoArray(k, 0);
            for (int i = 0; i < L; i++) {
                assertEquals(VectorMath.key(x[i]), k[i], "x = " + x[i]);
                if (!Float.isNaN(x[i])) {
                    assertEquals(Float.floatToIntBits(x[i] + 0f), Float.floatToIntBits(VectorMath.unkey(k[i])));
                }
            }
        }
        IntVector unused = IntVector.zero(VectorMath.I);
        assertEquals(L, unused.length());
    }

    @Test
    void doubleExpIsAccurateToAFewUlps() {
        Random r = new Random(3);
        double worst = 0;
        for (int i = 0; i < 200_000; i++) {
            double x = -r.nextDouble() * (i % 2 == 0 ? 708 : 3);
            double want = Math.exp(x);
            double got = VectorMath.expNonPositive(x);
            worst = Math.max(worst, Math.abs(got - want) / want);
        }
        assertTrue(worst < 1e-14, "worst relative error " + worst);
        assertEquals(1.0, VectorMath.expNonPositive(0.0));
        assertEquals(0.0, VectorMath.expNonPositive(Double.NEGATIVE_INFINITY));
        assertEquals(0.0, VectorMath.expNonPositive(Double.NaN));
        assertEquals(0.0, VectorMath.expNonPositive(-1000));
    }

    @Test
    void floatVectorExpIsAccurateToAboutTwoUlps() {
        Random r = new Random(4);
        float[] x = new float[L];
        float[] y = new float[L];
        double worst = 0;
        for (int rep = 0; rep < 20_000; rep++) {
            for (int i = 0; i < L; i++) {
                x[i] = (float) (-r.nextDouble() * (rep % 2 == 0 ? 87 : 2));
            }
            VectorMath.expNonPositive(FloatVector.fromArray(F, x, 0)).intoArray(y, 0);
            for (int i = 0; i < L; i++) {
                double want = Math.exp(x[i]);
                worst = Math.max(worst, Math.abs(y[i] - want) / want);
            }
        }
        assertTrue(worst < 2.5e-7, "worst relative error " + worst);
        float[] special = new float[L];
        java.util.Arrays.fill(special, Float.NaN);
        special[0] = Float.NEGATIVE_INFINITY;
        special[1] = -100f;
        special[2] = 0f;
        VectorMath.expNonPositive(FloatVector.fromArray(F, special, 0)).intoArray(y, 0);
        assertEquals(0f, y[0]);
        assertEquals(0f, y[1]);
        assertEquals(1f, y[2]);
        assertEquals(0f, y[3], "NaN gives 0");
    }

    @Test
    void vectorDoubleExpIsAccurate() {
        Random r = new Random(5);
        int n = 1000;
        double[] x = new double[n + VectorMath.D.length()];
        double[] want = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = -r.nextDouble() * (i % 2 == 0 ? 708 : 3);
            want[i] = Math.exp(x[i]);
        }
        x[0] = Double.NaN;
        x[1] = Double.NEGATIVE_INFINITY;
        x[2] = -800;
        x[3] = 0;
        VectorMath.expNonPositiveInPlace(x, n);
        assertEquals(0.0, x[0]);
        assertEquals(0.0, x[1]);
        assertEquals(0.0, x[2]);
        assertEquals(1.0, x[3]);
        double worst = 0;
        for (int i = 4; i < n; i++) {
            worst = Math.max(worst, Math.abs(x[i] - want[i]) / want[i]);
        }
        assertTrue(worst < 1e-12, "worst relative error " + worst);
    }

    @Test
    void vectorSigmoidIsWithinTheTieMarginOfTheReference() {
        Random r = new Random(6);
        int n = 4000;
        double[] x = new double[n + VectorMath.D.length()];
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (r.nextGaussian() * (i % 3 == 0 ? 40 : 3));
            x[i] = f[i];
        }
        f[0] = 0f;
        x[0] = 0;
        f[1] = -0f;
        x[1] = -0.0;
        VectorMath.sigmoidInPlace(x, n);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double want = 1.0 / (1.0 + Math.exp(-(double) f[i]));
            worst = Math.max(worst, Math.abs(x[i] - want));
        }
        assertTrue(worst < RowKernels.TIE_MARGIN / 100, "worst absolute error " + worst);
        assertEquals(0.5, x[0]);
        assertEquals(0.5, x[1]);
    }

    /**
     * The float vector sigmoid against 1/(1 + Math.exp(−x)) over a dense sweep of floats (every 61st bit
     * pattern with |x| ≤ 120, both signs, plus every float in [−2, 2] step 2^-20): the fast
     * sigmoid-grouped path relies on the bound {@link RowKernels#SIGMOID_ABS_ERROR}, which keeps a factor 2
     * over the analysed 2^-22; the measured error must be within the analysis.
     */
    @Test
    void floatVectorSigmoidIsWithinItsCertifiedBound() {
        float[] x = new float[L];
        float[] y = new float[L];
        double worst = 0;
        float worstAt = 0;
        int lim = Float.floatToRawIntBits(120f);
        int i = 0;
        for (int b = 0; b <= lim; b += 61) {
            for (int sign = 0; sign < 2; sign++) {
                x[i++] = Float.intBitsToFloat(b | (sign << 31));
                if (i == L) {
                    VectorMath.sigmoid(FloatVector.fromArray(F, x, 0)).intoArray(y, 0);
                    for (int j = 0; j < L; j++) {
                        double err = Math.abs(y[j] - 1.0 / (1.0 + Math.exp(-(double) x[j])));
                        if (err > worst) {
                            worst = err;
                            worstAt = x[j];
                        }
                    }
                    i = 0;
                }
            }
        }
        for (double v = -2; v <= 2; v += 0x1p-20 * L) {
            for (int j = 0; j < L; j++) {
                x[j] = (float) (v + j * 0x1p-20);
            }
            VectorMath.sigmoid(FloatVector.fromArray(F, x, 0)).intoArray(y, 0);
            for (int j = 0; j < L; j++) {
                double err = Math.abs(y[j] - 1.0 / (1.0 + Math.exp(-(double) x[j])));
                if (err > worst) {
                    worst = err;
                    worstAt = x[j];
                }
            }
        }
        assertTrue(worst < RowKernels.SIGMOID_ABS_ERROR / 2, "worst absolute error " + worst + " at x = " + worstAt);
        java.util.Arrays.fill(x, 0f);
        x[0] = 30f;
        x[1] = -100f;
        x[2] = -0f;
        VectorMath.sigmoid(FloatVector.fromArray(F, x, 0)).intoArray(y, 0);
        assertEquals(1f, y[0]);
        assertEquals(0f, y[1]);
        assertEquals(0.5f, y[2]);
        assertEquals(0.5f, y[3]);
    }

    @Test
    void unkeysInvertKeys() {
        Random r = new Random(7);
        float[] x = new float[L];
        float[] back = new float[L];
        for (int rep = 0; rep < 5_000; rep++) {
            for (int i = 0; i < L; i++) {
                float v;
                do {
                    v = sample(r);
                } while (Float.isNaN(v));
                x[i] = v;
            }
            VectorMath.unkeys(VectorMath.keysFirstPass(FloatVector.fromArray(F, x, 0))).intoArray(back, 0);
            for (int i = 0; i < L; i++) {
                assertEquals(Float.floatToIntBits(x[i] + 0f), Float.floatToIntBits(back[i]), "x = " + x[i]);
                assertEquals(VectorMath.unkey(VectorMath.key(x[i])), back[i]);
            }
        }
    }
}

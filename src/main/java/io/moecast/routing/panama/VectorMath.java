package io.moecast.routing.panama;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The numeric building blocks of the Vector API router, with the species in one place (Lucene's
 * "constants holder": nothing here is touched before {@code Routers} has checked that the incubator
 * module and C2 are there).
 *
 * <p><b>Selection keys.</b> Top-k runs on 32-bit integer keys that order exactly like the reference
 * order on floats: {@code key(x) = x ≥ 0 ? bits(x) : −(bits(x) & 0x7fffffff)} (sign-magnitude to two's
 * complement, so −0.0 and +0.0 both map to 0), NaN maps to {@link #NAN_KEY}, below every number,
 * −∞ included, and knocked-out or padding lanes hold {@link #GONE_KEY}, below NaN. Integer max is one
 * instruction; Java's float max (NaN and −0.0 semantics) is several.
 */
final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;

    /** A lane that can never be selected again (already taken, or padding past E). */
    static final int GONE_KEY = Integer.MIN_VALUE;
    /** NaN logits: below −∞, above {@link #GONE_KEY}; all NaNs tie. */
    static final int NAN_KEY = Integer.MIN_VALUE + 1;
    static final int POS_INF_KEY = Float.floatToRawIntBits(Float.POSITIVE_INFINITY);
    static final int NEG_INF_KEY = -POS_INF_KEY;

    private static final float LOG2E_F = 0x1.715476p+0f;
    private static final float MAGIC_F = 0x1.8p23f;
    private static final float LN2_HI_F = 0x1.62e4p-1f;
    private static final float LN2_LO_F = 0x1.7f7d1cp-20f;
    private static final int ONE_BITS = Float.floatToRawIntBits(1f);

    private VectorMath() {
    }

    /** The scalar selection key of a float (see the class comment). */
    static int key(float x) {
        if (x != x) {
            return NAN_KEY;
        }
        int b = Float.floatToRawIntBits(x);
        return b >= 0 ? b : -(b & 0x7fffffff);
    }

    /** The float whose key is {@code key} (NaN for {@link #NAN_KEY}). */
    static float unkey(int key) {
        if (key == NAN_KEY) {
            return Float.NaN;
        }
        return Float.intBitsToFloat(key >= 0 ? key : (-key) | 0x80000000);
    }

    /** Vector {@link #key(float)}: 5 integer ops, one float compare and a blend. */
    static IntVector keys(FloatVector x) {
        IntVector b = x.reinterpretAsInts();
        IntVector sign = b.lanewise(VectorOperators.ASHR, 31);                 // −1 for negatives, else 0
        IntVector k = b.lanewise(VectorOperators.XOR, sign.lanewise(VectorOperators.LSHR, 1)).sub(sign);
        VectorMask<Integer> nan = x.compare(VectorOperators.NE, x).cast(I);
        return k.blend(NAN_KEY, nan);
    }

    /**
     * {@link #keys} without the NaN fix-up (4 integer ops): a positive NaN maps above +∞ and a negative
     * one below −∞, so a row holding a NaN either has its maximum at or above {@link #POS_INF_KEY} or,
     * if its best key is a negative NaN, at or below {@link #NEG_INF_KEY}: both are "rare" rows that go
     * to the reference. Valid for the first pass only (later passes need all NaNs tied).
     */
    static IntVector keysFirstPass(FloatVector x) {
        IntVector b = x.reinterpretAsInts();
        IntVector sign = b.lanewise(VectorOperators.ASHR, 31);
        return b.lanewise(VectorOperators.XOR, sign.lanewise(VectorOperators.LSHR, 1)).sub(sign);
    }

    /**
     * The float whose key is {@code k}, lane-wise (inverse of {@link #keysFirstPass} on non-NaN keys;
     * key 0 gives +0.0): 4 integer ops.
     */
    static FloatVector unkeys(IntVector k) {
        IntVector sign = k.lanewise(VectorOperators.ASHR, 31);
        return k.lanewise(VectorOperators.XOR, sign).sub(sign)
                .lanewise(VectorOperators.OR, sign.lanewise(VectorOperators.LSHL, 31)).reinterpretAsFloats();
    }

    /** Lane i ↔ lane i XOR d (butterfly partners), d = 1, 2, 4, 8 (lanes past L: identity). */
    static final VectorShuffle<Integer> XOR1 = xorShuffle(1);
    static final VectorShuffle<Integer> XOR2 = xorShuffle(2);
    static final VectorShuffle<Integer> XOR4 = xorShuffle(4);
    static final VectorShuffle<Integer> XOR8 = xorShuffle(8);

    private static VectorShuffle<Integer> xorShuffle(int d) {
        return VectorShuffle.fromOp(I, i -> (i ^ d) < L ? i ^ d : i);
    }

    /**
     * sigmoid(x) = 1/(1 + exp(−x)) in float, lane-wise, from e = exp(−|x|) ({@link #expNonPositive}):
     * (x &lt; 0 ? e : 1) / (1 + e). Absolute error below 2^-22 for every finite x (exp within 2 ulp,
     * the add and the divide rounded once each; see {@link RowKernels#SIGMOID_ABS_ERROR}); saturates to
     * 1 for x above about 17 and to 0 below −87.
     */
    static FloatVector sigmoid(FloatVector x) {
        FloatVector e = expNonPositive(x.abs().neg());
        return FloatVector.broadcast(F, 1f).blend(e, x.compare(VectorOperators.LT, 0f)).div(e.add(1f));
    }

    /**
     * exp(x) for x ≤ 0 in float: a Vector API port of llama.cpp's {@code ggml_v_expf} (round(x·log2 e)
     * by the 1.5·2^23 magic add, Cody–Waite reduction, degree-5 polynomial, exponent by an integer
     * shift; about 1.5 ulp). Inputs below −87 (results under the smallest normal float), −∞ and NaN give
     * 0.
     */
    static FloatVector expNonPositive(FloatVector x) {
        VectorMask<Float> live = x.compare(VectorOperators.GE, -87.0f);
        FloatVector z = x.fma(LOG2E_F, MAGIC_F);
        FloatVector n = z.sub(MAGIC_F);
        FloatVector b = n.fma(FloatVector.broadcast(F, -LN2_LO_F), n.fma(FloatVector.broadcast(F, -LN2_HI_F), x));
        FloatVector k = z.reinterpretAsInts().lanewise(VectorOperators.LSHL, 23).add(ONE_BITS).reinterpretAsFloats();
        FloatVector u = b.mul(b);
        FloatVector j = b.fma(0x1.0e4020p-7f, 0x1.573e2ep-5f)
                .fma(u, b.fma(0x1.555e66p-3f, 0x1.fffdb6p-2f))
                .fma(u, b.mul(0x1.ffffecp-1f));
        return j.fma(k, k).blend(0f, live.not());
    }

    private static final double LOG2E = 0x1.71547652b82fep0;
    private static final double MAGIC = 0x1.8p52;
    private static final double LN2_HI = 0x1.62e42fefa39efp-1;
    private static final double LN2_LO = 0x1.abc9e3b39803fp-56;

    /**
     * exp(x) in double for x ≤ 0 (relative error about 1e-15): round(x·log2 e) by a magic add,
     * two-constant reduction with FMA, degree-11 Taylor polynomial on |r| ≤ 0.35, exponent by an
     * integer add. x below −708 (results near the smallest normal double), −∞ and NaN give 0. Used for
     * the k selected weights (a fraction of the cost of {@link Math#exp} here, and as accurate for this).
     */
    static double expNonPositive(double x) {
        if (!(x >= -708.0)) {
            return 0.0;
        }
        double z = Math.fma(x, LOG2E, MAGIC);
        double n = z - MAGIC;
        double r = Math.fma(n, -LN2_LO, Math.fma(n, -LN2_HI, x));
        double p = 1.0 / 39916800;
        p = Math.fma(p, r, 1.0 / 3628800);
        p = Math.fma(p, r, 1.0 / 362880);
        p = Math.fma(p, r, 1.0 / 40320);
        p = Math.fma(p, r, 1.0 / 5040);
        p = Math.fma(p, r, 1.0 / 720);
        p = Math.fma(p, r, 1.0 / 120);
        p = Math.fma(p, r, 1.0 / 24);
        p = Math.fma(p, r, 1.0 / 6);
        p = Math.fma(p, r, 0.5);
        p = Math.fma(p, r, 1.0);
        p = Math.fma(p, r, 1.0);
        return Double.longBitsToDouble(Double.doubleToRawLongBits(p) + ((long) n << 52));
    }

    /**
     * In place, {@code x[i] = exp(x[i])} for {@code i < n}, x ≤ 0 (NaN, −∞ and x &lt; −708 give 0),
     * vectorised in double: magic-add rounding, two-constant reduction with FMA, degree-10 Taylor
     * polynomial on |r| ≤ 0.35 in Estrin form (short dependency chains), exponent by an integer add;
     * relative error about 1e-13. {@code x} must hold n rounded up to whole vectors.
     */
    static void expNonPositiveInPlace(double[] x, int n) {
        final int dl = D.length();
        for (int i = 0; i < n; i += dl) {
            DoubleVector v = DoubleVector.fromArray(D, x, i);
            VectorMask<Double> live = v.compare(VectorOperators.GE, -708.0);
            DoubleVector z = v.fma(DoubleVector.broadcast(D, LOG2E), DoubleVector.broadcast(D, MAGIC));
            DoubleVector nn = z.sub(MAGIC);
            DoubleVector r = nn.fma(DoubleVector.broadcast(D, -LN2_HI), v);
            r = nn.fma(DoubleVector.broadcast(D, -LN2_LO), r);
            DoubleVector r2 = r.mul(r);
            DoubleVector r4 = r2.mul(r2);
            DoubleVector p01 = r.add(1.0);
            DoubleVector p23 = r.fma(DoubleVector.broadcast(D, 1.0 / 6), DoubleVector.broadcast(D, 0.5));
            DoubleVector p45 = r.fma(DoubleVector.broadcast(D, 1.0 / 120), DoubleVector.broadcast(D, 1.0 / 24));
            DoubleVector p67 = r.fma(DoubleVector.broadcast(D, 1.0 / 5040), DoubleVector.broadcast(D, 1.0 / 720));
            DoubleVector p89 = r.fma(DoubleVector.broadcast(D, 1.0 / 362880), DoubleVector.broadcast(D, 1.0 / 40320));
            DoubleVector p8a = r2.fma(DoubleVector.broadcast(D, 1.0 / 3628800), p89);
            DoubleVector p47 = r2.fma(p67, p45);
            DoubleVector p03 = r2.fma(p23, p01);
            DoubleVector p = r4.fma(r4.fma(p8a, p47), p03);
            LongVector bits = p.reinterpretAsLongs().add(z.reinterpretAsLongs().lanewise(VectorOperators.LSHL, 52));
            bits.reinterpretAsDoubles().blend(0.0, live.not()).intoArray(x, i);
        }
    }

    /**
     * The logistic function from e = exp(−|x|) ({@link #expNonPositiveInPlace} of −|x|): in place,
     * {@code e[i] = (x[i] < 0 ? e[i] : 1) / (1 + e[i])}, i.e. 1/(1 + exp(−x)) without overflow. Relative
     * error about 1e-13. Both arrays must hold n rounded up to whole vectors.
     */
    static void sigmoidFromExp(double[] x, double[] e, int n) {
        final int dl = D.length();
        for (int i = 0; i < n; i += dl) {
            DoubleVector ev = DoubleVector.fromArray(D, e, i);
            VectorMask<Double> neg = DoubleVector.fromArray(D, x, i).compare(VectorOperators.LT, 0.0);
            DoubleVector.broadcast(D, 1.0).blend(ev, neg).div(ev.add(1.0)).intoArray(e, i);
        }
    }

    /** {@code x[i] = sigmoid(x[i])} via {@link #expNonPositiveInPlace} and {@link #sigmoidFromExp}; allocates (tests only). */
    static void sigmoidInPlace(double[] x, int n) {
        double[] e = new double[x.length];
        for (int i = 0; i < n; i++) {
            e[i] = -Math.abs(x[i]);
        }
        expNonPositiveInPlace(e, n);
        sigmoidFromExp(x, e, n);
        System.arraycopy(e, 0, x, 0, n);
    }
}

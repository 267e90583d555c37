package io.moecast.predict;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The local-level Kalman filter of {@link KalmanPredictor} (and of {@code auto}'s Kalman candidate) for
 * every series at once, on the rows of a {@link ShareHistory}, in float arithmetic on the Vector API.
 *
 * <p>Per series, per step t with share x: the variogram γ(k) = ½·E[(x(t) − x(t−k))²] is tracked at
 * lags k = 1, 2, 4, …, maxLag by exponentially weighted means with weight λ(k) = max(1/(s−k+1),
 * 1/memory) (s: steps seen before t); R (intercept) and Q (2 × slope) are the least-squares line
 * γ(k) = R + k·Q/2 through the lags seen so far, Q ≥ 0, R at least the multinomial floor
 * p(1−p)/slots of the current level p; then the filter: P⁻ = P + Q, gain = P⁻/(P⁻ + R),
 * μ += gain·(x − μ), P = (1 − gain)·P⁻. The first step sets μ = x, R = floor(x), Q = 0,
 * P = max(R, 1e-6).
 *
 * <p>Once every lag is in and every λ(k) has reached 1/memory (s ≥ memory + maxLag − 1), the
 * regression coefficients and the weights no longer change, so the slope and intercept are themselves
 * exponentially weighted means (of Σₖ aₖ·½d²(k) and Σₖ bₖ·½d²(k)): from then on two sums per series
 * replace the nine variogram values. Rows are processed in blocks, series 16 at a time (AVX-512), with
 * the state in registers across the block; a scalar loop does the same arithmetic for the tail.
 */
final class LocalLevelFilter {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** series per chunk: the state of a chunk stays in L1 while a block of rows goes through it */
    static final int CHUNK = ShareHistory.CHUNK;
    /** rows per pass while the variogram is still warming up (its per-row sums stay in L1) */
    static final int WARM_ROWS = 16;

    private final int n;
    private final int layers;
    private final int experts;
    private final int[] lags;
    private final int nLags;
    private final int maxLag;
    private final int memory;
    private final float invSlots;
    private final boolean floorFromSlots;
    /** regression coefficients with m lags in: slope = Σ a[m][j]·γ_j, intercept = Σ b[m][j]·γ_j */
    private final float[][] ca;
    private final float[][] cb;
    final float[] mu;
    final float[] p;
    final float[] r;
    final float[] q;
    /** the variogram while λ or the number of lags still changes: gamma[j*n + i] */
    private final float[] gamma;
    /** afterwards: the slope and intercept sums */
    private final float[] slope;
    private final float[] icpt;
    private long seen;
    // per block scratch
    private final float[] lam = new float[WARM_ROWS * 32];
    private final int[] off;
    private final int[] avail = new int[WARM_ROWS];
    private final float[] accA;
    private final float[] accB;

    LocalLevelFilter(int layers, int experts, int maxLag, int memory, long slotsPerStep) {
        if (maxLag < 2 || memory < 10) {
            throw new IllegalArgumentException("maxlag >= 2 and memory >= 10 required");
        }
        this.layers = layers;
        this.experts = experts;
        this.n = layers * experts;
        int k = 0;
        for (long l = 1; l <= maxLag; l *= 2) {
            k++;
        }
        this.nLags = k;
        this.lags = new int[k];
        for (int i = 0, l = 1; i < k; i++, l *= 2) {
            lags[i] = l;
        }
        this.maxLag = lags[k - 1];
        this.memory = memory;
        this.floorFromSlots = slotsPerStep > 0;
        this.invSlots = slotsPerStep > 0 ? (float) (1.0 / slotsPerStep) : 0f;
        this.ca = new float[k + 1][k];
        this.cb = new float[k + 1][k];
        for (int m = 1; m <= k; m++) {
            if (m == 1) {
                cb[1][0] = 1f;
                continue;
            }
            double sk = 0;
            double skk = 0;
            for (int j = 0; j < m; j++) {
                sk += lags[j];
                skk += (double) lags[j] * lags[j];
            }
            double den = m * skk - sk * sk;
            for (int j = 0; j < m; j++) {
                double a = (m * (double) lags[j] - sk) / den;
                ca[m][j] = (float) a;
                cb[m][j] = (float) (1.0 / m - a * sk / m);
            }
        }
        this.mu = new float[n];
        this.p = new float[n];
        this.r = new float[n];
        this.q = new float[n];
        this.gamma = new float[k * n];
        this.slope = new float[n];
        this.icpt = new float[n];
        this.off = new int[ShareHistory.BLOCK * (k + 1)];
        this.accA = new float[WARM_ROWS * CHUNK];
        this.accB = new float[WARM_ROWS * CHUNK];
    }

    /** Lags the history must keep. */
    int maxLag() {
        return maxLag;
    }

    /** Steps folded in so far. */
    long seen() {
        return seen;
    }

    /** The step from which the slope/intercept sums replace the variogram. */
    private long steadyFrom() {
        return (long) memory + maxLag - 1;
    }

    /** Folds the pending rows of {@code h} into the state (the caller marks them done). */
    void process(ShareHistory h) {
        int rows = h.pending();
        int r0 = 0;
        while (r0 < rows) {
            long s = seen;
            if (s < steadyFrom()) {
                int k = (int) Math.min(Math.min(rows - r0, WARM_ROWS), steadyFrom() - s);
                warm(h, r0, k);
                r0 += k;
                if (seen == steadyFrom()) {
                    toSteady();
                }
            } else {
                steady(h, r0, rows - r0);
                r0 = rows;
            }
        }
    }

    private float floor(float s) {
        if (!floorFromSlots) {
            return 1e-12f;
        }
        float c = Math.min(1f, Math.max(0f, s));
        return Math.max(1e-12f, c * (1f - c) * invSlots);
    }

    private FloatVector floor(FloatVector s) {
        if (!floorFromSlots) {
            return FloatVector.broadcast(F, 1e-12f);
        }
        FloatVector c = s.max(0f).min(1f);
        return c.mul(c.neg().add(1f)).mul(invSlots).max(1e-12f);
    }

    /** Rows r0..r0+k of h while λ or the lags still change: the variogram per lag, then the filter. */
    private void warm(ShareHistory h, int r0, int k) {
        float[] x = h.rows;
        int L = nLags;
        int[] m = avail;
        for (int r = 0; r < k; r++) {
            long s = seen + r;
            int mm = 0;
            for (int j = 0; j < L; j++) {
                if (s >= lags[j]) {
                    mm++;
                    lam[r * L + j] = (float) Math.max(1.0 / (s - lags[j] + 1), 1.0 / memory);
                }
            }
            m[r] = mm;
            off[r * (L + 1) + L] = h.offset(r0 + r, 0);
            for (int j = 0; j < mm; j++) {
                off[r * (L + 1) + j] = h.offset(r0 + r, lags[j]);
            }
        }
        int w = F.length();
        int vecEnd = F.loopBound(n);
        for (int c0 = 0; c0 < vecEnd; c0 += CHUNK) {
            int c1 = Math.min(vecEnd, c0 + CHUNK);
            int cw = c1 - c0;
            int sh = h.shift(c0 / CHUNK);
            Arrays.fill(accA, 0, k * cw, 0f);
            Arrays.fill(accB, 0, k * cw, 0f);
            for (int j = 0; j < L; j++) {
                for (int r = 0; r < k; r++) {
                    if (m[r] <= j) {
                        continue;
                    }
                    int xo = off[r * (L + 1) + L] + sh;
                    int lo = off[r * (L + 1) + j] + sh;
                    float la = lam[r * L + j];
                    float a = ca[m[r]][j];
                    float b = cb[m[r]][j];
                    for (int i = c0, t = r * cw; i < c1; i += w, t += w) {
                        FloatVector g = FloatVector.fromArray(F, gamma, j * n + i);
                        FloatVector d = FloatVector.fromArray(F, x, xo + i).sub(FloatVector.fromArray(F, x, lo + i));
                        g = g.add(d.mul(d).mul(0.5f).sub(g).mul(la));
                        g.intoArray(gamma, j * n + i);
                        FloatVector.fromArray(F, accA, t).add(g.mul(a)).intoArray(accA, t);
                        FloatVector.fromArray(F, accB, t).add(g.mul(b)).intoArray(accB, t);
                    }
                }
            }
            for (int rr = 0; rr < k; rr++) {
                int xo = off[rr * (L + 1) + L] + sh;
                boolean first = seen + rr == 0;
                for (int i = c0, t = rr * cw; i < c1; i += w, t += w) {
                    FloatVector xv = FloatVector.fromArray(F, x, xo + i);
                    FloatVector mv;
                    FloatVector pv;
                    FloatVector rv;
                    FloatVector qv;
                    if (first) {
                        mv = xv;
                        rv = floor(xv);
                        qv = FloatVector.zero(F);
                        pv = rv.max(1e-6f);
                    } else {
                        mv = FloatVector.fromArray(F, mu, i);
                        qv = FloatVector.fromArray(F, accA, t).mul(2f).max(0f);
                        rv = FloatVector.fromArray(F, accB, t).max(floor(mv));
                        FloatVector pp = FloatVector.fromArray(F, p, i).add(qv);
                        FloatVector gain = pp.div(pp.add(rv));
                        mv = xv.sub(mv).mul(gain).add(mv);
                        pv = gain.neg().add(1f).mul(pp);
                    }
                    mv.intoArray(mu, i);
                    pv.intoArray(p, i);
                    rv.intoArray(r, i);
                    qv.intoArray(q, i);
                }
            }
        }
        for (int i = vecEnd; i < n; i++) {
            int sh = h.shift(i / CHUNK);
            float[] aa = accA;
            float[] bb = accB;
            Arrays.fill(aa, 0, k, 0f);
            Arrays.fill(bb, 0, k, 0f);
            for (int j = 0; j < L; j++) {
                float g = gamma[j * n + i];
                for (int rr = 0; rr < k; rr++) {
                    if (m[rr] <= j) {
                        continue;
                    }
                    float d = x[off[rr * (L + 1) + L] + sh + i] - x[off[rr * (L + 1) + j] + sh + i];
                    g = g + (d * d * 0.5f - g) * lam[rr * L + j];
                    aa[rr] = aa[rr] + g * ca[m[rr]][j];
                    bb[rr] = bb[rr] + g * cb[m[rr]][j];
                }
                gamma[j * n + i] = g;
            }
            float mv = mu[i];
            float pv = p[i];
            float rv = r[i];
            float qv = q[i];
            for (int rr = 0; rr < k; rr++) {
                float xv = x[off[rr * (L + 1) + L] + sh + i];
                if (seen + rr == 0) {
                    mv = xv;
                    rv = floor(xv);
                    qv = 0f;
                    pv = Math.max(rv, 1e-6f);
                    continue;
                }
                qv = Math.max(aa[rr] * 2f, 0f);
                rv = Math.max(bb[rr], floor(mv));
                float pp = pv + qv;
                float gain = pp / (pp + rv);
                mv = (xv - mv) * gain + mv;
                pv = (1f - gain) * pp;
            }
            mu[i] = mv;
            p[i] = pv;
            r[i] = rv;
            q[i] = qv;
        }
        seen += k;
    }

    /** From the variogram to the slope and intercept sums (all lags in, λ = 1/memory from now on). */
    private void toSteady() {
        float[] a = ca[nLags];
        float[] b = cb[nLags];
        for (int i = 0; i < n; i++) {
            float sa = 0;
            float sb = 0;
            for (int j = 0; j < nLags; j++) {
                sa += a[j] * gamma[j * n + i];
                sb += b[j] * gamma[j * n + i];
            }
            slope[i] = sa;
            icpt[i] = sb;
        }
    }

    /**
     * Rows r0..r0+k of h in the steady regime. Series go in chunks of {@link #CHUNK} (their state stays
     * in L1 across the rows; each row's lagged values stream as contiguous runs).
     */
    private void steady(ShareHistory h, int r0, int k) {
        float[] x = h.rows;
        int L = nLags;
        for (int r = 0; r < k; r++) {
            off[r * (L + 1) + L] = h.offset(r0 + r, 0);
            for (int j = 0; j < L; j++) {
                off[r * (L + 1) + j] = h.offset(r0 + r, lags[j]);
            }
        }
        float[] a = ca[L];
        float[] b = cb[L];
        float keep = (float) (1 - 1.0 / memory);
        float half = (float) (0.5 / memory);
        int w = F.length();
        int vecEnd = F.loopBound(n);
        for (int c0 = 0; c0 < vecEnd; c0 += CHUNK) {
            int c1 = Math.min(vecEnd, c0 + CHUNK);
            int sh = h.shift(c0 / CHUNK);
            for (int rr = 0; rr < k; rr++) {
                int o = rr * (L + 1);
                int xo = off[o + L] + sh;
                boolean last = rr == k - 1;
                for (int i = c0; i < c1; i += w) {
                    FloatVector xv = FloatVector.fromArray(F, x, xo + i);
                    FloatVector sa = FloatVector.zero(F);
                    FloatVector sb = FloatVector.zero(F);
                    for (int j = 0; j < L; j++) {
                        FloatVector d = xv.sub(FloatVector.fromArray(F, x, off[o + j] + sh + i));
                        FloatVector dd = d.mul(d);
                        sa = dd.fma(FloatVector.broadcast(F, a[j]), sa);
                        sb = dd.fma(FloatVector.broadcast(F, b[j]), sb);
                    }
                    FloatVector sv = FloatVector.fromArray(F, slope, i).mul(keep).add(sa.mul(half));
                    FloatVector iv = FloatVector.fromArray(F, icpt, i).mul(keep).add(sb.mul(half));
                    sv.intoArray(slope, i);
                    iv.intoArray(icpt, i);
                    FloatVector mv = FloatVector.fromArray(F, mu, i);
                    FloatVector qv = sv.mul(2f).max(0f);
                    FloatVector rv = iv.max(floor(mv));
                    FloatVector pp = FloatVector.fromArray(F, p, i).add(qv);
                    FloatVector gain = pp.div(pp.add(rv));
                    xv.sub(mv).mul(gain).add(mv).intoArray(mu, i);
                    gain.neg().add(1f).mul(pp).intoArray(p, i);
                    if (last) {
                        rv.intoArray(r, i);
                        qv.intoArray(q, i);
                    }
                }
            }
        }
        for (int i = vecEnd; i < n; i++) {
            int sh = h.shift(i / CHUNK);
            float sv = slope[i];
            float iv = icpt[i];
            float mv = mu[i];
            float pv = p[i];
            float rv = 0;
            float qv = 0;
            for (int rr = 0; rr < k; rr++) {
                int o = rr * (L + 1);
                float xv = x[off[o + L] + sh + i];
                float sa = 0;
                float sb = 0;
                for (int j = 0; j < L; j++) {
                    float d = xv - x[off[o + j] + sh + i];
                    float dd = d * d;
                    sa = Math.fma(dd, a[j], sa);
                    sb = Math.fma(dd, b[j], sb);
                }
                sv = sv * keep + sa * half;
                iv = iv * keep + sb * half;
                qv = Math.max(sv * 2f, 0f);
                rv = Math.max(iv, floor(mv));
                float pp = pv + qv;
                float gain = pp / (pp + rv);
                mv = (xv - mv) * gain + mv;
                pv = (1f - gain) * pp;
            }
            slope[i] = sv;
            icpt[i] = iv;
            mu[i] = mv;
            p[i] = pv;
            r[i] = rv;
            q[i] = qv;
        }
        seen += k;
    }

    /** The filtered level of every series, normalised per layer, into out (after at least one step). */
    void level(double[] out) {
        for (int i = 0; i < n; i++) {
            out[i] = mu[i];
        }
        AbstractPredictor.normalize(out, layers, experts);
    }

    void reset() {
        Arrays.fill(mu, 0);
        Arrays.fill(p, 0);
        Arrays.fill(r, 0);
        Arrays.fill(q, 0);
        Arrays.fill(gamma, 0);
        Arrays.fill(slope, 0);
        Arrays.fill(icpt, 0);
        seen = 0;
    }
}

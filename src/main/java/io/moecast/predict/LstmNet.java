package io.moecast.predict;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;
import java.util.Random;

/**
 * A one-layer LSTM with a linear head, trained with truncated backpropagation through time and Adam:
 * moecast's own implementation, with the matrix products on the Vector API (float).
 *
 * <pre>
 *   z = [x; h]                         (I + H)
 *   [i f g o] = W·z + b                (4H rows: input, forget, cell, output gates)
 *   c' = σ(f)·c + σ(i)·tanh(g),  h' = σ(o)·tanh(c'),  y = V·h' + d   (O outputs)
 * </pre>
 * A batch of B independent sequences advances in lock step. {@link #forwardChunk} keeps what
 * {@link #backwardChunk} needs for a chunk of S steps.
 */
final class LstmNet {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    final int in;
    final int hid;
    final int out;
    final int zlen;
    /** W: 4H × (I+H), row-major; b: 4H; V: O × H; d: O */
    final float[] w;
    final float[] b;
    final float[] v;
    final float[] d;

    LstmNet(int in, int hid, int out, long seed) {
        this.in = in;
        this.hid = hid;
        this.out = out;
        this.zlen = in + hid;
        this.w = new float[4 * hid * zlen];
        this.b = new float[4 * hid];
        this.v = new float[out * hid];
        this.d = new float[out];
        Random r = new Random(seed);
        float a = (float) Math.sqrt(6.0 / (zlen + hid));
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) ((r.nextDouble() * 2 - 1) * a);
        }
        for (int j = hid; j < 2 * hid; j++) {
            b[j] = 1f; // forget gate bias 1
        }
        float av = (float) Math.sqrt(6.0 / (hid + out)) * 0.1f;
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((r.nextDouble() * 2 - 1) * av);
        }
    }

    private float[] sz = new float[0];
    private float[] sg = new float[0];

    private float[] scratchZ(int batch) {
        if (sz.length < batch * zlen) {
            sz = new float[batch * zlen];
        }
        return sz;
    }

    private float[] scratchG(int batch) {
        if (sg.length < batch * 4 * hid) {
            sg = new float[batch * 4 * hid];
        }
        return sg;
    }

    int parameters() {
        return w.length + b.length + v.length + d.length;
    }

    static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }

    static float dot(float[] a, int ao, float[] c, int co, int len) {
        int i = 0;
        FloatVector acc = FloatVector.zero(F);
        int ub = F.loopBound(len);
        for (; i < ub; i += F.length()) {
            acc = FloatVector.fromArray(F, a, ao + i).fma(FloatVector.fromArray(F, c, co + i), acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < len; i++) {
            s += a[ao + i] * c[co + i];
        }
        return s;
    }

    /** dst[do..do+len) += k · src[so..so+len) */
    static void axpy(float k, float[] src, int so, float[] dst, int dof, int len) {
        int i = 0;
        int ub = F.loopBound(len);
        FloatVector kv = FloatVector.broadcast(F, k);
        for (; i < ub; i += F.length()) {
            FloatVector.fromArray(F, src, so + i).fma(kv, FloatVector.fromArray(F, dst, dof + i)).intoArray(dst, dof + i);
        }
        for (; i < len; i++) {
            dst[dof + i] += k * src[so + i];
        }
    }

    /** One step for B rows: x[bi*I..], h/c in place (B×H); gates/cell caches optional (may be null). */
    void step(int batch, float[] x, int xo, float[] h, float[] c, float[] zc, float[] gc, float[] cc, float[] tc) {
        float[] z = zc != null ? zc : scratchZ(batch);
        float[] gts = gc != null ? gc : scratchG(batch);
        for (int r = 0; r < batch; r++) {
            System.arraycopy(x, xo + r * in, z, r * zlen, in);
            System.arraycopy(h, r * hid, z, r * zlen + in, hid);
        }
        for (int r = 0; r < batch; r++) {
            int zo = r * zlen;
            int go = r * 4 * hid;
            for (int j = 0; j < 4 * hid; j++) {
                gts[go + j] = dot(w, j * zlen, z, zo, zlen) + b[j];
            }
            cell(gts, go, c, h, r * hid, cc, tc);
        }
    }

    /** pre[r*4H + j] = W[j, I..I+H)·h[r] + b[j]: the recurrent half of the gates, fixed while h is. */
    void recurrent(int batch, float[] h, float[] pre) {
        for (int r = 0; r < batch; r++) {
            for (int j = 0; j < 4 * hid; j++) {
                pre[r * 4 * hid + j] = dot(w, j * zlen + in, h, r * hid, hid) + b[j];
            }
        }
    }

    /**
     * One inference step from precomputed recurrent gates ({@link #recurrent}): gates = pre + W[·, 0..I)·x;
     * updates c and writes h (scratch g: B×4H).
     */
    void stepWithPre(int batch, float[] x, float[] pre, float[] h, float[] c, float[] g) {
        for (int r = 0; r < batch; r++) {
            int go = r * 4 * hid;
            for (int j = 0; j < 4 * hid; j++) {
                g[go + j] = pre[go + j] + (in == 1 ? w[j * zlen] * x[r] : dot(w, j * zlen, x, r * in, in));
            }
            cell(g, go, c, h, r * hid, null, null);
        }
    }

    /**
     * The cell update of one row from raw gates g[go..go+4H): activates them in place (σ, σ, tanh, σ),
     * c ← σ(f)·c + σ(i)·tanh(g), h = σ(o)·tanh(c) at [ho..ho+H); caches c and tanh(c) when given.
     * Vector API over the hidden units (EXP and TANH lanewise), scalar tail.
     */
    void cell(float[] g, int go, float[] c, float[] h, int ho, float[] cc, float[] tc) {
        int j = 0;
        int ub = F.loopBound(hid);
        FloatVector one = FloatVector.broadcast(F, 1f);
        for (; j < ub; j += F.length()) {
            FloatVector ig = one.div(one.add(FloatVector.fromArray(F, g, go + j).neg().lanewise(VectorOperators.EXP)));
            FloatVector fg = one.div(one.add(FloatVector.fromArray(F, g, go + hid + j).neg().lanewise(VectorOperators.EXP)));
            FloatVector gg = FloatVector.fromArray(F, g, go + 2 * hid + j).lanewise(VectorOperators.TANH);
            FloatVector og = one.div(one.add(FloatVector.fromArray(F, g, go + 3 * hid + j).neg().lanewise(VectorOperators.EXP)));
            ig.intoArray(g, go + j);
            fg.intoArray(g, go + hid + j);
            gg.intoArray(g, go + 2 * hid + j);
            og.intoArray(g, go + 3 * hid + j);
            FloatVector cn = fg.mul(FloatVector.fromArray(F, c, ho + j)).add(ig.mul(gg));
            cn.intoArray(c, ho + j);
            FloatVector th = cn.lanewise(VectorOperators.TANH);
            if (cc != null) {
                cn.intoArray(cc, ho + j);
                th.intoArray(tc, ho + j);
            }
            og.mul(th).intoArray(h, ho + j);
        }
        for (; j < hid; j++) {
            float ig = sigmoid(g[go + j]);
            float fg = sigmoid(g[go + hid + j]);
            float gg = (float) Math.tanh(g[go + 2 * hid + j]);
            float og = sigmoid(g[go + 3 * hid + j]);
            g[go + j] = ig;
            g[go + hid + j] = fg;
            g[go + 2 * hid + j] = gg;
            g[go + 3 * hid + j] = og;
            float cn = fg * c[ho + j] + ig * gg;
            c[ho + j] = cn;
            float th = (float) Math.tanh(cn);
            if (cc != null) {
                cc[ho + j] = cn;
                tc[ho + j] = th;
            }
            h[ho + j] = og * th;
        }
    }

    /** y[r*O..] = V·h[r] + d */
    // ---- inference of the shared model (one input per series), rows in groups of F lanes ---------

    /**
     * Rows in groups of {@code F.length()}, each group's vectors transposed so that lane = row: a state
     * of K values per row lives at {@code a[(group·K + k)·L + lane]}. The products then become
     * broadcast-weight FMAs across rows, with no horizontal sums (the row-by-row {@link #dot} spends
     * most of its time reducing 32-element vectors).
     */
    int groups(int rows) {
        return (rows + F.length() - 1) / F.length();
    }

    /** {@link #recurrent} for the shared model in the grouped layout: preT = W_h·hT + b. */
    void recurrentGrouped(int rows, float[] hT, float[] preT) {
        int L = F.length();
        int G = 4 * hid;
        for (int grp = 0, ng = groups(rows); grp < ng; grp++) {
            int ho = grp * hid * L;
            int po = grp * G * L;
            int j = 0;
            // four gate rows at a time: each state vector is loaded once for four FMAs
            for (; j + 4 <= G; j += 4) {
                FloatVector a0 = FloatVector.broadcast(F, b[j]);
                FloatVector a1 = FloatVector.broadcast(F, b[j + 1]);
                FloatVector a2 = FloatVector.broadcast(F, b[j + 2]);
                FloatVector a3 = FloatVector.broadcast(F, b[j + 3]);
                int w0 = j * zlen + in;
                for (int k = 0; k < hid; k++) {
                    FloatVector hv = FloatVector.fromArray(F, hT, ho + k * L);
                    a0 = hv.fma(FloatVector.broadcast(F, w[w0 + k]), a0);
                    a1 = hv.fma(FloatVector.broadcast(F, w[w0 + zlen + k]), a1);
                    a2 = hv.fma(FloatVector.broadcast(F, w[w0 + 2 * zlen + k]), a2);
                    a3 = hv.fma(FloatVector.broadcast(F, w[w0 + 3 * zlen + k]), a3);
                }
                a0.intoArray(preT, po + j * L);
                a1.intoArray(preT, po + (j + 1) * L);
                a2.intoArray(preT, po + (j + 2) * L);
                a3.intoArray(preT, po + (j + 3) * L);
            }
            for (; j < G; j++) {
                FloatVector acc = FloatVector.broadcast(F, b[j]);
                int wo = j * zlen + in;
                for (int k = 0; k < hid; k++) {
                    acc = FloatVector.fromArray(F, hT, ho + k * L).fma(FloatVector.broadcast(F, w[wo + k]), acc);
                }
                acc.intoArray(preT, po + j * L);
            }
        }
    }

    /** {@link #stepWithPre} for the shared model (in = 1) in the grouped layout; x holds one value per row. */
    void stepWithPreGrouped(int rows, float[] x, float[] preT, float[] hT, float[] cT, float[] gT) {
        if (in != 1) {
            throw new IllegalStateException("grouped inference is for the shared model (one input)");
        }
        int L = F.length();
        int G = 4 * hid;
        FloatVector one = FloatVector.broadcast(F, 1f);
        for (int grp = 0, ng = groups(rows); grp < ng; grp++) {
            int ho = grp * hid * L;
            int po = grp * G * L;
            FloatVector xv = FloatVector.fromArray(F, x, grp * L);
            for (int j = 0; j < G; j++) {
                xv.fma(FloatVector.broadcast(F, w[j * zlen]), FloatVector.fromArray(F, preT, po + j * L)).intoArray(gT, j * L);
            }
            for (int j = 0; j < hid; j++) {
                FloatVector ig = one.div(one.add(FloatVector.fromArray(F, gT, j * L).neg().lanewise(VectorOperators.EXP)));
                FloatVector fg = one.div(one.add(FloatVector.fromArray(F, gT, (hid + j) * L).neg().lanewise(VectorOperators.EXP)));
                FloatVector gg = FloatVector.fromArray(F, gT, (2 * hid + j) * L).lanewise(VectorOperators.TANH);
                FloatVector og = one.div(one.add(FloatVector.fromArray(F, gT, (3 * hid + j) * L).neg().lanewise(VectorOperators.EXP)));
                FloatVector cn = fg.mul(FloatVector.fromArray(F, cT, ho + j * L)).add(ig.mul(gg));
                cn.intoArray(cT, ho + j * L);
                og.mul(cn.lanewise(VectorOperators.TANH)).intoArray(hT, ho + j * L);
            }
        }
    }

    /** {@link #head} for the shared model in the grouped layout: y[row·out + k]. */
    void headGrouped(int rows, float[] hT, float[] y, float[] lanes) {
        int L = F.length();
        for (int grp = 0, ng = groups(rows); grp < ng; grp++) {
            int ho = grp * hid * L;
            for (int k = 0; k < out; k++) {
                FloatVector acc = FloatVector.broadcast(F, d[k]);
                for (int m = 0; m < hid; m++) {
                    acc = FloatVector.fromArray(F, hT, ho + m * L).fma(FloatVector.broadcast(F, v[k * hid + m]), acc);
                }
                acc.intoArray(lanes, 0);
                for (int lane = 0, r = grp * L; lane < L && r < rows; lane++, r++) {
                    y[r * out + k] = lanes[lane];
                }
            }
        }
    }

    void head(int batch, float[] h, float[] y, int yo) {
        for (int r = 0; r < batch; r++) {
            for (int k = 0; k < out; k++) {
                y[yo + r * out + k] = dot(v, k * hid, h, r * hid, hid) + d[k];
            }
        }
    }

    /** Activations of one chunk, kept for backpropagation. */
    static final class Chunk {
        final int steps;
        final int batch;
        final float[][] z;
        final float[][] gates;
        final float[][] cell;
        final float[][] tanhC;
        final float[][] h;
        final float[] c0;
        final float[][] y;

        Chunk(LstmNet net, int steps, int batch) {
            this.steps = steps;
            this.batch = batch;
            this.z = new float[steps][batch * net.zlen];
            this.gates = new float[steps][batch * 4 * net.hid];
            this.cell = new float[steps][batch * net.hid];
            this.tanhC = new float[steps][batch * net.hid];
            this.h = new float[steps][batch * net.hid];
            this.c0 = new float[batch * net.hid];
            this.y = new float[steps][batch * net.out];
        }
    }

    /** Runs S steps from state (h, c) (updated in place), caching activations in ch. x[s] is B×I. */
    void forwardChunk(Chunk ch, float[][] x, int steps, float[] h, float[] c) {
        System.arraycopy(c, 0, ch.c0, 0, c.length);
        for (int s = 0; s < steps; s++) {
            step(ch.batch, x[s], 0, h, c, ch.z[s], ch.gates[s], ch.cell[s], ch.tanhC[s]);
            System.arraycopy(h, 0, ch.h[s], 0, h.length);
            head(ch.batch, h, ch.y[s], 0);
        }
    }

    /** Gradient buffers, same layout as the parameters. */
    static final class Grad {
        final float[] w;
        final float[] b;
        final float[] v;
        final float[] d;

        Grad(LstmNet net) {
            w = new float[net.w.length];
            b = new float[net.b.length];
            v = new float[net.v.length];
            d = new float[net.d.length];
        }

        void zero() {
            Arrays.fill(w, 0);
            Arrays.fill(b, 0);
            Arrays.fill(v, 0);
            Arrays.fill(d, 0);
        }

        double norm2() {
            double s = 0;
            for (float[] a : new float[][] {w, b, v, d}) {
                for (float x : a) {
                    s += (double) x * x;
                }
            }
            return s;
        }
    }

    /**
     * Backpropagation through the chunk's S steps given dL/dy per step (dy[s], B×O); gradients are added
     * to g. The gradient does not flow into the chunk's initial state (truncation).
     */
    void backwardChunk(Chunk ch, float[][] dy, int steps, Grad g) {
        int bt = ch.batch;
        float[] dh = new float[bt * hid];
        float[] dc = new float[bt * hid];
        float[] dgate = new float[4 * hid];
        float[] dz = new float[zlen];
        for (int s = steps - 1; s >= 0; s--) {
            float[] hs = ch.h[s];
            for (int r = 0; r < bt; r++) {
                // head
                for (int k = 0; k < out; k++) {
                    float gy = dy[s][r * out + k];
                    if (gy != 0) {
                        g.d[k] += gy;
                        axpy(gy, hs, r * hid, g.v, k * hid, hid);
                        axpy(gy, v, k * hid, dh, r * hid, hid);
                    }
                }
                int go = r * 4 * hid;
                float[] gts = ch.gates[s];
                float[] prevC = s > 0 ? ch.cell[s - 1] : ch.c0;
                for (int j = 0; j < hid; j++) {
                    int q = r * hid + j;
                    float ig = gts[go + j];
                    float fg = gts[go + hid + j];
                    float gg = gts[go + 2 * hid + j];
                    float og = gts[go + 3 * hid + j];
                    float th = ch.tanhC[s][q];
                    float dho = dh[q];
                    float dcn = dc[q] + dho * og * (1 - th * th);
                    dgate[j] = dcn * gg * ig * (1 - ig);
                    dgate[hid + j] = dcn * prevC[q] * fg * (1 - fg);
                    dgate[2 * hid + j] = dcn * ig * (1 - gg * gg);
                    dgate[3 * hid + j] = dho * th * og * (1 - og);
                    dc[q] = dcn * fg;
                }
                // parameters and dz = W^T dgate
                Arrays.fill(dz, 0);
                int zo = r * zlen;
                for (int j = 0; j < 4 * hid; j++) {
                    float gj = dgate[j];
                    if (gj != 0) {
                        g.b[j] += gj;
                        axpy(gj, ch.z[s], zo, g.w, j * zlen, zlen);
                        axpy(gj, w, j * zlen, dz, 0, zlen);
                    }
                }
                System.arraycopy(dz, in, dh, r * hid, hid);
            }
        }
    }

    /** Adam with bias correction. */
    static final class Adam {
        final float[][] m;
        final float[][] s;
        final double beta1 = 0.9;
        final double beta2 = 0.999;
        long t;

        Adam(LstmNet net) {
            m = new float[][] {new float[net.w.length], new float[net.b.length], new float[net.v.length], new float[net.d.length]};
            s = new float[][] {new float[net.w.length], new float[net.b.length], new float[net.v.length], new float[net.d.length]};
        }

        void step(LstmNet net, Grad g, double lr, double clip) {
            double norm = Math.sqrt(g.norm2());
            double scale = norm > clip ? clip / norm : 1.0;
            t++;
            double c1 = 1 - Math.pow(beta1, t);
            double c2 = 1 - Math.pow(beta2, t);
            float[][] p = {net.w, net.b, net.v, net.d};
            float[][] gr = {g.w, g.b, g.v, g.d};
            for (int a = 0; a < 4; a++) {
                float[] pa = p[a];
                float[] ga = gr[a];
                float[] ma = m[a];
                float[] sa = s[a];
                for (int i = 0; i < pa.length; i++) {
                    double gi = ga[i] * scale;
                    ma[i] = (float) (beta1 * ma[i] + (1 - beta1) * gi);
                    sa[i] = (float) (beta2 * sa[i] + (1 - beta2) * gi * gi);
                    pa[i] -= (float) (lr * (ma[i] / c1) / (Math.sqrt(sa[i] / c2) + 1e-8));
                }
            }
        }
    }
}

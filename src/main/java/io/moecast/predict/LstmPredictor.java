package io.moecast.predict;

import io.moecast.UserError;
import io.moecast.trace.LoadTrace;

import java.util.Arrays;
import java.util.Locale;

/**
 * {@code lstm} and {@code lstm-shared}: the source paper's LSTM, trained with backpropagation through
 * time on one trace (another run of the same setup, {@link PredictorContext#train()}) and used on
 * another, as the paper did. The network is {@link LstmNet} (moecast's own, on the Vector API).
 *
 * <p><b>Input</b>: the history of load proportions, fed as the mean shares of consecutive blocks of
 * {@code block} steps (default 10; the state carries the longer history), centred and scaled as
 * (p − 1/E)·E. <b>Output</b>: for each trained horizon h in {@code horizons} (default 1, 10, 100, 1000,
 * 2000) the mean share over the next h steps, as a change from the latest block mean (a skip
 * connection): p̂ = block mean + y/E. Other horizons interpolate the forecast cumulative load linearly
 * between trained horizons (beyond the longest: flat); per-step forecasts are its increments.
 * Between block boundaries the forecast runs one provisional step on the partial block.
 *
 * <ul>
 *   <li>{@code lstm}: the paper's joint model: one input and one output per expert of every layer
 *       (I = layers·experts, O = I·|horizons|), so the training trace must have the same shape.</li>
 *   <li>{@code lstm-shared}: for shapes too large for a joint model, one small LSTM whose weights are
 *       shared by all expert series (each series a batch row, I = 1, O = |horizons|); any shape,
 *       trained on any trace.</li>
 * </ul>
 * <b>Training</b>: truncated BPTT over chunks of {@code chunk} blocks with the state carried across
 * chunks, a batch of the {@code block} block alignments of the training trace (× the series for
 * lstm-shared), L1 loss (the headline metric), Adam (lr 3·10⁻³ with cosine decay), gradient norm
 * clipped at 1, {@code epochs} passes over the first four fifths of the training trace; the last fifth
 * is held out and the weights of the epoch with the lowest held-out error are kept (early stopping).
 * Experts are exchangeable between runs (another seed gives expert 3 another role), so by default
 * ({@code permute=1}) the joint model sees each stream's experts relabelled by a fresh random
 * permutation within each layer every epoch; {@code permute=0} trains on the raw labels, as the paper. Parameters: {@code hidden} (64 joint / 32 shared),
 * {@code block}, {@code chunk} (25), {@code epochs} (30 joint / 8 shared), {@code horizons}.
 */
public final class LstmPredictor extends AbstractPredictor implements Noted {
    private final boolean shared;
    private final int block;
    private final int[] hs;
    private final LstmNet net;
    private final int rows;
    private final float[] h;
    private final float[] c;
    private final float[] hTmp;
    private final float[] cTmp;
    private final float[] x;
    private final float[] pre;
    private final float[] gScratch;
    private final float[] lanes;
    private final float[] y;
    private final double[] blockSum;
    private final double[] lastBlock;
    private int inBlock;
    private boolean anyBlock;
    private final double[] cumH;
    private final double[] partialBuf;
    private final double[] meanBuf;
    private final double trainSeconds;
    private final double trainLoss;
    private final int epochs;
    private final long trainSteps;
    private int bestEpoch;
    /** the head's output (cumH) is up to date with the last step */
    private boolean fresh;
    private double valLoss;

    private LstmPredictor(String name, int layers, int experts, boolean shared, int block, int[] hs, LstmNet net,
                          double trainSeconds, double trainLoss, int epochs, long trainSteps, double confidence) {
        super(name, layers, experts, confidence, true);
        this.shared = shared;
        this.block = block;
        this.hs = hs;
        this.net = net;
        this.rows = shared ? n : 1;
        // the shared model runs its rows in groups of vector lanes (LstmNet's grouped layout)
        int padded = shared ? net.groups(rows) * LstmNet.F.length() : rows;
        this.h = new float[padded * net.hid];
        this.c = new float[padded * net.hid];
        this.hTmp = new float[padded * net.hid];
        this.cTmp = new float[padded * net.hid];
        this.x = new float[padded * net.in];
        this.pre = new float[padded * 4 * net.hid];
        this.gScratch = new float[(shared ? LstmNet.F.length() : rows) * 4 * net.hid];
        this.lanes = new float[LstmNet.F.length()];
        recurrent();
        this.y = new float[rows * net.out];
        this.blockSum = new double[n];
        this.lastBlock = new double[n];
        this.cumH = new double[hs.length * n];
        this.partialBuf = new double[n];
        this.meanBuf = new double[n];
        this.trainSeconds = trainSeconds;
        this.trainLoss = trainLoss;
        this.epochs = epochs;
        this.trainSteps = trainSteps;
    }

    /** Trains a predictor on ctx.train() (a user error if there is none or its shape does not fit). */
    static LstmPredictor train(PredictorSpec spec, PredictorContext ctx, boolean shared) {
        String name = shared ? "lstm-shared" : "lstm";
        LoadTrace tr = ctx.train();
        int hidden = spec.getInt("hidden", shared ? 32 : 64, 2, 4096);
        int block = spec.getInt("block", 10, 1, 100_000);
        int chunk = spec.getInt("chunk", 25, 1, 100_000);
        int epochs = spec.getInt("epochs", shared ? 8 : 30, 1, 100_000);
        String hsText = spec.getString("horizons", "1/10/100/1000/2000");
        boolean permute = spec.getInt("permute", 1, 0, 1) == 1;
        double conf = Predictors.conf(spec);
        int[] hs;
        try {
            hs = Arrays.stream(hsText.split("/")).mapToInt(s -> Integer.parseInt(s.trim())).sorted().distinct().toArray();
        } catch (NumberFormatException e) {
            throw UserError.option("--predictors", "'" + spec.text() + "': horizons must be numbers separated by '/'");
        }
        if (hs.length == 0 || hs[0] < 1) {
            throw UserError.option("--predictors", "'" + spec.text() + "': horizons must be >= 1");
        }
        if (tr == null) {
            throw UserError.option("--train", name + " needs a training trace (another run of the same setup)");
        }
        if (!shared && (tr.layers() != ctx.layers() || tr.experts() != ctx.experts())) {
            throw UserError.option("--train", "the joint lstm needs a training trace of the same shape ("
                    + ctx.layers() + " x " + ctx.experts() + "), got " + tr.layers() + " x " + tr.experts() + "; use lstm-shared");
        }
        if (tr.steps() < 2 * block + hs[0] + 1) {
            throw UserError.option("--train", "training trace too short (" + tr.steps() + " steps) for block " + block);
        }
        int tl = tr.layers();
        int te = tr.experts();
        int tn = tl * te;
        int in = shared ? 1 : tn;
        int out = shared ? hs.length : tn * hs.length;
        LstmNet net = new LstmNet(in, hidden, out, ctx.seed());
        long t0 = System.nanoTime();
        int[] bestEpoch = new int[1];
        double[] valLoss = new double[1];
        double loss = Trainer.fit(net, tr, shared, block, chunk, epochs, hs, ctx.seed(), permute, bestEpoch, valLoss);
        double secs = (System.nanoTime() - t0) / 1e9;
        LstmPredictor p = new LstmPredictor(name, ctx.layers(), ctx.experts(), shared, block, hs, net, secs, loss, epochs, tr.steps(), conf);
        p.bestEpoch = bestEpoch[0];
        p.valLoss = valLoss[0];
        return p;
    }

    /** Training data: per block alignment ("phase"), the scaled block means, the skips and the targets. */
    static final class Trainer {
        static double fit(LstmNet net, LoadTrace tr, boolean shared, int block, int chunk, int epochs, int[] hs, long seed,
                          boolean permute, int[] bestEpoch, double[] valLoss) {
            int T = tr.steps();
            int L = tr.layers();
            int E = tr.experts();
            int n = L * E;
            double[] cum = new double[(T + 1) * n];
            double[] row = new double[n];
            int[] cnt = new int[n];
            for (int t = 0; t < T; t++) {
                tr.copyStep(t, cnt);
                AbstractPredictor.shares(cnt, row, L, E);
                for (int i = 0; i < n; i++) {
                    cum[(t + 1) * n + i] = cum[t * n + i] + row[i];
                }
            }
            int phases = shared ? Math.min(block, 2) : block;
            int blocks = (T - (phases - 1)) / block;
            int batch = shared ? phases * n : phases;
            int H = hs.length;
            int in = net.in;
            int out = net.out;
            // x[k][r*in..], skip[k][r*n or r], target[k][r*out..] (NaN = masked)
            float[][] xs = new float[blocks][batch * in];
            float[][] skip = new float[blocks][batch * (shared ? 1 : n)];
            float[][] tg = new float[blocks][batch * out];
            for (int p = 0; p < phases; p++) {
                for (int k = 0; k < blocks; k++) {
                    int s0 = p + k * block;
                    int s1 = s0 + block; // exclusive
                    int tau = s1 - 1;
                    for (int i = 0; i < n; i++) {
                        double m = (cum[s1 * n + i] - cum[s0 * n + i]) / block;
                        int r = shared ? p * n + i : p;
                        int xi = shared ? r : r * n + i;
                        xs[k][xi] = (float) ((m - 1.0 / E) * E);
                        skip[k][shared ? r : r * n + i] = (float) m;
                        for (int q = 0; q < H; q++) {
                            int hq = hs[q];
                            int oi = shared ? r * H + q : r * out + q * n + i;
                            if (tau + hq <= T - 1) {
                                tg[k][oi] = (float) ((cum[(tau + 1 + hq) * n + i] - cum[(tau + 1) * n + i]) / hq);
                            } else {
                                tg[k][oi] = Float.NaN;
                            }
                        }
                    }
                }
            }
            LstmNet.Chunk ch = new LstmNet.Chunk(net, chunk, batch);
            LstmNet.Grad g = new LstmNet.Grad(net);
            LstmNet.Adam adam = new LstmNet.Adam(net);
            float[] hh = new float[batch * net.hid];
            float[] cc = new float[batch * net.hid];
            float[][] dy = new float[chunk][batch * out];
            float[][] xin = new float[chunk][];
            // the last fifth of the blocks validates (early stopping: the weights of the best epoch)
            int trainBlocks = Math.max(1, blocks - blocks / 5);
            double bestVal = Double.POSITIVE_INFINITY;
            float[][] best = null;
            double lastLoss = Double.NaN;
            int chunks = (trainBlocks + chunk - 1) / chunk;
            long totalSteps = (long) epochs * chunks;
            long done = 0;
            java.util.Random rnd = new java.util.Random(seed ^ 0x5DEECE66DL);
            float[][] xs0 = xs;
            float[][] tg0 = tg;
            float[][] sk0 = skip;
            for (int ep = 0; ep < epochs; ep++) {
                Arrays.fill(hh, 0);
                Arrays.fill(cc, 0);
                double lossSum = 0;
                long lossN = 0;
                if (permute && !shared) {
                    // experts are exchangeable between runs: each epoch every stream sees its experts
                    // relabelled by a random permutation within each layer, so the joint model cannot
                    // learn one run's expert identities
                    xs = new float[blocks][];
                    tg = new float[blocks][];
                    skip = new float[blocks][];
                    int[][] perm = new int[batch][n];
                    for (int r = 0; r < batch; r++) {
                        for (int l = 0; l < L; l++) {
                            int[] pl = permutation(E, rnd);
                            for (int e = 0; e < E; e++) {
                                perm[r][l * E + e] = l * E + pl[e];
                            }
                        }
                    }
                    for (int k = 0; k < blocks; k++) {
                        xs[k] = new float[batch * in];
                        tg[k] = new float[batch * out];
                        skip[k] = new float[batch * n];
                        for (int r = 0; r < batch; r++) {
                            for (int i = 0; i < n; i++) {
                                int src = perm[r][i];
                                xs[k][r * n + i] = xs0[k][r * n + src];
                                skip[k][r * n + i] = sk0[k][r * n + src];
                                for (int q = 0; q < H; q++) {
                                    tg[k][r * out + q * n + i] = tg0[k][r * out + q * n + src];
                                }
                            }
                        }
                    }
                }
                for (int k0 = 0; k0 < trainBlocks; k0 += chunk) {
                    int s = Math.min(chunk, trainBlocks - k0);
                    for (int j = 0; j < s; j++) {
                        xin[j] = xs[k0 + j];
                    }
                    net.forwardChunk(ch, xin, s, hh, cc);
                    long valid = 0;
                    for (int j = 0; j < s; j++) {
                        float[] t = tg[k0 + j];
                        for (float v : t) {
                            if (!Float.isNaN(v)) {
                                valid++;
                            }
                        }
                    }
                    double inv = valid > 0 ? 1.0 / valid : 0;
                    for (int j = 0; j < s; j++) {
                        float[] t = tg[k0 + j];
                        float[] yy = ch.y[j];
                        float[] sk = skip[k0 + j];
                        Arrays.fill(dy[j], 0);
                        for (int r = 0; r < batch; r++) {
                            for (int o = 0; o < out; o++) {
                                float tv = t[r * out + o];
                                if (Float.isNaN(tv)) {
                                    continue;
                                }
                                int series = shared ? r : r * n + (o % n);
                                float pred = sk[series] + yy[r * out + o] / E;
                                float diff = pred - tv;
                                lossSum += Math.abs(diff);
                                lossN++;
                                dy[j][r * out + o] = (float) (Math.signum(diff) * inv / E);
                            }
                        }
                    }
                    g.zero();
                    net.backwardChunk(ch, dy, s, g);
                    double lr = 3e-3 * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * done / (double) totalSteps)));
                    adam.step(net, g, lr, 1.0);
                    done++;
                }
                lastLoss = lossSum / Math.max(1, lossN);
                // validation: carry the state on through the held-out blocks, no gradient
                double vSum = 0;
                long vN = 0;
                float[] yv = new float[batch * out];
                for (int k = trainBlocks; k < blocks; k++) {
                    net.step(batch, xs[k], 0, hh, cc, null, null, null, null);
                    net.head(batch, hh, yv, 0);
                    float[] t = tg[k];
                    float[] sk = skip[k];
                    for (int r = 0; r < batch; r++) {
                        for (int o = 0; o < out; o++) {
                            float tv = t[r * out + o];
                            if (!Float.isNaN(tv)) {
                                int series = shared ? r : r * n + (o % n);
                                vSum += Math.abs(sk[series] + yv[r * out + o] / E - tv);
                                vN++;
                            }
                        }
                    }
                }
                double val = vN > 0 ? vSum / vN : lastLoss;
                if (val < bestVal) {
                    bestVal = val;
                    best = new float[][] {net.w.clone(), net.b.clone(), net.v.clone(), net.d.clone()};
                    bestEpoch[0] = ep + 1;
                }
            }
            if (best != null) {
                System.arraycopy(best[0], 0, net.w, 0, net.w.length);
                System.arraycopy(best[1], 0, net.b, 0, net.b.length);
                System.arraycopy(best[2], 0, net.v, 0, net.v.length);
                System.arraycopy(best[3], 0, net.d, 0, net.d.length);
            }
            valLoss[0] = bestVal;
            return lastLoss;
        }
    }

    @Override
    protected void update(long step, int[] counts, double[] share) {
        fresh = false;
        for (int i = 0; i < n; i++) {
            blockSum[i] += share[i];
        }
        if (++inBlock == block) {
            double inv = 1.0 / block;
            for (int i = 0; i < n; i++) {
                lastBlock[i] = blockSum[i] * inv;
            }
            input(lastBlock);
            step(h, c);
            recurrent();
            Arrays.fill(blockSum, 0);
            inBlock = 0;
            anyBlock = true;
        }
    }

    private void input(double[] mean) {
        for (int i = 0; i < n; i++) {
            x[i] = (float) ((mean[i] - 1.0 / experts) * experts);
        }
    }

    /** Runs the head (after a provisional step on a partial block) and fills cumH with h·mean for each trained horizon. */
    private void evaluate() {
        if (fresh) {
            return;
        }
        fresh = true;
        double[] skipV;
        float[] hs0;
        if (inBlock > 0 || !anyBlock) {
            double[] partial = partialBuf;
            double inv = 1.0 / Math.max(1, inBlock);
            for (int i = 0; i < n; i++) {
                partial[i] = inBlock > 0 ? blockSum[i] * inv : share[i];
            }
            input(partial);
            System.arraycopy(c, 0, cTmp, 0, c.length);
            step(hTmp, cTmp);
            hs0 = hTmp;
            skipV = partial;
        } else {
            hs0 = h;
            skipV = lastBlock;
        }
        if (shared) {
            net.headGrouped(rows, hs0, y, lanes);
        } else {
            net.head(rows, hs0, y, 0);
        }
        int H = hs.length;
        double[] m = meanBuf;
        for (int q = 0; q < H; q++) {
            for (int i = 0; i < n; i++) {
                float yi = shared ? y[i * H + q] : y[q * n + i];
                m[i] = skipV[i] + yi / (double) experts;
            }
            normalize(m, layers, experts);
            for (int i = 0; i < n; i++) {
                cumH[q * n + i] = m[i] * hs[q];
            }
        }
    }

    /** Forecast cumulative load over the next k steps of series i, piecewise linear between trained horizons. */
    private double cumAt(int k, int i) {
        int H = hs.length;
        if (k <= hs[0]) {
            return cumH[i] * k / hs[0];
        }
        for (int q = 1; q < H; q++) {
            if (k <= hs[q]) {
                double a = cumH[(q - 1) * n + i];
                double b = cumH[q * n + i];
                return a + (b - a) * (k - hs[q - 1]) / (double) (hs[q] - hs[q - 1]);
            }
        }
        double last = cumH[(H - 1) * n + i];
        return last + (last / hs[H - 1]) * (k - hs[H - 1]);
    }

    @Override
    protected void forecastMean(int horizon, double[] mean) {
        evaluate();
        for (int i = 0; i < n; i++) {
            mean[i] = cumAt(horizon, i) / horizon;
        }
        normalize(mean, layers, experts);
    }

    @Override
    protected void step(int k, double[] out) {
        evaluate();
        for (int i = 0; i < n; i++) {
            out[i] = cumAt(k, i) - cumAt(k - 1, i);
        }
        normalize(out, layers, experts);
    }

    @Override
    protected void path(int horizon, double[] path) {
        evaluate();
        for (int k = 1; k <= horizon; k++) {
            for (int i = 0; i < n; i++) {
                path[(k - 1) * n + i] = cumAt(k, i) - cumAt(k - 1, i);
            }
            normalize(path, (k - 1) * n, layers, experts);
        }
    }

    @Override
    protected void horizons(int[] horizons, double[] means, double[] steps) {
        evaluate();
        for (int j = 0; j < horizons.length; j++) {
            int k = horizons[j];
            for (int i = 0; i < n; i++) {
                if (means != null) {
                    means[j * n + i] = cumAt(k, i) / k;
                }
                if (steps != null) {
                    steps[j * n + i] = cumAt(k, i) - cumAt(k - 1, i);
                }
            }
            if (means != null) {
                normalize(means, j * n, layers, experts);
            }
            if (steps != null) {
                normalize(steps, j * n, layers, experts);
            }
        }
    }

    public double trainSeconds() {
        return trainSeconds;
    }

    public int parameters() {
        return net.parameters();
    }

    @Override
    public String note() {
        return String.format(Locale.ROOT, "%s, %d parameters (hidden %d, block %d), trained on %d steps (last fifth held out): "
                        + "%d epochs in %.1f s, kept epoch %d (held-out L1 per share %.5f, training %.5f)",
                shared ? "weights shared across series" : "joint over all experts of all layers", net.parameters(), net.hid, block,
                trainSteps, epochs, trainSeconds, bestEpoch, valLoss, trainLoss);
    }

    @Override
    protected void resetState() {
        Arrays.fill(h, 0);
        Arrays.fill(c, 0);
        Arrays.fill(blockSum, 0);
        Arrays.fill(lastBlock, 0);
        inBlock = 0;
        anyBlock = false;
        fresh = false;
        recurrent();
    }

    /** One LSTM step of every row from the input x and the precomputed recurrent part. */
    private void step(float[] hs, float[] cs) {
        if (shared) {
            net.stepWithPreGrouped(rows, x, pre, hs, cs, gScratch);
        } else {
            net.stepWithPre(rows, x, pre, hs, cs, gScratch);
        }
    }

    /** The recurrent part of the next step's gates (W_h·h + b), precomputed once per block. */
    private void recurrent() {
        if (shared) {
            net.recurrentGrouped(rows, h, pre);
        } else {
            net.recurrent(rows, h, pre);
        }
    }

    static int[] permutation(int k, java.util.Random rnd) {
        int[] p = new int[k];
        for (int i = 0; i < k; i++) {
            p[i] = i;
        }
        for (int i = k - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}

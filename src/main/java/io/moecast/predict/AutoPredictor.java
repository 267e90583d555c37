package io.moecast.predict;

import io.moecast.analysis.LoadState;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code auto}, the default predictor: a state-aware, self-tuning combination of simple smoothers,
 * chosen per MoE layer and per horizon by their own out-of-sample error at that horizon. Nothing is
 * tuned to a trace: every choice is made online from steps already seen.
 *
 * <p><b>Candidates</b> (all O(n) per step): exponential moving averages of the shares with a
 * bias-corrected start at rates {@link #RATES} (rate 1 is the last value, rate 0 the mean of all
 * steps); the same EMAs restarted
 * whenever the layer's state changes (the online transient/stable detector), which in a young state
 * are the mean since the state began, so a stable forecast is free of transient data; and two
 * damped-trend (Holt) smoothers for loads on the move; the {@link KalmanPredictor} local level (gain set
 * by its online noise estimates); and the balanced forecast 1/E (what an auxiliary load-balancing loss
 * pulls the loads toward).
 *
 * <p><b>Scoring</b>: at a grid of horizons g (1, 2, 5, …, 5000) every candidate's forecast of the mean
 * share over the next g steps is snapshotted every ⌈g/16⌉ steps; when the g steps have happened each
 * candidate's L1 error Σₑ|p̂ₑ − pₑ| on each layer, divided by the candidates' mean error there (so every
 * origin counts the same, however volatile its stretch of the run), is folded into its score for that
 * layer and horizon: an exponentially weighted mean whose memory is half the time spent in the current
 * state, at least 2g and at most {@code memory} steps. Only forecasts made in the layer's current state
 * are scored; at a change of state the old scores stay as a prior worth 4 scored origins, which the new
 * state's evidence soon outweighs.
 *
 * <p><b>Combination</b>: for horizon h and layer l the evidence is the largest grid horizon g ≤ h with
 * at least 16 scored origins in the current state (g steps of evidence). In the stable state a shorter
 * horizon stands in for h until h has its own evidence (steady loads keep their statistics, so the
 * ranking carries over); in the transient state only within a factor 4 of h, and without such evidence
 * all candidates are averaged equally (the robust choice when nothing says which time scale fits).
 * The candidates are weighted by a softmin of their scores, wⱼ ∝ exp(−η·(sⱼ − s_min)/s_min), or the
 * best alone (η = ∞). The temperature is itself chosen the same way: each η in {@link #ETAS} is scored
 * like a candidate (its combination's error at each grid horizon) and the η with the lowest score is
 * used (η = 3 until there is evidence). Per-step forecasts (step t+h) use the weights of horizon h.
 * Upper bounds: empirical, per state ({@link EmpiricalBounds}).
 *
 * <p>Parameter: {@code memory} (steps, default 4000).
 */
public final class AutoPredictor extends AbstractPredictor implements Noted {
    static final double[] RATES = {1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0};
    static final double[] RESTART_RATES = {0.1, 0.03, 0.01, 0.003, 0.001, 0};
    /** damped-trend candidates: {α, β, φ} */
    static final double[][] TRENDS = {{0.3, 0.1, 0.9}, {0.1, 0.05, 0.95}};
    /** softmin temperatures; infinity = the best candidate alone */
    static final double[] ETAS = {Double.POSITIVE_INFINITY, 30, 10, 3, 1};
    static final int[] GRID = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
    static final int PER = 16;
    static final double AGE_FRACTION = 0.5;
    /** temperature index used while the temperatures have too little evidence (η = 3) */
    static final int FALLBACK_ETA = 3;
    /** in the transient state a shorter horizon stands in for h only within this factor */
    static final int STAND_IN = 4;
    /** at a change of state the old scores count as this many scored origins */
    static final long CARRY = 4;

    private final int c;
    private final int m;
    private final int nEma;
    private final int nRestart;
    private final double[] rate;
    private final double memory;
    private final String[] label;
    /** level of candidate j: lv[j*n+i] (EMA numerators / Holt levels) */
    private final double[] lv;
    /** Holt trends (trend candidates only): tr[k*n+i] */
    private final double[] tr;
    /** EMA weight sums for bias correction, per candidate and layer */
    private final double[] wsum;
    private final int[] seenEpoch;
    private final long[] epochStart;
    private final Grid[] grids;
    private final double[] cum;
    private final double[] row;
    private final double[] wTmp;
    private final double[] mixW;
    private final KalmanPredictor kalman;
    private final double[] kalmanLevel;
    private long t;

    public AutoPredictor(int layers, int experts, int memory, long slotsPerStep, double confidence) {
        super("auto", layers, experts, confidence, true);
        this.nEma = RATES.length;
        this.nRestart = RESTART_RATES.length;
        this.c = nEma + nRestart + TRENDS.length + 2;
        this.m = ETAS.length;
        this.rate = new double[nEma + nRestart];
        this.label = new String[c];
        for (int j = 0; j < nEma; j++) {
            rate[j] = RATES[j];
            label[j] = RATES[j] == 1 ? "last value" : RATES[j] == 0 ? "mean of all steps" : "ema " + RATES[j];
        }
        for (int j = 0; j < nRestart; j++) {
            rate[nEma + j] = RESTART_RATES[j];
            label[nEma + j] = RESTART_RATES[j] == 0 ? "mean since state change" : "ema " + RESTART_RATES[j] + " since state change";
        }
        for (int k = 0; k < TRENDS.length; k++) {
            label[nEma + nRestart + k] = String.format(Locale.ROOT, "damped trend a=%s b=%s phi=%s", TRENDS[k][0], TRENDS[k][1], TRENDS[k][2]);
        }
        label[c - 1] = "balanced (1/E)";
        label[c - 2] = "kalman local level";
        this.kalman = new KalmanPredictor(layers, experts, 256, 2000, slotsPerStep, confidence);
        this.memory = memory;
        this.lv = new double[c * n];
        this.tr = new double[TRENDS.length * n];
        this.wsum = new double[(nEma + nRestart) * layers];
        this.seenEpoch = new int[layers];
        this.epochStart = new long[layers];
        this.cum = new double[n];
        this.row = new double[n];
        this.wTmp = new double[c];
        this.mixW = new double[layers * c];
        this.kalmanLevel = new double[n];
        this.grids = new Grid[GRID.length];
        for (int g = 0; g < GRID.length; g++) {
            grids[g] = new Grid(GRID[g]);
        }
    }

    /** Scores at one grid horizon g, and the snapshots waiting to be scored. */
    private final class Grid {
        final int g;
        final int spacing;
        final int slots;
        /** candidate forecasts per slot: fc[(slot*c + j)*n + i] */
        final float[] fc;
        /** combination weights per slot: mw[((slot*m + k)*layers + l)*c + j] */
        final float[] mw;
        final double[] cum0;
        final long[] origin;
        final int[] slotEpoch;
        int head;
        int count;
        /** candidate scores score[l*c + j]; temperature scores meta[l*m + k] */
        final double[] score;
        final double[] meta;
        /** scored origins in the current state (readiness) */
        final long[] cnt;
        /** scored origins behind the scores, carried prior included (their averaging weight) */
        final long[] weight;
        final double[] errs;
        final double[] act;
        final double[] comb;

        Grid(int g) {
            this.g = g;
            // every ⌈g/16⌉ steps; on very large shapes less often (each snapshot then scores many series)
            this.spacing = Math.max(Math.max(1, (g + PER - 1) / PER), (n + 2047) / 2048);
            this.slots = (g + spacing - 1) / spacing + 1;
            this.fc = new float[slots * c * n];
            this.mw = new float[slots * m * layers * c];
            this.cum0 = new double[slots * n];
            this.origin = new long[slots];
            this.slotEpoch = new int[slots * layers];
            this.score = new double[layers * c];
            this.meta = new double[layers * m];
            this.cnt = new long[layers];
            this.weight = new long[layers];
            this.errs = new double[c];
            this.act = new double[experts];
            this.comb = new double[experts];
        }

        /**
         * A change of state: the scores so far stay as a prior worth {@link #CARRY} scored origins (fresh
         * evidence soon outweighs them), and the evidence of the new state starts from zero.
         */
        void restartLayer(int l) {
            weight[l] = Math.min(weight[l], CARRY);
            cnt[l] = 0;
        }

        void clear() {
            head = 0;
            count = 0;
            Arrays.fill(score, 0);
            Arrays.fill(meta, 0);
            Arrays.fill(cnt, 0);
            Arrays.fill(weight, 0);
        }

        boolean ready(int l) {
            return cnt[l] >= PER;
        }

        void matureDue() {
            while (count > 0 && origin[head] + g <= t) {
                score(head);
                head = (head + 1) % slots;
                count--;
            }
        }

        private void score(int slot) {
            int fo = slot * c * n;
            int co = slot * n;
            double invG = 1.0 / g;
            for (int l = 0; l < layers; l++) {
                if (slotEpoch[slot * layers + l] != epoch(l)) {
                    continue;
                }
                int b = l * experts;
                for (int e = 0; e < experts; e++) {
                    act[e] = (cum[b + e] - cum0[co + b + e]) * invG;
                }
                double mean = 0;
                for (int j = 0; j < c; j++) {
                    int o = fo + j * n + b;
                    double err = 0;
                    for (int e = 0; e < experts; e++) {
                        err += Math.abs(fc[o + e] - act[e]);
                    }
                    errs[j] = err;
                    mean += err;
                }
                mean /= c;
                double inv = mean > 0 ? 1.0 / mean : 0;
                double mem = Math.min(memory, Math.max(2.0 * g, AGE_FRACTION * (t - epochStart[l])));
                double lam = Math.max(1.0 / (weight[l] + 1), Math.min(1.0, spacing / mem));
                for (int j = 0; j < c; j++) {
                    score[l * c + j] += lam * (errs[j] * inv - score[l * c + j]);
                }
                // the temperatures: the error of each combination made at the snapshot
                for (int k = 0; k < m; k++) {
                    int wo = ((slot * m + k) * layers + l) * c;
                    // the combination's forecast, candidate by candidate (weights below 1e-4 skipped)
                    Arrays.fill(comb, 0);
                    for (int j = 0; j < c; j++) {
                        float w = mw[wo + j];
                        if (w > 1e-4f) {
                            int o = fo + j * n + b;
                            for (int e = 0; e < experts; e++) {
                                comb[e] += w * fc[o + e];
                            }
                        }
                    }
                    double err = 0;
                    for (int e = 0; e < experts; e++) {
                        err += Math.abs(comb[e] - act[e]);
                    }
                    meta[l * m + k] += lam * (err * inv - meta[l * m + k]);
                }
                cnt[l]++;
                weight[l]++;
            }
        }

        void snapshot() {
            int slot = (head + count) % slots;
            int fo = slot * c * n;
            for (int j = 0; j < c; j++) {
                candidateMean(j, g, row, 0);
                int o = fo + j * n;
                for (int i = 0; i < n; i++) {
                    fc[o + i] = (float) row[i];
                }
            }
            for (int l = 0; l < layers; l++) {
                for (int k = 0; k < m; k++) {
                    weights(l, g, ETAS[k], wTmp);
                    int wo = ((slot * m + k) * layers + l) * c;
                    for (int j = 0; j < c; j++) {
                        mw[wo + j] = (float) wTmp[j];
                    }
                }
                slotEpoch[slot * layers + l] = epoch(l);
            }
            System.arraycopy(cum, 0, cum0, slot * n, n);
            origin[slot] = t;
            count++;
        }
    }

    @Override
    protected void update(long step, int[] counts, double[] x) {
        t++;
        kalman.observe(step, counts);
        kalman.forecast(1, kalmanLevel, null);
        for (int i = 0; i < n; i++) {
            cum[i] += x[i];
        }
        // restart the state-change bank and the scores of layers whose state changed
        for (int l = 0; l < layers; l++) {
            if (epoch(l) != seenEpoch[l]) {
                seenEpoch[l] = epoch(l);
                epochStart[l] = t - 1;
                for (int j = nEma; j < nEma + nRestart; j++) {
                    Arrays.fill(lv, j * n + l * experts, j * n + (l + 1) * experts, 0);
                    wsum[j * layers + l] = 0;
                }
                for (Grid g : grids) {
                    g.restartLayer(l);
                }
            }
        }
        // EMAs (bias-corrected through the weight sums)
        for (int j = 0; j < nEma + nRestart; j++) {
            double a = rate[j];
            int o = j * n;
            if (a == 0) {
                // rate 0: the plain mean (of all steps, or since the state changed)
                for (int i = 0; i < n; i++) {
                    lv[o + i] += x[i];
                }
                for (int l = 0; l < layers; l++) {
                    wsum[j * layers + l] += 1;
                }
                continue;
            }
            double keep = 1 - a;
            for (int i = 0; i < n; i++) {
                lv[o + i] = keep * lv[o + i] + a * x[i];
            }
            for (int l = 0; l < layers; l++) {
                wsum[j * layers + l] = keep * wsum[j * layers + l] + a;
            }
        }
        // damped trends
        for (int k = 0; k < TRENDS.length; k++) {
            int o = (nEma + nRestart + k) * n;
            int to = k * n;
            if (t == 1) {
                System.arraycopy(x, 0, lv, o, n);
                continue;
            }
            double a = TRENDS[k][0];
            double b = TRENDS[k][1];
            double phi = TRENDS[k][2];
            for (int i = 0; i < n; i++) {
                double prevL = lv[o + i];
                double prevB = phi * tr[to + i];
                double f = prevL + prevB;
                double nl = f + a * (x[i] - f);
                lv[o + i] = nl;
                tr[to + i] = b * (nl - prevL) + (1 - b) * prevB;
            }
        }
        for (Grid g : grids) {
            g.matureDue();
        }
        for (Grid g : grids) {
            if (t % g.spacing == 0) {
                g.snapshot();
            }
        }
    }

    /** Candidate j's forecast of the mean share over the next h steps, all layers, into out[off..]. */
    private void candidateMean(int j, int h, double[] out, int off) {
        if (j == c - 1) {
            Arrays.fill(out, off, off + n, 1.0 / experts);
        } else if (j == c - 2) {
            System.arraycopy(kalmanLevel, 0, out, off, n);
        } else if (j < nEma + nRestart) {
            int o = j * n;
            for (int l = 0; l < layers; l++) {
                double w = wsum[j * layers + l];
                double inv = w > 0 ? 1.0 / w : 0;
                for (int e = 0, i = l * experts; e < experts; e++, i++) {
                    out[off + i] = w > 0 ? lv[o + i] * inv : share[i];
                }
            }
        } else {
            int k = j - nEma - nRestart;
            double phi = TRENDS[k][2];
            double f = phi / (1 - phi) * (1 - phi * (1 - Math.pow(phi, h)) / ((1 - phi) * h));
            int o = j * n;
            int to = k * n;
            for (int i = 0; i < n; i++) {
                out[off + i] = lv[o + i] + f * tr[to + i];
            }
            normalize(out, off, layers, experts);
        }
    }

    /** Candidate j's forecast for step t+k alone, layer l only, into out[off + l*E ..]. */
    private void candidateStep(int j, int k, int l, double[] out, int off) {
        int b = l * experts;
        if (j == c - 1) {
            Arrays.fill(out, off + b, off + b + experts, 1.0 / experts);
        } else if (j == c - 2) {
            System.arraycopy(kalmanLevel, b, out, off + b, experts);
        } else if (j < nEma + nRestart) {
            double w = wsum[j * layers + l];
            for (int e = 0; e < experts; e++) {
                out[off + b + e] = w > 0 ? lv[j * n + b + e] / w : share[b + e];
            }
        } else {
            int q = j - nEma - nRestart;
            double phi = TRENDS[q][2];
            double f = phi * (1 - Math.pow(phi, k)) / (1 - phi);
            for (int e = 0; e < experts; e++) {
                out[off + b + e] = lv[j * n + b + e] + f * tr[q * n + b + e];
            }
            normalize(out, off + b, 1, experts);
        }
    }

    /**
     * The grid whose scores decide horizon h for layer l: the largest grid horizon g ≤ h with enough
     * scored origins in the current state, if it is within a factor {@link #STAND_IN} of h; else null
     * (then the prior decides).
     */
    private Grid evidence(int l, int h) {
        Grid best = null;
        for (Grid g : grids) {
            if (g.g > h) {
                break;
            }
            if (g.ready(l)) {
                best = g;
            }
        }
        if (best == null) {
            return null;
        }
        // stable loads keep their statistics, so a shorter horizon's ranking carries over; transient
        // ones do not: there a stand-in must be within a factor STAND_IN of the horizon
        return state(l) == LoadState.STABLE || (long) best.g * STAND_IN >= h ? best : null;
    }

    /**
     * Without evidence at (or near) the horizon: a diffuse softmin (η = 1) of the scores at the longest
     * horizon that has any (weak evidence, weak preference: an average over time scales tilted away from
     * what is failing now), or all candidates equally when nothing is scored yet.
     */
    private void prior(int l, double[] w) {
        Grid weak = null;
        for (Grid g : grids) {
            if (g.ready(l) || (weak == null || !weak.ready(l)) && g.weight[l] > 0) {
                weak = g;
            }
        }
        if (weak == null) {
            Arrays.fill(w, 0, c, 1.0 / c);
        } else {
            softmin(weak, l, 1.0, w);
        }
    }

    /** Candidate weights of layer l at horizon h for temperature eta, into w[0..c). */
    private void weights(int l, int h, double eta, double[] w) {
        Arrays.fill(w, 0, c, 0);
        Grid g = evidence(l, h);
        if (g == null) {
            prior(l, w);
            return;
        }
        softmin(g, l, eta, w);
    }

    /** w ∝ exp(−η·(s − s_min)/s_min) over the scores of grid g for layer l; η = ∞: the best alone. */
    private void softmin(Grid g, int l, double eta, double[] w) {
        Arrays.fill(w, 0, c, 0);
        int o = l * c;
        int arg = 0;
        for (int j = 1; j < c; j++) {
            if (g.score[o + j] < g.score[o + arg]) {
                arg = j;
            }
        }
        if (eta == Double.POSITIVE_INFINITY) {
            w[arg] = 1;
            return;
        }
        double min = Math.max(1e-12, g.score[o + arg]);
        double sum = 0;
        for (int j = 0; j < c; j++) {
            double v = Math.exp(-eta * (g.score[o + j] - min) / min);
            w[j] = v;
            sum += v;
        }
        for (int j = 0; j < c; j++) {
            w[j] /= sum;
        }
    }

    /** The temperature index used for layer l at horizon h. */
    int temperature(int l, int h) {
        Grid g = evidence(l, h);
        if (g == null || !g.ready(l)) {
            return FALLBACK_ETA;
        }
        int best = 0;
        for (int k = 1; k < m; k++) {
            if (g.meta[l * m + k] < g.meta[l * m + best]) {
                best = k;
            }
        }
        return best;
    }

    /** The weights used for every layer at horizon h, into mixW. */
    private void mixWeights(int h) {
        for (int l = 0; l < layers; l++) {
            weights(l, h, ETAS[temperature(l, h)], wTmp);
            System.arraycopy(wTmp, 0, mixW, l * c, c);
        }
    }

    /** The combined forecast at horizon h: the horizon mean into mean[mo..] and/or step h into step[so..]. */
    private void mix(int h, double[] mean, int mo, double[] step, int so) {
        mixWeights(h);
        if (mean != null) {
            Arrays.fill(mean, mo, mo + n, 0);
        }
        if (step != null) {
            Arrays.fill(step, so, so + n, 0);
        }
        for (int j = 0; j < c; j++) {
            boolean used = false;
            for (int l = 0; l < layers; l++) {
                used |= mixW[l * c + j] > 0;
            }
            if (!used) {
                continue;
            }
            if (mean != null) {
                candidateMean(j, h, row, 0);
                for (int l = 0; l < layers; l++) {
                    double w = mixW[l * c + j];
                    if (w > 0) {
                        for (int e = 0, i = l * experts; e < experts; e++, i++) {
                            mean[mo + i] += w * row[i];
                        }
                    }
                }
            }
            if (step != null) {
                for (int l = 0; l < layers; l++) {
                    double w = mixW[l * c + j];
                    if (w > 0) {
                        candidateStep(j, h, l, row, 0);
                        for (int e = 0, i = l * experts; e < experts; e++, i++) {
                            step[so + i] += w * row[i];
                        }
                    }
                }
            }
        }
        if (mean != null) {
            normalize(mean, mo, layers, experts);
        }
        if (step != null) {
            normalize(step, so, layers, experts);
        }
    }

    @Override
    protected void forecastMean(int horizon, double[] mean) {
        mix(horizon, mean, 0, null, 0);
    }

    @Override
    protected void step(int k, double[] out) {
        mix(k, null, 0, out, 0);
    }

    @Override
    protected void path(int horizon, double[] path) {
        // the weights chosen for the horizon, applied to every step of the path
        mixWeights(horizon);
        Arrays.fill(path, 0, horizon * n, 0);
        for (int k = 1; k <= horizon; k++) {
            int o = (k - 1) * n;
            for (int j = 0; j < c; j++) {
                for (int l = 0; l < layers; l++) {
                    double wj = mixW[l * c + j];
                    if (wj > 0) {
                        candidateStep(j, k, l, row, 0);
                        for (int e = 0, i = l * experts; e < experts; e++, i++) {
                            path[o + i] += wj * row[i];
                        }
                    }
                }
            }
            normalize(path, o, layers, experts);
        }
    }

    @Override
    protected void horizons(int[] horizons, double[] means, double[] steps) {
        for (int hj = 0; hj < horizons.length; hj++) {
            mix(horizons[hj], means, hj * n, steps, hj * n);
        }
    }

    /** Human-readable state of the choice, per layer, at a few horizons. */
    @Override
    public String note() {
        List<String> parts = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            List<String> hs = new ArrayList<>();
            for (int h : new int[] {10, 1000}) {
                weights(l, h, ETAS[temperature(l, h)], wTmp);
                int arg = 0;
                for (int j = 1; j < c; j++) {
                    if (wTmp[j] > wTmp[arg]) {
                        arg = j;
                    }
                }
                double eta = ETAS[temperature(l, h)];
                hs.add(String.format(Locale.ROOT, "h=%d: %s (weight %.2f, eta %s)", h, label[arg], wTmp[arg],
                        Double.isInfinite(eta) ? "inf" : Double.toString(eta)));
            }
            parts.add("layer " + l + " (" + state(l).label() + ") " + String.join(", ", hs));
        }
        return "at the end: " + String.join("; ", parts);
    }

    @Override
    protected void resetState() {
        kalman.reset();
        Arrays.fill(kalmanLevel, 0);
        Arrays.fill(lv, 0);
        Arrays.fill(tr, 0);
        Arrays.fill(wsum, 0);
        Arrays.fill(seenEpoch, 0);
        Arrays.fill(epochStart, 0);
        Arrays.fill(cum, 0);
        t = 0;
        for (Grid g : grids) {
            g.clear();
        }
    }
}

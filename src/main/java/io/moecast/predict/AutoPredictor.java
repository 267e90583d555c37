package io.moecast.predict;

import io.moecast.analysis.LoadState;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * {@code auto}, the default predictor: a state-aware, self-tuning choice among simple smoothers, made
 * per MoE layer and per horizon by their own recent out-of-sample error at that horizon. Nothing is
 * tuned to a trace: every choice is made online from steps already seen.
 *
 * <p><b>Candidates</b> (all O(n) per step): exponential moving averages of the shares with
 * bias-corrected start at rates {@link #RATES} (rate 1 is the last value); the same EMAs restarted
 * whenever the layer's state changes (the online transient/stable detector), which for a young state
 * are the mean since the state began and so keep a stable forecast free of transient data; and two
 * damped-trend (Holt) smoothers for loads on the move.
 *
 * <p><b>Scoring</b>: at a grid of horizons g (1, 2, 5, …, 5000) every candidate's forecast of the mean
 * share over the next g steps is snapshotted every ⌈g/16⌉ steps; when the g steps have happened each
 * candidate's L1 error Σₑ|p̂ₑ − pₑ| is added to its score for that layer and horizon (exponentially
 * weighted, memory {@code memory} steps). Only forecasts made in the layer's current state count, and
 * a change of state starts the scores afresh.
 *
 * <p><b>Choice</b>: for horizon h and layer l the candidate with the lowest score at the largest grid
 * horizon g ≤ h that has at least 16 matured scores in the current state (so g steps of evidence);
 * while h itself has too little evidence a shorter horizon stands in. Upper bounds: empirical, per
 * state ({@link EmpiricalBounds}). Parameters: {@code memory} (steps, default 4000).
 */
public final class AutoPredictor extends AbstractPredictor implements Noted {
    static final double[] RATES = {1, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001};
    static final double[] RESTART_RATES = {0.1, 0.03, 0.01, 0.003, 0.001};
    /** damped-trend candidates: {α, β, φ} */
    static final double[][] TRENDS = {{0.3, 0.1, 0.9}, {0.1, 0.05, 0.95}};
    static final int[] GRID = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
    static final int PER = 16;

    private final int c;
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
    private final Grid[] grids;
    private final double[] cum;
    private long t;

    public AutoPredictor(int layers, int experts, int memory, double confidence) {
        super("auto", layers, experts, confidence, true);
        this.nEma = RATES.length;
        this.nRestart = RESTART_RATES.length;
        this.c = nEma + nRestart + TRENDS.length;
        this.rate = new double[nEma + nRestart];
        this.label = new String[c];
        for (int j = 0; j < nEma; j++) {
            rate[j] = RATES[j];
            label[j] = RATES[j] == 1 ? "last value" : "ema " + RATES[j];
        }
        for (int j = 0; j < nRestart; j++) {
            rate[nEma + j] = RESTART_RATES[j];
            label[nEma + j] = "ema " + RESTART_RATES[j] + " since state change";
        }
        for (int k = 0; k < TRENDS.length; k++) {
            label[nEma + nRestart + k] = String.format(Locale.ROOT, "damped trend a=%s b=%s phi=%s", TRENDS[k][0], TRENDS[k][1], TRENDS[k][2]);
        }
        this.memory = memory;
        this.lv = new double[c * n];
        this.tr = new double[TRENDS.length * n];
        this.wsum = new double[(nEma + nRestart) * layers];
        this.seenEpoch = new int[layers];
        this.cum = new double[n];
        this.grids = new Grid[GRID.length];
        for (int g = 0; g < GRID.length; g++) {
            grids[g] = new Grid(GRID[g]);
        }
    }

    private final class Grid {
        final int g;
        final int spacing;
        final int slots;
        final float[] fc;
        final double[] cum0;
        final long[] origin;
        final int[] slotEpoch;
        int head;
        int count;
        /** score[l*c + j] */
        final double[] score;
        final long[] cnt;
        final double lamMin;

        Grid(int g) {
            this.g = g;
            this.spacing = Math.max(1, (g + PER - 1) / PER);
            this.slots = (g + spacing - 1) / spacing + 1;
            this.fc = new float[slots * c * n];
            this.cum0 = new double[slots * n];
            this.origin = new long[slots];
            this.slotEpoch = new int[slots * layers];
            this.score = new double[layers * c];
            this.cnt = new long[layers];
            this.lamMin = Math.min(1.0, spacing / memory);
        }

        void restartLayer(int l) {
            Arrays.fill(score, l * c, (l + 1) * c, 0);
            cnt[l] = 0;
        }

        boolean ready(int l) {
            return cnt[l] >= PER;
        }

        void matureDue() {
            while (count > 0 && origin[head] + g <= t) {
                int slot = head;
                int fo = slot * c * n;
                int co = slot * n;
                double invG = 1.0 / g;
                for (int l = 0; l < layers; l++) {
                    if (slotEpoch[slot * layers + l] != epoch(l)) {
                        continue;
                    }
                    double lam = Math.max(1.0 / (cnt[l] + 1), lamMin);
                    int b = l * experts;
                    for (int j = 0; j < c; j++) {
                        int o = fo + j * n;
                        double err = 0;
                        for (int e = 0; e < experts; e++) {
                            int i = b + e;
                            double a = (cum[i] - cum0[co + i]) * invG;
                            err += Math.abs(fc[o + i] - a);
                        }
                        score[l * c + j] += lam * (err - score[l * c + j]);
                    }
                    cnt[l]++;
                }
                head = (head + 1) % slots;
                count--;
            }
        }

        void snapshot(double[] tmp) {
            int slot = (head + count) % slots;
            int fo = slot * c * n;
            for (int j = 0; j < c; j++) {
                candidateMean(j, g, tmp, 0);
                int o = fo + j * n;
                for (int i = 0; i < n; i++) {
                    fc[o + i] = (float) tmp[i];
                }
            }
            System.arraycopy(cum, 0, cum0, slot * n, n);
            for (int l = 0; l < layers; l++) {
                slotEpoch[slot * layers + l] = epoch(l);
            }
            origin[slot] = t;
            count++;
        }
    }

    @Override
    protected void update(long step, int[] counts, double[] x) {
        t++;
        for (int i = 0; i < n; i++) {
            cum[i] += x[i];
        }
        // restart the state-change bank and the scores of layers whose state changed
        for (int l = 0; l < layers; l++) {
            if (epoch(l) != seenEpoch[l]) {
                seenEpoch[l] = epoch(l);
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
            double keep = 1 - a;
            int o = j * n;
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
        double[] tmp = scratch();
        for (Grid g : grids) {
            if (t % g.spacing == 0) {
                g.snapshot(tmp);
            }
        }
    }

    private double[] scratchRow;

    private double[] scratch() {
        if (scratchRow == null) {
            scratchRow = new double[n];
        }
        return scratchRow;
    }

    /** Candidate j's forecast of the mean share over the next h steps, all layers, into out[off..]. */
    private void candidateMean(int j, int h, double[] out, int off) {
        if (j < nEma + nRestart) {
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
        if (j < nEma + nRestart) {
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
        }
    }

    /** The candidate chosen for layer l at horizon h. */
    int choose(int l, int h) {
        Grid best = null;
        Grid any = null;
        for (Grid g : grids) {
            if (g.g > h) {
                break;
            }
            if (g.cnt[l] > 0) {
                any = g;
            }
            if (g.ready(l)) {
                best = g;
            }
        }
        if (best == null) {
            best = any;
        }
        if (best == null) {
            // nothing scored yet in this state: the slow restarted mean when stable, a fast EMA otherwise
            return state(l) == LoadState.STABLE ? nEma + nRestart - 1 : 1;
        }
        int arg = 0;
        for (int j = 1; j < c; j++) {
            if (best.score[l * c + j] < best.score[l * c + arg]) {
                arg = j;
            }
        }
        return arg;
    }

    private double[] meanBuf = new double[0];

    @Override
    protected void forecastMean(int horizon, double[] mean) {
        if (meanBuf.length < n) {
            meanBuf = new double[n];
        }
        for (int l = 0; l < layers; l++) {
            int j = choose(l, horizon);
            candidateMean(j, horizon, meanBuf, 0);
            System.arraycopy(meanBuf, l * experts, mean, l * experts, experts);
        }
    }

    @Override
    protected void step(int k, double[] out) {
        for (int l = 0; l < layers; l++) {
            candidateStep(choose(l, k), k, l, out, 0);
        }
        normalize(out, layers, experts);
    }

    @Override
    protected void path(int horizon, double[] path) {
        int[] pick = new int[layers];
        for (int l = 0; l < layers; l++) {
            pick[l] = choose(l, horizon);
        }
        for (int k = 1; k <= horizon; k++) {
            for (int l = 0; l < layers; l++) {
                candidateStep(pick[l], k, l, path, (k - 1) * n);
            }
            normalize(path, (k - 1) * n, layers, experts);
        }
    }

    @Override
    protected void horizons(int[] horizons, double[] means, double[] steps) {
        if (meanBuf.length < n) {
            meanBuf = new double[n];
        }
        for (int hj = 0; hj < horizons.length; hj++) {
            int h = horizons[hj];
            int o = hj * n;
            for (int l = 0; l < layers; l++) {
                int j = choose(l, h);
                if (means != null) {
                    candidateMean(j, h, meanBuf, 0);
                    System.arraycopy(meanBuf, l * experts, means, o + l * experts, experts);
                }
                if (steps != null) {
                    candidateStep(j, h, l, steps, o);
                }
            }
            if (steps != null) {
                normalize(steps, o, layers, experts);
            }
        }
    }

    /** Human-readable choices, per layer, at a few horizons. */
    @Override
    public String note() {
        List<String> parts = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            List<String> hs = new ArrayList<>();
            for (int h : new int[] {10, 1000}) {
                hs.add("h=" + h + ": " + label[choose(l, h)]);
            }
            parts.add("layer " + l + " (" + state(l).label() + ") " + String.join(", ", hs));
        }
        return "at the end: " + String.join("; ", parts);
    }

    @Override
    protected void resetState() {
        Arrays.fill(lv, 0);
        Arrays.fill(tr, 0);
        Arrays.fill(wsum, 0);
        Arrays.fill(seenEpoch, 0);
        Arrays.fill(cum, 0);
        t = 0;
        for (Grid g : grids) {
            g.head = 0;
            g.count = 0;
            Arrays.fill(g.score, 0);
            Arrays.fill(g.cnt, 0);
        }
    }
}

package io.moecast.predict;

import io.moecast.analysis.LoadState;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

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
 * <p><b>Cost</b> (what makes it usable inside a training or serving step): the smoothers run in float
 * on the Vector API over blocks of up to {@link ShareHistory#BLOCK} steps, series in chunks whose state
 * stays in L1 while the block's rows stream through ({@code observe} stores the step's shares; the work
 * happens once per block, or when a snapshot or a forecast needs the state); the EMAs restarted at a
 * change of state are not run at all: an EMA is linear, so the restarted one is the running one minus
 * the running one's value at the change, decayed (kept per layer). Each snapshot stores, for a sample
 * of {@value #SAMPLE} experts of every layer (all of them in layers of up to {@value #SAMPLE}; a run of
 * consecutive experts, the next run every {@value #SAMPLE_HOLD} steps), the ten candidates that are not
 * such functions of others, as floats, and is scored on that sample. On shapes above
 * {@value #SPREAD_SERIES} series the snapshots are also spread out, at least ⌈n/{@value #SPREAD_SERIES}⌉
 * steps apart (a power of two: 16 at the DeepSeek-V3 shape, 58 × 256), with readiness (16 origins) and
 * the prior carried over a change of state (4 origins) counted in steps of evidence at the ⌈g/16⌉
 * spacing, so a state's scores become usable as soon as with every origin. On a simulated 12 × 128 run
 * the sampled, spread-out scoring gives the same stable-state errors as scoring every expert at every
 * origin (within 0.5%; transient within 3%); {@code FastPathTest} checks the same on a synthetic trace.
 * Shapes of up to {@value #SAMPLE} experts per layer and {@value #SPREAD_SERIES} series (the paper's
 * 6 × 16, the bundled traces) are scored exactly as every expert at every origin.
 *
 * <p>Parameters: {@code memory} (steps, default 4000); {@code sample} (experts per layer per origin,
 * default 16; 0: all), {@code spread} (least spacing of snapshots; 0: from the shape) and
 * {@code bounds} (series the upper bounds evaluate per step on large shapes, default 256; 0: all).
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
    /** experts of each layer scored per origin by default (all of them in layers of up to 16) */
    static final int SAMPLE = 16;
    /** steps a sample of experts is kept before the next one is taken */
    static final int SAMPLE_HOLD = 64;
    /** series per step of spread: shapes above it space their scoring snapshots out */
    static final int SPREAD_SERIES = 1024;

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** floats matching {@link #D} lane for lane */
    private static final VectorSpecies<Float> FD = VectorSpecies.of(float.class,
            VectorShape.forBitSize(Math.max(64, D.vectorBitSize() / 2)));

    // candidate indices (the order of RATES, RESTART_RATES, TRENDS, then the Kalman level and 1/E)
    private static final int LAST = 0;
    /** EMAs of rates 0.3 … 0.001: candidates 1..6 = bank 0..5 */
    private static final int BANK0 = 1;
    private static final int NB = 6;
    private static final int MEAN_ALL = 7;
    /** restarted EMAs of rates 0.1 … 0.001: candidates 8..12 = bank 1..5, restarted */
    private static final int RESTART0 = 8;
    private static final int NR = 5;
    private static final int MEAN_SINCE = 13;
    private static final int TREND0 = 14;
    private static final int KALMAN = 16;
    private static final int BALANCED = 17;
    private static final int C = 18;
    /** stored per snapshot: the last value, the six EMAs (raw), the two trends and the Kalman level */
    private static final int STORED = 10;
    private static final int S_LAST = 0;
    private static final int S_BANK0 = 1;
    private static final int S_TREND0 = 7;
    private static final int S_KALMAN = 9;

    private final int c = C;
    private final int m;
    private final double memory;
    private final String[] label;
    private final double[] bankRate = new double[NB];
    private final double[] bankKeep = new double[NB];
    /** EMA numerators, bank[b*n + i] (float) */
    private final float[] bank;
    /** their bias-correction weight sums (the same for every series) */
    private final double[] wsum = new double[NB];
    /** the bank and weight sums when each layer's current state began (restarted EMAs) */
    private final float[] bank0;
    private final double[] wsum0;
    /** running sum of shares when each layer's current state began */
    private final double[] cumStart;
    /** Holt levels and trends, trend candidate k at [k*n + i] */
    private final float[] hl;
    private final float[] ht;
    private final int[] seenEpoch;
    private final long[] epochStart;
    /** keep_bᵗ⁻ᵗ⁰ per bank EMA and layer (t0: the start of the layer's state), kept by multiplication */
    private final double[] decayNow;
    private final Grid[] grids;
    private final ShareHistory history;
    private final LocalLevelFilter kalman;
    private final double[] row;
    private final double[] wTmp;
    private final double[] mixW;
    /** per-layer scratch for scoring: candidate values vals[j*E + e], actual act[e] */
    private final float[] vals;
    private final float[] act;
    private final float[] errAcc;
    private final int[] used;
    private final int[] rowOff = new int[ShareHistory.BLOCK];
    /** experts of each layer scored per origin (all when the layer has no more) */
    private final int sample;
    /** least spacing of the scoring snapshots */
    private final int spread;
    /** distinct samples: the offset cycles through 0 .. rotations−1 */
    private final int rotations;
    /** the experts of each sample: sampleIndex[off*sample + k] */
    private final int[] sampleIndex;
    private final double[] combBank = new double[NB];
    private final double[] combBank0 = new double[NB];
    private final double[] combTrend = new double[TRENDS.length];
    private final double[] combTrendF = new double[TRENDS.length];
    private final double[] storeTrendF = new double[TRENDS.length];
    private final double[] expScratch = new double[C];
    private final double[] powScratch = new double[C];
    private final int[] tempFull = new int[4];
    private final float[] tempW = new float[4 * C];
    private final double[] tempSums = new double[4];
    private final double[] muSum;
    private final double[] hlSum;
    private final double[] htSum;
    private final boolean[] trendOk;
    private long sumsAt = -1;
    /**
     * combine's normalisers, per layer, each summed in expert order as one running double (the order
     * fixes the rounding): Σ max(0, μ) as of the flush {@link #kSumsAt}, and Σ max(0, level + f·trend)
     * per trend for the horizon being combined.
     */
    private final double[] kSum;
    private final double[] tSum;
    private long kSumsAt = -1;
    private long t;

    public AutoPredictor(int layers, int experts, int memory, long slotsPerStep, double confidence) {
        this(layers, experts, memory, slotsPerStep, confidence, SAMPLE, EmpiricalBounds.SERIES_PER_SNAPSHOT,
                defaultSpread(layers, experts));
    }

    /**
     * The least spacing of the scoring snapshots for a shape: ⌈n/{@value #SPREAD_SERIES}⌉ rounded up to a
     * power of two (1 up to 1,024 series; 16 for the DeepSeek-V3 and Qwen3-235B shapes).
     */
    static int defaultSpread(int layers, int experts) {
        return EmpiricalBounds.floorSpacing((long) layers * experts, SPREAD_SERIES);
    }

    /**
     * @param sample        experts of each layer scored per origin (all when the layer has no more;
     *                      {@code Integer.MAX_VALUE}: always all)
     * @param boundsPerStep series the empirical bounds evaluate per step of spacing on large shapes
     *                      ({@code Integer.MAX_VALUE}: every origin)
     */
    AutoPredictor(int layers, int experts, int memory, long slotsPerStep, double confidence, int sample, int boundsPerStep) {
        this(layers, experts, memory, slotsPerStep, confidence, sample, boundsPerStep, defaultSpread(layers, experts));
    }

    AutoPredictor(int layers, int experts, int memory, long slotsPerStep, double confidence, int sample, int boundsPerStep, int spread) {
        super("auto", layers, experts, confidence, true, boundsPerStep);
        if (sample < 1 || spread < 1) {
            throw new IllegalArgumentException("sample and spread must be >= 1");
        }
        this.spread = spread;
        this.sample = Math.min(experts, sample);
        this.rotations = (experts + this.sample - 1) / this.sample;
        this.muSum = new double[layers];
        this.hlSum = new double[TRENDS.length * layers];
        this.htSum = new double[TRENDS.length * layers];
        this.trendOk = new boolean[TRENDS.length * layers];
        this.kSum = new double[layers];
        this.tSum = new double[TRENDS.length * layers];
        this.sampleIndex = new int[rotations * this.sample];
        for (int off = 0; off < rotations; off++) {
            for (int k = 0; k < this.sample; k++) {
                sampleIndex[off * this.sample + k] = (off * this.sample + k) % experts;
            }
        }
        this.m = ETAS.length;
        this.label = new String[c];
        for (int j = 0; j < RATES.length; j++) {
            label[j] = RATES[j] == 1 ? "last value" : RATES[j] == 0 ? "mean of all steps" : "ema " + RATES[j];
        }
        for (int j = 0; j < RESTART_RATES.length; j++) {
            label[RESTART0 + j] = RESTART_RATES[j] == 0 ? "mean since state change" : "ema " + RESTART_RATES[j] + " since state change";
        }
        for (int k = 0; k < TRENDS.length; k++) {
            label[TREND0 + k] = String.format(Locale.ROOT, "damped trend a=%s b=%s phi=%s", TRENDS[k][0], TRENDS[k][1], TRENDS[k][2]);
        }
        label[KALMAN] = "kalman local level";
        label[BALANCED] = "balanced (1/E)";
        for (int b = 0; b < NB; b++) {
            bankRate[b] = RATES[BANK0 + b];
            bankKeep[b] = 1 - bankRate[b];
        }
        for (int q = 0; q < NR; q++) {
            if (RESTART_RATES[q] != bankRate[q + 1]) {
                throw new IllegalStateException("restart rates must be bank rates 1..5");
            }
        }
        this.memory = memory;
        this.kalman = new LocalLevelFilter(layers, experts, 256, 2000, slotsPerStep);
        this.history = new ShareHistory(n, kalman.maxLag());
        this.bank = new float[NB * n];
        this.bank0 = new float[NB * n];
        this.wsum0 = new double[NB * layers];
        this.cumStart = new double[n];
        this.hl = new float[TRENDS.length * n];
        this.ht = new float[TRENDS.length * n];
        this.seenEpoch = new int[layers];
        this.epochStart = new long[layers];
        this.decayNow = new double[NB * layers];
        Arrays.fill(decayNow, 1.0);
        this.row = new double[n];
        this.wTmp = new double[c];
        this.mixW = new double[layers * c];
        this.vals = new float[c * this.sample];
        this.act = new float[this.sample];
        this.errAcc = new float[Math.max(c, m) * F.length()];
        this.used = new int[c];
        this.grids = new Grid[GRID.length];
        for (int g = 0; g < GRID.length; g++) {
            grids[g] = new Grid(GRID[g]);
        }
    }

    @Override
    protected boolean usesStates() {
        return true;
    }

    /** Scores at one grid horizon g, and the snapshots waiting to be scored. */
    private final class Grid {
        final int g;
        final int spacing;
        final int slots;
        /** stored candidates of the sampled experts: fc[((slot*layers + l)*STORED + s)*sample + k] */
        final float[] fc;
        /** EMA weight sums at each slot's origin: wAt[slot*NB + b] */
        final double[] wAt;
        /** the restart decays at each slot's origin: dAt[(slot*NB + b)*layers + l] */
        final double[] dAt;
        /** combination weights per slot: mw[((slot*m + k)*layers + l)*c + j] */
        final float[] mw;
        /** running sums of the sampled experts at each slot's origin: cum0[(slot*layers + l)*sample + k] */
        final double[] cum0;
        /**
         * what the restarted candidates subtract, for the sampled experts, as of each slot's origin:
         * cumStart at cs0[(slot*layers + l)*sample + k], bank0 of EMA q at b0s[((slot*layers + l)*NB + q)*sample + k].
         * They change only at a change of the layer's state, after which the slot is not scored, so
         * these are the values the scoring would read from the state (kept here: read from the state,
         * they are cache misses at every scoring)
         */
        final double[] cs0;
        final float[] b0s;
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
        final double[] tErr;
        /** the sample's offset at each slot's origin; snapshots taken so far */
        final int[] slotOff;
        long taken;

        /** origins in the current state before the scores count as evidence, and the prior carried over */
        final long readyAt;
        final long carry;

        Grid(int g) {
            this.g = g;
            // every ⌈g/16⌉ steps (at least `spread` apart); readiness and the carried prior are counted in
            // steps of evidence: 16 and 4 origins at the ⌈g/16⌉ spacing
            int base = Math.max(1, (g + PER - 1) / PER);
            this.spacing = Math.max(base, spread);
            this.readyAt = Math.max(1, ((long) PER * base + spacing - 1) / spacing);
            this.carry = Math.max(1, (CARRY * base + spacing - 1) / spacing);
            this.slots = (g + spacing - 1) / spacing + 1;
            this.fc = new float[Math.multiplyExact(Math.multiplyExact(slots * STORED, layers), sample)];
            this.wAt = new double[slots * NB];
            this.dAt = new double[slots * NB * layers];
            this.mw = new float[slots * m * layers * c];
            this.cum0 = new double[Math.multiplyExact(slots * layers, sample)];
            this.cs0 = new double[Math.multiplyExact(slots * layers, sample)];
            this.b0s = new float[Math.multiplyExact(Math.multiplyExact(slots * layers, NB), sample)];
            this.origin = new long[slots];
            this.slotEpoch = new int[slots * layers];
            this.score = new double[layers * c];
            this.meta = new double[layers * m];
            this.cnt = new long[layers];
            this.weight = new long[layers];
            this.errs = new double[c];
            this.tErr = new double[m];
            this.slotOff = new int[slots];
        }

        /**
         * A change of state: the scores so far stay as a prior worth {@link #CARRY} scored origins (fresh
         * evidence soon outweighs them), and the evidence of the new state starts from zero.
         */
        void restartLayer(int l) {
            weight[l] = Math.min(weight[l], carry);
            cnt[l] = 0;
        }

        void clear() {
            head = 0;
            count = 0;
            taken = 0;
            Arrays.fill(score, 0);
            Arrays.fill(meta, 0);
            Arrays.fill(cnt, 0);
            Arrays.fill(weight, 0);
        }

        boolean ready(int l) {
            return cnt[l] >= readyAt;
        }

        void matureDue() {
            while (count > 0 && origin[head] + g <= t) {
                score(head);
                head = (head + 1) % slots;
                count--;
            }
        }

        private void score(int slot) {
            double invG = 1.0 / g;
            long to = origin[slot];
            int off = slotOff[slot];
            int len = sample;
            for (int l = 0; l < layers; l++) {
                if (slotEpoch[slot * layers + l] != epoch(l)) {
                    continue;
                }
                int co = (slot * layers + l) * len;
                for (int k = 0; k < len; k++) {
                    act[k] = (float) ((cum[l * experts + sampled(off, k)] - cum0[co + k]) * invG);
                }
                slotValues(this, slot, to, l);
                candidateErrors(errs, len);
                double mean = 0;
                for (int j = 0; j < c; j++) {
                    mean += errs[j];
                }
                mean /= c;
                double inv = mean > 0 ? 1.0 / mean : 0;
                double mem = Math.min(memory, Math.max(2.0 * g, AGE_FRACTION * (t - epochStart[l])));
                double lam = Math.max(1.0 / (weight[l] + 1), Math.min(1.0, spacing / mem));
                for (int j = 0; j < c; j++) {
                    score[l * c + j] += lam * (errs[j] * inv - score[l * c + j]);
                }
                // the temperatures: the error of each combination made at the snapshot
                temperatureErrors(mw, (slot * m * layers + l) * c, layers * c, len, errs, tErr);
                for (int k = 0; k < m; k++) {
                    meta[l * m + k] += lam * (tErr[k] * inv - meta[l * m + k]);
                }
                cnt[l]++;
                weight[l]++;
            }
        }

        void snapshot() {
            int slot = (head + count) % slots;
            // the sample: the same for every grid horizon at a step, kept for SAMPLE_HOLD steps, then the
            // next run of experts (so that its state stays in cache across the snapshots that use it)
            int off = (int) ((t / SAMPLE_HOLD) % rotations);
            taken++;
            slotOff[slot] = off;
            store(this, slot, off);
            System.arraycopy(wsum, 0, wAt, slot * NB, NB);
            System.arraycopy(decayNow, 0, dAt, slot * NB * layers, NB * layers);
            for (int l = 0; l < layers; l++) {
                Grid ev = evidence(l, g);
                if (ev == null) {
                    // no evidence: the prior, the same for every temperature
                    prior(l, wTmp);
                }
                if (ev != null) {
                    softminAll(ev, l, mw, (slot * m * layers + l) * c, layers * c);
                } else {
                    for (int k = 0; k < m; k++) {
                        int wo = ((slot * m + k) * layers + l) * c;
                        for (int j = 0; j < c; j++) {
                            mw[wo + j] = (float) wTmp[j];
                        }
                    }
                }
                slotEpoch[slot * layers + l] = epoch(l);
            }
            origin[slot] = t;
            count++;
        }
    }

    @Override
    protected void update(long step, int[] counts, double[] x) {
        t++;
        // a change of state: the restarted EMAs start from the bank as it is before this step
        boolean changed = false;
        for (int l = 0; l < layers; l++) {
            changed |= epoch(l) != seenEpoch[l];
        }
        if (changed) {
            flush();
            for (int l = 0; l < layers; l++) {
                if (epoch(l) == seenEpoch[l]) {
                    continue;
                }
                seenEpoch[l] = epoch(l);
                epochStart[l] = t - 1;
                int b = l * experts;
                for (int k = 0; k < NB; k++) {
                    System.arraycopy(bank, k * n + b, bank0, k * n + b, experts);
                    wsum0[k * layers + l] = wsum[k];
                    decayNow[k * layers + l] = 1.0;
                }
                for (int e = 0; e < experts; e++) {
                    cumStart[b + e] = cum[b + e] - x[b + e];
                }
                for (Grid g : grids) {
                    g.restartLayer(l);
                }
            }
        }
        for (int k = 0; k < NB * layers; k++) {
            double d = decayNow[k] * bankKeep[k / layers];
            decayNow[k] = d < 1e-300 ? 0 : d;
        }
        if (history.append(x) == ShareHistory.BLOCK) {
            flush();
        }
        for (Grid g : grids) {
            g.matureDue();
        }
        for (Grid g : grids) {
            if (t % g.spacing == 0) {
                flush();
                g.snapshot();
            }
        }
    }

    /** Folds the pending steps into the smoothers (the Kalman filter, the EMAs, the trends). */
    private void flush() {
        int rows = history.pending();
        if (rows == 0) {
            return;
        }
        long before = history.processed();
        kalman.process(history);
        smooth(rows, before);
        history.done();
    }

    /** The EMA bank and the damped trends over the pending rows (series in chunks, state in registers). */
    private void smooth(int rows, long before) {
        float[] x = history.rows;
        int[] off = rowOff;
        for (int r = 0; r < rows; r++) {
            off[r] = history.offset(r, 0);
        }
        // the first step ever sets the trend levels
        if (before == 0) {
            for (int k = 0; k < TRENDS.length; k++) {
                for (int i = 0; i < n; i++) {
                    hl[k * n + i] = x[off[0] + history.shift(i / ShareHistory.CHUNK) + i];
                }
            }
        }
        FloatVector a0 = bc(bankRate[0]), a1 = bc(bankRate[1]), a2 = bc(bankRate[2]);
        FloatVector a3 = bc(bankRate[3]), a4 = bc(bankRate[4]), a5 = bc(bankRate[5]);
        float k0 = (float) bankKeep[0], k1 = (float) bankKeep[1], k2 = (float) bankKeep[2];
        float k3 = (float) bankKeep[3], k4 = (float) bankKeep[4], k5 = (float) bankKeep[5];
        FloatVector ta0 = bc(TRENDS[0][0]), tb0 = bc(TRENDS[0][1]);
        FloatVector ta1 = bc(TRENDS[1][0]), tb1 = bc(TRENDS[1][1]);
        float tp0 = (float) TRENDS[0][2], tp1 = (float) TRENDS[1][2];
        float tc0 = 1f - (float) TRENDS[0][1], tc1 = 1f - (float) TRENDS[1][1];
        int w = F.length();
        int vecEnd = F.loopBound(n);
        // series in chunks: a chunk's state stays in L1 while the rows stream through it
        for (int c0 = 0; c0 < vecEnd; c0 += ShareHistory.CHUNK) {
            int c1 = Math.min(vecEnd, c0 + ShareHistory.CHUNK);
            int sh = history.shift(c0 / ShareHistory.CHUNK);
            for (int r = 0; r < rows; r++) {
                int xo = off[r] + sh;
                boolean first = before + r == 0;
                for (int i = c0; i < c1; i += w) {
                    FloatVector xv = FloatVector.fromArray(F, x, xo + i);
                    xv.fma(a0, FloatVector.fromArray(F, bank, i).mul(k0)).intoArray(bank, i);
                    xv.fma(a1, FloatVector.fromArray(F, bank, n + i).mul(k1)).intoArray(bank, n + i);
                    xv.fma(a2, FloatVector.fromArray(F, bank, 2 * n + i).mul(k2)).intoArray(bank, 2 * n + i);
                    xv.fma(a3, FloatVector.fromArray(F, bank, 3 * n + i).mul(k3)).intoArray(bank, 3 * n + i);
                    xv.fma(a4, FloatVector.fromArray(F, bank, 4 * n + i).mul(k4)).intoArray(bank, 4 * n + i);
                    xv.fma(a5, FloatVector.fromArray(F, bank, 5 * n + i).mul(k5)).intoArray(bank, 5 * n + i);
                    if (first) {
                        continue;
                    }
                    FloatVector l0 = FloatVector.fromArray(F, hl, i);
                    FloatVector pb = FloatVector.fromArray(F, ht, i).mul(tp0);
                    FloatVector f = l0.add(pb);
                    FloatVector nl = xv.sub(f).fma(ta0, f);
                    nl.sub(l0).fma(tb0, pb.mul(tc0)).intoArray(ht, i);
                    nl.intoArray(hl, i);
                    FloatVector l1 = FloatVector.fromArray(F, hl, n + i);
                    pb = FloatVector.fromArray(F, ht, n + i).mul(tp1);
                    f = l1.add(pb);
                    nl = xv.sub(f).fma(ta1, f);
                    nl.sub(l1).fma(tb1, pb.mul(tc1)).intoArray(ht, n + i);
                    nl.intoArray(hl, n + i);
                }
            }
        }
        int i = vecEnd;
        for (; i < n; i++) {
            int sh = history.shift(i / ShareHistory.CHUNK);
            for (int r = 0; r < rows; r++) {
                float xv = x[off[r] + sh + i];
                for (int k = 0; k < NB; k++) {
                    bank[k * n + i] = Math.fma(xv, (float) bankRate[k], bank[k * n + i] * (float) bankKeep[k]);
                }
                if (before + r == 0) {
                    continue;
                }
                for (int k = 0; k < TRENDS.length; k++) {
                    float ta = (float) TRENDS[k][0];
                    float tb = (float) TRENDS[k][1];
                    float tp = (float) TRENDS[k][2];
                    float pl = hl[k * n + i];
                    float pb = ht[k * n + i] * tp;
                    float f = pl + pb;
                    float nl = Math.fma(xv - f, ta, f);
                    ht[k * n + i] = Math.fma(nl - pl, tb, pb * (1f - tb));
                    hl[k * n + i] = nl;
                }
            }
        }
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < NB; k++) {
                wsum[k] = bankKeep[k] * wsum[k] + bankRate[k];
            }
        }
    }

    private static FloatVector bc(double v) {
        return FloatVector.broadcast(F, (float) v);
    }

    // ---- candidate values -------------------------------------------------------------------------

    /** φ(1 − φᵏ)/(1 − φ): the damped-trend multiplier for step t+k */
    private static double damp(double phi, int k) {
        return phi * (1 - Math.pow(phi, k)) / (1 - phi);
    }

    /** the mean of {@link #damp} over steps 1..h */
    private static double dampMean(double phi, int h) {
        return phi / (1 - phi) * (1 - phi * (1 - Math.pow(phi, h)) / ((1 - phi) * h));
    }

    /**
     * Candidate j's forecast for layer l now (state flushed), into out[off + l*E ..]: the horizon mean
     * over h steps, or the single step t+h when {@code single}.
     */
    private void candidate(int j, int l, int h, boolean single, double[] out, int off) {
        int b = l * experts;
        int o = off + b;
        if (j == BALANCED) {
            Arrays.fill(out, o, o + experts, 1.0 / experts);
        } else if (j == LAST) {
            System.arraycopy(share, b, out, o, experts);
        } else if (j == MEAN_ALL) {
            double inv = 1.0 / t;
            for (int e = 0; e < experts; e++) {
                out[o + e] = cum[b + e] * inv;
            }
        } else if (j == MEAN_SINCE) {
            double inv = 1.0 / (t - epochStart[l]);
            for (int e = 0; e < experts; e++) {
                out[o + e] = (cum[b + e] - cumStart[b + e]) * inv;
            }
        } else if (j >= BANK0 && j < BANK0 + NB) {
            int k = j - BANK0;
            double w = wsum[k];
            if (w > 0) {
                double inv = 1.0 / w;
                for (int e = 0; e < experts; e++) {
                    out[o + e] = bank[k * n + b + e] * inv;
                }
            } else {
                System.arraycopy(share, b, out, o, experts);
            }
        } else if (j >= RESTART0 && j < RESTART0 + NR) {
            int k = j - RESTART0 + 1;
            double dc = decayNow[k * layers + l];
            double w = wsum[k] - dc * wsum0[k * layers + l];
            if (w > 0) {
                double inv = 1.0 / w;
                for (int e = 0; e < experts; e++) {
                    out[o + e] = (bank[k * n + b + e] - dc * bank0[k * n + b + e]) * inv;
                }
            } else {
                System.arraycopy(share, b, out, o, experts);
            }
        } else if (j == KALMAN) {
            for (int e = 0; e < experts; e++) {
                out[o + e] = kalman.mu[b + e];
            }
            normalize(out, o, 1, experts);
        } else {
            int k = j - TREND0;
            double phi = TRENDS[k][2];
            double f = single ? damp(phi, h) : dampMean(phi, h);
            for (int e = 0; e < experts; e++) {
                out[o + e] = hl[k * n + b + e] + f * ht[k * n + b + e];
            }
            normalize(out, o, 1, experts);
        }
    }

    /**
     * Expert k of a layer's sample with offset {@code off}: (off·sample + k) mod E, a run of consecutive
     * experts (expert indices carry no order, so a run is as good a sample as any, and it is one cache
     * line per state array); the offsets 0 .. ⌈E/sample⌉−1 together cover every expert; all experts, in
     * order, when sample = E.
     */
    private int sampled(int off, int k) {
        return sampleIndex[off * sample + k];
    }

    /** The stored candidates of the sampled experts for a snapshot of grid gr now (state flushed). */
    private void store(Grid gr, int slot, int off) {
        int len = sample;
        float[] fc = gr.fc;
        double[] fq = storeTrendF;
        for (int q = 0; q < TRENDS.length; q++) {
            fq[q] = dampMean(TRENDS[q][2], gr.g);
        }
        for (int l = 0; l < layers; l++) {
            int b = l * experts;
            int fo = (slot * layers + l) * STORED * len;
            int co = (slot * layers + l) * len;
            for (int k = 0; k < len; k++) {
                int i = b + sampled(off, k);
                fc[fo + S_LAST * len + k] = (float) share[i];
                for (int q = 0; q < NB; q++) {
                    fc[fo + (S_BANK0 + q) * len + k] = bank[q * n + i];
                }
                gr.cum0[co + k] = cum[i];
                gr.cs0[co + k] = cumStart[i];
                for (int q = 1; q < NB; q++) {
                    gr.b0s[((slot * layers + l) * NB + q) * len + k] = bank0[q * n + i];
                }
            }
            // the normalised candidates need the whole layer
            if (len == experts) {
                for (int q = 0; q < TRENDS.length; q++) {
                    candidate(TREND0 + q, l, gr.g, false, row, 0);
                    for (int e = 0; e < experts; e++) {
                        fc[fo + (S_TREND0 + q) * len + e] = (float) row[b + e];
                    }
                }
                candidate(KALMAN, l, gr.g, false, row, 0);
                for (int e = 0; e < experts; e++) {
                    fc[fo + S_KALMAN * len + e] = (float) row[b + e];
                }
            } else {
                layerSums();
                for (int q = 0; q < TRENDS.length; q++) {
                    double f = fq[q];
                    // every hl + f·ht of the layer is positive for every horizon: the sum is linear in f
                    double s = trendOk[q * layers + l] ? hlSum[q * layers + l] + f * htSum[q * layers + l]
                            : positiveSum(hl, ht, q * n + b, f);
                    for (int k = 0; k < len; k++) {
                        int i = q * n + b + sampled(off, k);
                        double v = hl[i] + f * ht[i];
                        fc[fo + (S_TREND0 + q) * len + k] = (float) (s > 0 ? (v > 0 ? v / s : 0) : 1.0 / experts);
                    }
                }
                double s = muSum[l];
                for (int k = 0; k < len; k++) {
                    float v = kalman.mu[b + sampled(off, k)];
                    fc[fo + S_KALMAN * len + k] = (float) (s > 0 ? (v > 0 ? v / s : 0) : 1.0 / experts);
                }
            }
        }
    }

    /**
     * Per layer, as of the last flush: Σ max(0, μ) (the Kalman level's normaliser), and for each trend
     * Σ level, Σ trend and whether level + f·trend > 0 for every series and every horizon's f (then the
     * trend's normaliser at any horizon is Σ level + f·Σ trend).
     */
    private void layerSums() {
        long at = history.processed();
        if (sumsAt == at) {
            return;
        }
        sumsAt = at;
        int w = F.length();
        int ub = F.loopBound(experts);
        for (int l = 0; l < layers; l++) {
            int b = l * experts;
            muSum[l] = positiveSum(kalman.mu, null, b, 0);
            for (int q = 0; q < TRENDS.length; q++) {
                double phi = TRENDS[q][2];
                float fmax = (float) (phi / (1 - phi));
                int o = q * n + b;
                FloatVector sl = FloatVector.zero(F);
                FloatVector st = sl;
                FloatVector lo = FloatVector.broadcast(F, Float.MAX_VALUE);
                int e = 0;
                for (; e < ub; e += w) {
                    FloatVector a = FloatVector.fromArray(F, hl, o + e);
                    FloatVector d = FloatVector.fromArray(F, ht, o + e);
                    sl = sl.add(a);
                    st = st.add(d);
                    lo = lo.min(a).min(d.fma(FloatVector.broadcast(F, fmax), a));
                }
                double sumL = sl.reduceLanes(VectorOperators.ADD);
                double sumT = st.reduceLanes(VectorOperators.ADD);
                boolean ok = lo.reduceLanes(VectorOperators.MIN) > 0;
                for (; e < experts; e++) {
                    float a = hl[o + e];
                    float d = ht[o + e];
                    sumL += a;
                    sumT += d;
                    ok &= a > 0 && Math.fma(d, fmax, a) > 0;
                }
                hlSum[q * layers + l] = sumL;
                htSum[q * layers + l] = sumT;
                trendOk[q * layers + l] = ok;
            }
        }
    }

    /** Σₑ max(0, a[o+e] + f·t[o+e]) over one layer (t may be null): what normalisation divides by. */
    private double positiveSum(float[] a, float[] t, int o, double f) {
        int E = experts;
        int e = 0;
        double s = 0;
        if (FD.length() == D.length()) {
            DoubleVector acc = DoubleVector.zero(D);
            for (int ub = D.loopBound(E); e < ub; e += D.length()) {
                DoubleVector v = widen(a, o + e);
                if (t != null) {
                    v = widen(t, o + e).fma(DoubleVector.broadcast(D, f), v);
                }
                acc = acc.add(positive(v));
            }
            s = acc.reduceLanes(VectorOperators.ADD);
        }
        for (; e < E; e++) {
            double v = a[o + e] + (t == null ? 0 : f * t[o + e]);
            s += v > 0 ? v : 0;
        }
        return s;
    }

    /** Every candidate's forecast made at a snapshot (origin to) for the layer's sampled experts, into vals[j*len + k]. */
    private void slotValues(Grid gr, int slot, long to, int l) {
        int len = sample;
        int b = l * experts;
        int off = gr.slotOff[slot];
        int fo = (slot * layers + l) * STORED * len;
        int co = (slot * layers + l) * len;
        float[] fc = gr.fc;
        double[] c0 = gr.cum0;
        System.arraycopy(fc, fo + S_LAST * len, vals, LAST * len, len);
        System.arraycopy(fc, fo + S_KALMAN * len, vals, KALMAN * len, len);
        System.arraycopy(fc, fo + S_TREND0 * len, vals, TREND0 * len, len);
        System.arraycopy(fc, fo + (S_TREND0 + 1) * len, vals, (TREND0 + 1) * len, len);
        Arrays.fill(vals, BALANCED * len, (BALANCED + 1) * len, 1f / experts);
        double invTo = 1.0 / to;
        for (int k = 0; k < len; k++) {
            vals[MEAN_ALL * len + k] = (float) (c0[co + k] * invTo);
        }
        double invSince = 1.0 / (to - epochStart[l]);
        for (int k = 0; k < len; k++) {
            vals[MEAN_SINCE * len + k] = (float) ((c0[co + k] - gr.cs0[co + k]) * invSince);
        }
        for (int q = 0; q < NB; q++) {
            double w = gr.wAt[slot * NB + q];
            int so = fo + (S_BANK0 + q) * len;
            int vo = (BANK0 + q) * len;
            if (w > 0) {
                float inv = (float) (1.0 / w);
                for (int k = 0; k < len; k++) {
                    vals[vo + k] = fc[so + k] * inv;
                }
            } else {
                System.arraycopy(vals, LAST * len, vals, vo, len);
            }
            if (q == 0) {
                continue;
            }
            // the restarted EMA of the same rate, from the running one and its value at the change
            double dc = gr.dAt[(slot * NB + q) * layers + l];
            double wr = w - dc * wsum0[q * layers + l];
            int ro = (RESTART0 + q - 1) * len;
            if (wr > 0) {
                float inv = (float) (1.0 / wr);
                if (dc < 1e-20) {
                    // the reference has decayed below float resolution (and would make subnormals)
                    for (int k = 0; k < len; k++) {
                        vals[ro + k] = fc[so + k] * inv;
                    }
                } else {
                    float d = (float) dc;
                    int bo = ((slot * layers + l) * NB + q) * len;
                    for (int k = 0; k < len; k++) {
                        vals[ro + k] = (fc[so + k] - d * gr.b0s[bo + k]) * inv;
                    }
                }
            } else {
                System.arraycopy(vals, LAST * len, vals, ro, len);
            }
        }
    }

    /** Σₑ|vals_j − act| for every candidate j into errs (vectorised over experts). */
    private void candidateErrors(double[] errs, int E) {
        int w = F.length();
        int ub = F.loopBound(E);
        for (int j = 0; j < c; j++) {
            int vo = j * E;
            FloatVector acc = FloatVector.zero(F);
            int e = 0;
            for (; e < ub; e += w) {
                acc = acc.add(FloatVector.fromArray(F, vals, vo + e).sub(FloatVector.fromArray(F, act, e)).abs());
            }
            double s = acc.reduceLanes(VectorOperators.ADD);
            for (; e < E; e++) {
                s += Math.abs(vals[vo + e] - act[e]);
            }
            errs[j] = s;
        }
    }

    /**
     * {@link #combinationError} for every temperature: the weight rows at mw[base + k·stride ..], the
     * errors into out[k]. A row that is one candidate alone costs nothing (its error is in errs); up to
     * four others are summed in one pass over the sample (the same sums, in the same order).
     */
    private void temperatureErrors(float[] mw, int base, int stride, int E, double[] errs, double[] out) {
        int[] full = tempFull;
        int nf = 0;
        for (int k = 0; k < m; k++) {
            int wo = base + k * stride;
            int single = -1;
            int nu = 0;
            for (int j = 0; j < c; j++) {
                if (mw[wo + j] > 1e-4f) {
                    nu++;
                    single = j;
                }
            }
            if (nu == 1 && mw[wo + single] == 1f) {
                out[k] = errs[single];
            } else if (nf < 4) {
                full[nf++] = k;
            } else {
                out[k] = combinationError(mw, wo, E, errs);
            }
        }
        if (nf == 0) {
            return;
        }
        float[] wq = tempW;
        for (int q = 0; q < 4; q++) {
            for (int j = 0; j < c; j++) {
                float w = q < nf ? mw[base + full[q] * stride + j] : 0f;
                wq[q * c + j] = w > 1e-4f ? w : 0f;
            }
        }
        int w = F.length();
        int ub = F.loopBound(E);
        FloatVector e0 = FloatVector.zero(F);
        FloatVector e1 = e0;
        FloatVector e2 = e0;
        FloatVector e3 = e0;
        int e = 0;
        for (; e < ub; e += w) {
            FloatVector c0 = FloatVector.zero(F);
            FloatVector c1 = c0;
            FloatVector c2 = c0;
            FloatVector c3 = c0;
            for (int j = 0; j < c; j++) {
                FloatVector v = FloatVector.fromArray(F, vals, j * E + e);
                c0 = v.fma(FloatVector.broadcast(F, wq[j]), c0);
                c1 = v.fma(FloatVector.broadcast(F, wq[c + j]), c1);
                c2 = v.fma(FloatVector.broadcast(F, wq[2 * c + j]), c2);
                c3 = v.fma(FloatVector.broadcast(F, wq[3 * c + j]), c3);
            }
            FloatVector a = FloatVector.fromArray(F, act, e);
            e0 = e0.add(c0.sub(a).abs());
            e1 = e1.add(c1.sub(a).abs());
            e2 = e2.add(c2.sub(a).abs());
            e3 = e3.add(c3.sub(a).abs());
        }
        double[] sums = tempSums;
        sums[0] = e0.reduceLanes(VectorOperators.ADD);
        sums[1] = e1.reduceLanes(VectorOperators.ADD);
        sums[2] = e2.reduceLanes(VectorOperators.ADD);
        sums[3] = e3.reduceLanes(VectorOperators.ADD);
        for (; e < E; e++) {
            for (int q = 0; q < nf; q++) {
                float comb = 0;
                for (int j = 0; j < c; j++) {
                    comb = Math.fma(vals[j * E + e], wq[q * c + j], comb);
                }
                sums[q] += Math.abs(comb - act[e]);
            }
        }
        for (int q = 0; q < nf; q++) {
            out[full[q]] = sums[q];
        }
    }

    /**
     * The L1 error of the combination Σⱼ wⱼ·valsⱼ with the weights mw[wo .. wo+c) (weights below 1e-4
     * left out).
     */
    private double combinationError(float[] mw, int wo, int E, double[] errs) {
        int nu = 0;
        for (int j = 0; j < c; j++) {
            if (mw[wo + j] > 1e-4f) {
                used[nu++] = j;
            }
        }
        if (nu == 1 && mw[wo + used[0]] == 1f) {
            // one candidate alone (η = ∞): its own error, summed in the same order
            return errs[used[0]];
        }
        int w = F.length();
        int ub = F.loopBound(E);
        FloatVector acc = FloatVector.zero(F);
        int e = 0;
        for (; e < ub; e += w) {
            FloatVector comb = FloatVector.zero(F);
            for (int u = 0; u < nu; u++) {
                int j = used[u];
                comb = FloatVector.fromArray(F, vals, j * E + e).fma(FloatVector.broadcast(F, mw[wo + j]), comb);
            }
            acc = acc.add(comb.sub(FloatVector.fromArray(F, act, e)).abs());
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; e < E; e++) {
            float comb = 0;
            for (int u = 0; u < nu; u++) {
                int j = used[u];
                comb = Math.fma(vals[j * E + e], mw[wo + j], comb);
            }
            s += Math.abs(comb - act[e]);
        }
        return s;
    }

    // ---- the choice ---------------------------------------------------------------------------------

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

    /**
     * {@link #softmin} for every temperature in {@link #ETAS} at once, as floats into
     * mw[wo + k·stride + j]: one exponential per candidate, e = exp(−(s − s_min)/s_min), and its powers
     * for the integer temperatures (others: their own exponential).
     */
    private void softminAll(Grid g, int l, float[] mw, int wo, int stride) {
        int o = l * c;
        int arg = 0;
        for (int j = 1; j < c; j++) {
            if (g.score[o + j] < g.score[o + arg]) {
                arg = j;
            }
        }
        double min = Math.max(1e-12, g.score[o + arg]);
        double f = -1.0 / min;
        double[] e = expScratch;
        int j = 0;
        for (int ub = D.loopBound(c); j < ub; j += D.length()) {
            DoubleVector.fromArray(D, g.score, o + j).sub(min).mul(f).lanewise(VectorOperators.EXP).intoArray(e, j);
        }
        for (; j < c; j++) {
            e[j] = Math.exp((g.score[o + j] - min) * f);
        }
        for (int k = 0; k < m; k++) {
            double eta = ETAS[k];
            int wk = wo + k * stride;
            if (eta == Double.POSITIVE_INFINITY) {
                Arrays.fill(mw, wk, wk + c, 0f);
                mw[wk + arg] = 1f;
                continue;
            }
            double[] p = powScratch;
            double sum = 0;
            for (j = 0; j < c; j++) {
                double x = e[j];
                double v;
                if (eta == 1) {
                    v = x;
                } else if (eta == 3) {
                    v = x * x * x;
                } else if (eta == 10) {
                    v = pow10(x);
                } else if (eta == 30) {
                    v = pow30(x);
                } else {
                    v = Math.exp((g.score[o + j] - min) * f * eta);
                }
                p[j] = v;
                sum += v;
            }
            double inv = 1.0 / sum;
            for (j = 0; j < c; j++) {
                mw[wk + j] = (float) (p[j] * inv);
            }
        }
    }

    private static double pow10(double x) {
        double x2 = x * x;
        double x4 = x2 * x2;
        double x8 = x4 * x4;
        return x8 * x2;
    }

    private static double pow30(double x) {
        double x10 = pow10(x);
        return x10 * x10 * x10;
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
        double f = -eta / min;
        int j = 0;
        for (int ub = D.loopBound(c); j < ub; j += D.length()) {
            DoubleVector.fromArray(D, g.score, o + j).sub(min).mul(f).lanewise(VectorOperators.EXP).intoArray(w, j);
        }
        for (; j < c; j++) {
            w[j] = Math.exp((g.score[o + j] - min) * f);
        }
        double sum = 0;
        for (j = 0; j < c; j++) {
            sum += w[j];
        }
        for (j = 0; j < c; j++) {
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
        flush();
        mixWeights(h);
        if (mean != null) {
            combine(h, false, mean, mo);
        }
        if (step != null) {
            combine(h, true, step, so);
        }
    }

    /**
     * Σⱼ wⱼ·candidateⱼ per layer with the weights in mixW, normalised, into out[off..]: one pass over the
     * smoothers' state per layer (every candidate is a linear function of it, up to the per-layer
     * normalisation of the Kalman level and the trends, whose sums are taken first).
     */
    private void combine(int h, boolean single, double[] out, int off) {
        int E = experts;
        double[] cb = combBank;
        double[] cb0 = combBank0;
        double[] ct = combTrend;
        double[] ft = combTrendF;
        for (int k = 0; k < TRENDS.length; k++) {
            double phi = TRENDS[k][2];
            ft[k] = single ? damp(phi, h) : dampMean(phi, h);
        }
        // the normalisers of the layers that use them (a sum in expert order is a chain of dependent
        // additions: taken for several layers at once, one layer per lane)
        boolean needK = false;
        boolean needT0 = false;
        boolean needT1 = false;
        for (int l = 0; l < layers; l++) {
            needK |= mixW[l * c + KALMAN] > 0;
            needT0 |= mixW[l * c + TREND0] > 0;
            needT1 |= mixW[l * c + TREND0 + 1] > 0;
        }
        if (needK && kSumsAt != history.processed()) {
            positiveLayerSums(kalman.mu, null, 0, 0, kSum, 0);
            kSumsAt = history.processed();
        }
        if (needT0) {
            positiveLayerSums(hl, ht, 0, ft[0], tSum, 0);
        }
        if (needT1) {
            positiveLayerSums(hl, ht, n, ft[1], tSum, layers);
        }
        for (int l = 0; l < layers; l++) {
            int wo = l * c;
            int b = l * E;
            double cShare = mixW[wo + LAST];
            double cConst = mixW[wo + BALANCED] / E;
            double since = 1.0 / (t - epochStart[l]);
            double cCum = mixW[wo + MEAN_ALL] / t + mixW[wo + MEAN_SINCE] * since;
            double cStart = -mixW[wo + MEAN_SINCE] * since;
            for (int k = 0; k < NB; k++) {
                cb[k] = 0;
                cb0[k] = 0;
                double w = mixW[wo + BANK0 + k];
                if (wsum[k] > 0) {
                    cb[k] += w / wsum[k];
                } else {
                    cShare += w;
                }
                if (k == 0) {
                    continue;
                }
                double wr = mixW[wo + RESTART0 + k - 1];
                double dc = decayNow[k * layers + l];
                double wR = wsum[k] - dc * wsum0[k * layers + l];
                if (wR > 0) {
                    cb[k] += wr / wR;
                    cb0[k] -= wr * dc / wR;
                } else {
                    cShare += wr;
                }
            }
            // the normalised candidates: their layer sums first (values that are not positive count 0)
            double cK = 0;
            double wk = mixW[wo + KALMAN];
            if (wk > 0) {
                double sk = kSum[l];
                if (sk > 0) {
                    cK = wk / sk;
                } else {
                    cConst += wk / E;
                }
            }
            for (int k = 0; k < TRENDS.length; k++) {
                ct[k] = 0;
                double wt = mixW[wo + TREND0 + k];
                if (wt > 0) {
                    double st = tSum[k * layers + l];
                    if (st > 0) {
                        ct[k] = wt / st;
                    } else {
                        cConst += wt / E;
                    }
                }
            }
            int e = 0;
            if (FD.length() == D.length()) {
                for (int ub = D.loopBound(E); e < ub; e += D.length()) {
                    int i = b + e;
                    DoubleVector acc = DoubleVector.broadcast(D, cConst);
                    acc = DoubleVector.fromArray(D, share, i).fma(DoubleVector.broadcast(D, cShare), acc);
                    acc = DoubleVector.fromArray(D, cum, i).fma(DoubleVector.broadcast(D, cCum), acc);
                    acc = DoubleVector.fromArray(D, cumStart, i).fma(DoubleVector.broadcast(D, cStart), acc);
                    for (int k = 0; k < NB; k++) {
                        acc = widen(bank, k * n + i).fma(DoubleVector.broadcast(D, cb[k]), acc);
                        if (k > 0) {
                            acc = widen(bank0, k * n + i).fma(DoubleVector.broadcast(D, cb0[k]), acc);
                        }
                    }
                    if (cK != 0) {
                        acc = positive(widen(kalman.mu, i)).fma(DoubleVector.broadcast(D, cK), acc);
                    }
                    for (int k = 0; k < TRENDS.length; k++) {
                        if (ct[k] != 0) {
                            acc = positive(widen(ht, k * n + i).fma(DoubleVector.broadcast(D, ft[k]), widen(hl, k * n + i))).fma(DoubleVector.broadcast(D, ct[k]), acc);
                        }
                    }
                    acc.intoArray(out, off + i);
                }
            }
            for (; e < E; e++) {
                int i = b + e;
                double acc = cConst + cShare * share[i] + cCum * cum[i] + cStart * cumStart[i];
                for (int k = 0; k < NB; k++) {
                    acc += cb[k] * bank[k * n + i];
                    if (k > 0) {
                        acc += cb0[k] * bank0[k * n + i];
                    }
                }
                if (cK != 0) {
                    float v = kalman.mu[i];
                    acc += cK * (v > 0 ? v : 0);
                }
                for (int k = 0; k < TRENDS.length; k++) {
                    if (ct[k] != 0) {
                        double v = hl[k * n + i] + ft[k] * ht[k * n + i];
                        acc += ct[k] * (v > 0 ? v : 0);
                    }
                }
                out[off + i] = acc;
            }
        }
        normalize(out, off, layers, experts);
    }

    /**
     * For every layer l, into out[oo + l]: Σₑ max(0, a[o + l·E + e] + f·t[o + l·E + e]) (t may be null),
     * in double, added in expert order e = 0, 1, … as one running sum (values that are not positive
     * count 0): per layer the same additions as a plain loop, four layers at a time.
     */
    private void positiveLayerSums(float[] a, float[] t, int o, double f, double[] out, int oo) {
        int E = experts;
        int l = 0;
        // four independent running sums (four layers) in flight: the adds overlap instead of waiting
        // on each other, each layer's sum still added in expert order
        for (; l + 4 <= layers; l += 4) {
            int b0 = o + l * E;
            int b1 = b0 + E;
            int b2 = b1 + E;
            int b3 = b2 + E;
            double s0 = 0;
            double s1 = 0;
            double s2 = 0;
            double s3 = 0;
            if (t == null) {
                for (int e = 0; e < E; e++) {
                    double v0 = a[b0 + e];
                    double v1 = a[b1 + e];
                    double v2 = a[b2 + e];
                    double v3 = a[b3 + e];
                    s0 += v0 > 0 ? v0 : 0;
                    s1 += v1 > 0 ? v1 : 0;
                    s2 += v2 > 0 ? v2 : 0;
                    s3 += v3 > 0 ? v3 : 0;
                }
            } else {
                for (int e = 0; e < E; e++) {
                    double v0 = a[b0 + e] + f * t[b0 + e];
                    double v1 = a[b1 + e] + f * t[b1 + e];
                    double v2 = a[b2 + e] + f * t[b2 + e];
                    double v3 = a[b3 + e] + f * t[b3 + e];
                    s0 += v0 > 0 ? v0 : 0;
                    s1 += v1 > 0 ? v1 : 0;
                    s2 += v2 > 0 ? v2 : 0;
                    s3 += v3 > 0 ? v3 : 0;
                }
            }
            out[oo + l] = s0;
            out[oo + l + 1] = s1;
            out[oo + l + 2] = s2;
            out[oo + l + 3] = s3;
        }
        for (; l < layers; l++) {
            int b = o + l * E;
            double s = 0;
            for (int e = 0; e < E; e++) {
                double v = t == null ? a[b + e] : a[b + e] + f * t[b + e];
                s += v > 0 ? v : 0;
            }
            out[oo + l] = s;
        }
    }

    /** Eight (one double vector's worth of) floats widened to doubles. */
    private static DoubleVector widen(float[] a, int at) {
        return (DoubleVector) FloatVector.fromArray(FD, a, at).convertShape(VectorOperators.F2D, D, 0);
    }

    /** x where x > 0, else 0 (NaN too), as {@link AbstractPredictor#normalize} counts them. */
    private static DoubleVector positive(DoubleVector x) {
        return DoubleVector.zero(D).blend(x, x.compare(VectorOperators.GT, 0.0));
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
        flush();
        mixWeights(horizon);
        for (int k = 1; k <= horizon; k++) {
            combine(k, true, path, (k - 1) * n);
        }
    }

    @Override
    protected void horizons(int[] horizons, double[] means, double[] steps) {
        for (int hj = 0; hj < horizons.length; hj++) {
            mix(horizons[hj], means, hj * n, steps, hj * n);
        }
    }

    /** Candidate j's horizon-mean forecast over h steps now, every layer (for tests). */
    void candidateNow(int j, int h, double[] out) {
        flush();
        for (int l = 0; l < layers; l++) {
            candidate(j, l, h, false, out, 0);
        }
    }

    /** Expert k of the sample with offset off (for tests). */
    int sampledExpert(int off, int k) {
        return sampled(off, k);
    }

    /** Number of candidates (for tests). */
    static int candidates() {
        return C;
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
        history.reset();
        kalman.reset();
        Arrays.fill(bank, 0);
        Arrays.fill(bank0, 0);
        Arrays.fill(wsum, 0);
        Arrays.fill(wsum0, 0);
        Arrays.fill(cumStart, 0);
        Arrays.fill(hl, 0);
        Arrays.fill(ht, 0);
        Arrays.fill(seenEpoch, 0);
        Arrays.fill(epochStart, 0);
        Arrays.fill(decayNow, 1.0);
        sumsAt = -1;
        kSumsAt = -1;
        t = 0;
        for (Grid g : grids) {
            g.clear();
        }
    }
}

package io.moecast.predict.eval;

import io.moecast.analysis.LoadState;
import io.moecast.analysis.OnlineStateDetector;
import io.moecast.predict.AbstractPredictor;
import io.moecast.predict.Predictor;
import io.moecast.predict.PredictorContext;
import io.moecast.predict.PredictorSpec;
import io.moecast.predict.Predictors;
import io.moecast.trace.LoadTrace;
import io.moecast.util.Progress;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Walk-forward (rolling-origin) evaluation of predictors on one trace, as the source paper's "sliding
 * way": each predictor is fed the trace step by step; after step t (every {@code stride}-th step from
 * {@code warmup} on) it forecasts each horizon h with t+h inside the trace, and the forecasts are scored
 * against what happened ({@link Metrics}). Errors are kept per horizon, per MoE layer and per state of
 * that layer at the forecast origin, as the online detector saw it from steps ≤ t.
 *
 * <p>The <b>hindsight</b> row is {@code sw-avg} with, for each horizon and state, the window from
 * {@link #HINDSIGHT_WINDOWS} that has the lowest horizon-mean L1 error on exactly the scored origins: a
 * reference no real predictor can reach, since it picks its window after seeing the answers.
 */
public final class Evaluation {
    public static final int[] HINDSIGHT_WINDOWS = {10, 20, 50, 100, 200, 500, 1000, 2000};
    public static final int TRANSIENT = 0;
    public static final int STABLE = 1;

    /**
     * @param horizons     forecast horizons (steps)
     * @param stride       forecast every stride-th step
     * @param warmup       steps observed before the first forecast (≥ 1)
     * @param hindsight    compute the hindsight row
     * @param threads      predictors evaluated in parallel
     * @param chartHorizon horizon of the forecast-vs-actual series (0: none)
     */
    public record Config(int[] horizons, int stride, int warmup, boolean hindsight, int threads, int chartHorizon) {
        public Config {
            horizons = horizons.clone();
            if (horizons.length == 0) {
                throw new IllegalArgumentException("no horizons");
            }
            for (int h : horizons) {
                if (h < 1) {
                    throw new IllegalArgumentException("horizon must be >= 1: " + h);
                }
            }
            if (stride < 1 || warmup < 1 || threads < 1) {
                throw new IllegalArgumentException("stride, warmup and threads must be >= 1");
            }
        }

        public static Config defaults(int[] horizons) {
            return new Config(horizons, 1, 1, true, Math.max(1, Runtime.getRuntime().availableProcessors()), 0);
        }
    }

    /** One predictor's results: metrics[horizon][layer][state], timing, and the chart series. */
    public static final class Run {
        public final String spec;
        public final String name;
        public final boolean hidden;
        final Metrics[][][] cells;
        public long observeNanos;
        public long forecastNanos;
        public long steps;
        public long forecastCalls;
        public long setupNanos;
        /** forecast at the chart horizon of each chart expert, per origin (NaN where none). */
        public float[][] chart;
        public String note;

        Run(String spec, String name, boolean hidden, int horizons, int layers, int experts) {
            this.spec = spec;
            this.name = name;
            this.hidden = hidden;
            this.cells = new Metrics[horizons][layers][2];
            for (Metrics[][] a : cells) {
                for (Metrics[] b : a) {
                    b[0] = new Metrics(experts);
                    b[1] = new Metrics(experts);
                }
            }
        }

        /** Pooled over layers; state TRANSIENT, STABLE, or −1 for both. */
        public Metrics metrics(int horizonIndex, int state) {
            Metrics m = new Metrics(cells[0][0][0].experts);
            for (Metrics[] layer : cells[horizonIndex]) {
                if (state < 0 || state == TRANSIENT) {
                    m.add(layer[TRANSIENT]);
                }
                if (state < 0 || state == STABLE) {
                    m.add(layer[STABLE]);
                }
            }
            return m;
        }

        public Metrics metrics(int horizonIndex, int layer, int state) {
            Metrics m = new Metrics(cells[0][0][0].experts);
            Metrics[] c = cells[horizonIndex][layer];
            if (state < 0 || state == TRANSIENT) {
                m.add(c[TRANSIENT]);
            }
            if (state < 0 || state == STABLE) {
                m.add(c[STABLE]);
            }
            return m;
        }
    }

    /** The whole evaluation. */
    public static final class Result {
        public final LoadTrace trace;
        public final Config config;
        public final boolean hasStates;
        /** state[t·layers + l] at origin t (TRANSIENT/STABLE). */
        public final byte[] states;
        public final List<Run> runs;
        /** hindsight window per horizon index and state (index 0, 1; 2 = all), or 0. */
        public final int[][] hindsightWindow;
        public final Run[][] hindsightRun;
        public final int chartLayer;
        public final int[] chartExperts;
        public final double[][] chartActual;
        public final double seconds;
        /** wall time of the walk forward alone (after every predictor was created and trained) */
        public double walkSeconds;

        Result(LoadTrace trace, Config config, boolean hasStates, byte[] states, List<Run> runs, int[][] hw, Run[][] hr,
               int chartLayer, int[] chartExperts, double[][] chartActual, double seconds) {
            this.trace = trace;
            this.config = config;
            this.hasStates = hasStates;
            this.states = states;
            this.runs = runs;
            this.hindsightWindow = hw;
            this.hindsightRun = hr;
            this.chartLayer = chartLayer;
            this.chartExperts = chartExperts;
            this.chartActual = chartActual;
            this.seconds = seconds;
        }

        public List<Run> visibleRuns() {
            return runs.stream().filter(r -> !r.hidden).toList();
        }

        /** The hindsight metrics for a horizon index and state (−1 = all). */
        public Metrics hindsight(int hi, int state) {
            Run r = hindsightRun[hi][state < 0 ? 2 : state];
            return r == null ? null : r.metrics(hi, state);
        }
    }

    private Evaluation() {
    }

    /**
     * Evaluates predictors on a trace.
     *
     * @param specs     predictor specs (created through {@link Predictors} with {@code ctx})
     * @param detectors the online state detector for the origin states, or null (one state)
     */
    public static Result run(LoadTrace trace, List<PredictorSpec> specs, PredictorContext ctx,
                             Supplier<OnlineStateDetector> detectors, Config cfg) {
        long t0 = System.nanoTime();
        int steps = trace.steps();
        int layers = trace.layers();
        int experts = trace.experts();
        int n = layers * experts;
        double[] shares = new double[(long) steps * n > Integer.MAX_VALUE ? failSize() : steps * n];
        int[] counts = trace.counts();
        double[] cum = new double[(steps + 1) * n];
        double[] row = new double[n];
        int[] step = new int[n];
        for (int t = 0; t < steps; t++) {
            System.arraycopy(counts, t * n, step, 0, n);
            AbstractPredictor.shares(step, row, layers, experts);
            System.arraycopy(row, 0, shares, t * n, n);
            for (int i = 0; i < n; i++) {
                cum[(t + 1) * n + i] = cum[t * n + i] + row[i];
            }
        }
        byte[] states = new byte[steps * layers];
        boolean hasStates = detectors != null;
        if (hasStates) {
            OnlineStateDetector d = detectors.get();
            for (int t = 0; t < steps; t++) {
                System.arraycopy(counts, t * n, step, 0, n);
                d.observe(trace.firstStep() + t, step);
                for (int l = 0; l < layers; l++) {
                    states[t * layers + l] = (byte) (d.state(l) == LoadState.STABLE ? STABLE : TRANSIENT);
                }
            }
        }
        // chart: the most volatile layer (largest mean squared step-to-step change of its shares) and
        // its three experts with the widest range of the chart-horizon mean
        int chartLayer = 0;
        int[] chartExperts = new int[0];
        double[][] chartActual = new double[0][];
        int hc = cfg.chartHorizon();
        if (hc > 0 && hc < steps) {
            double best = -1;
            for (int l = 0; l < layers; l++) {
                double v = 0;
                for (int t = 1; t < steps; t++) {
                    for (int e = 0; e < experts; e++) {
                        double d = shares[t * n + l * experts + e] - shares[(t - 1) * n + l * experts + e];
                        v += d * d;
                    }
                }
                if (v > best) {
                    best = v;
                    chartLayer = l;
                }
            }
            double[] range = new double[experts];
            double[][] act = new double[experts][steps];
            for (int e = 0; e < experts; e++) {
                int i = chartLayer * experts + e;
                double lo = Double.POSITIVE_INFINITY;
                double hi = Double.NEGATIVE_INFINITY;
                for (int t = 0; t < steps; t++) {
                    if (t + hc <= steps - 1) {
                        double a = (cum[(t + 1 + hc) * n + i] - cum[(t + 1) * n + i]) / hc;
                        act[e][t] = a;
                        lo = Math.min(lo, a);
                        hi = Math.max(hi, a);
                    } else {
                        act[e][t] = Double.NaN;
                    }
                }
                range[e] = hi - lo;
            }
            Integer[] order = new Integer[experts];
            for (int e = 0; e < experts; e++) {
                order[e] = e;
            }
            Arrays.sort(order, (a, b) -> Double.compare(range[b], range[a]) != 0 ? Double.compare(range[b], range[a]) : Integer.compare(a, b));
            int k = Math.min(2, experts);
            chartExperts = new int[k];
            chartActual = new double[k][];
            for (int j = 0; j < k; j++) {
                chartExperts[j] = order[j];
                chartActual[j] = act[order[j]];
            }
        }
        // jobs: the given predictors, then the hidden hindsight windows
        List<Run> runs = new ArrayList<>();
        List<PredictorSpec> all = new ArrayList<>(specs);
        for (PredictorSpec s : specs) {
            runs.add(new Run(s.text(), s.name(), false, cfg.horizons().length, layers, experts));
        }
        if (cfg.hindsight()) {
            for (int w : HINDSIGHT_WINDOWS) {
                PredictorSpec s = PredictorSpec.parse("sw-avg:window=" + w);
                all.add(s);
                runs.add(new Run(s.text(), "sw-avg", true, cfg.horizons().length, layers, experts));
            }
        }
        int[] chartExp = chartExperts;
        int chartL = chartLayer;
        long work = (long) all.size() * steps;
        long[] walkNanos = new long[1];
        AtomicLong done = new AtomicLong();
        try (Progress progress = Progress.start("evaluate", work)) {
            ExecutorService pool = Executors.newFixedThreadPool(Math.min(cfg.threads(), all.size()), r -> {
                Thread th = new Thread(r, "evaluate");
                th.setDaemon(true);
                return th;
            });
            try {
                // phase 1: create (and train) every predictor; phase 2: the walk forward
                Predictor[] made = new Predictor[all.size()];
                List<Future<?>> fs = new ArrayList<>();
                for (int j = 0; j < all.size(); j++) {
                    PredictorSpec spec = all.get(j);
                    Run run = runs.get(j);
                    int jj = j;
                    fs.add(pool.submit(() -> {
                        long s0 = System.nanoTime();
                        made[jj] = Predictors.create(spec, ctx);
                        run.setupNanos = System.nanoTime() - s0;
                        return null;
                    }));
                }
                join(fs);
                fs.clear();
                long w0 = System.nanoTime();
                for (int j = 0; j < all.size(); j++) {
                    Predictor p = made[j];
                    Run run = runs.get(j);
                    fs.add(pool.submit(() -> {
                        evaluateOne(trace, p, cfg, shares, cum, states, run, chartL, chartExp, done, progress);
                        return null;
                    }));
                }
                join(fs);
                walkNanos[0] = System.nanoTime() - w0;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } finally {
                pool.shutdownNow();
            }
        }
        // hindsight: per horizon and state, the window with the lowest horizon-mean L1
        int H = cfg.horizons().length;
        int[][] hw = new int[H][3];
        Run[][] hr = new Run[H][3];
        if (cfg.hindsight()) {
            List<Run> hidden = runs.stream().filter(r -> r.hidden).toList();
            for (int hi = 0; hi < H; hi++) {
                for (int st = 0; st < 3; st++) {
                    double best = Double.POSITIVE_INFINITY;
                    for (int j = 0; j < hidden.size(); j++) {
                        Metrics m = hidden.get(j).metrics(hi, st == 2 ? -1 : st);
                        if (m.origins() > 0 && m.l1Mean() < best) {
                            best = m.l1Mean();
                            hw[hi][st] = HINDSIGHT_WINDOWS[j];
                            hr[hi][st] = hidden.get(j);
                        }
                    }
                }
            }
        }
        Result res = new Result(trace, cfg, hasStates, states, runs, hw, hr, chartLayer, chartExperts, chartActual,
                (System.nanoTime() - t0) / 1e9);
        res.walkSeconds = walkNanos[0] / 1e9;
        return res;
    }

    private static void join(List<Future<?>> fs) throws InterruptedException {
        for (Future<?> f : fs) {
            try {
                f.get();
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                if (c instanceof Error er) {
                    throw er;
                }
                throw new IllegalStateException(c);
            }
        }
    }

    private static int failSize() {
        throw new IllegalArgumentException("trace too large to evaluate in memory");
    }

    private static void evaluateOne(LoadTrace trace, Predictor p, Config cfg,
                                    double[] shares, double[] cum, byte[] states, Run run, int chartLayer,
                                    int[] chartExperts, AtomicLong done, Progress progress) {
        int steps = trace.steps();
        int layers = trace.layers();
        int experts = trace.experts();
        int n = layers * experts;
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        boolean cpu = mx.isCurrentThreadCpuTimeSupported();
        int[] hAll = cfg.horizons();
        int H = hAll.length;
        double[] means = new double[H * n];
        double[] uppers = new double[H * n];
        double[] stepF = new double[H * n];
        int[] counts = trace.counts();
        int[] row = new int[n];
        double relFloor = 1.0 / (10.0 * experts);
        int chartIdx = -1;
        for (int j = 0; j < H; j++) {
            if (hAll[j] == cfg.chartHorizon()) {
                chartIdx = j;
            }
        }
        if (chartIdx >= 0 && chartExperts.length > 0) {
            run.chart = new float[chartExperts.length][steps];
            for (float[] c : run.chart) {
                Arrays.fill(c, Float.NaN);
            }
        }
        int[][] valid = new int[H + 1][];
        for (int k = 0; k <= H; k++) {
            valid[k] = null;
        }
        for (int t = 0; t < steps; t++) {
            System.arraycopy(counts, t * n, row, 0, n);
            long a = cpu ? mx.getCurrentThreadCpuTime() : System.nanoTime();
            p.observe(trace.firstStep() + t, row);
            run.observeNanos += (cpu ? mx.getCurrentThreadCpuTime() : System.nanoTime()) - a;
            run.steps++;
            if ((t & 63) == 63) {
                progress.set(done.addAndGet(64));
            }
            int seen = t + 1;
            if (seen < cfg.warmup() || (seen - cfg.warmup()) % cfg.stride() != 0) {
                continue;
            }
            int nv = 0;
            for (int h : hAll) {
                if (t + h <= steps - 1) {
                    nv++;
                }
            }
            if (nv == 0) {
                continue;
            }
            int[] hs = valid[nv];
            if (hs == null) {
                hs = new int[nv];
                int[] idx = new int[nv];
                for (int j = 0, k = 0; j < H; j++) {
                    if (t + hAll[j] <= steps - 1) {
                        idx[k++] = j;
                    }
                }
                for (int k = 0; k < nv; k++) {
                    hs[k] = hAll[idx[k]];
                }
                valid[nv] = hs;
            }
            a = cpu ? mx.getCurrentThreadCpuTime() : System.nanoTime();
            p.forecastHorizons(hs, means, uppers, stepF);
            run.forecastNanos += (cpu ? mx.getCurrentThreadCpuTime() : System.nanoTime()) - a;
            run.forecastCalls++;
            for (int k = 0; k < nv; k++) {
                int h = hs[k];
                int hi = indexOf(hAll, h);
                int mo = k * n;
                int a0 = (t + 1) * n;
                int a1 = (t + 1 + h) * n;
                int so = (t + h) * n;
                double invH = 1.0 / h;
                for (int l = 0; l < layers; l++) {
                    Metrics m = run.cells[hi][l][states[t * layers + l]];
                    double l1m = 0;
                    double l1s = 0;
                    for (int e = 0; e < experts; e++) {
                        int i = l * experts + e;
                        double act = (cum[a1 + i] - cum[a0 + i]) * invH;
                        double dm = Math.abs(means[mo + i] - act);
                        double ax = shares[so + i];
                        double ds = Math.abs(stepF[mo + i] - ax);
                        l1m += dm;
                        l1s += ds;
                        if (act >= relFloor) {
                            m.relMean += dm / act;
                            m.relMeanN++;
                        }
                        if (ax >= relFloor) {
                            m.relStep += ds / ax;
                            m.relStepN++;
                        }
                        if (act <= uppers[mo + i]) {
                            m.covHit++;
                        }
                        m.covN++;
                        m.headroom += uppers[mo + i] - means[mo + i];
                    }
                    m.origins++;
                    m.l1Mean += l1m;
                    m.l1Step += l1s;
                }
                if (hi == chartIdx && run.chart != null) {
                    for (int j = 0; j < chartExperts.length; j++) {
                        run.chart[j][t] = (float) means[mo + chartLayer * experts + chartExperts[j]];
                    }
                }
            }
        }
        progress.set(done.addAndGet(steps & 63));
        if (p instanceof io.moecast.predict.Noted d) {
            run.note = d.note();
        }
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }
}

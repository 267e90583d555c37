package io.moecast.placement;

import io.moecast.analysis.LoadState;
import io.moecast.analysis.OnlineStateDetector;
import io.moecast.predict.Predictor;
import io.moecast.predict.Predictors;
import io.moecast.trace.TraceReader;
import io.moecast.util.Progress;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Walks through a load trace the way an engine would re-place experts, for several strategies side
 * by side, and scores every placement on the loads that actually came.
 *
 * <p><b>Time line.</b> The trace is cut into scoring windows of {@code window} steps. Window 0 is
 * warm-up: every predictor observes it, nothing is scored. At the start of window 1 every strategy
 * gets the same initial placement, planned on the sum of window 0 (this is also the <em>static</em>
 * strategy, which never re-plans). From then on a strategy re-plans at the steps of its own schedule
 * ({@code (s − offset) % cadence == 0}); a re-plan at step s uses only steps &lt; s (the predictor's
 * forecast of the mean share over the next {@code cadence} steps), except the <em>oracle</em>, which
 * plans on the realised sum of the window that starts at s.
 *
 * <p><b>Scoring</b> (vLLM's and the ADRS/OpenEvolve evaluator's measure). In each window, each
 * layer's per-GPU load is the realised token count of its slots under EPLB's even split across
 * replicas, summed over the window's steps with whatever placement was in force at each step. The
 * window's balancedness is Σ_layers mean GPU load / Σ_layers max GPU load; per-layer max/mean is kept
 * too. A window is <em>transient</em> or <em>stable</em> by the online state detector's model state
 * at the window's start (steps before it only). Experts moved are counted at every re-plan
 * ({@link PlacementMetrics#moves}).
 *
 * <p>Memory: one window of counts ({@code window × layers × experts} ints) plus O(layers × experts)
 * per strategy; the trace is streamed.
 */
public final class PlacementSimulation {

    /** Where a strategy's load estimate comes from. */
    public enum Source {
        /** Plans once, at the start of window 1, on window 0's sum; never re-plans. */
        STATIC,
        /** A {@link Predictor}'s forecast. */
        PREDICTOR,
        /** The realised sum of the coming window (needs cadence == window, offset 0). */
        ORACLE
    }

    /** One row of the comparison. */
    public record Strategy(String name, String description, Source source, Predictor predictor, int cadence,
                           int offset, boolean migration) {
        public Strategy {
            if (cadence < 1) {
                throw new IllegalArgumentException(name + ": cadence must be at least 1, got " + cadence);
            }
            if (source == Source.PREDICTOR && predictor == null) {
                throw new IllegalArgumentException(name + ": a predictor is needed");
            }
        }

        boolean replansAt(long s) {
            return source != Source.STATIC && s >= offset && (s - offset) % cadence == 0;
        }
    }

    /**
     * The standard comparison, as {@code moecast place} and {@code moecast run} show it: at the config's
     * cadence the static initial placement, the engines' load estimates (last-window sum of 1000 steps as
     * vLLM/SGLang, EMA 0.9 as MindSpeed), each predictor with a full re-plan and migration-aware, the
     * oracle; then, when {@code engineCadence}, the engines at their own cadences.
     */
    public static List<Strategy> standardStrategies(Config cfg, List<String> predictors, int layers, int experts,
                                                    boolean engineCadence) {
        int n = cfg.window();
        List<Strategy> rows = new ArrayList<>();
        rows.add(new Strategy("static", "initial placement (EPLB on the first window), never re-planned",
                Source.STATIC, null, n, 0, false));
        rows.add(new Strategy("last-window-sum", "vLLM/SGLang estimate: tokens of the last 1000 steps summed",
                Source.PREDICTOR, Predictors.create("last-window-sum:window=1000", layers, experts), n, 0, false));
        rows.add(new Strategy("ema", "MindSpeed estimate: m <- 0.9 m + 0.1 x",
                Source.PREDICTOR, Predictors.create("ema:beta=0.9", layers, experts), n, 0, false));
        for (String p : predictors) {
            rows.add(new Strategy(p, "predictor " + p + ": full re-plan", Source.PREDICTOR,
                    Predictors.create(p, layers, experts), n, 0, false));
        }
        for (String p : predictors) {
            rows.add(new Strategy(p + " +migration", "predictor " + p + ": migration-aware re-plan (threshold "
                    + cfg.migrationThreshold() + ", at most " + cfg.maxMoves() + " moves per layer)",
                    Source.PREDICTOR, Predictors.create(p, layers, experts), n, 0, true));
        }
        rows.add(new Strategy("oracle", "the realised loads of the coming window", Source.ORACLE, null, n, 0, false));
        if (engineCadence) {
            rows.add(new Strategy("vLLM", "vLLM EPLB defaults: 1000-step summed window, re-plan every 3000 steps (first after 750)",
                    Source.PREDICTOR, Predictors.create("last-window-sum:window=1000", layers, experts), 3000, 750, false));
            rows.add(new Strategy("SGLang", "SGLang defaults: 1000-pass summed window, re-plan every 1000 passes",
                    Source.PREDICTOR, Predictors.create("last-window-sum:window=1000", layers, experts), 1000, 0, false));
            rows.add(new Strategy("MindSpeed", "MindSpeed defaults: EMA 0.9, re-place every 50 iterations",
                    Source.PREDICTOR, Predictors.create("ema:beta=0.9", layers, experts), 50, 0, false));
        }
        return rows;
    }

    /** The planning setup shared by every strategy. */
    public record Config(int gpus, int redundant, int nodes, int groups, int window, String planner,
                         double trigger, double migrationThreshold, int maxMoves) {
        public Config {
            if (window < 1) {
                throw new IllegalArgumentException("re-plan window must be at least 1 step, got " + window);
            }
            if (!planner.equals("eplb") && !planner.equals("lpt")) {
                throw new IllegalArgumentException("planner must be eplb or lpt, got " + planner);
            }
        }

        public PlacementShape shape(int layers, int experts) {
            return PlacementShape.of(layers, experts, redundant, gpus, nodes, groups);
        }
    }

    /** Per-strategy outcome: one entry per scored window, plus totals. */
    public static final class Outcome {
        public final Strategy strategy;
        public final List<long[]> windows = new ArrayList<>(); // [start step]
        public final double[][] perWindow;   // filled at the end: [window][balancedness, maxOverMean]
        final List<double[]> rows = new ArrayList<>();
        final List<double[]> layerBal = new ArrayList<>();
        final List<LoadState> states = new ArrayList<>();
        final List<Integer> movesPerWindow = new ArrayList<>();
        public int replans;
        public long moves;
        public long planNanos;
        public long skippedLayers;
        public final Placement placement;

        Outcome(Strategy s, PlacementShape shape, int maxWindows) {
            this.strategy = s;
            this.perWindow = null;
            this.placement = new Placement(shape);
        }

        public int windowCount() {
            return rows.size();
        }

        public long windowStart(int w) {
            return windows.get(w)[0];
        }

        /** Window balancedness (Σ mean / Σ max). */
        public double balancedness(int w) {
            return rows.get(w)[0];
        }

        /** Mean over layers of max/mean in the window. */
        public double maxOverMean(int w) {
            return rows.get(w)[1];
        }

        public double layerBalancedness(int w, int layer) {
            return layerBal.get(w)[layer];
        }

        public LoadState state(int w) {
            return states.get(w);
        }

        public int moves(int w) {
            return movesPerWindow.get(w);
        }

        /** Summary over the windows in a state (null = all windows). */
        public Summary summary(LoadState state) {
            int n = 0;
            double bal = 0;
            double mm = 0;
            double worst = Double.POSITIVE_INFINITY;
            long mv = 0;
            int layers = layerBal.isEmpty() ? 0 : layerBal.getFirst().length;
            double[] perLayer = new double[layers];
            for (int w = 0; w < rows.size(); w++) {
                if (state != null && states.get(w) != state) {
                    continue;
                }
                n++;
                bal += rows.get(w)[0];
                mm += rows.get(w)[1];
                worst = Math.min(worst, rows.get(w)[0]);
                mv += movesPerWindow.get(w);
                for (int l = 0; l < layers; l++) {
                    perLayer[l] += layerBal.get(w)[l];
                }
            }
            if (n == 0) {
                return new Summary(0, Double.NaN, Double.NaN, Double.NaN, 0, new double[0]);
            }
            for (int l = 0; l < layers; l++) {
                perLayer[l] /= n;
            }
            return new Summary(n, bal / n, mm / n, worst, mv, perLayer);
        }
    }

    /** Means over windows: balancedness, per-layer max/mean, the worst window, moves, per-layer balancedness. */
    public record Summary(int windows, double balancedness, double maxOverMean, double worstBalancedness, long moves,
                          double[] layerBalancedness) {
    }

    private final Config config;

    public PlacementSimulation(Config config) {
        this.config = config;
    }

    public Config config() {
        return config;
    }

    /** Per-strategy working state. */
    private final class Runner {
        final Outcome out;
        final Strategy s;
        final PlacementShape shape;
        final Planner planner;
        final MigrationAwarePlanner migration;
        final ReplanTrigger trigger;
        final Placement next;
        final double[] fc;
        final long[] seg;
        final double[] segD;
        final double[] gpuAcc;
        final double[] gpu;
        final int[] scratch;
        boolean segEmpty = true;
        int windowMoves;

        Runner(Strategy s, PlacementShape shape) {
            this.s = s;
            this.shape = shape;
            this.out = new Outcome(s, shape, 0);
            this.planner = config.planner().equals("lpt") ? new LptPlanner(shape) : new EplbPlanner(shape);
            this.migration = s.migration() ? new MigrationAwarePlanner(shape, config.migrationThreshold(),
                    config.maxMoves() > 0 ? config.maxMoves() : MigrationAwarePlanner.defaultMaxMoves(shape)) : null;
            this.trigger = config.trigger() > 0 ? new ReplanTrigger(shape, config.trigger()) : null;
            this.next = new Placement(shape);
            int n = shape.layers() * shape.experts();
            this.fc = new double[n];
            this.seg = new long[n];
            this.segD = new double[n];
            this.gpuAcc = new double[shape.layers() * shape.gpus()];
            this.gpu = new double[shape.gpus()];
            this.scratch = new int[shape.gpus() * shape.experts()];
        }

        void flush() {
            if (segEmpty) {
                return;
            }
            int E = shape.experts();
            int G = shape.gpus();
            for (int i = 0; i < seg.length; i++) {
                segD[i] = seg[i];
            }
            for (int l = 0; l < shape.layers(); l++) {
                out.placement.gpuLoads(l, segD, l * E, gpu);
                for (int g = 0; g < G; g++) {
                    gpuAcc[l * G + g] += gpu[g];
                }
            }
            Arrays.fill(seg, 0);
            segEmpty = true;
        }

        /** Re-plans on fc (shares or tokens per layer) and counts moves. */
        void replan() {
            int E = shape.experts();
            for (int i = 0; i < fc.length; i++) {
                double v = fc[i];
                if (Double.isNaN(v) || Double.isInfinite(v)) {
                    throw new IllegalStateException(s.name() + ": forecast value " + v + " at layer " + i / E
                            + " expert " + i % E);
                }
                if (v < 0) {
                    fc[i] = 0; // forecasts may dip below zero (ARIMA); a load is never negative
                }
            }
            out.replans++;
            for (int l = 0; l < shape.layers(); l++) {
                if (trigger != null && !trigger.shouldReplan(out.placement, l, fc, l * E)) {
                    out.skippedLayers++;
                    continue;
                }
                if (migration != null) {
                    migration.planLayer(l, fc, l * E, out.placement);
                    windowMoves += migration.lastMoves(l);
                } else {
                    planner.planLayer(l, fc, l * E, next);
                    windowMoves += PlacementMetrics.moves(out.placement, next, l, scratch);
                    out.placement.copyLayer(next, l);
                }
            }
        }
    }

    /**
     * Runs every strategy over the trace. Each strategy's predictor must be fresh (nothing observed).
     *
     * @param detector online state detector, or null (every window then counts as {@link LoadState#STABLE}
     *                 is not assumed: windows get state null and only the "all" summary is meaningful)
     */
    public List<Outcome> run(TraceReader reader, List<Strategy> strategies, OnlineStateDetector detector) throws IOException {
        int L = reader.layers();
        int E = reader.experts();
        int N = config.window();
        PlacementShape shape = config.shape(L, E);
        for (Strategy s : strategies) {
            if (s.source() == Source.ORACLE && (s.cadence() != N || s.offset() % N != 0)) {
                throw new IllegalArgumentException("the oracle re-plans at the scoring window (" + N + " steps)");
            }
            if (s.predictor() != null && (s.predictor().layers() != L || s.predictor().experts() != E)) {
                throw new IllegalArgumentException(s.name() + ": predictor shape does not match the trace");
            }
        }
        List<Runner> runners = new ArrayList<>();
        for (Strategy s : strategies) {
            runners.add(new Runner(s, shape));
        }
        int n = L * E;
        int[] buf = new int[N * n];
        long[] winSum = new long[n];
        double[] winSumD = new double[n];
        long first = reader.firstStep();
        long total = reader.steps();
        try (Progress progress = Progress.start("place", total > 0 ? total : 0)) {
            // window 0: warm-up
            int got = readWindow(reader, buf, N, n);
            if (got < N) {
                throw new IllegalArgumentException("the trace has " + got + " steps; the simulation needs more than one re-plan window ("
                        + N + " steps)");
            }
            sum(buf, got, n, winSum);
            for (int k = 0; k < got; k++) {
                long step = first + k;
                int off = k * n;
                int[] counts = Arrays.copyOfRange(buf, off, off + n);
                if (detector != null) {
                    detector.observe(step, counts);
                }
                for (Runner r : runners) {
                    if (r.s.predictor() != null) {
                        r.s.predictor().observe(step, counts);
                    }
                }
            }
            progress.step(got);
            // the shared initial placement: planned on window 0's sum
            Placement initial = new Placement(shape);
            for (int i = 0; i < n; i++) {
                winSumD[i] = winSum[i];
            }
            (config.planner().equals("lpt") ? new LptPlanner(shape) : new EplbPlanner(shape)).plan(winSumD, initial);
            for (Runner r : runners) {
                r.out.placement.copyFrom(initial);
            }
            int[] counts = new int[n];
            long windowStart = first + N;
            while ((got = readWindow(reader, buf, N, n)) > 0) {
                sum(buf, got, n, winSum);
                for (int i = 0; i < n; i++) {
                    winSumD[i] = winSum[i];
                }
                LoadState state = detector == null ? null : detector.modelState();
                for (Runner r : runners) {
                    Arrays.fill(r.gpuAcc, 0);
                    r.windowMoves = 0;
                    for (int k = 0; k < got; k++) {
                        long step = windowStart + k;
                        System.arraycopy(buf, k * n, counts, 0, n);
                        if (r.s.replansAt(step - first)) {
                            r.flush();
                            long t0 = System.nanoTime();
                            if (r.s.source() == Source.ORACLE) {
                                System.arraycopy(winSumD, 0, r.fc, 0, n);
                            } else {
                                r.s.predictor().forecast(r.s.cadence(), r.fc, null);
                            }
                            r.replan();
                            r.out.planNanos += System.nanoTime() - t0;
                        }
                        for (int i = 0; i < n; i++) {
                            r.seg[i] += counts[i];
                        }
                        r.segEmpty = false;
                        if (r.s.predictor() != null) {
                            r.s.predictor().observe(step, counts);
                        }
                    }
                    r.flush();
                    score(r, shape, windowStart, state);
                }
                if (detector != null) {
                    for (int k = 0; k < got; k++) {
                        System.arraycopy(buf, k * n, counts, 0, n);
                        detector.observe(windowStart + k, counts);
                    }
                }
                progress.step(got);
                windowStart += got;
                if (got < N) {
                    break;
                }
            }
        }
        List<Outcome> outs = new ArrayList<>();
        for (Runner r : runners) {
            outs.add(r.out);
        }
        return outs;
    }

    private static void score(Runner r, PlacementShape shape, long windowStart, LoadState state) {
        int G = shape.gpus();
        double means = 0;
        double maxes = 0;
        double mm = 0;
        double[] lb = new double[shape.layers()];
        for (int l = 0; l < shape.layers(); l++) {
            double sum = 0;
            double max = 0;
            for (int g = 0; g < G; g++) {
                double v = r.gpuAcc[l * G + g];
                sum += v;
                max = Math.max(max, v);
            }
            double mean = sum / G;
            means += mean;
            maxes += max;
            lb[l] = max <= 0 ? 1.0 : mean / max;
            mm += mean <= 0 ? 1.0 : max / mean;
        }
        Outcome o = r.out;
        o.windows.add(new long[] {windowStart});
        o.rows.add(new double[] {maxes <= 0 ? 1.0 : means / maxes, mm / shape.layers()});
        o.layerBal.add(lb);
        o.states.add(state);
        o.movesPerWindow.add(r.windowMoves);
        o.moves += r.windowMoves;
    }

    private static int readWindow(TraceReader reader, int[] buf, int N, int n) throws IOException {
        int[] step = new int[n];
        int k = 0;
        while (k < N && reader.next(step)) {
            System.arraycopy(step, 0, buf, k * n, n);
            k++;
        }
        return k;
    }

    private static void sum(int[] buf, int steps, int n, long[] out) {
        Arrays.fill(out, 0);
        for (int k = 0; k < steps; k++) {
            int off = k * n;
            for (int i = 0; i < n; i++) {
                out[i] += buf[off + i];
            }
        }
    }
}

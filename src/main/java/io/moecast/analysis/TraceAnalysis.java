package io.moecast.analysis;

import io.moecast.UserError;
import io.moecast.trace.TraceMeta;
import io.moecast.trace.TraceReader;
import io.moecast.trace.Traces;
import io.moecast.util.Progress;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The analysis behind {@code moecast analyze}: states and fluctuation of a whole trace, streamed from
 * the file in two passes of O(layers·experts·window) memory each (the trace is never loaded whole):
 * <ol>
 *   <li>transient/stable segmentation ({@link OfflineStateDetector}) with the default criterion and
 *       with windows 10% and 20% smaller and larger (how much the answer moves with the window), and
 *       each expert's mean share;</li>
 *   <li>fluctuation metrics ({@link FluctuationMetrics}) over the requested windows, summarised per
 *       layer and per expert, in each state (a windowed value counts for a state only when its whole
 *       window lies in that state), plus downsampled series for the charts.</li>
 * </ol>
 */
public final class TraceAnalysis {
    /** Window changes shown for sensitivity: w·(1 + each). */
    static final double[] SENSITIVITY = {-0.2, -0.1, 0.1, 0.2};
    /** At most this many layers get charts (evenly spaced, first and last included). */
    public static final int CHART_LAYERS = 8;
    /** At most this many experts per load-proportion chart (those with the largest mean share). */
    public static final int CHART_EXPERTS = 16;

    /** @param windows fluctuation windows; criterion: state detection; chartPoints: points per chart series */
    public record Options(int[] windows, StateCriterion criterion, int chartPoints) {
        public Options {
            if (windows.length == 0) {
                throw new IllegalArgumentException("give at least one window");
            }
            for (int w : windows) {
                if (w < 2) {
                    throw new IllegalArgumentException("windows must be at least 2 steps, got " + w);
                }
            }
            windows = windows.clone();
        }

        public static Options defaults() {
            return new Options(new int[] {10, 100, 200}, StateCriterion.DEFAULT, 500);
        }
    }

    /** Sums of one quantity in each state (index = LoadState ordinal). */
    public static final class StateMeans {
        final double[] sum = new double[2];
        final long[] n = new long[2];

        void add(LoadState s, double v) {
            if (!Double.isNaN(v) && !Double.isInfinite(v)) {
                sum[s.ordinal()] += v;
                n[s.ordinal()]++;
            }
        }

        /** Mean in a state, NaN when the state has no defined value. */
        public double mean(LoadState s) {
            int i = s.ordinal();
            return n[i] == 0 ? Double.NaN : sum[i] / n[i];
        }

        /** Mean over all steps. */
        public double all() {
            long c = n[0] + n[1];
            return c == 0 ? Double.NaN : (sum[0] + sum[1]) / c;
        }

        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("transient", num(mean(LoadState.TRANSIENT)));
            m.put("stable", num(mean(LoadState.STABLE)));
            m.put("all", num(all()));
            return m;
        }
    }

    /** Per-layer summaries and chart series. */
    public static final class LayerResult {
        public final int layer;
        public final int label;
        public final StateMeans[] variance;
        public final StateMeans[] range;
        public final StateMeans[] maxRange;
        public final StateMeans maxOverMean = new StateMeans();
        public final StateMeans cv = new StateMeans();
        public final StateMeans entropy = new StateMeans();
        public final StateMeans tv = new StateMeans();
        public final StateMeans ratio = new StateMeans();
        public final StateMeans noiseOverFloor = new StateMeans();
        public final Downsampler[] varianceSeries;
        public final Downsampler[] rangeSeries;
        public final Downsampler maxOverMeanSeries;
        public final Downsampler tvSeries;
        public final Downsampler ratioSeries;
        /** Per expert (all experts): mean share and windowed variance/range, per state. */
        public final StateMeans[] share;
        public final StateMeans[][] expertVariance;
        public final StateMeans[][] expertRange;
        /** Experts drawn in the proportions chart, and their series (only for chart layers). */
        public int[] chartExperts = new int[0];
        public Downsampler[] proportionSeries = new Downsampler[0];
        public Downsampler minShare;
        public Downsampler maxShare;
        /** The same proportions over the first steps only (see {@link TraceAnalysis#zoomEnd}), finer. */
        public Downsampler[] zoomSeries = new Downsampler[0];

        LayerResult(int layer, int label, int nw, int experts, int points) {
            this.layer = layer;
            this.label = label;
            variance = means(nw);
            range = means(nw);
            maxRange = means(nw);
            varianceSeries = new Downsampler[nw];
            rangeSeries = new Downsampler[nw];
            for (int i = 0; i < nw; i++) {
                varianceSeries[i] = new Downsampler(points);
                rangeSeries[i] = new Downsampler(points);
            }
            maxOverMeanSeries = new Downsampler(points);
            tvSeries = new Downsampler(points);
            ratioSeries = new Downsampler(points);
            share = means(experts);
            expertVariance = new StateMeans[nw][];
            expertRange = new StateMeans[nw][];
            for (int i = 0; i < nw; i++) {
                expertVariance[i] = means(experts);
                expertRange[i] = means(experts);
            }
        }

        private static StateMeans[] means(int n) {
            StateMeans[] a = new StateMeans[n];
            for (int i = 0; i < n; i++) {
                a[i] = new StateMeans();
            }
            return a;
        }
    }

    public final Path path;
    public final TraceMeta meta;
    public final Options options;
    public final int layers;
    public final int experts;
    public final long steps;
    public final long firstStep;
    public final StateTimeline timeline;
    /** Timelines for the sensitivity windows, by window. */
    public final Map<Integer, StateTimeline> sensitivity;
    public final LayerResult[] layerResults;
    /** Layers with charts. */
    public final int[] chartLayers;
    /** Mean routed token-slots per step and layer (the multinomial floor's N). */
    public final double meanSlotsPerStep;
    /** End (exclusive) of the early steps drawn in detail, 0 for none. */
    public final long zoomEnd;
    /** Buckets per zoomed series. */
    static final int ZOOM_POINTS = 1000;

    private TraceAnalysis(Path path, TraceMeta meta, Options options, int layers, int experts, long steps, long firstStep,
                          StateTimeline timeline, Map<Integer, StateTimeline> sensitivity, LayerResult[] layerResults,
                          int[] chartLayers, double meanSlots, long zoomEnd) {
        this.path = path;
        this.meta = meta;
        this.options = options;
        this.layers = layers;
        this.experts = experts;
        this.steps = steps;
        this.firstStep = firstStep;
        this.timeline = timeline;
        this.sensitivity = sensitivity;
        this.layerResults = layerResults;
        this.chartLayers = chartLayers;
        this.meanSlotsPerStep = meanSlots;
        this.zoomEnd = zoomEnd;
    }

    /** Analyses a trace file (two streaming passes). */
    public static TraceAnalysis run(Path path, Options opt) {
        try {
            return runChecked(path, opt);
        } catch (IOException e) {
            throw UserError.inFile(path, "", "cannot read: " + e.getMessage());
        }
    }

    private static TraceAnalysis runChecked(Path path, Options opt) throws IOException {
        // pass 1: states (main criterion and the sensitivity windows), steps, mean shares
        int layers;
        int experts;
        long firstStep;
        TraceMeta meta;
        long steps = 0;
        double[] shareSum;
        double slots = 0;
        StateCriterion crit = opt.criterion();
        OfflineStateDetector main;
        Map<Integer, OfflineStateDetector> others = new TreeMap<>();
        try (TraceReader r = Traces.open(path); Progress p = Progress.start("analyze: states", r.steps())) {
            layers = r.layers();
            experts = r.experts();
            firstStep = r.firstStep();
            meta = r.meta();
            main = new OfflineStateDetector(layers, experts, crit);
            for (double f : SENSITIVITY) {
                int w = (int) Math.round(crit.window() * (1 + f));
                if (w >= 3 && w != crit.window()) {
                    others.putIfAbsent(w, new OfflineStateDetector(layers, experts,
                            new StateCriterion(w, crit.threshold(), Math.max(1, (int) Math.round(crit.hold() * (double) w / crit.window())))));
                }
            }
            int[] step = new int[layers * experts];
            double[] prop = new double[layers * experts];
            shareSum = new double[layers * experts];
            while (r.next(step)) {
                long s = firstStep + r.index();
                for (int l = 0; l < layers; l++) {
                    io.moecast.trace.LoadTrace.proportions(step, l * experts, experts, prop, l * experts);
                    long tot = 0;
                    for (int e = 0; e < experts; e++) {
                        tot += step[l * experts + e];
                    }
                    slots += tot;
                }
                main.observeProportions(s, prop);
                for (OfflineStateDetector d : others.values()) {
                    d.observeProportions(s, prop);
                }
                for (int i = 0; i < prop.length; i++) {
                    shareSum[i] += prop[i];
                }
                steps++;
                p.step(1);
            }
        }
        if (steps == 0) {
            throw UserError.inFile(path, "", "the trace has no steps");
        }
        StateTimeline timeline = main.finish();
        Map<Integer, StateTimeline> sens = new TreeMap<>();
        for (Map.Entry<Integer, OfflineStateDetector> e : others.entrySet()) {
            sens.put(e.getKey(), e.getValue().finish());
        }
        double meanSlots = slots / ((double) steps * layers);

        int[] chartLayers = chartLayers(layers);
        int nw = opt.windows().length;
        long zoomEnd = zoomEnd(timeline, firstStep, firstStep + steps);
        LayerResult[] res = new LayerResult[layers];
        for (int l = 0; l < layers; l++) {
            res[l] = new LayerResult(l, meta.layerLabel(l), nw, experts, opt.chartPoints());
        }
        for (int l : chartLayers) {
            int[] ex = topExperts(shareSum, l, experts, CHART_EXPERTS);
            res[l].chartExperts = ex;
            res[l].proportionSeries = new Downsampler[ex.length];
            for (int i = 0; i < ex.length; i++) {
                res[l].proportionSeries[i] = new Downsampler(opt.chartPoints());
            }
            res[l].minShare = new Downsampler(opt.chartPoints());
            res[l].maxShare = new Downsampler(opt.chartPoints());
            if (zoomEnd > 0) {
                res[l].zoomSeries = new Downsampler[ex.length];
                for (int i = 0; i < ex.length; i++) {
                    res[l].zoomSeries[i] = new Downsampler(ZOOM_POINTS);
                }
            }
        }

        // pass 2: fluctuation metrics, summarised per state
        try (TraceReader r = Traces.open(path); Progress p = Progress.start("analyze: fluctuation", steps)) {
            FluctuationMetrics fm = new FluctuationMetrics(layers, experts, opt.windows());
            NoiseRatio nr = new NoiseRatio(layers, experts, crit.window());
            int[] step = new int[layers * experts];
            int[] cursor = new int[layers];
            while (r.next(step)) {
                long s = firstStep + r.index();
                fm.observe(step);
                nr.observeProportions(fm.proportions());
                double[] prop = fm.proportions();
                for (int l = 0; l < layers; l++) {
                    Segment seg = segmentAt(timeline.segments(l), cursor, l, s);
                    LoadState st = seg.state();
                    LayerResult lr = res[l];
                    for (int wi = 0; wi < nw; wi++) {
                        double v = fm.layerVariance(wi, l);
                        double rg = fm.layerRange(wi, l);
                        lr.varianceSeries[wi].add(s, v);
                        lr.rangeSeries[wi].add(s, rg);
                        // a windowed value counts for a state only when its whole window lies in that state
                        boolean inside = s - opt.windows()[wi] + 1 >= seg.start();
                        if (inside) {
                            lr.variance[wi].add(st, v);
                            lr.range[wi].add(st, rg);
                            lr.maxRange[wi].add(st, fm.layerMaxRange(wi, l));
                        }
                        if (inside && fm.ready(wi)) {
                            for (int e = 0; e < experts; e++) {
                                lr.expertVariance[wi][e].add(st, fm.variance(wi, l, e));
                                lr.expertRange[wi][e].add(st, fm.range(wi, l, e));
                            }
                        }
                    }
                    lr.maxOverMean.add(st, fm.maxOverMean(l));
                    lr.cv.add(st, fm.coefficientOfVariation(l));
                    lr.entropy.add(st, fm.normalisedEntropy(l));
                    lr.tv.add(st, fm.totalVariation(l));
                    lr.maxOverMeanSeries.add(s, fm.maxOverMean(l));
                    lr.tvSeries.add(s, fm.totalVariation(l));
                    double ratio = nr.ratio(l);
                    lr.ratio.add(st, ratio);
                    lr.ratioSeries.add(s, ratio);
                    long tot = 0;
                    double sq = 0;
                    for (int e = 0; e < experts; e++) {
                        tot += step[l * experts + e];
                        double x = prop[l * experts + e];
                        sq += x * x;
                        lr.share[e].add(st, x);
                    }
                    if (nr.full() && tot > 0) {
                        // multinomial floor, mean over experts of p(1−p)/N = (1 − Σp²)/(E·N)
                        double floor = (1 - sq) / ((double) experts * tot);
                        if (floor > 0) {
                            lr.noiseOverFloor.add(st, nr.noise(l) / floor);
                        }
                    }
                    if (lr.proportionSeries.length > 0) {
                        double mn = Double.POSITIVE_INFINITY;
                        double mx = Double.NEGATIVE_INFINITY;
                        for (int e = 0; e < experts; e++) {
                            double x = prop[l * experts + e];
                            mn = Math.min(mn, x);
                            mx = Math.max(mx, x);
                        }
                        lr.minShare.add(s, mn);
                        lr.maxShare.add(s, mx);
                        for (int i = 0; i < lr.chartExperts.length; i++) {
                            lr.proportionSeries[i].add(s, prop[l * experts + lr.chartExperts[i]]);
                        }
                        if (s < zoomEnd) {
                            for (int i = 0; i < lr.zoomSeries.length; i++) {
                                lr.zoomSeries[i].add(s, prop[l * experts + lr.chartExperts[i]]);
                            }
                        }
                    }
                }
                p.step(1);
            }
        }
        return new TraceAnalysis(path, meta, opt, layers, experts, steps, firstStep, timeline, sens, res, chartLayers, meanSlots, zoomEnd);
    }

    /**
     * End (exclusive) of the early steps drawn in detail: three times the model's transient, at least
     * 500 steps; 0 when there is no transient to show or it would cover the whole trace.
     */
    static long zoomEnd(StateTimeline tl, long first, long end) {
        long t = tl.modelTransitionStep();
        if (t <= first) {
            t = -1;
            for (int l = 0; l < tl.layers(); l++) {
                t = Math.max(t, tl.transitionStep(l));
            }
            if (t <= first) {
                return 0;
            }
        }
        long z = first + Math.max(500, 3 * (t - first));
        return z < end ? z : 0;
    }

    private static Segment segmentAt(List<Segment> segs, int[] cursor, int l, long step) {
        int c = cursor[l];
        while (c < segs.size() - 1 && segs.get(c).end() <= step) {
            c++;
        }
        cursor[l] = c;
        return segs.get(c);
    }

    static int[] chartLayers(int layers) {
        if (layers <= CHART_LAYERS) {
            int[] a = new int[layers];
            for (int i = 0; i < layers; i++) {
                a[i] = i;
            }
            return a;
        }
        int[] a = new int[CHART_LAYERS];
        for (int i = 0; i < CHART_LAYERS; i++) {
            a[i] = (int) Math.round(i * (layers - 1) / (double) (CHART_LAYERS - 1));
        }
        return a;
    }

    /** The n experts of a layer with the largest total share, in expert order. */
    static int[] topExperts(double[] shareSum, int l, int experts, int n) {
        if (experts <= n) {
            int[] a = new int[experts];
            for (int i = 0; i < experts; i++) {
                a[i] = i;
            }
            return a;
        }
        Integer[] idx = new Integer[experts];
        for (int e = 0; e < experts; e++) {
            idx[e] = e;
        }
        Arrays.sort(idx, (a, b) -> {
            int c = Double.compare(shareSum[l * experts + b], shareSum[l * experts + a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = idx[i];
        }
        Arrays.sort(out);
        return out;
    }

    static Object num(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? null : v;
    }

    /** The JSON document of the analysis. */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> t = new LinkedHashMap<>();
        t.put("file", path.getFileName().toString());
        t.put("model", meta.model());
        t.put("steps", steps);
        t.put("firstStep", firstStep);
        t.put("layers", layers);
        t.put("experts", experts);
        t.put("topk", meta.topK());
        t.put("tokensPerStep", meta.tokensPerStep());
        t.put("meanSlotsPerStepAndLayer", meanSlotsPerStep);
        m.put("trace", t);
        m.put("windows", options.windows());
        m.put("states", timeline.toMap(l -> layerResults[l].label));
        Map<String, Object> sens = new LinkedHashMap<>();
        for (Map.Entry<Integer, StateTimeline> e : sensitivity.entrySet()) {
            Map<String, Object> x = new LinkedHashMap<>();
            List<Long> tr = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                tr.add(e.getValue().transitionStep(l));
            }
            x.put("transitionSteps", tr);
            x.put("modelTransitionStep", e.getValue().modelTransitionStep());
            x.put("relapses", e.getValue().modelRelapses());
            sens.put(Integer.toString(e.getKey()), x);
        }
        m.put("windowSensitivity", sens);
        List<Object> ls = new ArrayList<>();
        for (LayerResult lr : layerResults) {
            Map<String, Object> x = new LinkedHashMap<>();
            x.put("layer", lr.label);
            x.put("transitionStep", timeline.transitionStep(lr.layer));
            x.put("relapses", timeline.relapses(lr.layer));
            x.put("stepsTransient", timeline.stepsIn(lr.layer, LoadState.TRANSIENT));
            x.put("stepsStable", timeline.stepsIn(lr.layer, LoadState.STABLE));
            x.put("fluctuationToNoiseRatio", lr.ratio.toMap());
            x.put("noiseOverMultinomialFloor", lr.noiseOverFloor.toMap());
            x.put("maxOverMean", lr.maxOverMean.toMap());
            x.put("coefficientOfVariation", lr.cv.toMap());
            x.put("normalisedEntropy", lr.entropy.toMap());
            x.put("totalVariation", lr.tv.toMap());
            Map<String, Object> win = new LinkedHashMap<>();
            for (int wi = 0; wi < options.windows().length; wi++) {
                Map<String, Object> w = new LinkedHashMap<>();
                w.put("variance", lr.variance[wi].toMap());
                w.put("range", lr.range[wi].toMap());
                w.put("maxRange", lr.maxRange[wi].toMap());
                List<Object> ex = new ArrayList<>();
                for (int e = 0; e < experts; e++) {
                    Map<String, Object> em = new LinkedHashMap<>();
                    em.put("expert", e);
                    em.put("variance", lr.expertVariance[wi][e].toMap());
                    em.put("range", lr.expertRange[wi][e].toMap());
                    ex.add(em);
                }
                w.put("experts", ex);
                win.put(Integer.toString(options.windows()[wi]), w);
            }
            x.put("windows", win);
            List<Object> shares = new ArrayList<>();
            for (int e = 0; e < experts; e++) {
                shares.add(lr.share[e].toMap());
            }
            x.put("expertShare", shares);
            ls.add(x);
        }
        m.put("layers", ls);
        return m;
    }
}

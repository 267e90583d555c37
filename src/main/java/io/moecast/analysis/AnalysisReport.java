package io.moecast.analysis;

import io.moecast.report.Charts;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.IntervalMarker;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.Layer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Charts (PNG) and the Markdown summary of a {@link TraceAnalysis}. */
public final class AnalysisReport {
    static final Color TRANSIENT_SHADE = new Color(255, 140, 0, 48);
    static final Color[] PALETTE = {
            new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd),
            new Color(0xff7f0e), new Color(0x17becf), new Color(0x8c564b), new Color(0xe377c2),
            new Color(0x7f7f7f), new Color(0xbcbd22), new Color(0x393b79), new Color(0x637939),
            new Color(0x8c6d31), new Color(0x843c39), new Color(0x7b4173), new Color(0x3182bd)};
    static final int WIDTH = 1400;

    private AnalysisReport() {
    }

    /** PNG charts by file name (house style, re-encoded with a palette to stay small). */
    public static Map<String, byte[]> charts(TraceAnalysis a) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : rawCharts(a).entrySet()) {
            out.put(e.getKey(), io.moecast.report.IndexedPng.of(e.getValue()));
        }
        return out;
    }

    static Map<String, byte[]> rawCharts(TraceAnalysis a) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (int l : a.chartLayers) {
            out.put("proportions-layer" + a.layerResults[l].label + ".png", Charts.png(proportions(a, l, false), WIDTH, 620));
            if (a.zoomEnd > 0) {
                out.put("proportions-layer" + a.layerResults[l].label + "-start.png", Charts.png(proportions(a, l, true), WIDTH, 620));
            }
        }
        for (int wi = 0; wi < a.options.windows().length; wi++) {
            out.put("fluctuation-w" + a.options.windows()[wi] + ".png", Charts.png(fluctuation(a, wi), WIDTH, 900));
        }
        out.put("states-ratio.png", Charts.png(ratio(a), WIDTH, 620));
        out.put("imbalance.png", Charts.png(imbalance(a), WIDTH, 900));
        return out;
    }

    private static String traceName(TraceAnalysis a) {
        return a.path.getFileName().toString();
    }

    static JFreeChart proportions(TraceAnalysis a, int l, boolean zoom) {
        TraceAnalysis.LayerResult lr = a.layerResults[l];
        Downsampler[] src = zoom ? lr.zoomSeries : lr.proportionSeries;
        XYSeriesCollection data = new XYSeriesCollection();
        for (int i = 0; i < lr.chartExperts.length; i++) {
            data.addSeries(series("expert " + lr.chartExperts[i], src[i], 100.0));
        }
        boolean subset = lr.chartExperts.length < a.experts;
        if (subset && !zoom) {
            data.addSeries(series("min over all experts", lr.minShare, 100.0, true));
            data.addSeries(series("max over all experts", lr.maxShare, 100.0, false));
        }
        NumberAxis x = stepAxis();
        NumberAxis y = new NumberAxis("load proportion (% of the layer's routed token-slots)");
        y.setAutoRangeIncludesZero(true);
        XYPlot plot = new XYPlot(data, x, y, lines(data.getSeriesCount(), 1.1f));
        shadeStates(plot, a.timeline.segments(l));
        markTransition(plot, a.timeline.transitionStep(l), a.timeline.relapses(l));
        if (zoom) {
            x.setRange(a.firstStep, a.zoomEnd - 1);
        }
        long width = src.length > 0 ? src[0].width() : 1;
        JFreeChart c = new JFreeChart(String.format(Locale.ROOT, "%s: load proportions, MoE layer %d (model layer %d)%s%s",
                traceName(a), l, lr.label, subset ? ", " + lr.chartExperts.length + " of " + a.experts + " experts" : "",
                zoom ? String.format(Locale.ROOT, ", steps %d-%d", a.firstStep, a.zoomEnd - 1) : ""),
                JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        c.addSubtitle(new TextTitle(String.format(Locale.ROOT,
                "shaded (orange): transient state (%s); %s", a.timeline.criterion(),
                width == 1 ? "one point per step" : "bucket means of " + width + " steps per point")));
        legend(c);
        return c;
    }

    static JFreeChart fluctuation(TraceAnalysis a, int wi) {
        int w = a.options.windows()[wi];
        XYSeriesCollection var = new XYSeriesCollection();
        XYSeriesCollection rng = new XYSeriesCollection();
        for (int l : a.chartLayers) {
            TraceAnalysis.LayerResult lr = a.layerResults[l];
            String name = "MoE layer " + l + " (model layer " + lr.label + ")";
            var.addSeries(positive(series(name, lr.varianceSeries[wi], 1e4)));
            rng.addSeries(series(name, lr.rangeSeries[wi], 100.0));
        }
        LogAxis vy = logAxis("windowed variance (pp², log scale)", 1e-8);
        XYPlot vp = new XYPlot(var, null, vy, lines(var.getSeriesCount(), 1.3f));
        NumberAxis ry = new NumberAxis("windowed range max−min (pp)");
        XYPlot rp = new XYPlot(rng, null, ry, lines(rng.getSeriesCount(), 1.3f));
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(stepAxis());
        plot.setGap(12);
        plot.add(vp, 1);
        plot.add(rp, 1);
        plot.setFixedLegendItems(vp.getLegendItems());
        for (XYPlot p : new XYPlot[] {vp, rp}) {
            shadeStates(p, a.timeline.modelSegments());
            markTransition(p, a.timeline.modelTransitionStep(), List.of());
            styleSub(p);
        }
        JFreeChart c = new JFreeChart(String.format(Locale.ROOT, "%s: fluctuation of load proportions over a %d-step window", traceName(a), w),
                JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        c.addSubtitle(new TextTitle("per layer, averaged over experts; pp = percentage points of load proportion; "
                + "shaded: model transient state (until every layer is stable)"));
        legend(c);
        return c;
    }

    static JFreeChart ratio(TraceAnalysis a) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (int l : a.chartLayers) {
            TraceAnalysis.LayerResult lr = a.layerResults[l];
            data.addSeries(positive(series("MoE layer " + l + " (model layer " + lr.label + ")", lr.ratioSeries, 1.0)));
        }
        LogAxis y = logAxis("R = windowed variance / step-to-step noise (log scale)", 0.01);
        XYPlot plot = new XYPlot(data, stepAxis(), y, lines(data.getSeriesCount(), 1.3f));
        shadeStates(plot, a.timeline.modelSegments());
        ValueMarker th = new ValueMarker(a.timeline.criterion().threshold(), Color.BLACK,
                new BasicStroke(1.4f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {6f, 4f}, 0f));
        th.setLabel(String.format(Locale.ROOT, "threshold R = %.3g", a.timeline.criterion().threshold()));
        th.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        th.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
        th.setLabelTextAnchor(TextAnchor.BOTTOM_RIGHT);
        plot.addRangeMarker(th);
        for (int l : a.chartLayers) {
            long t = a.timeline.transitionStep(l);
            if (t >= 0) {
                ValueMarker m = new ValueMarker(t, PALETTE[indexOf(a.chartLayers, l) % PALETTE.length], new BasicStroke(1f));
                plot.addDomainMarker(m);
            }
        }
        JFreeChart c = new JFreeChart(String.format(Locale.ROOT, "%s: transient/stable detection, %d-step window", traceName(a), a.timeline.criterion().window()),
                JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        c.addSubtitle(new TextTitle("R at the last step of its window; R ≈ 1 when the loads only jitter around a fixed mean; "
                + "stable once R ≤ threshold for a whole window; vertical lines: each layer's transition, dated to the first step "
                + "of its first calm window; shaded: model transient"));
        legend(c);
        return c;
    }

    static JFreeChart imbalance(TraceAnalysis a) {
        XYSeriesCollection mm = new XYSeriesCollection();
        XYSeriesCollection tv = new XYSeriesCollection();
        for (int l : a.chartLayers) {
            TraceAnalysis.LayerResult lr = a.layerResults[l];
            String name = "MoE layer " + l + " (model layer " + lr.label + ")";
            mm.addSeries(series(name, lr.maxOverMeanSeries, 1.0));
            tv.addSeries(series(name, lr.tvSeries, 100.0));
        }
        NumberAxis my = new NumberAxis("max / mean expert load (×)");
        my.setAutoRangeIncludesZero(false);
        XYPlot mp = new XYPlot(mm, null, my, lines(mm.getSeriesCount(), 1.1f));
        NumberAxis ty = new NumberAxis("step-to-step total variation (% of token-slots moved)");
        XYPlot tp = new XYPlot(tv, null, ty, lines(tv.getSeriesCount(), 1.1f));
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(stepAxis());
        plot.setGap(12);
        plot.add(mp, 1);
        plot.add(tp, 1);
        plot.setFixedLegendItems(mp.getLegendItems());
        for (XYPlot p : new XYPlot[] {mp, tp}) {
            shadeStates(p, a.timeline.modelSegments());
            styleSub(p);
        }
        JFreeChart c = new JFreeChart(String.format(Locale.ROOT, "%s: per-step imbalance and step-to-step change", traceName(a)),
                JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        c.addSubtitle(new TextTitle("bucket means; TV = ½·Σ|p_t − p_{t−1}| over the layer's experts; shaded: model transient state"));
        legend(c);
        return c;
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return 0;
    }

    /** A log axis with ticks at powers of ten, labelled as plain numbers, and unlabelled minor ticks. */
    private static LogAxis logAxis(String label, double smallest) {
        LogAxis y = new LogAxis(label);
        y.setSmallestValue(smallest);
        // tick units of a LogAxis are exponents: whole decades only
        java.text.DecimalFormat f = new java.text.DecimalFormat("0.########", java.text.DecimalFormatSymbols.getInstance(Locale.ROOT));
        org.jfree.chart.axis.TickUnits units = new org.jfree.chart.axis.TickUnits();
        units.add(new org.jfree.chart.axis.NumberTickUnit(1, f));
        units.add(new org.jfree.chart.axis.NumberTickUnit(2, f));
        units.add(new org.jfree.chart.axis.NumberTickUnit(5, f));
        y.setStandardTickUnits(units);
        y.setNumberFormatOverride(f);
        y.setMinorTickCount(9);
        y.setMinorTickMarksVisible(true);
        return y;
    }

    private static NumberAxis stepAxis() {
        NumberAxis x = new NumberAxis("training step");
        x.setAutoRangeIncludesZero(false);
        x.setNumberFormatOverride(new java.text.DecimalFormat("#,##0"));
        return x;
    }

    private static XYSeries series(String name, Downsampler d, double scale) {
        XYSeries s = new XYSeries(name, false, true);
        for (int i = 0; i < d.size(); i++) {
            double v = d.mean(i);
            if (!Double.isNaN(v)) {
                s.add(d.step(i), v * scale);
            }
        }
        return s;
    }

    /** The bucket minima (min = true) or maxima of a series. */
    private static XYSeries series(String name, Downsampler d, double scale, boolean min) {
        XYSeries s = new XYSeries(name, false, true);
        for (int i = 0; i < d.size(); i++) {
            double v = min ? d.min(i) : d.max(i);
            if (!Double.isNaN(v)) {
                s.add(d.step(i), v * scale);
            }
        }
        return s;
    }

    /** Drops non-positive points (log axes). */
    private static XYSeries positive(XYSeries in) {
        XYSeries s = new XYSeries(in.getKey(), false, true);
        for (int i = 0; i < in.getItemCount(); i++) {
            double y = in.getY(i).doubleValue();
            if (y > 0) {
                s.add(in.getX(i), in.getY(i));
            }
        }
        return s;
    }

    private static XYLineAndShapeRenderer lines(int n, float width) {
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < n; i++) {
            r.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
            r.setSeriesStroke(i, new BasicStroke(width));
        }
        return r;
    }

    private static void shadeStates(XYPlot plot, List<Segment> segs) {
        for (Segment g : segs) {
            if (g.state() == LoadState.TRANSIENT) {
                IntervalMarker m = new IntervalMarker(g.start(), g.end() - 1, TRANSIENT_SHADE);
                plot.addDomainMarker(m, Layer.BACKGROUND);
            }
        }
    }

    private static void markTransition(XYPlot plot, long transition, List<Long> relapses) {
        if (transition >= 0) {
            ValueMarker m = new ValueMarker(transition, new Color(0x333333),
                    new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {5f, 4f}, 0f));
            m.setLabel("stable from step " + transition + " ");
            m.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            m.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
            m.setLabelTextAnchor(TextAnchor.TOP_LEFT);
            plot.addDomainMarker(m);
        }
        for (long r : relapses) {
            ValueMarker m = new ValueMarker(r, new Color(0xAA0000), new BasicStroke(1.2f));
            m.setLabel("relapse " + r + " ");
            m.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            plot.addDomainMarker(m);
        }
    }

    private static void styleSub(XYPlot p) {
        p.setBackgroundPaint(Color.WHITE);
        p.setDomainGridlinePaint(new Color(0xDDDDDD));
        p.setRangeGridlinePaint(new Color(0xDDDDDD));
        Font f = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
        p.getRangeAxis().setLabelFont(f.deriveFont(Font.BOLD));
        p.getRangeAxis().setTickLabelFont(f);
    }

    private static void legend(JFreeChart c) {
        LegendTitle lg = c.getLegend();
        if (lg != null) {
            lg.setItemFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            lg.setPosition(RectangleEdge.BOTTOM);
        }
        for (Object o : c.getSubtitles()) {
            if (o instanceof TextTitle t && t != c.getTitle()) {
                t.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            }
        }
    }

    // ---------------- Markdown ----------------

    public static String markdown(TraceAnalysis a, List<String> chartFiles) {
        StringBuilder sb = new StringBuilder();
        TraceAnalysis.LayerResult[] lrs = a.layerResults;
        sb.append("# Load-state analysis: `").append(traceName(a)).append("`\n\n");
        if (a.meta.model() != null) {
            sb.append("Model: ").append(a.meta.model()).append("\n\n");
        }
        sb.append(String.format(Locale.ROOT, "%,d steps (from step %d) × %d MoE layers × %d experts; top-%s; %,.0f routed token-slots per step and layer.%n%n",
                a.steps, a.firstStep, a.layers, a.experts, a.meta.topK() > 0 ? Integer.toString(a.meta.topK()) : "?", a.meanSlotsPerStep));
        StateCriterion c = a.timeline.criterion();
        sb.append("## States\n\n");
        sb.append(String.format(Locale.ROOT, "Criterion (the same for every trace): R = windowed variance of the load proportions / step-to-step "
                + "noise variance (half the mean squared successive difference), over %d steps; a window is calm when R ≤ %.3g; "
                + "a layer is stable once calm for %d consecutive steps and relapses once not calm for %d. Stable steps are dated back to the "
                + "first step of the first calm window.%n%n", c.window(), c.threshold(), c.hold(), c.hold()));
        long mt = a.timeline.modelTransitionStep();
        sb.append(String.format(Locale.ROOT, "**Model transition: %s**%s.%n%n",
                mt < 0 ? "never stable" : "step " + mt,
                a.timeline.modelRelapses().isEmpty() ? ", no relapse" : ", relapses at steps " + a.timeline.modelRelapses()));
        sb.append("| MoE layer (model layer) | transition step | relapses | steps transient / stable | mean R transient / stable | noise / multinomial floor (stable) |\n");
        sb.append("|---|---|---|---|---|---|\n");
        for (TraceAnalysis.LayerResult lr : lrs) {
            int l = lr.layer;
            long t = a.timeline.transitionStep(l);
            sb.append(String.format(Locale.ROOT, "| %d (%d) | %s | %s | %,d / %,d | %s / %s | %s |%n", l, lr.label,
                    t < 0 ? "never stable" : Long.toString(t),
                    a.timeline.relapses(l).isEmpty() ? "none" : a.timeline.relapses(l).toString(),
                    a.timeline.stepsIn(l, LoadState.TRANSIENT), a.timeline.stepsIn(l, LoadState.STABLE),
                    fmt(lr.ratio.mean(LoadState.TRANSIENT), 3), fmt(lr.ratio.mean(LoadState.STABLE), 3),
                    fmt(lr.noiseOverFloor.mean(LoadState.STABLE), 3)));
        }
        sb.append("\nTransition step with a different window (hold scaled alike), to show how much the answer depends on it:\n\n");
        sb.append("| window |");
        for (TraceAnalysis.LayerResult lr : lrs) {
            sb.append(" layer ").append(lr.layer).append(" |");
        }
        sb.append(" model |\n|---|");
        for (int i = 0; i <= lrs.length; i++) {
            sb.append("---|");
        }
        sb.append('\n');
        Map<Integer, StateTimeline> all = new java.util.TreeMap<>(a.sensitivity);
        all.put(c.window(), a.timeline);
        for (Map.Entry<Integer, StateTimeline> e : all.entrySet()) {
            sb.append("| ").append(e.getKey()).append(e.getKey() == c.window() ? " (default)" : "").append(" |");
            for (int l = 0; l < lrs.length; l++) {
                sb.append(' ').append(stepOrNever(e.getValue().transitionStep(l))).append(" |");
            }
            sb.append(' ').append(stepOrNever(e.getValue().modelTransitionStep())).append(" |\n");
        }
        sb.append("\n## Fluctuation (load proportions, means over the steps of each state)\n\n");
        sb.append("Variance and range are per expert over a sliding window, averaged over the layer's experts, "
                + "counted for a state only when the whole window lies in it (– : no such window); "
                + "pp = percentage points of load proportion. Imbalance, CV, entropy and TV are per step.\n\n");
        sb.append("| MoE layer | window | variance transient (pp²) | variance stable (pp²) | ratio | range transient (pp) | range stable (pp) |\n");
        sb.append("|---|---|---|---|---|---|---|\n");
        int[] ws = a.options.windows();
        for (TraceAnalysis.LayerResult lr : lrs) {
            for (int wi = 0; wi < ws.length; wi++) {
                double vt = lr.variance[wi].mean(LoadState.TRANSIENT) * 1e4;
                double vs = lr.variance[wi].mean(LoadState.STABLE) * 1e4;
                sb.append(String.format(Locale.ROOT, "| %d | %d | %s | %s | %s | %s | %s |%n", lr.layer, ws[wi], fmt(vt, 3), fmt(vs, 3),
                        fmt(vt / vs, 3), fmt(lr.range[wi].mean(LoadState.TRANSIENT) * 100, 3), fmt(lr.range[wi].mean(LoadState.STABLE) * 100, 3)));
            }
        }
        sb.append("\n| MoE layer | max/mean transient | max/mean stable | CV transient | CV stable | entropy transient | entropy stable | TV transient (%) | TV stable (%) |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|\n");
        for (TraceAnalysis.LayerResult lr : lrs) {
            sb.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s | %s | %s | %s | %s |%n", lr.layer,
                    fmt(lr.maxOverMean.mean(LoadState.TRANSIENT), 3), fmt(lr.maxOverMean.mean(LoadState.STABLE), 3),
                    fmt(lr.cv.mean(LoadState.TRANSIENT), 3), fmt(lr.cv.mean(LoadState.STABLE), 3),
                    fmt(lr.entropy.mean(LoadState.TRANSIENT), 4), fmt(lr.entropy.mean(LoadState.STABLE), 4),
                    fmt(lr.tv.mean(LoadState.TRANSIENT) * 100, 3), fmt(lr.tv.mean(LoadState.STABLE) * 100, 3)));
        }
        sb.append("\nPer-expert values (mean share, windowed variance and range in each state) are in `analysis.json`.\n");
        if (!chartFiles.isEmpty()) {
            sb.append("\n## Charts\n\n");
            for (String f : chartFiles) {
                sb.append("![").append(f).append("](").append(f).append(")\n\n");
            }
        }
        return sb.toString();
    }

    private static String stepOrNever(long t) {
        return t < 0 ? "never" : Long.toString(t);
    }

    static String fmt(double v, int digits) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "–";
        }
        return String.format(Locale.ROOT, "%." + digits + "g", v);
    }

    /** Per-layer transition lines for the console. */
    public static List<String> consoleLines(TraceAnalysis a) {
        List<String> out = new ArrayList<>();
        for (TraceAnalysis.LayerResult lr : a.layerResults) {
            long t = a.timeline.transitionStep(lr.layer);
            out.add(String.format(Locale.ROOT, "  MoE layer %d (model layer %d): %s%s", lr.layer, lr.label,
                    t < 0 ? "never stable" : "stable from step " + t,
                    a.timeline.relapses(lr.layer).isEmpty() ? "" : ", relapses at " + a.timeline.relapses(lr.layer)));
        }
        return out;
    }
}

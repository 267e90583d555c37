package io.moecast.predict.eval;

import io.moecast.predict.Predictors;
import io.moecast.report.Charts;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleEdge;
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

/** Markdown tables laid out like the paper's results, the JSON document, and the two charts. */
public final class EvaluationReport {
    private static final String[] STATE_LABEL = {"transient", "stable", "all"};
    private static final Color[] PALETTE = {
            new Color(0xD62728), new Color(0x1F77B4), new Color(0x2CA02C), new Color(0xFF7F0E),
            new Color(0x9467BD), new Color(0x8C564B), new Color(0xE377C2), new Color(0x17BECF),
            new Color(0xBCBD22), new Color(0x7F7F7F), new Color(0x393B79), new Color(0xAD494A)};

    private EvaluationReport() {
    }

    private static String f2(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String f3(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.3f", v);
    }

    private static int[] statesShown(Evaluation.Result r) {
        return r.hasStates ? new int[] {Evaluation.STABLE, Evaluation.TRANSIENT, -1} : new int[] {-1};
    }

    /** For one layer: the index of its first stable origin (-1: never) and how many origins were stable. */
    private static long[] stableSpan(Evaluation.Result r, int layer) {
        long first = -1;
        long stable = 0;
        for (int t = 0; t < r.trace.steps(); t++) {
            if (r.states[t * r.trace.layers() + layer] == Evaluation.STABLE) {
                stable++;
                if (first < 0) {
                    first = t;
                }
            }
        }
        return new long[] {first, stable};
    }

    private static String stateName(int st) {
        return STATE_LABEL[st < 0 ? 2 : st];
    }

    /** The Markdown report. */
    public static String markdown(Evaluation.Result r, String traceLabel) {
        StringBuilder sb = new StringBuilder();
        Evaluation.Config c = r.config;
        int[] hs = c.horizons();
        sb.append("# Walk-forward evaluation: ").append(traceLabel).append("\n\n");
        sb.append(String.format(Locale.ROOT, "%d steps × %d MoE layers × %d experts", r.trace.steps(), r.trace.layers(), r.trace.experts()));
        long tps = r.trace.meta().tokensPerStep();
        if (tps > 0) {
            sb.append(", ").append(tps).append(" tokens per step");
            if (r.trace.meta().topK() > 0) {
                sb.append(", top-").append(r.trace.meta().topK());
            }
        }
        sb.append(". Forecast origins: every ").append(c.stride() == 1 ? "step" : c.stride() + " steps")
                .append(" from step ").append(c.warmup() - 1).append(" on (after ").append(c.warmup())
                .append(c.warmup() == 1 ? " step" : " steps").append(" observed), each horizon h while t+h is inside the trace.");
        sb.append(String.format(Locale.ROOT, " The walk forward of all predictors took %.1f s (wall, %d threads; %.1f s with setup and training).%n%n",
                r.walkSeconds, c.threads(), r.seconds));
        if (r.hasStates) {
            sb.append("States at the forecast origin (online detector, steps ≤ t): ");
            List<String> parts = new ArrayList<>();
            for (int l = 0; l < r.trace.layers(); l++) {
                long[] span = stableSpan(r, l);
                long first = span[0];
                long stable = span[1];
                parts.add(String.format(Locale.ROOT, "layer %d stable from step %s (%.0f%% of steps)", r.trace.meta().layerLabel(l),
                        first < 0 ? "never" : Long.toString(r.trace.firstStep() + first), 100.0 * stable / r.trace.steps()));
            }
            sb.append(String.join("; ", parts)).append(".\n\n");
        }
        sb.append("Errors are per MoE layer and pooled over layers and origins. **L1** = Σₑ|p̂ₑ − pₑ| in % "
                + "(twice the share of the layer's tokens forecast on the wrong expert); horizon-mean: p = mean share "
                + "over steps t+1..t+h; per-step: p = share at step t+h. See the README for all definitions.\n\n");

        for (int st : statesShown(r)) {
            sb.append("## Horizon-mean L1 error (%), ").append(stateName(st)).append(st < 0 ? " origins" : " state").append("\n\n");
            table(sb, r, hs, st, m -> m.l1Mean() * 100, true, true);
        }
        for (int st : statesShown(r)) {
            sb.append("## Per-step L1 error (%) at step t+h, ").append(stateName(st)).append(st < 0 ? " origins" : " state").append("\n\n");
            table(sb, r, hs, st, m -> m.l1Step() * 100, true, false);
        }
        int main = r.hasStates ? Evaluation.STABLE : -1;
        String mainName = r.hasStates ? "stable state" : "all origins";
        sb.append("## Horizon-mean MAE of shares (percentage points), ").append(mainName).append("\n\n");
        table(sb, r, hs, main, m -> m.maePpMean(), false, true);
        sb.append("## Horizon-mean relative error (%), experts with share ≥ 1/(10E), ").append(mainName).append("\n\n");
        table(sb, r, hs, main, m -> m.relMean() * 100, false, true);
        sb.append("## Coverage of the ").append(Math.round(100 * 0.9)).append("% upper bounds on the horizon-mean share (%), ").append(mainName).append("\n\n");
        table(sb, r, hs, main, m -> m.coverage() * 100, false, false);
        sb.append("## Mean headroom of the upper bounds over the forecast (percentage points), ").append(mainName).append("\n\n");
        table(sb, r, hs, main, m -> m.headroomPp(), false, false);

        sb.append("## Cost\n\nCPU time of the predictor's own thread: observe per step, and one call forecasting every horizon "
                + "(means, upper bounds and per-step values); setup = creation and training (wall).\n\n"
                + "| predictor | observe (µs/step) | forecast, all horizons (µs/call) | setup (s) | note |\n|---|---:|---:|---:|---|\n");
        for (Evaluation.Run run : r.visibleRuns()) {
            sb.append("| ").append(run.spec).append(" | ")
                    .append(f2(run.observeNanos / 1e3 / Math.max(1, run.steps))).append(" | ")
                    .append(f2(run.forecastNanos / 1e3 / Math.max(1, run.forecastCalls))).append(" | ")
                    .append(f2(run.setupNanos / 1e9)).append(" | ")
                    .append(run.note == null ? "" : run.note.replace("|", "/")).append(" |\n");
        }
        sb.append("\nOrigins per cell (layer-origins): ");
        List<String> oc = new ArrayList<>();
        Evaluation.Run any = r.runs.get(0);
        for (int hi = 0; hi < hs.length; hi++) {
            StringBuilder o = new StringBuilder("h=" + hs[hi] + ":");
            for (int st : statesShown(r)) {
                o.append(' ').append(stateName(st)).append(' ').append(any.metrics(hi, st).origins());
            }
            oc.add(o.toString());
        }
        sb.append(String.join("; ", oc)).append(".\n");
        return sb.toString();
    }

    private interface Metric {
        double of(Metrics m);
    }

    private static void table(StringBuilder sb, Evaluation.Result r, int[] hs, int st, Metric f, boolean hindsight, boolean boldMin) {
        sb.append("| predictor |");
        for (int h : hs) {
            sb.append(" h=").append(h).append(" |");
        }
        sb.append("\n|---|");
        for (int ignored : hs) {
            sb.append("---:|");
        }
        sb.append('\n');
        List<Evaluation.Run> runs = r.visibleRuns();
        double[] best = new double[hs.length];
        java.util.Arrays.fill(best, Double.POSITIVE_INFINITY);
        for (Evaluation.Run run : runs) {
            for (int hi = 0; hi < hs.length; hi++) {
                double v = f.of(run.metrics(hi, st));
                if (!Double.isNaN(v)) {
                    best[hi] = Math.min(best[hi], v);
                }
            }
        }
        for (Evaluation.Run run : runs) {
            sb.append("| ").append(run.spec);
            if (run.name.equals(Predictors.DEFAULT) && run.spec.equals(Predictors.DEFAULT)) {
                sb.append(" (default)");
            }
            sb.append(" |");
            for (int hi = 0; hi < hs.length; hi++) {
                double v = f.of(run.metrics(hi, st));
                boolean b = boldMin && !Double.isNaN(v) && v == best[hi];
                sb.append(' ').append(b ? "**" : "").append(f2(v)).append(b ? "**" : "").append(" |");
            }
            sb.append('\n');
        }
        if (hindsight && r.config.hindsight()) {
            sb.append("| *hindsight sw-avg (window)* |");
            for (int hi = 0; hi < hs.length; hi++) {
                Metrics m = r.hindsight(hi, st);
                int w = r.hindsightWindow[hi][st < 0 ? 2 : st];
                sb.append(' ').append(m == null ? "–" : "*" + f2(f.of(m)) + " (" + w + ")*").append(" |");
            }
            sb.append('\n');
        }
        sb.append('\n');
    }

    /** The JSON document (plain maps and lists). */
    public static Map<String, Object> json(Evaluation.Result r, String traceLabel) {
        Map<String, Object> doc = new LinkedHashMap<>();
        Map<String, Object> tr = new LinkedHashMap<>();
        tr.put("trace", traceLabel);
        tr.put("steps", r.trace.steps());
        tr.put("layers", r.trace.layers());
        tr.put("experts", r.trace.experts());
        tr.put("tokens_per_step", r.trace.meta().tokensPerStep());
        tr.put("topk", r.trace.meta().topK());
        tr.put("model", r.trace.meta().model());
        doc.put("trace", tr);
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("horizons", r.config.horizons());
        cfg.put("stride", r.config.stride());
        cfg.put("warmup", r.config.warmup());
        cfg.put("hindsight_windows", Evaluation.HINDSIGHT_WINDOWS);
        cfg.put("default_predictor", Predictors.DEFAULT);
        cfg.put("seconds", r.seconds);
        cfg.put("walk_forward_seconds", r.walkSeconds);
        cfg.put("threads", r.config.threads());
        doc.put("config", cfg);
        if (r.hasStates) {
            List<Object> st = new ArrayList<>();
            for (int l = 0; l < r.trace.layers(); l++) {
                long[] span = stableSpan(r, l);
                long first = span[0] < 0 ? -1 : r.trace.firstStep() + span[0];
                long stable = span[1];
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("layer", r.trace.meta().layerLabel(l));
                m.put("first_stable_step", first);
                m.put("stable_fraction", stable / (double) r.trace.steps());
                st.add(m);
            }
            doc.put("states", st);
        }
        List<Object> preds = new ArrayList<>();
        for (Evaluation.Run run : r.visibleRuns()) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("predictor", run.spec);
            p.put("name", run.name);
            p.put("default", run.spec.equals(Predictors.DEFAULT));
            Map<String, Object> cost = new LinkedHashMap<>();
            cost.put("clock", "thread CPU time");
            cost.put("observe_us_per_step", run.observeNanos / 1e3 / Math.max(1, run.steps));
            cost.put("forecast_us_per_call", run.forecastNanos / 1e3 / Math.max(1, run.forecastCalls));
            cost.put("setup_s", run.setupNanos / 1e9);
            p.put("cost", cost);
            if (run.note != null) {
                p.put("note", run.note);
            }
            p.put("results", cells(r, run));
            preds.add(p);
        }
        doc.put("predictors", preds);
        if (r.config.hindsight()) {
            List<Object> hind = new ArrayList<>();
            for (int hi = 0; hi < r.config.horizons().length; hi++) {
                for (int st : statesShown(r)) {
                    Metrics m = r.hindsight(hi, st);
                    if (m == null) {
                        continue;
                    }
                    Map<String, Object> c = cell(r.config.horizons()[hi], stateName(st), null, m);
                    c.put("window", r.hindsightWindow[hi][st < 0 ? 2 : st]);
                    hind.add(c);
                }
            }
            doc.put("hindsight", hind);
        }
        return doc;
    }

    private static List<Object> cells(Evaluation.Result r, Evaluation.Run run) {
        List<Object> out = new ArrayList<>();
        int[] hs = r.config.horizons();
        for (int hi = 0; hi < hs.length; hi++) {
            for (int st : statesShown(r)) {
                out.add(cell(hs[hi], stateName(st), null, run.metrics(hi, st)));
                for (int l = 0; l < r.trace.layers(); l++) {
                    Metrics m = run.metrics(hi, l, st);
                    if (m.origins() > 0) {
                        out.add(cell(hs[hi], stateName(st), r.trace.meta().layerLabel(l), m));
                    }
                }
            }
        }
        return out;
    }

    private static Map<String, Object> cell(int h, String state, Integer layer, Metrics m) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("horizon", h);
        c.put("state", state);
        c.put("layer", layer == null ? "all" : layer);
        c.put("origins", m.origins());
        c.put("l1_mean_pct", nan(m.l1Mean() * 100));
        c.put("l1_step_pct", nan(m.l1Step() * 100));
        c.put("mae_mean_pp", nan(m.maePpMean()));
        c.put("mae_step_pp", nan(m.maePpStep()));
        c.put("rel_mean_pct", nan(m.relMean() * 100));
        c.put("rel_step_pct", nan(m.relStep() * 100));
        c.put("coverage", nan(m.coverage()));
        c.put("headroom_pp", nan(m.headroomPp()));
        return c;
    }

    private static Object nan(double v) {
        return Double.isNaN(v) ? null : v;
    }

    /** Forecast vs actual for the most volatile layer (its two widest-ranging experts), PNG. */
    public static byte[] forecastChart(Evaluation.Result r, String traceLabel, List<String> show) {
        if (r.chartExperts.length == 0) {
            return null;
        }
        int hc = r.config.chartHorizon();
        CombinedDomainXYPlot combined = new CombinedDomainXYPlot(new NumberAxis("forecast origin t (training step)"));
        combined.setGap(12);
        for (int j = 0; j < r.chartExperts.length; j++) {
            XYSeriesCollection ds = new XYSeriesCollection();
            XYSeries act = new XYSeries("actual mean over t+1..t+" + hc);
            double[] a = r.chartActual[j];
            int stride = Math.max(1, a.length / 1000);
            for (int t = 0; t < a.length; t += stride) {
                if (!Double.isNaN(a[t])) {
                    act.add(r.trace.firstStep() + t, a[t] * 100);
                }
            }
            ds.addSeries(act);
            for (Evaluation.Run run : r.visibleRuns()) {
                if (run.chart == null || !show.contains(run.spec)) {
                    continue;
                }
                XYSeries s = new XYSeries(run.spec, false);
                float[] v = run.chart[j];
                int every = Math.max(1, v.length / 1000);
                for (int t = 0; t < v.length; t += every) {
                    if (!Float.isNaN(v[t])) {
                        s.add(r.trace.firstStep() + t, v[t] * 100);
                    }
                }
                ds.addSeries(s);
            }
            NumberAxis y = new NumberAxis("expert " + r.chartExperts[j] + " share (%)");
            y.setAutoRangeIncludesZero(false);
            // the range of the actual mean, with room: early transient forecasts may run off the chart
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            for (double v : a) {
                if (!Double.isNaN(v)) {
                    lo = Math.min(lo, v * 100);
                    hi = Math.max(hi, v * 100);
                }
            }
            if (hi > lo) {
                double pad = Math.max(0.5 * (hi - lo), 0.5);
                y.setRange(Math.max(0, lo - pad), hi + pad);
            }
            XYLineAndShapeRenderer rend = new XYLineAndShapeRenderer(true, false);
            rend.setSeriesPaint(0, Color.BLACK);
            rend.setSeriesStroke(0, new BasicStroke(2.6f));
            for (int s = 1; s < ds.getSeriesCount(); s++) {
                rend.setSeriesPaint(s, PALETTE[(s - 1) % PALETTE.length]);
                rend.setSeriesStroke(s, new BasicStroke(1.4f));
            }
            XYPlot plot = new XYPlot(ds, null, y, rend);
            plot.setBackgroundPaint(Color.WHITE);
            plot.setDomainGridlinePaint(new Color(0xDDDDDD));
            plot.setRangeGridlinePaint(new Color(0xDDDDDD));
            combined.add(plot, 1);
            if (j > 0) {
                rend.setDefaultSeriesVisibleInLegend(false);
            }
        }
        JFreeChart chart = new JFreeChart(traceLabel + ": " + hc + "-step-mean forecasts vs actual, MoE layer "
                + r.trace.meta().layerLabel(r.chartLayer) + " (most volatile)", new Font(Font.SANS_SERIF, Font.BOLD, 15), combined, true);
        LegendTitle lg = chart.getLegend();
        lg.setPosition(RectangleEdge.BOTTOM);
        lg.setItemFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        return Charts.png(chart, 1200, 800);
    }

    /** Horizon-mean L1 error vs horizon per predictor (log horizon axis), one panel per state, PNG. */
    public static byte[] horizonChart(Evaluation.Result r, String traceLabel) {
        int[] hs = r.config.horizons();
        LogAxis x = new LogAxis("horizon h (steps, log scale)");
        x.setBase(10);
        x.setSmallestValue(0.5);
        // ticks at the decades, labelled as plain step counts
        x.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(1.0, new java.text.DecimalFormat("0")));
        x.setNumberFormatOverride(new java.text.DecimalFormat("#,##0"));
        x.setMinorTickMarksVisible(true);
        CombinedDomainXYPlot combined = new CombinedDomainXYPlot(x);
        combined.setGap(12);
        int[] states = r.hasStates ? new int[] {Evaluation.STABLE, Evaluation.TRANSIENT} : new int[] {-1};
        for (int k = 0; k < states.length; k++) {
            int st = states[k];
            XYSeriesCollection ds = new XYSeriesCollection();
            List<Evaluation.Run> runs = r.visibleRuns();
            for (Evaluation.Run run : runs) {
                XYSeries s = new XYSeries(run.spec, false);
                for (int hi = 0; hi < hs.length; hi++) {
                    double v = run.metrics(hi, st).l1Mean();
                    if (!Double.isNaN(v)) {
                        s.add(hs[hi], v * 100);
                    }
                }
                ds.addSeries(s);
            }
            if (r.config.hindsight()) {
                XYSeries s = new XYSeries("hindsight sw-avg", false);
                for (int hi = 0; hi < hs.length; hi++) {
                    Metrics m = r.hindsight(hi, st);
                    if (m != null) {
                        s.add(hs[hi], m.l1Mean() * 100);
                    }
                }
                ds.addSeries(s);
            }
            NumberAxis y = new NumberAxis("horizon-mean L1 error (%), " + stateName(st) + (st < 0 ? "" : " state"));
            y.setAutoRangeIncludesZero(true);
            XYLineAndShapeRenderer rend = new XYLineAndShapeRenderer(true, true);
            for (int s = 0; s < ds.getSeriesCount(); s++) {
                boolean hind = r.config.hindsight() && s == ds.getSeriesCount() - 1;
                rend.setSeriesPaint(s, hind ? Color.BLACK : PALETTE[s % PALETTE.length]);
                rend.setSeriesStroke(s, hind ? new BasicStroke(2.0f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {6f, 4f}, 0f)
                        : new BasicStroke(runs.get(s).spec.equals(Predictors.DEFAULT) ? 3.0f : 1.6f));
            }
            if (k > 0) {
                rend.setDefaultSeriesVisibleInLegend(false);
            }
            XYPlot plot = new XYPlot(ds, null, y, rend);
            plot.setBackgroundPaint(Color.WHITE);
            plot.setDomainGridlinePaint(new Color(0xDDDDDD));
            plot.setRangeGridlinePaint(new Color(0xDDDDDD));
            combined.add(plot, 1);
        }
        JFreeChart chart = new JFreeChart(traceLabel + ": horizon-mean L1 error vs horizon",
                new Font(Font.SANS_SERIF, Font.BOLD, 15), combined, true);
        chart.getLegend().setPosition(RectangleEdge.RIGHT);
        chart.getLegend().setItemFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        return Charts.png(chart, 1200, states.length * 380 + 120);
    }
}

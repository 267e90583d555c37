package io.moecast.placement;

import io.moecast.analysis.LoadState;
import io.moecast.placement.PlacementSimulation.Outcome;
import io.moecast.placement.PlacementSimulation.Summary;
import io.moecast.report.Charts;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The comparison table, JSON and chart of a {@link PlacementSimulation} run. */
public final class PlacementReport {
    private final String traceName;
    private final PlacementShape shape;
    private final PlacementSimulation.Config config;
    private final List<String> predictors;
    private final List<Outcome> outcomes;

    public PlacementReport(String traceName, PlacementShape shape, PlacementSimulation.Config config,
                           List<String> predictors, List<Outcome> outcomes) {
        this.traceName = traceName;
        this.shape = shape;
        this.config = config;
        this.predictors = predictors;
        this.outcomes = outcomes;
    }

    public List<Outcome> outcomes() {
        return outcomes;
    }

    public Outcome row(String name) {
        for (Outcome o : outcomes) {
            if (o.strategy.name().equals(name)) {
                return o;
            }
        }
        return null;
    }

    private static String cadence(PlacementSimulation.Strategy s) {
        return switch (s.source()) {
            case STATIC -> "once";
            default -> s.offset() > 0 ? s.cadence() + " (from " + s.offset() + ")" : String.valueOf(s.cadence());
        };
    }

    private static String f(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.4f", v);
    }

    /** Migration-aware vs full re-plan for a predictor (stable windows, or all when none are stable). */
    public Map<String, Object> migrationComparison(String predictor) {
        Outcome full = row(predictor);
        Outcome mig = row(predictor + " +migration");
        Outcome stat = row("static");
        if (full == null || mig == null || stat == null) {
            return null;
        }
        LoadState st = full.summary(LoadState.STABLE).windows() > 0 ? LoadState.STABLE : null;
        double gFull = full.summary(st).balancedness() - stat.summary(st).balancedness();
        double gMig = mig.summary(st).balancedness() - stat.summary(st).balancedness();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("predictor", predictor);
        m.put("windows", st == null ? "all" : "stable");
        m.put("gain_full", gFull);
        m.put("gain_migration", gMig);
        m.put("gain_kept", gFull > 0 ? gMig / gFull : Double.NaN);
        m.put("moves_full", full.moves);
        m.put("moves_migration", mig.moves);
        m.put("moves_saved", full.moves > 0 ? 1.0 - (double) mig.moves / full.moves : Double.NaN);
        return m;
    }

    public String toText() {
        StringBuilder sb = new StringBuilder();
        Outcome any = outcomes.getFirst();
        int n = any.windowCount();
        int nt = 0;
        int ns = 0;
        for (int w = 0; w < n; w++) {
            if (any.state(w) == LoadState.TRANSIENT) {
                nt++;
            } else if (any.state(w) == LoadState.STABLE) {
                ns++;
            }
        }
        sb.append(String.format(Locale.ROOT, "moecast place %s%n  %s, planner %s, re-plan and score every %d steps%s%n",
                traceName, shape, config.planner(), config.window(),
                config.trigger() > 0 ? ", trigger: skip layers with forecast balancedness >= " + config.trigger() : ""));
        sb.append(String.format(Locale.ROOT, "  %d windows scored after a %d-step warm-up: %d transient, %d stable (online detector at each window's start)%n",
                n, config.window(), nt, ns));
        sb.append("  balancedness = sum over layers of mean GPU load / sum over layers of max GPU load, on the realised window (mean over windows)\n\n");
        sb.append(String.format(Locale.ROOT, "| %-22s | %-16s | %8s | %12s | %9s | %8s | %16s | %8s | %7s | %13s | %9s |%n",
                "strategy", "cadence", "re-plans", "balancedness", "transient", "stable", "max/mean stable", "worst", "moved", "moved/re-plan", "plan us"));
        sb.append("|").append("-".repeat(24)).append("|").append("-".repeat(18)).append("|").append("-".repeat(10)).append("|")
                .append("-".repeat(14)).append("|").append("-".repeat(11)).append("|").append("-".repeat(10)).append("|")
                .append("-".repeat(18)).append("|").append("-".repeat(10)).append("|").append("-".repeat(9)).append("|")
                .append("-".repeat(15)).append("|").append("-".repeat(11)).append("|\n");
        for (Outcome o : outcomes) {
            Summary all = o.summary(null);
            Summary tr = o.summary(LoadState.TRANSIENT);
            Summary stb = o.summary(LoadState.STABLE);
            sb.append(String.format(Locale.ROOT, "| %-22s | %-16s | %8d | %12s | %9s | %8s | %16s | %8s | %7d | %13s | %9s |%n",
                    o.strategy.name(), cadence(o.strategy), o.replans, f(all.balancedness()), f(tr.balancedness()),
                    f(stb.balancedness()), f(stb.maxOverMean()), f(all.worstBalancedness()), o.moves,
                    o.replans > 0 ? String.format(Locale.ROOT, "%.1f", (double) o.moves / o.replans) : "-",
                    o.replans > 0 ? String.format(Locale.ROOT, "%.0f", o.planNanos / 1e3 / o.replans) : "-"));
        }
        sb.append('\n');
        Outcome stat = row("static");
        for (String p : predictors) {
            Outcome po = row(p);
            Outcome lw = row("last-window-sum");
            Outcome ema = row("ema");
            if (po != null && lw != null && ema != null && ns > 0) {
                double b = po.summary(LoadState.STABLE).balancedness();
                sb.append(String.format(Locale.ROOT, "  %s vs engine estimates (stable windows): %+.4f vs last-window-sum, %+.4f vs ema, %+.4f vs static; oracle %+.4f%n",
                        p, b - lw.summary(LoadState.STABLE).balancedness(), b - ema.summary(LoadState.STABLE).balancedness(),
                        b - stat.summary(LoadState.STABLE).balancedness(),
                        row("oracle") == null ? Double.NaN : row("oracle").summary(LoadState.STABLE).balancedness() - b));
            }
            Map<String, Object> mc = migrationComparison(p);
            if (mc != null) {
                sb.append(String.format(Locale.ROOT, "  %s +migration keeps %.0f%% of the full re-plan's gain over static (%s windows: %+.4f vs %+.4f) "
                                + "while moving %.0f%% fewer experts (%d vs %d)%n",
                        p, 100 * (double) mc.get("gain_kept"), mc.get("windows"), (double) mc.get("gain_migration"), (double) mc.get("gain_full"),
                        100 * (double) mc.get("moves_saved"), (long) mc.get("moves_migration"), (long) mc.get("moves_full")));
            }
        }
        sb.append("  moved = replicas copied onto a GPU that did not hold that expert before, summed over re-plans and layers\n");
        return sb.toString();
    }

    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("trace", traceName);
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("layers", shape.layers());
        c.put("experts", shape.experts());
        c.put("redundant", shape.redundant());
        c.put("gpus", shape.gpus());
        c.put("nodes", shape.nodes());
        c.put("groups", shape.groups());
        c.put("replan", config.window());
        c.put("planner", config.planner());
        c.put("trigger", config.trigger());
        c.put("migration_threshold", config.migrationThreshold());
        c.put("max_moves", config.maxMoves());
        c.put("predictors", predictors);
        m.put("config", c);
        List<Object> rows = new ArrayList<>();
        for (Outcome o : outcomes) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("strategy", o.strategy.name());
            r.put("description", o.strategy.description());
            r.put("cadence", o.strategy.source() == PlacementSimulation.Source.STATIC ? null : o.strategy.cadence());
            r.put("offset", o.strategy.offset());
            r.put("replans", o.replans);
            r.put("moves", o.moves);
            r.put("plan_us_per_replan", o.replans > 0 ? o.planNanos / 1e3 / o.replans : null);
            r.put("skipped_layers", o.skippedLayers);
            r.put("all", summaryMap(o.summary(null)));
            r.put("transient", summaryMap(o.summary(LoadState.TRANSIENT)));
            r.put("stable", summaryMap(o.summary(LoadState.STABLE)));
            int n = o.windowCount();
            long[] start = new long[n];
            double[] bal = new double[n];
            String[] state = new String[n];
            int[] mv = new int[n];
            for (int w = 0; w < n; w++) {
                start[w] = o.windowStart(w);
                bal[w] = o.balancedness(w);
                state[w] = o.state(w) == null ? null : o.state(w).label();
                mv[w] = o.moves(w);
            }
            Map<String, Object> win = new LinkedHashMap<>();
            win.put("start", start);
            win.put("balancedness", bal);
            win.put("state", state);
            win.put("moves", mv);
            r.put("windows", win);
            rows.add(r);
        }
        m.put("rows", rows);
        List<Object> mig = new ArrayList<>();
        for (String p : predictors) {
            Map<String, Object> mc = migrationComparison(p);
            if (mc != null) {
                mig.add(mc);
            }
        }
        m.put("migration", mig);
        return m;
    }

    private static Map<String, Object> summaryMap(Summary s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("windows", s.windows());
        m.put("balancedness", s.windows() > 0 ? s.balancedness() : null);
        m.put("max_over_mean", s.windows() > 0 ? s.maxOverMean() : null);
        m.put("worst_balancedness", s.windows() > 0 ? s.worstBalancedness() : null);
        m.put("moves", s.moves());
        m.put("layer_balancedness", s.layerBalancedness());
        return m;
    }

    /** PNG: window balancedness over the run, one line per strategy; stable windows from the detector noted in the title. */
    public byte[] chart() {
        XYSeriesCollection ds = new XYSeriesCollection();
        for (Outcome o : outcomes) {
            XYSeries s = new XYSeries(o.strategy.name());
            for (int w = 0; w < o.windowCount(); w++) {
                s.add(o.windowStart(w), o.balancedness(w));
            }
            ds.addSeries(s);
        }
        Outcome any = outcomes.getFirst();
        long firstStable = -1;
        for (int w = 0; w < any.windowCount(); w++) {
            if (any.state(w) == LoadState.STABLE) {
                firstStable = any.windowStart(w);
                break;
            }
        }
        String title = traceName + ": balancedness per " + config.window() + "-step window, " + shape.gpus() + " GPUs + "
                + shape.redundant() + " redundant" + (firstStable >= 0 ? " (stable from step " + firstStable + ")" : "");
        JFreeChart chart = ChartFactory.createXYLineChart(title, "step (window start)", "balancedness (mean/max GPU load)",
                ds, PlotOrientation.VERTICAL, true, false, false);
        XYPlot plot = chart.getXYPlot();
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < ds.getSeriesCount(); i++) {
            r.setSeriesStroke(i, new BasicStroke(1.4f));
        }
        plot.setRenderer(r);
        if (firstStable >= 0) {
            org.jfree.chart.plot.ValueMarker mk = new org.jfree.chart.plot.ValueMarker(firstStable);
            mk.setPaint(java.awt.Color.GRAY);
            mk.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {4f, 4f}, 0f));
            plot.addDomainMarker(mk);
        }
        org.jfree.chart.axis.NumberAxis y = (org.jfree.chart.axis.NumberAxis) plot.getRangeAxis();
        y.setAutoRangeIncludesZero(false);
        return Charts.png(chart, 1100, 620);
    }
}

package io.moecast.cli;

import io.moecast.UserError;
import io.moecast.analysis.AnalysisReport;
import io.moecast.analysis.StateCriterion;
import io.moecast.analysis.TraceAnalysis;
import io.moecast.report.ResultsWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code moecast analyze TRACE}: transient/stable states and fluctuation of the loads, with charts. */
@Command(name = "analyze", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Load-state analysis of a trace: per-layer transition from the transient to the stable state "
                + "(and any relapse), fluctuation of the load proportions over sliding windows (variance, range, mean) "
                + "and per-step imbalance, with PNG charts and a Markdown summary. Streams the trace (two passes), "
                + "so traces larger than memory work."})
public final class AnalyzeCommand implements Runnable {
    /** Buckets kept per chart series (at most twice this many points are drawn). */
    static final int CHART_POINTS = 500;

    @Parameters(index = "0", paramLabel = "TRACE", description = "Trace file (.npy, .npz, .csv, .jsonl, optionally .gz).")
    Path trace;

    @Option(names = "--windows", split = ",", paramLabel = "W[,W...]",
            description = "Sliding windows for the fluctuation metrics, in steps (default 10,100,200 as in the paper).")
    int[] windows = {10, 100, 200};

    @Option(names = "--state-window", description = "Window of the transient/stable criterion (default ${DEFAULT-VALUE}).")
    int stateWindow = StateCriterion.DEFAULT_WINDOW;

    @Option(names = "--threshold", description = "Largest fluctuation-to-noise ratio of a calm window (default ${DEFAULT-VALUE}; "
            + "the same for every trace: change it only to study the criterion).")
    double threshold = StateCriterion.DEFAULT_THRESHOLD;

    @Option(names = "--no-charts", description = "Skip the PNG charts.")
    boolean noCharts;

    @Mixin
    OutputOptions output;

    @Override
    public void run() {
        for (int w : windows) {
            if (w < 2) {
                throw UserError.option("--windows", "each window must be at least 2 steps, got " + w);
            }
        }
        StateCriterion crit;
        try {
            crit = new StateCriterion(stateWindow, threshold, stateWindow);
        } catch (IllegalArgumentException e) {
            throw UserError.option(e.getMessage().startsWith("ratio") ? "--threshold" : "--state-window", e.getMessage());
        }
        TraceAnalysis a = TraceAnalysis.run(trace, new TraceAnalysis.Options(windows, crit, CHART_POINTS));
        ResultsWriter w = output.results("analyze");
        List<String> files = new ArrayList<>();
        if (!noCharts) {
            for (Map.Entry<String, byte[]> e : AnalysisReport.charts(a).entrySet()) {
                w.writeBytes(e.getKey(), e.getValue());
                files.add(e.getKey());
            }
        }
        Map<String, Object> doc = a.toMap();
        w.writeJson("analysis.json", doc);
        String md = AnalysisReport.markdown(a, files);
        w.writeText("summary.md", md);
        if (output.json) {
            OutputOptions.print(ResultsWriter.envelope("analyze", doc), System.out);
            return;
        }
        StringBuilder sb = new StringBuilder();
        long mt = a.timeline.modelTransitionStep();
        sb.append(String.format(Locale.ROOT, "%s: %,d steps x %d MoE layers x %d experts%n", trace, a.steps, a.layers, a.experts));
        sb.append(String.format(Locale.ROOT, "states (%s):%n", a.timeline.criterion()));
        for (String line : AnalysisReport.consoleLines(a)) {
            sb.append(line).append('\n');
        }
        sb.append(String.format(Locale.ROOT, "  model: %s%s%n", mt < 0 ? "never stable" : "stable from step " + mt,
                a.timeline.modelRelapses().isEmpty() ? "" : ", relapses at " + a.timeline.modelRelapses()));
        sb.append(String.format(Locale.ROOT, "wrote %s (summary.md, analysis.json%s)%n", w.dir(),
                files.isEmpty() ? "" : ", " + files.size() + " charts"));
        System.out.print(sb);
    }
}

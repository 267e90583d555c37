package io.moecast.cli;

import io.moecast.UserError;
import io.moecast.analysis.StateDetectors;
import io.moecast.placement.MigrationAwarePlanner;
import io.moecast.placement.PlacementReport;
import io.moecast.placement.PlacementShape;
import io.moecast.placement.PlacementSimulation;
import io.moecast.placement.PlacementSimulation.Strategy;
import io.moecast.predict.Predictors;
import io.moecast.report.ResultsWriter;
import io.moecast.trace.TraceReader;
import io.moecast.trace.Traces;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** {@code moecast place TRACE}: expert placement from forecasts, scored on the loads that came. */
@Command(name = "place", mixinStandardHelpOptions = true,
        description = {"Simulate expert placement over a trace: at every re-plan, plan (DeepSeek EPLB-equivalent) on a "
                + "forecast of the next window and score balancedness (mean/max GPU load) on the loads that came.",
                "Rows at the same cadence: static initial placement, the engines' load estimates (last-window sum of "
                        + "1000 steps as vLLM/SGLang, EMA 0.9 as MindSpeed), the chosen predictors (full re-plan and "
                        + "migration-aware), the oracle; then the engines at their own cadences. Transient and stable "
                        + "windows (online state detector) are reported separately."})
public final class PlaceCommand implements Runnable {
    @Parameters(paramLabel = "TRACE", description = "Load trace (.npy, .npz, .csv, .jsonl, optionally .gz).")
    Path trace;

    @Option(names = "--gpus", paramLabel = "G", defaultValue = "4", description = "GPUs the experts are spread over (default ${DEFAULT-VALUE}).")
    int gpus;

    @Option(names = "--redundant", paramLabel = "R", description = "Redundant expert slots per layer (default: one per GPU); experts + R must be divisible by G.")
    Integer redundant;

    @Option(names = "--nodes", defaultValue = "1", description = "Nodes (EPLB packs expert groups onto nodes first when groups %% nodes == 0; default ${DEFAULT-VALUE}).")
    int nodes;

    @Option(names = "--groups", defaultValue = "1", description = "Expert groups of the router (DeepSeek-V3: 8; default ${DEFAULT-VALUE}).")
    int groups;

    @Option(names = "--replan", paramLabel = "N", defaultValue = "100", description = "Re-plan (and scoring window) every N steps (default ${DEFAULT-VALUE}).")
    int replan;

    @Option(names = "--predictor", paramLabel = "P", split = ",", description = "Predictor(s) to plan on, with parameters (e.g. sw-avg:window=200); default: the default predictor.")
    List<String> predictors;

    @Option(names = "--planner", defaultValue = "eplb", description = "eplb (replicas + packing, default) or lpt (no replicas: needs --redundant 0).")
    String planner;

    @Option(names = "--trigger", paramLabel = "B", defaultValue = "0", description = "Skip a layer's re-plan when the forecast balancedness of its current placement is >= B (0 = always re-plan; default ${DEFAULT-VALUE}).")
    double trigger;

    @Option(names = "--migration-threshold", paramLabel = "T", defaultValue = "0.005", description = "Migration-aware rows: change a layer only when the planned max GPU load drops by more than T (relative; default ${DEFAULT-VALUE}).")
    double migrationThreshold;

    @Option(names = "--max-moves", paramLabel = "M", description = "Migration-aware rows: at most M replicas moved per layer per re-plan (default: slots per GPU).")
    Integer maxMoves;

    @Option(names = "--no-engine-cadence", description = "Leave out the rows that run the engines at their own cadences.")
    boolean noEngineCadence;

    @Option(names = "--no-chart", description = "Do not write the PNG.")
    boolean noChart;

    @Mixin
    OutputOptions output;

    @Override
    public void run() {
        if (replan < 1) {
            throw UserError.option("--replan", "must be at least 1 step, got " + replan);
        }
        int R = redundant != null ? redundant : (planner.equals("lpt") ? 0 : gpus);
        List<String> preds = predictors == null || predictors.isEmpty() ? List.of(Predictors.DEFAULT) : predictors;
        try (TraceReader r = Traces.open(trace)) {
            int L = r.layers();
            int E = r.experts();
            PlacementShape shape;
            try {
                shape = PlacementShape.of(L, E, R, gpus, nodes, groups);
                if (planner.equals("lpt") && R != 0) {
                    throw new IllegalArgumentException("lpt places no replicas: give --redundant 0");
                }
                if (!planner.equals("lpt") && !planner.equals("eplb")) {
                    throw new IllegalArgumentException("use eplb or lpt");
                }
            } catch (IllegalArgumentException e) {
                throw UserError.option(e.getMessage().startsWith("lpt") || e.getMessage().startsWith("use") ? "--planner" : "--gpus/--redundant", e.getMessage());
            }
            if (trigger < 0 || trigger > 1) {
                throw UserError.option("--trigger", "must be in [0, 1], got " + trigger);
            }
            if (migrationThreshold < 0 || migrationThreshold >= 1) {
                throw UserError.option("--migration-threshold", "must be in [0, 1), got " + migrationThreshold);
            }
            if (maxMoves != null && maxMoves < 1) {
                throw UserError.option("--max-moves", "must be at least 1, got " + maxMoves);
            }
            int moves = maxMoves != null ? maxMoves : MigrationAwarePlanner.defaultMaxMoves(shape);
            if (r.steps() >= 0 && r.steps() <= replan) {
                throw UserError.inFile(trace, "", "the trace has " + r.steps() + " steps; placement needs more than one re-plan window (--replan " + replan + ")");
            }
            PlacementSimulation.Config cfg = new PlacementSimulation.Config(gpus, R, nodes, groups, replan, planner,
                    trigger, migrationThreshold, moves);
            List<Strategy> rows = PlacementSimulation.standardStrategies(cfg, preds, L, E, !noEngineCadence);
            List<PlacementSimulation.Outcome> outs;
            try {
                outs = new PlacementSimulation(cfg).run(r, rows, StateDetectors.online(L, E));
            } catch (IllegalArgumentException e) {
                throw UserError.inFile(trace, "", e.getMessage());
            }
            PlacementReport report = new PlacementReport(trace.getFileName().toString(), shape, cfg, preds, outs);
            ResultsWriter w = noChart ? output.resultsIfRequested("place") : output.results("place");
            if (w != null && !noChart) {
                w.writeBytes("place-balancedness.png", report.chart());
            }
            output.emit("place", "place", report.toMap(), report::toText, System.out);
            if (w != null && !output.json) {
                System.out.println("results: " + w.dir());
            }
        } catch (IOException e) {
            throw UserError.inFile(trace, "", "cannot read: " + e.getMessage());
        }
    }
}

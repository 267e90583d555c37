package io.moecast.bench;

import io.moecast.budget.PredictorLookup;
import io.moecast.budget.SyntheticLoads;
import io.moecast.placement.EplbPlanner;
import io.moecast.placement.Placement;
import io.moecast.placement.PlacementShape;
import io.moecast.predict.Predictor;
import io.moecast.routing.Router;
import io.moecast.routing.Routers;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * What moecast adds to a training or serving step, on one thread, for a model shape (the
 * {@code moecast budget} command sets the parameters from a preset):
 * <ul>
 *   <li>{@link #observe}: the predictor takes one step's counts (every step);</li>
 *   <li>{@link #forecast}: the predictor forecasts the next {@code replan} steps (every re-plan);</li>
 *   <li>{@link #plan}: the EPLB-equivalent planner places every layer on that forecast (every re-plan);</li>
 *   <li>{@link #routeHistogram}: the router computes top-k ids and the load histogram of one MoE layer for
 *       {@code sampleTokens} tokens (scaled by the command to the tokens per GPU per step and the layers).</li>
 * </ul>
 * Run directly: {@code java --add-modules=jdk.incubator.vector -cp target/moecast.jar org.openjdk.jmh.Main BudgetBench}
 * (defaults: the DeepSeek-V3 shape).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
public class BudgetBench {
    @Param("58")
    public int layers;
    @Param("256")
    public int experts;
    @Param("8")
    public int topK;
    @Param("sigmoid-grouped")
    public String scoring;
    @Param("8")
    public int groups;
    @Param("4")
    public int topkGroups;
    @Param("64")
    public int gpus;
    @Param("8")
    public int nodes;
    @Param("64")
    public int redundant;
    @Param("sw-avg")
    public String predictor;
    @Param("100")
    public int replan;
    @Param("1024")
    public int sampleTokens;
    @Param("auto")
    public String router;
    @Param("1")
    public long seed;

    private Predictor p;
    private int[][] ring;
    private int next;
    private long step;
    private double[] mean;
    private EplbPlanner planner;
    private Placement placement;
    private Router r;
    private RoutingSpec spec;
    private float[] logits;
    private RoutingOutput out;

    @Setup(Level.Trial)
    public void setup() {
        SyntheticLoads loads = new SyntheticLoads(layers, experts, 4096L * topK, seed);
        ring = loads.ring(64);
        p = PredictorLookup.create(predictor, layers, experts);
        int warm = Math.max(1100, 2 * replan);
        for (int i = 0; i < warm; i++) {
            p.observe(step++, ring[i % ring.length]);
        }
        mean = new double[layers * experts];
        p.forecast(replan, mean, null);
        PlacementShape shape = PlacementShape.of(layers, experts, redundant, gpus, nodes, groups);
        planner = new EplbPlanner(shape);
        placement = new Placement(shape);
        r = Routers.create(router, 1); // one thread: the budget is per host thread
        ScoringMode mode = ScoringMode.parse(scoring);
        spec = mode == ScoringMode.SIGMOID_GROUPED ? RoutingSpec.grouped(experts, topK, groups, topkGroups, null)
                : RoutingSpec.of(experts, topK, mode);
        logits = loads.logits(sampleTokens, experts);
        out = new RoutingOutput();
    }

    @Benchmark
    public long observe() {
        p.observe(step++, ring[next]);
        next = (next + 1) & 63;
        return step;
    }

    @Benchmark
    public double[] forecast() {
        p.forecast(replan, mean, null);
        return mean;
    }

    @Benchmark
    public Placement plan() {
        planner.plan(mean, placement);
        return placement;
    }

    @Benchmark
    public long[] routeHistogram() {
        r.route(logits, sampleTokens, spec, out);
        return out.counts();
    }
}

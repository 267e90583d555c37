package io.moecast.bench;

import io.moecast.budget.PredictorLookup;
import io.moecast.budget.SyntheticLoads;
import io.moecast.placement.EplbPlanner;
import io.moecast.placement.Placement;
import io.moecast.placement.PlacementShape;
import io.moecast.predict.AbstractPredictor;
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
import org.openjdk.jmh.infra.BenchmarkParams;

import java.util.concurrent.TimeUnit;

/**
 * What moecast adds to a training or serving step, on one thread, for a model shape (the
 * {@code moecast budget} command sets the parameters from a preset):
 * <ul>
 *   <li>{@link #observe}: the predictor takes one step's counts (every step; predictors that update their
 *       smoothers in blocks of steps do that work inside some of these calls, so this is the average per
 *       step over many blocks);</li>
 *   <li>{@link #forecast}: the predictor forecasts the mean shares of the next {@code replan} steps
 *       (every re-plan; the mean, which is what the planner takes);</li>
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
    /**
     * Steps fed before measuring: past the longest horizon the predictors calibrate and score (5,000
     * steps), so every statistic is in its steady state (unless that takes longer than
     * {@link #WARM_SECONDS}: slow predictors on large shapes are then measured earlier, see the log).
     */
    @Param("6000")
    public int warm;

    static final double WARM_SECONDS = 60;

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

    /** Sets up only what the benchmark being run needs (the predictor's warm-up is the slow part). */
    @Setup(Level.Trial)
    public void setup(BenchmarkParams bp) {
        String b = bp.getBenchmark();
        SyntheticLoads loads = new SyntheticLoads(layers, experts, 4096L * topK, seed);
        ring = loads.ring(64);
        mean = new double[layers * experts];
        if (b.endsWith(".observe") || b.endsWith(".forecast")) {
            p = PredictorLookup.create(predictor, layers, experts);
            int steps = Math.max(warm, 2 * replan);
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                p.observe(step++, ring[i % ring.length]);
                if ((i & 63) == 63 && System.nanoTime() - t0 > WARM_SECONDS * 1e9) {
                    System.out.println("BudgetBench: warm-up stopped after " + (i + 1) + " steps (" + WARM_SECONDS + " s)");
                    break;
                }
            }
            next = (int) (step % ring.length);
            p.forecast(replan, mean, null);
        }
        if (b.endsWith(".plan")) {
            // a load estimate with the synthetic loads' skew (the planner's cost does not depend on which
            // predictor made it)
            AbstractPredictor.shares(ring[0], mean, layers, experts);
            PlacementShape shape = PlacementShape.of(layers, experts, redundant, gpus, nodes, groups);
            planner = new EplbPlanner(shape);
            placement = new Placement(shape);
        }
        if (b.endsWith(".routeHistogram")) {
            r = Routers.create(router, 1); // one thread: the budget is per host thread
            ScoringMode mode = ScoringMode.parse(scoring);
            spec = mode == ScoringMode.SIGMOID_GROUPED ? RoutingSpec.grouped(experts, topK, groups, topkGroups, null)
                    : RoutingSpec.of(experts, topK, mode);
            logits = loads.logits(sampleTokens, experts);
            out = new RoutingOutput();
        }
    }

    @Benchmark
    public long observe() {
        p.observe(step++, ring[next]);
        next = next + 1 == ring.length ? 0 : next + 1;
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

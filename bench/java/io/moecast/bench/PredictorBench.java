package io.moecast.bench;

import io.moecast.budget.SyntheticLoads;
import io.moecast.predict.Predictor;
import io.moecast.predict.PredictorContext;
import io.moecast.predict.Predictors;
import io.moecast.trace.Traces;
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

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A predictor's own costs at a model shape, one thread, in steady state (warmed past the longest
 * calibration horizon, 5,000 steps, so every statistic is being scored and updated):
 * <ul>
 *   <li>{@link #observe}: one step's counts (every step of a training or serving job);</li>
 *   <li>{@link #forecast}: the horizon-mean forecast for the next {@code horizon} steps;</li>
 *   <li>{@link #forecastUpper}: the same with the upper bounds placement uses as headroom.</li>
 * </ul>
 * The loads are {@link SyntheticLoads} (Zipf-skewed shares, a few percent noise per step), with the
 * default online state detector attached where the predictor uses it, as {@code moecast} attaches it.
 * Predictors that need training ({@code lstm-shared}) train on {@code train} (a trace of any shape for
 * the shared model; the bundled one by default) before the warm-up. Run (from the repository root):
 * <pre>
 * java --add-modules=jdk.incubator.vector -cp target/moecast.jar org.openjdk.jmh.Main PredictorBench \
 *     -p layers=58 -p experts=256 -p predictor=auto,ema,kalman,sw-avg -prof gc
 * java --add-modules=jdk.incubator.vector -cp target/moecast.jar org.openjdk.jmh.Main 'PredictorBench.(observe|forecast)$' \
 *     -p predictor=lstm-shared
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx3g"})
public class PredictorBench {
    @Param("58")
    public int layers;
    @Param("256")
    public int experts;
    @Param("auto")
    public String predictor;
    @Param("100")
    public int horizon;
    /** steps fed before measuring (past the longest calibration horizon by default) */
    @Param("6000")
    public int warm;
    @Param("8")
    public int topK;
    @Param("1")
    public long seed;
    /** training trace for predictors that need one (lstm, lstm-shared) */
    @Param("traces/moe-gpt-jdk-e16-top2-seed2.npy")
    public String train;

    private Predictor p;
    private int[][] ring;
    private int next;
    private long step;
    private double[] mean;
    private double[] upper;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        SyntheticLoads loads = new SyntheticLoads(layers, experts, 4096L * topK, seed);
        ring = loads.ring(64);
        PredictorContext ctx = PredictorContext.of(layers, experts);
        if (Predictors.needsTraining(predictor.split(":")[0])) {
            ctx = ctx.withTrain(Traces.load(Path.of(train)));
        }
        p = Predictors.create(predictor, ctx);
        for (int i = 0; i < warm; i++) {
            p.observe(step++, ring[i & 63]);
        }
        next = (int) (step & 63);
        mean = new double[layers * experts];
        upper = new double[layers * experts];
    }

    @Benchmark
    public long observe() {
        p.observe(step++, ring[next]);
        next = (next + 1) & 63;
        return step;
    }

    @Benchmark
    public double[] forecast() {
        p.forecast(horizon, mean, null);
        return mean;
    }

    @Benchmark
    public double[] forecastUpper() {
        p.forecast(horizon, mean, upper);
        return upper;
    }
}

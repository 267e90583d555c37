package io.moecast.bench;

import io.moecast.budget.SyntheticLoads;
import io.moecast.predict.ArimaPredictor;
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
 * One ARIMA(p, d, q) refit of every series of a model shape (Hannan–Rissanen on the last {@code window}
 * differences of each series, one thread), what {@code arima} does every {@code refit} steps. Run:
 * <pre>
 * java --add-modules=jdk.incubator.vector -cp target/moecast.jar org.openjdk.jmh.Main ArimaRefitBench
 * </pre>
 * (default: the DeepSeek-V3 shape, 58 × 256 series, ARIMA(5,1,5) on 1,000 differences).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx3g"})
public class ArimaRefitBench {
    @Param("58")
    public int layers;
    @Param("256")
    public int experts;
    @Param("5")
    public int p;
    @Param("1")
    public int d;
    @Param("5")
    public int q;
    @Param("1000")
    public int window;

    private ArimaPredictor arima;

    @Setup(Level.Trial)
    public void setup() {
        int[][] ring = new SyntheticLoads(layers, experts, 4096L * 8, 1).ring(64);
        // refit cadence beyond the run: the benchmark calls the refit itself
        arima = new ArimaPredictor(layers, experts, p, d, q, window, Integer.MAX_VALUE, window, 0.9);
        for (int s = 0; s < window + d + 1; s++) {
            arima.observe(s, ring[(s * 7) & 63]);
        }
    }

    @Benchmark
    public ArimaPredictor refitEverySeries() {
        arima.refitNow();
        return arima;
    }
}

package io.moecast.bench;

import io.moecast.routing.panama.Roofs;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The memory-read roof for {@link RoutingBench}: a Vector API sum over the same T·E float32 logits
 * (same bytes, same layout), on 1 or 2 threads. No routing kernel can read its input faster.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g"})
public class MemoryRoofBench {
    @Param({"1048576"})
    public int tokens;
    @Param({"64"})
    public int experts;
    @Param({"1", "2"})
    public int threads;

    private float[] logits;
    private Roofs roofs;

    @Setup(Level.Trial)
    public void setup() {
        logits = BenchData.logits(tokens, experts, 42);
        roofs = new Roofs(threads);
        double s = 0;
        for (float v : logits) {
            s += v;
        }
        float got = roofs.sum(logits, logits.length);
        if (Math.abs(got - s) > 1e-3 * Math.sqrt(logits.length) + 1e-4 * Math.abs(s)) {
            throw new AssertionError("roof sum " + got + " != " + s);
        }
    }

    @Benchmark
    public float readAll() {
        return roofs.sum(logits, logits.length);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        roofs.close();
    }
}

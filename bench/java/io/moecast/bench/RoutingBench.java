package io.moecast.bench;

import io.moecast.routing.Router;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
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
 * Routing a batch of router logits {@code [T][E]} (float32, N(0,1)): top-k ids, weights and the
 * per-expert histogram. One operation = one batch; ns/token = score / T and GB/s of logits read =
 * T·E·4 / score are derived in the summary ({@code moecast bench routing}). {@code impl} is
 * {@code <router>-<threads>t}. {@code @Setup} checks the router against the scalar reference first.
 * Compare with {@link MemoryRoofBench} (same bytes, same run) for the kernel-vs-roof ratio.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g"})
public class RoutingBench {
    @Param({"1048576"})
    public int tokens;
    @Param({"64"})
    public int experts;
    @Param({"1", "2", "8"})
    public int k;
    @Param({"topk-softmax", "softmax-topk", "sigmoid-grouped"})
    public String mode;
    @Param({"vector-1t", "vector-2t", "scalar-1t"})
    public String impl;

    private float[] logits;
    private RoutingSpec spec;
    private Router router;
    private RoutingOutput out;

    @Setup(Level.Trial)
    public void setup() {
        logits = BenchData.logits(tokens, experts, 42);
        spec = BenchData.spec(experts, k, mode);
        router = BenchData.router(impl);
        BenchData.checkAgainstReference(router, logits, tokens, spec);
        out = new RoutingOutput();
        router.route(logits, tokens, spec, out);
    }

    @Benchmark
    public long route() {
        router.route(logits, tokens, spec, out);
        return out.counts()[0];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        BenchData.close(router);
    }
}

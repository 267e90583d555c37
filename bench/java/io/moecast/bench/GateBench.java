package io.moecast.bench;

import io.moecast.routing.Router;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;
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

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The fused gate: hidden states X[T][d] times gate weights W[d][E], then top-k routing
 * ({@link Router#routeHidden}), 2·T·d·E FLOPs per batch; and the FMA-peak roof (independent vector FMA
 * chains, {@link Roofs#fmaPeak}) in the same run, so GFLOP/s of the gate / GFLOP/s of the peak is the
 * "share of FMA peak". {@code fmaPeak} does {@link #PEAK_ITERS} rounds per operation.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx6g"})
public class GateBench {
    /** FMA rounds per fmaPeak operation (× 12 chains × lanes × 2 FLOPs × threads). */
    public static final long PEAK_ITERS = 1 << 20;

    @Param({"16384"})
    public int tokens;
    @Param({"1024"})
    public int dim;
    @Param({"64"})
    public int experts;
    @Param({"2"})
    public int k;
    @Param({"vector-1t", "vector-2t"})
    public String impl;

    private float[] x;
    private float[] w;
    private RoutingSpec spec;
    private Router router;
    private RoutingOutput out;
    private Roofs roofs;

    @Setup(Level.Trial)
    public void setup() {
        SplittableRandom r = new SplittableRandom(7);
        x = new float[tokens * dim];
        w = new float[dim * experts];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) BenchData.gaussian(r);
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (BenchData.gaussian(r) / Math.sqrt(dim));
        }
        spec = RoutingSpec.of(experts, k, ScoringMode.TOPK_SOFTMAX);
        router = BenchData.router(impl);
        out = new RoutingOutput();
        router.routeHidden(x, w, tokens, dim, spec, out);
        long total = 0;
        for (long c : out.counts()) {
            total += c;
        }
        if (total != (long) tokens * k) {
            throw new AssertionError("counts sum " + total);
        }
        int threads = Integer.parseInt(impl.substring(impl.lastIndexOf('-') + 1, impl.length() - 1));
        roofs = new Roofs(threads);
    }

    @Benchmark
    public long fusedGate() {
        router.routeHidden(x, w, tokens, dim, spec, out);
        return out.counts()[0];
    }

    @Benchmark
    public float fmaPeak() {
        return roofs.fmaPeak(PEAK_ITERS);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        BenchData.close(router);
        roofs.close();
    }
}

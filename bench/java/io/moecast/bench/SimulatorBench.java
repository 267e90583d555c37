package io.moecast.bench;

import io.moecast.routing.Router;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.Routers;
import io.moecast.sim.RouterTrainingSimulator;
import io.moecast.sim.SimConfig;
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
import org.openjdk.jmh.infra.Blackhole;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Router-training simulator speed, in steps per second, on ONE core (the router gets one thread, and
 * {@code -XX:ActiveProcessorCount=1} shows the JVM one processor): the shape, 12 layers × 16 experts × 8,192 tokens per step, top-2,
 * d = 256. Two benchmarks in the same run, so their ratio shows where a step goes:
 * <ul>
 *   <li>{@code step}: one full training step (draw the batch, build the hidden states, route every layer
 *       through the router, capacity, gradients, Adam);</li>
 *   <li>{@code routeOnly}: the router alone on the same shape and in the same micro-batches as the
 *       simulator ({@link RouterTrainingSimulator#DEFAULT_MICRO_BATCH} tokens per
 *       {@link Router#routeHidden} call), 12 layers × 8,192 tokens × d 256 (the kernel's share of a step).</li>
 * </ul>
 * Run: {@code java --add-modules=jdk.incubator.vector -cp target/moecast.jar org.openjdk.jmh.Main SimulatorBench}
 * (add {@code -p impl=scalar,auto} to compare routers).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-XX:ActiveProcessorCount=1", "-Xmx2g"})
public class SimulatorBench {
    @Param({"auto"})
    public String impl;
    @Param({"12"})
    public int layers;
    @Param({"16"})
    public int experts;
    @Param({"8192"})
    public int tokens;
    @Param({"256"})
    public int d;

    private RouterTrainingSimulator sim;
    private Router router;
    private float[] x;
    private float[] w;
    private RoutingSpec spec;
    private final RoutingOutput out = new RoutingOutput();

    @Setup(Level.Trial)
    public void setup() {
        SimConfig c = SimConfig.defaults().toBuilder().layers(layers).experts(experts).tokens(tokens).d(d)
                .steps(1_000_000).build();
        router = Routers.create(impl, 1);
        sim = new RouterTrainingSimulator(c, router);
        for (int i = 0; i < 3; i++) {
            sim.step();
        }
        spec = c.spec();
        SplittableRandom r = new SplittableRandom(3);
        x = new float[Math.min(RouterTrainingSimulator.DEFAULT_MICRO_BATCH, tokens) * d];
        w = new float[d * experts];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) ((r.nextDouble() * 2 - 1) * 0.05);
        }
        System.out.println("\nrouter: " + router.name() + ", processors visible: " + Runtime.getRuntime().availableProcessors());
    }

    @Benchmark
    public int[] step() {
        return sim.step();
    }

    @Benchmark
    public void routeOnly(Blackhole bh) {
        int mb = Math.min(RouterTrainingSimulator.DEFAULT_MICRO_BATCH, tokens);
        for (int l = 0; l < layers; l++) {
            for (int s0 = 0; s0 + mb <= tokens; s0 += mb) {
                router.routeHidden(x, w, mb, d, spec, out);
                bh.consume(out.counts());
            }
        }
    }
}

package io.moecast.bench.peer;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.moecast.bench.BenchData;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScalarRouter;
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
 * The peer: libtorch (PyTorch 2.7.1 CPU through DJL 0.36.0, offline) routing the same logits as
 * {@code RoutingBench}: {@code softmax} then {@code topk} (softmax-topk) or {@code topk} then
 * {@code softmax} over the k values (topk-softmax), then the selected ids copied to Java and counted
 * (DJL exposes no bincount). Intra-op threads = the {@code impl} suffix, inter-op threads = 1.
 * {@code @Setup} checks the ids against the scalar reference on a slice. Lives in the peer jar only
 * ({@code mvn -Ppeer package}): libtorch never enters the main jar.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Dai.djl.offline=true", "-Xmx6g"})
public class TorchRoutingBench {
    @Param({"1048576"})
    public int tokens;
    @Param({"64"})
    public int experts;
    @Param({"1", "2", "8"})
    public int k;
    @Param({"topk-softmax", "softmax-topk"})
    public String mode;
    @Param({"torch-1t", "torch-2t"})
    public String impl;

    private NDManager manager;
    private NDArray logits;
    private long[] counts;
    private boolean full;

    @Setup(Level.Trial)
    public void setup() {
        String threads = impl.substring(impl.lastIndexOf('-') + 1, impl.length() - 1);
        System.setProperty("ai.djl.pytorch.num_threads", threads);
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        System.setProperty("ai.djl.offline", "true");
        Engine engine = Engine.getEngine("PyTorch");
        manager = engine.newBaseManager();
        float[] data = BenchData.logits(tokens, experts, 42);
        logits = manager.create(data, new Shape(tokens, experts));
        full = mode.equals("softmax-topk");
        counts = new long[experts];
        // the peer must agree with the reference (N(0,1) logits have no ties in practice)
        int n = Math.min(tokens, 16384);
        RoutingSpec spec = BenchData.spec(experts, k, mode);
        RoutingOutput ref = new RoutingOutput();
        new ScalarRouter().route(data, n, spec, ref);
        try (NDArray slice = logits.get("0:" + n); NDList tk = select(slice)) {
            long[] ids = tk.get(1).toLongArray();
            float[] w = tk.get(0).toFloatArray();
            for (int i = 0; i < n * k; i++) {
                if (ids[i] != ref.ids()[i] || Math.abs(w[i] - ref.weights()[i]) > 1e-5 * Math.abs(ref.weights()[i]) + 1e-30) {
                    throw new AssertionError("libtorch disagrees with the reference at slot " + i + ": " + ids[i] + "/" + w[i]
                            + " vs " + ref.ids()[i] + "/" + ref.weights()[i]);
                }
            }
        }
    }

    /** (weights, ids) as torch computes them for the mode. */
    private NDList select(NDArray x) {
        if (full) {
            try (NDArray probs = x.softmax(1)) {
                return probs.topK(k, 1, true, true);
            }
        }
        NDList tk = x.topK(k, 1, true, true);
        NDArray w = tk.get(0).softmax(1);
        tk.get(0).close();
        return new NDList(w, tk.get(1));
    }

    @Benchmark
    public long route() {
        java.util.Arrays.fill(counts, 0);
        try (NDList tk = select(logits)) {
            long[] ids = tk.get(1).toLongArray();
            for (long id : ids) {
                counts[(int) id]++;
            }
        }
        return counts[0];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        manager.close();
    }
}

package io.moecast.bench;

import io.moecast.budget.SyntheticLoads;
import io.moecast.placement.EplbPlanner;
import io.moecast.placement.MigrationAwarePlanner;
import io.moecast.placement.Placement;
import io.moecast.placement.PlacementShape;
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
 * Planning cost of a whole model (every layer) on one thread. Default shape: DeepSeek-V3's prefill
 * deployment, 58 MoE layers x 256 experts + 32 redundant on 32 GPUs in 4 nodes with 8 expert groups
 * (EPLB's hierarchical policy; the published Python EPLB takes about half a second per re-balance
 * of this shape). {@code nodes=1} gives the global policy.
 * <ul>
 *   <li>{@link #eplb}: the EPLB-equivalent plan from scratch;</li>
 *   <li>{@link #migrationAware}: the migration-aware re-plan from the previous plan, on a load that
 *       alternates between two forecasts (so every call has work to do).</li>
 * </ul>
 * Run: {@code java --add-modules=jdk.incubator.vector -cp target/moecast.jar org.openjdk.jmh.Main PlacementBench}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class PlacementBench {
    @Param("58")
    public int layers;
    @Param("256")
    public int experts;
    @Param("32")
    public int redundant;
    @Param("32")
    public int gpus;
    @Param({"4", "1"})
    public int nodes;
    @Param("8")
    public int groups;

    private double[][] loads;
    private int which;
    private EplbPlanner eplb;
    private MigrationAwarePlanner migration;
    private Placement out;
    private Placement current;

    @Setup(Level.Trial)
    public void setup() {
        PlacementShape shape = PlacementShape.of(layers, experts, redundant, gpus, nodes, groups);
        loads = new double[2][];
        for (int k = 0; k < 2; k++) {
            int[] counts = new SyntheticLoads(layers, experts, 1_000_000L, 11 + k).ring(1)[0];
            loads[k] = new double[counts.length];
            for (int i = 0; i < counts.length; i++) {
                loads[k][i] = counts[i];
            }
        }
        eplb = new EplbPlanner(shape);
        migration = new MigrationAwarePlanner(shape, MigrationAwarePlanner.DEFAULT_THRESHOLD,
                MigrationAwarePlanner.defaultMaxMoves(shape));
        out = new Placement(shape);
        current = new Placement(shape);
        eplb.plan(loads[0], current);
    }

    @Benchmark
    public Placement eplb() {
        eplb.plan(loads[0], out);
        return out;
    }

    @Benchmark
    public Placement migrationAware() {
        which ^= 1;
        migration.plan(loads[which], current);
        return current;
    }
}

package io.moecast.routing.panama;

import io.moecast.routing.Precision;
import io.moecast.routing.Router;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static io.moecast.routing.panama.VectorMath.F;
import static io.moecast.routing.panama.VectorMath.I;
import static io.moecast.routing.panama.VectorMath.L;

/**
 * Top-k gating on the Vector API ({@code FloatVector.SPECIES_PREFERRED}: AVX-512 or AVX2), multi-threaded
 * over contiguous token blocks, one histogram per thread merged at the end. Same results as
 * {@link io.moecast.routing.ScalarRouter}: identical ids and counts, weights within 1e-6 relative (see
 * {@link RowKernels} for how). Allocation-free in steady state: per-thread scratch is sized on the first
 * batch of a shape and reused; the worker threads are parked between batches.
 *
 * <p>Not thread-safe: one batch at a time per instance. {@link #close()} stops the helper threads
 * (they are daemons, so a forgotten router does not keep the JVM alive).
 *
 * <p>Loaded reflectively by {@link io.moecast.routing.Routers} only when {@code jdk.incubator.vector}
 * is in the boot layer and C2 is on; never reference this class directly from core code.
 */
public final class VectorRouter implements Router, AutoCloseable {
    /** Below this many tokens a batch runs on the calling thread only (waking helpers costs more). */
    static final int MIN_TOKENS_PER_THREAD = 512;
    /** Rows per chunk for the segment and fused-gate paths (converted or computed into scratch). */
    private static final int CHUNK_FLOATS = 1 << 14;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(F.vectorBitSize() / 2));

    private final int threads;
    private final WorkerPool pool;
    private final Worker[] workers;

    // the current batch (written by the caller before WorkerPool.run publishes it)
    private int parts;
    private RoutingSpec spec;
    private float[] jobLogits;
    private float[] jobHidden;
    private float[] jobGate;
    private int jobDim;
    private int[] jobIds;
    private float[] jobWeights;
    private long jobTokens;
    private MemorySegment segLogits;
    private MemorySegment segIds;
    private MemorySegment segWeights;
    private Precision segPrecision;
    private final WorkerPool.Task heapTask = this::heapPart;
    private final WorkerPool.Task segmentTask = this::segmentPart;
    private final WorkerPool.Task hiddenTask = this::hiddenPart;

    /** A router using every available processor. */
    public VectorRouter() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /**
     * A router using {@code threads} threads (the caller's plus {@code threads − 1} helpers).
     *
     * @throws UnsupportedOperationException when the preferred vector holds fewer than 4 floats
     */
    public VectorRouter(int threads) {
        if (L < 4) {
            throw new UnsupportedOperationException("preferred vector size " + F.vectorBitSize() + " bits is too small");
        }
        this.threads = threads;
        this.pool = new WorkerPool(threads, "moecast-router");
        this.workers = new Worker[threads];
        for (int i = 0; i < threads; i++) {
            workers[i] = new Worker();
        }
    }

    @Override
    public String name() {
        return "vector";
    }

    /** Threads used per batch. */
    public int threads() {
        return threads;
    }

    /** E.g. {@code FloatVector 512-bit (16 lanes)}. */
    public static String species() {
        return "FloatVector " + F.vectorBitSize() + "-bit (" + L + " lanes)";
    }

    @Override
    public void route(float[] logits, int tokens, RoutingSpec spec, RoutingOutput out) {
        int E = spec.experts();
        check(logits.length, (long) tokens * E);
        out.prepare(tokens, spec.k(), E);
        this.spec = spec;
        this.jobLogits = logits;
        this.jobIds = out.ids();
        this.jobWeights = out.weights();
        this.jobTokens = tokens;
        runParts(heapTask, tokens, spec);
        merge(out.counts());
        this.jobLogits = null;
    }

    @Override
    public void route(MemorySegment logits, Precision precision, long tokens, RoutingSpec spec,
                      MemorySegment ids, MemorySegment weights, long[] counts) {
        int E = spec.experts();
        int k = spec.k();
        check(logits.byteSize() / precision.bytes(), tokens * E);
        if (ids.byteSize() < tokens * k * 4 || weights.byteSize() < tokens * k * 4 || counts.length != E) {
            throw new IllegalArgumentException("output segments too small for " + tokens + " x " + k + " (or counts length != E)");
        }
        this.spec = spec;
        this.segLogits = logits;
        this.segPrecision = precision;
        this.segIds = ids;
        this.segWeights = weights;
        this.jobTokens = tokens;
        boolean shared = pool.canAccess(logits) && pool.canAccess(ids) && pool.canAccess(weights);
        runParts(segmentTask, shared ? tokens : 0, spec);
        merge(counts);
        this.segLogits = null;
        this.segIds = null;
        this.segWeights = null;
    }

    @Override
    public void routeHidden(float[] x, float[] w, int tokens, int d, RoutingSpec spec, RoutingOutput out) {
        int E = spec.experts();
        check(x.length, (long) tokens * d);
        check(w.length, (long) d * E);
        out.prepare(tokens, spec.k(), E);
        this.spec = spec;
        this.jobHidden = x;
        this.jobGate = w;
        this.jobDim = d;
        this.jobIds = out.ids();
        this.jobWeights = out.weights();
        this.jobTokens = tokens;
        runParts(hiddenTask, tokens, spec);
        merge(out.counts());
        this.jobHidden = null;
        this.jobGate = null;
    }

    private static void check(long have, long need) {
        if (have < need) {
            throw new IllegalArgumentException("input holds " + have + " values, the batch needs " + need);
        }
    }

    /** Splits the batch over up to {@code threads} workers ({@code splittable} = 0: the caller only). */
    private void runParts(WorkerPool.Task task, long splittable, RoutingSpec spec) {
        int n = (int) Math.max(1, Math.min(threads, splittable / MIN_TOKENS_PER_THREAD));
        for (int i = 0; i < n; i++) {
            workers[i].prepare(spec);
        }
        this.parts = n;
        if (n == 1) {
            task.run(0);
        } else {
            pool.run(task);
        }
    }

    private void merge(long[] counts) {
        for (int i = 0; i < parts; i++) {
            long[] c = workers[i].kernels.counts;
            for (int e = 0; e < counts.length; e++) {
                counts[e] += c[e];
            }
        }
    }

    private long partStart(int part) {
        return jobTokens * part / parts;
    }

    private void heapPart(int worker) {
        if (worker >= parts) {
            return;
        }
        long t0 = partStart(worker);
        long t1 = partStart(worker + 1);
        int E = spec.experts();
        int k = spec.k();
        workers[worker].kernels.route(jobLogits, (int) t0 * E, (int) (t1 - t0), jobIds, jobWeights, (int) t0 * k);
    }

    private void segmentPart(int worker) {
        if (worker >= parts) {
            return;
        }
        Worker wk = workers[worker];
        int E = spec.experts();
        int k = spec.k();
        long t1 = partStart(worker + 1);
        int chunk = wk.chunkRows;
        for (long t = partStart(worker); t < t1; t += chunk) {
            int rows = (int) Math.min(chunk, t1 - t);
            int n = rows * E;
            if (segPrecision == Precision.F32) {
                MemorySegment.copy(segLogits, ValueLayout.JAVA_FLOAT_UNALIGNED, t * E * 4, wk.rows, 0, n);
            } else {
                bf16ToFloat(segLogits, t * E * 2, wk.rows, n);
            }
            wk.kernels.route(wk.rows, 0, rows, wk.ids, wk.weights, 0);
            MemorySegment.copy(wk.ids, 0, segIds, ValueLayout.JAVA_INT_UNALIGNED, t * k * 4, rows * k);
            MemorySegment.copy(wk.weights, 0, segWeights, ValueLayout.JAVA_FLOAT_UNALIGNED, t * k * 4, rows * k);
        }
    }

    /** bf16 (upper half of a float) to float: widen to int, shift left 16. */
    static void bf16ToFloat(MemorySegment src, long byteOffset, float[] dst, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            ShortVector s = ShortVector.fromMemorySegment(S, src, byteOffset + 2L * i, NATIVE);
            IntVector w = (IntVector) s.convertShape(VectorOperators.S2I, I, 0);
            w.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, i);
        }
        for (; i < n; i++) {
            dst[i] = Precision.bf16ToFloat(src.get(ValueLayout.JAVA_SHORT_UNALIGNED, byteOffset + 2L * i));
        }
    }

    private void hiddenPart(int worker) {
        if (worker >= parts) {
            return;
        }
        Worker wk = workers[worker];
        int E = spec.experts();
        int k = spec.k();
        int d = jobDim;
        int t1 = (int) partStart(worker + 1);
        int chunk = wk.chunkRows;
        for (int t = (int) partStart(worker); t < t1; t += chunk) {
            int rows = Math.min(chunk, t1 - t);
            Gate.multiply(jobHidden, t * d, rows, jobGate, d, E, wk.rows);
            wk.kernels.route(wk.rows, 0, rows, jobIds, jobWeights, t * k);
        }
    }

    @Override
    public void close() {
        pool.close();
    }

    /** Per-thread state: kernels with their histogram, and chunk buffers. */
    private static final class Worker {
        RowKernels kernels;
        RoutingSpec spec;
        int chunkRows;
        float[] rows = new float[0];
        int[] ids = new int[0];
        float[] weights = new float[0];

        void prepare(RoutingSpec s) {
            if (!s.equals(spec)) {
                spec = s;
                kernels = new RowKernels(s);
                chunkRows = Math.max(1, CHUNK_FLOATS / s.experts());
                if (rows.length < chunkRows * s.experts()) {
                    rows = new float[chunkRows * s.experts()];
                }
                if (ids.length < chunkRows * s.k()) {
                    ids = new int[chunkRows * s.k()];
                    weights = new float[chunkRows * s.k()];
                }
            } else {
                java.util.Arrays.fill(kernels.counts, 0L);
            }
        }
    }
}

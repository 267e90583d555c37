package io.moecast.routing.panama;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static io.moecast.routing.panama.VectorMath.F;
import static io.moecast.routing.panama.VectorMath.L;

/**
 * Hardware roofs measured with the same tools as the kernels (Vector API, the same worker pool):
 * a memory-read roof (sum of a float array, four accumulators, each thread reading a contiguous block)
 * and an FMA-peak roof (independent FMA chains in registers, no memory traffic). The routing kernels
 * are judged against these, measured side by side in the same JMH run.
 */
public final class Roofs implements AutoCloseable {
    /** Independent accumulator chains in {@link #fmaPeak}: latency 4 × 2 ports = 8 in flight, plus margin. */
    public static final int FMA_CHAINS = 12;

    private final WorkerPool pool;
    private final float[] partial;
    private float[] array;
    private int length;
    private long iterations;
    private final WorkerPool.Task sumTask = this::sumPart;
    private final WorkerPool.Task fmaTask = this::fmaPart;

    public Roofs(int threads) {
        this.pool = new WorkerPool(threads, "moecast-roof");
        this.partial = new float[threads * 16];
    }

    /** Sum of {@code a[0..n)} read once with vector loads by every thread (its own block). */
    public float sum(float[] a, int n) {
        array = a;
        length = n;
        pool.run(sumTask);
        array = null;
        float s = 0;
        for (int i = 0; i < pool.size(); i++) {
            s += partial[i * 16];
        }
        return s;
    }

    private void sumPart(int w) {
        int n = pool.size();
        int from = (int) ((long) length * w / n) / L * L;
        int to = w == n - 1 ? length : (int) ((long) length * (w + 1) / n) / L * L;
        partial[w * 16] = sum(array, from, to);
    }

    static float sum(float[] a, int from, int to) {
        FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
        int i = from;
        for (; i <= to - 4 * L; i += 4 * L) {
            s0 = s0.add(FloatVector.fromArray(F, a, i));
            s1 = s1.add(FloatVector.fromArray(F, a, i + L));
            s2 = s2.add(FloatVector.fromArray(F, a, i + 2 * L));
            s3 = s3.add(FloatVector.fromArray(F, a, i + 3 * L));
        }
        float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
        for (; i < to; i++) {
            s += a[i];
        }
        return s;
    }

    /** Runs {@code iters} rounds of {@link #FMA_CHAINS} vector FMAs on every thread. */
    public float fmaPeak(long iters) {
        iterations = iters;
        pool.run(fmaTask);
        float s = 0;
        for (int i = 0; i < pool.size(); i++) {
            s += partial[i * 16];
        }
        return s;
    }

    /** Floating-point operations done by {@link #fmaPeak}: 2 per lane per FMA. */
    public long fmaFlops(long iters) {
        return iters * FMA_CHAINS * L * 2L * pool.size();
    }

    private void fmaPart(int w) {
        FloatVector m = FloatVector.broadcast(F, 0.999999f);
        FloatVector c = FloatVector.broadcast(F, 1e-7f + w);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0.add(1f), a2 = a0.add(2f), a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f), a5 = a0.add(5f), a6 = a0.add(6f), a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f), a9 = a0.add(9f), a10 = a0.add(10f), a11 = a0.add(11f);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        FloatVector s = a0.add(a1).add(a2.add(a3)).add(a4.add(a5).add(a6.add(a7))).add(a8.add(a9).add(a10.add(a11)));
        partial[w * 16] = s.reduceLanes(VectorOperators.ADD);
    }

    public int threads() {
        return pool.size();
    }

    @Override
    public void close() {
        pool.close();
    }
}

package io.moecast.routing.cuda;

import io.moecast.UserError;
import io.moecast.routing.Precision;
import io.moecast.routing.Router;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;
import jcuda.Pointer;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD8Async;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

/**
 * The CUDA router: the kernels of {@code kernels/routing.cu} driven through JCuda, in the one CUDA context
 * of the process ({@link CudaDevice}).
 *
 * <p><b>Two ways in.</b> <i>From host</i>: the {@link Router} methods take logits in Java memory, copy
 * them to the GPU in 64 MiB chunks through pinned staging buffers on two streams (copy of one chunk
 * overlaps the kernel of the other), and copy ids, weights and counts back; logits already in a
 * {@link #pinned pinned buffer} are copied without staging. <i>Device-resident</i>:
 * {@link #routeDevice} routes logits that already live on the GPU (as inside a training step) into device
 * outputs, asynchronously on {@link #stream()}; only the kernel runs.
 *
 * <p>Supports k ≤ 8, float32 and bfloat16 logits, every scoring mode, E up to what a block's shared
 * memory holds (histogram 4·E bytes). Ids and counts are identical to {@link io.moecast.routing.ScalarRouter};
 * weights agree to float rounding (the softmax weights are computed in float on the GPU, the
 * sigmoid-grouped ones in double as in the reference). Not thread-safe: one router per thread.
 */
public final class CudaRouter implements Router, AutoCloseable {
    /** Staging chunk for the from-host path. */
    static final long CHUNK_BYTES = 64L << 20;

    private final CudaDevice dev;
    private final CUstream[] streams = new CUstream[2];
    private final CUevent countsReady = new CUevent();
    private final Stage[] stages = {new Stage(), new Stage()};
    private DeviceBuffer counts;
    private DeviceBuffer bias;
    private float[] biasOnDevice;
    private KernelPlan.Variant variant = KernelPlan.Variant.AUTO;
    private KernelPlan lastPlan;
    private boolean closed;

    /** Staging for one stream: pinned host in/out and device in/out for one chunk. */
    private static final class Stage {
        PinnedBuffer in;
        PinnedBuffer outIds;
        PinnedBuffer outW;
        DeviceBuffer dIn;
        DeviceBuffer dIds;
        DeviceBuffer dW;
        long pendingStart = -1;
        long pendingRows;

        void ensure(long inBytes, long outBytes) {
            if (in == null || in.bytes() < inBytes) {
                close(in, dIn);
                in = PinnedBuffer.allocate(inBytes);
                dIn = DeviceBuffer.allocate(inBytes);
            }
            if (outIds == null || outIds.bytes() < outBytes) {
                close(outIds, dIds);
                close(outW, dW);
                outIds = PinnedBuffer.allocate(outBytes);
                outW = PinnedBuffer.allocate(outBytes);
                dIds = DeviceBuffer.allocate(outBytes);
                dW = DeviceBuffer.allocate(outBytes);
            }
        }

        static void close(AutoCloseable... cs) {
            for (AutoCloseable c : cs) {
                if (c != null) {
                    try {
                        c.close();
                    } catch (Exception ignored) {
                        // freeing never fails in a way we can act on
                    }
                }
            }
        }

        void closeAll() {
            close(in, outIds, outW, dIn, dIds, dW);
            in = outIds = outW = null;
            dIn = dIds = dW = null;
        }
    }

    private CudaRouter() {
        dev = CudaDevice.get();
        for (int i = 0; i < streams.length; i++) {
            streams[i] = new CUstream();
            cuStreamCreate(streams[i], CUstream_flags.CU_STREAM_NON_BLOCKING);
        }
        cuEventCreate(countsReady, CUevent_flags.CU_EVENT_DISABLE_TIMING);
    }

    /**
     * A CUDA router, or a {@link UserError} with a one-line reason when this machine cannot run one (no
     * GPU, no driver, no kernels in the jar). {@code Routers.create("cuda")} calls this reflectively.
     */
    public static CudaRouter create() {
        CudaSupport.Availability a = CudaSupport.availability();
        if (!a.available()) {
            throw new UserError("the cuda router is unavailable: " + a.message());
        }
        return new CudaRouter();
    }

    @Override
    public String name() {
        return "cuda";
    }

    public CudaDevice device() {
        return dev;
    }

    /** The stream device-resident work is queued on. */
    public CUstream stream() {
        return streams[0];
    }

    /** Forces a kernel variant (tests and the GPU check compare fast and generic paths). */
    public CudaRouter variant(KernelPlan.Variant v) {
        this.variant = v;
        return this;
    }

    /** The plan of the last launch (null before the first). */
    public KernelPlan lastPlan() {
        return lastPlan;
    }

    /** Pinned host memory in this router's context (route() reads logits from it without staging). */
    public PinnedBuffer pinned(long bytes) {
        dev.makeCurrent();
        return PinnedBuffer.allocate(bytes);
    }

    /** The plan a batch would use. */
    public KernelPlan plan(RoutingSpec spec, Precision precision, long logitsAddress) {
        return KernelPlan.of(spec, precision, KernelPlan.alignmentOf(logitsAddress), variant);
    }

    // ------------------------------------------------------------------------------------ from host

    @Override
    public void route(float[] logits, int tokens, RoutingSpec spec, RoutingOutput out) {
        int E = spec.experts();
        checkLength(logits.length, (long) tokens * E);
        out.prepare(tokens, spec.k(), E);
        routeHost(MemorySegment.ofArray(logits), Precision.F32, tokens, spec,
                MemorySegment.ofArray(out.ids()), MemorySegment.ofArray(out.weights()), out.counts());
    }

    @Override
    public void route(MemorySegment logits, Precision precision, long tokens, RoutingSpec spec,
                      MemorySegment ids, MemorySegment weights, long[] counts) {
        int E = spec.experts();
        int k = spec.k();
        checkLength(logits.byteSize() / precision.bytes(), tokens * E);
        if (ids.byteSize() < tokens * k * 4 || weights.byteSize() < tokens * k * 4 || counts.length != E) {
            throw new IllegalArgumentException("output segments too small for " + tokens + " x " + k + " (or counts length != E)");
        }
        routeHost(logits, precision, tokens, spec, ids, weights, counts);
    }

    @Override
    public void routeHidden(float[] x, float[] w, int tokens, int d, RoutingSpec spec, RoutingOutput out) {
        int E = spec.experts();
        int k = spec.k();
        checkLength(x.length, (long) tokens * d);
        checkLength(w.length, (long) d * E);
        out.prepare(tokens, k, E);
        if (tokens == 0) {
            return;
        }
        dev.makeCurrent();
        try (DeviceBuffer dx = DeviceBuffer.allocate((long) tokens * d * 4);
             DeviceBuffer dw = DeviceBuffer.allocate((long) d * E * 4);
             DeviceBuffer dl = DeviceBuffer.allocate((long) tokens * E * 4);
             DeviceBuffer di = DeviceBuffer.allocate((long) tokens * k * 4);
             DeviceBuffer dwt = DeviceBuffer.allocate((long) tokens * k * 4);
             DeviceBuffer dc = DeviceBuffer.allocate((long) E * 8)) {
            cuMemcpyHtoD(dx.at(0), Pointer.to(x), (long) tokens * d * 4);
            cuMemcpyHtoD(dw.at(0), Pointer.to(w), (long) d * E * 4);
            CUstream s = stream();
            cuMemsetD8Async(dc.at(0), (byte) 0, (long) E * 8, s);
            try (Nvtx.Range r = Nvtx.range("moecast gate")) {
                gate(dx.address(), dw.address(), tokens, d, E, dl.address(), s);
            }
            routeDevice(dl, Precision.F32, tokens, spec, di, dwt, dc);
            cuStreamSynchronize(s);
            cuMemcpyDtoH(Pointer.to(out.ids()), di.at(0), (long) tokens * k * 4);
            cuMemcpyDtoH(Pointer.to(out.weights()), dwt.at(0), (long) tokens * k * 4);
            long[] c = new long[E];
            cuMemcpyDtoH(Pointer.to(c), dc.at(0), (long) E * 8);
            System.arraycopy(c, 0, out.counts(), 0, E);
        }
    }

    private static void checkLength(long have, long need) {
        if (have < need) {
            throw new IllegalArgumentException("input holds " + have + " values, the batch needs " + need);
        }
    }

    private void routeHost(MemorySegment logits, Precision p, long T, RoutingSpec spec, MemorySegment ids,
                           MemorySegment weights, long[] hostCounts) {
        checkOpen();
        dev.makeCurrent();
        int E = spec.experts();
        int k = spec.k();
        KernelPlan plan = KernelPlan.of(spec, p, 256, variant);   // staging buffers are 256-byte aligned
        if (T == 0) {
            return;
        }
        ensureCounts(E);
        long biasAddr = ensureBias(spec);
        long rowBytes = (long) E * p.bytes();
        long chunkRows = Math.max(1, Math.min(T, CHUNK_BYTES / rowBytes));
        for (Stage st : stages) {
            st.ensure(chunkRows * rowBytes, chunkRows * k * 4);
            st.pendingStart = -1;
        }
        boolean inPinned = isPinned(logits);
        boolean outPinned = isPinned(ids) && isPinned(weights);
        cuMemsetD8Async(counts.at(0), (byte) 0, (long) E * 8, streams[0]);
        cuEventRecord(countsReady, streams[0]);
        cuStreamWaitEvent(streams[1], countsReady, 0);
        long c = 0;
        for (long start = 0; start < T; start += chunkRows, c++) {
            int b = (int) (c & 1);
            Stage st = stages[b];
            CUstream s = streams[b];
            long rows = Math.min(chunkRows, T - start);
            if (st.pendingStart >= 0) {
                cuStreamSynchronize(s);
                drain(st, ids, weights, k);
            }
            long inBytes = rows * rowBytes;
            long src;
            if (inPinned) {
                src = logits.address() + start * rowBytes;
            } else {
                try (Nvtx.Range r = Nvtx.range("moecast stage in")) {
                    MemorySegment.copy(logits, start * rowBytes, st.in.segment(), 0, inBytes);
                }
                src = st.in.segment().address();
            }
            try (Nvtx.Range r = Nvtx.range("moecast H2D+route+D2H")) {
                cuMemcpyHtoDAsync(st.dIn.at(0), PinnedBuffer.hostPointer(src), inBytes, s);
                launch(plan, st.dIn.address(), rows, spec, biasAddr, st.dIds.address(), st.dW.address(), counts.address(), s);
                long outBytes = rows * k * 4;
                if (outPinned) {
                    cuMemcpyDtoHAsync(PinnedBuffer.hostPointer(ids.address() + start * k * 4), st.dIds.at(0), outBytes, s);
                    cuMemcpyDtoHAsync(PinnedBuffer.hostPointer(weights.address() + start * k * 4), st.dW.at(0), outBytes, s);
                } else {
                    cuMemcpyDtoHAsync(PinnedBuffer.hostPointer(st.outIds.segment().address()), st.dIds.at(0), outBytes, s);
                    cuMemcpyDtoHAsync(PinnedBuffer.hostPointer(st.outW.segment().address()), st.dW.at(0), outBytes, s);
                    st.pendingStart = start;
                    st.pendingRows = rows;
                }
            }
        }
        for (int b = 0; b < 2; b++) {
            cuStreamSynchronize(streams[b]);
            if (stages[b].pendingStart >= 0) {
                drain(stages[b], ids, weights, k);
            }
        }
        long[] dc = new long[E];
        cuMemcpyDtoH(Pointer.to(dc), counts.at(0), (long) E * 8);
        for (int e = 0; e < E; e++) {
            hostCounts[e] += dc[e];
        }
    }

    private static void drain(Stage st, MemorySegment ids, MemorySegment weights, int k) {
        long bytes = st.pendingRows * k * 4;
        MemorySegment.copy(st.outIds.segment(), 0, ids, st.pendingStart * k * 4, bytes);
        MemorySegment.copy(st.outW.segment(), 0, weights, st.pendingStart * k * 4, bytes);
        st.pendingStart = -1;
    }

    private boolean isPinned(MemorySegment s) {
        // Segments inside pinned buffers are copied directly; any other memory goes through the staging.
        return PinnedBuffer.isPinned(s) && !stagingHolds(s);
    }

    // ------------------------------------------------------------------------------ device-resident

    /**
     * Routes logits already on the GPU: {@code logits} [T][E] in {@code precision}, ids (int32) and weights
     * (float32) [T][k] into device buffers, and ADDS the histogram into {@code counts} (E uint64 on the
     * device; zero it with {@link #zero}). Asynchronous on {@link #stream()}. Returns the plan used.
     */
    public KernelPlan routeDevice(DeviceBuffer logits, Precision precision, long tokens, RoutingSpec spec,
                                  DeviceBuffer ids, DeviceBuffer weights, DeviceBuffer counts) {
        checkOpen();
        int E = spec.experts();
        int k = spec.k();
        if (logits.bytes() < tokens * E * precision.bytes() || ids.bytes() < tokens * k * 4
                || weights.bytes() < tokens * k * 4 || counts.bytes() < (long) E * 8) {
            throw new IllegalArgumentException("device buffers too small for " + tokens + " tokens of " + spec);
        }
        dev.makeCurrent();
        KernelPlan plan = plan(spec, precision, logits.address());
        if (tokens > 0) {
            launch(plan, logits.address(), tokens, spec, ensureBias(spec), ids.address(), weights.address(), counts.address(), stream());
        }
        return plan;
    }

    /** Zeroes a device buffer on {@link #stream()}. */
    public void zero(DeviceBuffer b) {
        dev.makeCurrent();
        cuMemsetD8Async(b.at(0), (byte) 0, b.bytes(), stream());
    }

    /** Waits for all work queued by this router. */
    public void synchronize() {
        dev.makeCurrent();
        for (CUstream s : streams) {
            cuStreamSynchronize(s);
        }
    }

    /** Fills {@code n} logits with N(0, scale²) values on the GPU (counter-based; the same for both types). */
    public void fillNormal(DeviceBuffer b, Precision precision, long n, long seed, float scale) {
        if (b.bytes() < n * precision.bytes()) {
            throw new IllegalArgumentException("buffer too small for " + n + " values");
        }
        dev.makeCurrent();
        String kernel = precision == Precision.F32 ? "moecast_fill_normal_f32" : "moecast_fill_normal_bf16";
        int threads = 256;
        int blocks = (int) Math.max(1, Math.min((n + threads - 1) / threads, (long) dev.multiprocessors() * 16));
        Pointer params = Pointer.to(Pointer.to(new long[] {b.address()}), Pointer.to(new long[] {n}),
                Pointer.to(new long[] {seed}), Pointer.to(new float[] {scale}));
        cuLaunchKernel(dev.function(kernel), blocks, 1, 1, threads, 1, 1, 0, stream(), params, null);
    }

    /** Queues a one-thread kernel that keeps {@link #stream()} busy for {@code ns} nanoseconds. */
    void spin(long ns) {
        dev.makeCurrent();
        cuLaunchKernel(dev.function("moecast_spin"), 1, 1, 1, 1, 1, 1, 0, stream(), Pointer.to(Pointer.to(new long[] {ns})), null);
    }

    void gate(long x, long w, long tokens, int d, int E, long logits, CUstream s) {
        int threads = 256;
        long n = tokens * E;
        int blocks = (int) Math.max(1, Math.min((n + threads - 1) / threads, (long) dev.multiprocessors() * 16));
        Pointer params = Pointer.to(Pointer.to(new long[] {x}), Pointer.to(new long[] {w}), Pointer.to(new long[] {tokens}),
                Pointer.to(new int[] {d}), Pointer.to(new int[] {E}), Pointer.to(new long[] {logits}));
        cuLaunchKernel(dev.function("moecast_gate_f32"), blocks, 1, 1, threads, 1, 1, 0, s, params, null);
    }

    /** Launches one routing kernel (all entry points share this parameter list). */
    void launch(KernelPlan plan, long logits, long tokens, RoutingSpec spec, long biasAddr, long ids, long weights,
                long countsAddr, CUstream s) {
        boolean grouped = spec.mode() == ScoringMode.SIGMOID_GROUPED;
        int G = grouped ? spec.groups() : 1;
        int gs = grouped ? spec.groupSize() : spec.experts();
        int keep = grouped ? spec.topkGroups() : 1;
        int active = dev.activeBlocksPerSm(plan.kernel(), plan.threadsPerBlock(), plan.smemBytes());
        int blocks = plan.blocks(tokens, dev.multiprocessors(), active);
        Pointer params = Pointer.to(
                Pointer.to(new long[] {logits}), Pointer.to(new long[] {tokens}),
                Pointer.to(new int[] {spec.experts()}), Pointer.to(new int[] {spec.k()}),
                Pointer.to(new int[] {plan.tprLog2()}), Pointer.to(new int[] {G}), Pointer.to(new int[] {gs}),
                Pointer.to(new int[] {plan.lpgLog2()}), Pointer.to(new int[] {keep}),
                Pointer.to(new long[] {biasAddr}), Pointer.to(new long[] {ids}), Pointer.to(new long[] {weights}),
                Pointer.to(new long[] {countsAddr}));
        cuLaunchKernel(dev.function(plan.kernel()), blocks, 1, 1, plan.threadsPerBlock(), 1, 1, plan.smemBytes(), s, params, null);
        lastPlan = plan;
    }

    private void ensureCounts(int E) {
        if (counts == null || counts.bytes() < (long) E * 8) {
            if (counts != null) {
                counts.close();
            }
            counts = DeviceBuffer.allocate((long) E * 8);
        }
    }

    /** Uploads the spec's bias when it changed; returns its device address (0 when the mode has none). */
    private long ensureBias(RoutingSpec spec) {
        if (spec.mode() != ScoringMode.SIGMOID_GROUPED) {
            return 0L;
        }
        float[] b = spec.bias();
        if (bias == null || !Arrays.equals(b, biasOnDevice)) {
            synchronize();   // the previous bias may still be read by queued kernels
            if (bias == null || bias.bytes() < (long) b.length * 4) {
                if (bias != null) {
                    bias.close();
                }
                bias = DeviceBuffer.allocate((long) b.length * 4);
            }
            cuMemcpyHtoD(bias.at(0), Pointer.to(b), (long) b.length * 4);
            biasOnDevice = b;
        }
        return bias.address();
    }

    private boolean stagingHolds(MemorySegment s) {
        for (Stage st : stages) {
            for (PinnedBuffer b : new PinnedBuffer[] {st.in, st.outIds, st.outW}) {
                if (b != null && b.contains(s)) {
                    return true;
                }
            }
        }
        return false;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("cuda router closed");
        }
    }

    /** Creates a timing event (CUDA events time work on a stream without host round trips). */
    static CUevent timingEvent() {
        CUevent e = new CUevent();
        cuEventCreate(e, CUevent_flags.CU_EVENT_DEFAULT);
        return e;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        dev.makeCurrent();
        for (CUstream s : streams) {
            cuStreamSynchronize(s);
        }
        for (Stage st : stages) {
            st.closeAll();
        }
        Stage.close(counts, bias);
        cuEventDestroy(countsReady);
        for (CUstream s : streams) {
            cuStreamDestroy(s);
        }
    }
}

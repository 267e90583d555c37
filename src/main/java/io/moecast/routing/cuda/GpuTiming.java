package io.moecast.routing.cuda;

import io.moecast.routing.Precision;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;
import jcuda.driver.CUevent;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;

/**
 * CUDA-event timing of the routing kernels on logits generated on the GPU (device-resident), of the
 * from-host path (pinned host logits, transfers included, wall clock), and of a device-to-device copy
 * (the bandwidth roof). Medians of {@link #REPS} timed launches after {@link #WARMUP} warm-ups; inputs
 * rotate over enough buffers to exceed four times the L2 so small shapes are not timed from cache.
 */
final class GpuTiming {
    static final int WARMUP = 3;
    static final int REPS = 20;

    /** A timed shape. */
    record Shape(long tokens, int experts, int k, ScoringMode mode, Precision precision) {
        RoutingSpec spec() {
            if (mode != ScoringMode.SIGMOID_GROUPED) {
                return RoutingSpec.of(experts, k, mode);
            }
            float[] bias = new float[experts];
            SplittableRandom r = new SplittableRandom(7);
            for (int e = 0; e < experts; e++) {
                bias[e] = (float) (r.nextGaussian() * 0.05);
            }
            return RoutingSpec.grouped(experts, k, 8, 4, bias);   // DeepSeek-V3: 8 groups, 4 kept
        }

        String label() {
            return mode.cliName() + " " + precision.name().toLowerCase() + " T=" + tokens + " E=" + experts + " k=" + k;
        }
    }

    /** T in {65536, 2^20, 2^24} x E in {64, 128, 256} x k in {2, 8} (softmax-topk, f32), plus bf16 and DeepSeek-style. */
    static final List<Shape> SHAPES = shapes();

    private static List<Shape> shapes() {
        List<Shape> s = new ArrayList<>();
        for (long T : new long[] {65536, 1L << 20, 1L << 24}) {
            for (int E : new int[] {64, 128, 256}) {
                for (int k : new int[] {2, 8}) {
                    s.add(new Shape(T, E, k, ScoringMode.SOFTMAX_TOPK, Precision.F32));
                }
            }
        }
        s.add(new Shape(1L << 20, 64, 2, ScoringMode.SOFTMAX_TOPK, Precision.BF16));
        s.add(new Shape(1L << 20, 256, 8, ScoringMode.SIGMOID_GROUPED, Precision.F32));
        return s;
    }

    /** The target: T = 2^20, E = 64, k = 2, float32, device-resident. */
    static final Shape TARGET = new Shape(1L << 20, 64, 2, ScoringMode.SOFTMAX_TOPK, Precision.F32);

    private GpuTiming() {
    }

    static Map<String, Object> run(boolean quick) {
        Map<String, Object> m = new LinkedHashMap<>();
        try (CudaRouter cuda = CudaRouter.create()) {
            CudaDevice dev = cuda.device();
            Map<String, Object> roof = copyRoof(cuda, quick ? 512L << 20 : 2L << 30);
            m.put("copyRoof", roof);
            double roofGBps = (Double) roof.get("GBps");
            System.out.printf("copy roof: %.0f GB/s (device-to-device, read + write)%n", roofGBps);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (Shape s : SHAPES) {
                if (quick && s.tokens() > (1L << 20)) {
                    continue;
                }
                List<KernelPlan.Variant> variants = s.equals(TARGET)
                        ? List.of(KernelPlan.Variant.AUTO, KernelPlan.Variant.V4, KernelPlan.Variant.GENERIC)
                        : List.of(KernelPlan.Variant.AUTO);
                for (KernelPlan.Variant v : variants) {
                    Map<String, Object> row = timeDevice(cuda, dev, s, v, roofGBps);
                    rows.add(row);
                    System.out.printf("%-48s %-42s %9.1f us  %6.0f GB/s  %5.1f%% of copy%n", s.label(), row.get("kernel"),
                            row.get("medianUs"), row.get("GBps"), row.get("pctOfCopyRoof"));
                }
            }
            m.put("deviceResident", rows);
            List<Map<String, Object>> host = new ArrayList<>();
            for (Shape s : SHAPES) {
                if (s.tokens() <= (1L << 20) && s.precision() == Precision.F32 && s.mode() == ScoringMode.SOFTMAX_TOPK
                        && (!quick || s.equals(TARGET))) {
                    host.add(timeFromHost(cuda, s));
                }
            }
            host.add(timeHeap(cuda, TARGET));
            m.put("fromHost", host);
        }
        return m;
    }

    /** Device-to-device copy bandwidth (bytes read + written per second), CUDA events, median. */
    static Map<String, Object> copyRoof(CudaRouter cuda, long bytes) {
        try (DeviceBuffer a = DeviceBuffer.allocate(bytes); DeviceBuffer b = DeviceBuffer.allocate(bytes)) {
            cuda.fillNormal(a, Precision.F32, bytes / 4, 1, 1f);
            float[] ms = timeLoop(cuda, r -> cuMemcpyDtoDAsync(b.at(0), a.at(0), bytes, cuda.stream()));
            double med = median(ms);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("bytesEachWay", bytes);
            m.put("medianMs", med);
            m.put("GBps", 2.0 * bytes / (med * 1e-3) / 1e9);
            return m;
        }
    }

    /** Times one shape on the device: logits generated on the GPU, only the kernel in the events. */
    static Map<String, Object> timeDevice(CudaRouter cuda, CudaDevice dev, Shape s, KernelPlan.Variant v, double roofGBps) {
        RoutingSpec spec = s.spec();
        long T = s.tokens();
        long inBytes = T * s.experts() * s.precision().bytes();
        long outBytes = T * s.k() * 4;
        int rotate = (int) Math.max(1, Math.min(16, (4L * dev.l2Bytes() + inBytes - 1) / inBytes));
        List<DeviceBuffer> ins = new ArrayList<>();
        try (DeviceBuffer ids = DeviceBuffer.allocate(outBytes); DeviceBuffer w = DeviceBuffer.allocate(outBytes);
             DeviceBuffer counts = DeviceBuffer.allocate(s.experts() * 8L)) {
            for (int i = 0; i < rotate; i++) {
                DeviceBuffer b = DeviceBuffer.allocate(inBytes);
                ins.add(b);
                cuda.fillNormal(b, s.precision(), T * s.experts(), 1000 + i, 1f);
            }
            cuda.variant(v);
            cuda.zero(counts);
            KernelPlan plan;
            try (Nvtx.Range r = Nvtx.range("moecast route " + s.label())) {
                plan = cuda.routeDevice(ins.get(0), s.precision(), T, spec, ids, w, counts);
                float[] ms = timeLoop(cuda, r2 -> cuda.routeDevice(ins.get(r2 % rotate), s.precision(), T, spec, ids, w, counts));
                double med = median(ms);
                long bytes = inBytes + 2 * outBytes;
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("shape", s.label());
                m.put("tokens", T);
                m.put("experts", s.experts());
                m.put("k", s.k());
                m.put("mode", s.mode().cliName());
                m.put("precision", s.precision().name());
                m.put("variant", v.name());
                m.put("kernel", plan.kernel());
                m.put("lanesPerToken", plan.lanesPerToken());
                m.put("blocks", plan.blocks(T, dev.multiprocessors(),
                        dev.activeBlocksPerSm(plan.kernel(), plan.threadsPerBlock(), plan.smemBytes())));
                m.put("rotatingInputs", rotate);
                m.put("medianUs", med * 1e3);
                m.put("minUs", min(ms) * 1e3);
                m.put("bytesMoved", bytes);
                double gbps = bytes / (med * 1e-3) / 1e9;
                m.put("GBps", gbps);
                m.put("pctOfCopyRoof", 100.0 * gbps / roofGBps);
                return m;
            } finally {
                cuda.variant(KernelPlan.Variant.AUTO);
            }
        } finally {
            ins.forEach(DeviceBuffer::close);
        }
    }

    /** From host: pinned logits and outputs, the whole route() call on the wall clock (transfers included). */
    static Map<String, Object> timeFromHost(CudaRouter cuda, Shape s) {
        RoutingSpec spec = s.spec();
        long T = s.tokens();
        long inBytes = T * s.experts() * s.precision().bytes();
        long outBytes = T * s.k() * 4;
        try (PinnedBuffer in = cuda.pinned(inBytes); PinnedBuffer ids = cuda.pinned(outBytes); PinnedBuffer w = cuda.pinned(outBytes);
             DeviceBuffer gen = DeviceBuffer.allocate(inBytes)) {
            cuda.fillNormal(gen, s.precision(), T * s.experts(), 77, 1f);
            cuda.synchronize();
            cuMemcpyDtoH(PinnedBuffer.hostPointer(in.segment().address()), gen.at(0), inBytes);
            long[] counts = new long[s.experts()];
            double[] ms = new double[7];
            for (int i = 0; i < ms.length; i++) {
                Arrays.fill(counts, 0);
                long t0 = System.nanoTime();
                cuda.route(in.segment(), s.precision(), T, spec, ids.segment(), w.segment(), counts);
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            double med = median(Arrays.copyOfRange(ms, 2, ms.length));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("shape", s.label());
            m.put("input", "pinned host memory");
            m.put("medianMs", med);
            m.put("logitsGBps", inBytes / (med * 1e-3) / 1e9);
            System.out.printf("%-48s from host (pinned)  %8.2f ms  %5.1f GB/s of logits%n", s.label(), med, inBytes / (med * 1e-3) / 1e9);
            return m;
        }
    }

    /** From host: a Java float[] (staged through pinned buffers), wall clock. */
    static Map<String, Object> timeHeap(CudaRouter cuda, Shape s) {
        RoutingSpec spec = s.spec();
        int T = (int) s.tokens();
        float[] logits = new float[T * s.experts()];
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) r.nextGaussian();
        }
        RoutingOutput out = new RoutingOutput();
        double[] ms = new double[5];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            cuda.route(logits, T, spec, out);
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        double med = median(Arrays.copyOfRange(ms, 1, ms.length));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("shape", s.label());
        m.put("input", "Java float[] (staged)");
        m.put("medianMs", med);
        m.put("logitsGBps", logits.length * 4.0 / (med * 1e-3) / 1e9);
        System.out.printf("%-48s from host (float[]) %8.2f ms%n", s.label(), med);
        return m;
    }

    interface Launch {
        void run(int rep);
    }

    /** WARMUP untimed launches, then REPS launches each between two events; milliseconds per launch. */
    static float[] timeLoop(CudaRouter cuda, Launch launch) {
        for (int i = 0; i < WARMUP; i++) {
            launch.run(i);
        }
        CUevent[] ev = new CUevent[REPS + 1];
        for (int i = 0; i <= REPS; i++) {
            ev[i] = CudaRouter.timingEvent();
        }
        try {
            cuda.spin(2_000_000L + REPS * 200_000L);   // the host queues every launch before the GPU gets to them
            cuEventRecord(ev[0], cuda.stream());
            for (int i = 0; i < REPS; i++) {
                launch.run(WARMUP + i);
                cuEventRecord(ev[i + 1], cuda.stream());
            }
            cuEventSynchronize(ev[REPS]);
            float[] ms = new float[REPS];
            float[] one = new float[1];
            for (int i = 0; i < REPS; i++) {
                cuEventElapsedTime(one, ev[i], ev[i + 1]);
                ms[i] = one[0];
            }
            return ms;
        } finally {
            for (CUevent e : ev) {
                cuEventDestroy(e);
            }
        }
    }

    /** One launch of each device-resident shape at T = 2^20 (and the target's variants), for ncu. */
    static void profileRun() {
        try (CudaRouter cuda = CudaRouter.create()) {
            CudaDevice dev = cuda.device();
            for (Shape s : SHAPES) {
                if (s.tokens() != (1L << 20)) {
                    continue;
                }
                List<KernelPlan.Variant> variants = s.equals(TARGET)
                        ? List.of(KernelPlan.Variant.AUTO, KernelPlan.Variant.V4, KernelPlan.Variant.GENERIC)
                        : List.of(KernelPlan.Variant.AUTO);
                long inBytes = s.tokens() * s.experts() * s.precision().bytes();
                long outBytes = s.tokens() * s.k() * 4;
                try (DeviceBuffer in = DeviceBuffer.allocate(inBytes); DeviceBuffer ids = DeviceBuffer.allocate(outBytes);
                     DeviceBuffer w = DeviceBuffer.allocate(outBytes); DeviceBuffer c = DeviceBuffer.allocate(s.experts() * 8L)) {
                    cuda.fillNormal(in, s.precision(), s.tokens() * s.experts(), 5, 1f);
                    for (KernelPlan.Variant v : variants) {
                        cuda.variant(v);
                        cuda.zero(c);
                        try (Nvtx.Range r = Nvtx.range(s.label() + " " + v)) {
                            KernelPlan p = cuda.routeDevice(in, s.precision(), s.tokens(), s.spec(), ids, w, c);
                            cuda.synchronize();
                            System.out.println("profiled " + s.label() + " " + v + " -> " + p.kernel() + " on " + dev.name());
                        }
                    }
                    cuda.variant(KernelPlan.Variant.AUTO);
                }
            }
        }
    }

    static double median(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i];
        }
        return median(d);
    }

    static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    static double min(float[] a) {
        double m = Double.MAX_VALUE;
        for (float v : a) {
            m = Math.min(m, v);
        }
        return m;
    }
}

package io.moecast.routing.cuda;

import io.moecast.report.ResultsWriter;
import io.moecast.routing.Precision;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScalarRouter;
import io.moecast.routing.ScoringMode;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The GPU check (run by {@code bench/gpu-check}'s bundle on a GPU machine; see the README):
 * <ol>
 *   <li>{@code correctness}: the CUDA router against {@link ScalarRouter} on {@code --cases} random and
 *       adversarial batches ({@link CheckCases}) through every entry point (heap, segment, device-resident)
 *       and kernel variant: ids and counts must be identical, weights within {@link #WEIGHT_REL} relative;</li>
 *   <li>{@code timing}: CUDA-event timing of the device-resident kernels on GPU-generated logits for the
 *       20 shapes of {@link GpuTiming#SHAPES}, the from-host path, and a device-to-device copy as the
 *       bandwidth roof.</li>
 * </ol>
 * Writes {@code gpu-check.json} (with the device, driver and clocks) into {@code --out DIR}.
 * {@code --cpu-selftest} runs the reference over the cases without a GPU (checks the bundle's Java runtime).
 * {@code --profile-run} launches each timed kernel once (for Nsight Compute). Exit 2 when no GPU is usable.
 */
public final class GpuCheck {
    /** Weight tolerance: relative (softmax weights are float on the GPU, double in the reference). */
    static final double WEIGHT_REL = 3e-5;
    /** Weight tolerance: absolute floor. */
    static final double WEIGHT_ABS = 1e-6;

    private GpuCheck() {
    }

    public static void main(String[] args) throws Exception {
        Path out = null;
        int cases = 1200;
        int maxTokens = 4096;
        boolean timing = true;
        boolean correctness = true;
        boolean selftest = false;
        boolean profileRun = false;
        boolean quick = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out" -> out = Path.of(args[++i]);
                case "--cases" -> cases = Integer.parseInt(args[++i]);
                case "--max-tokens" -> maxTokens = Integer.parseInt(args[++i]);
                case "--no-timing" -> timing = false;
                case "--no-correctness" -> correctness = false;
                case "--cpu-selftest" -> selftest = true;
                case "--profile-run" -> profileRun = true;
                case "--quick" -> quick = true;
                default -> {
                    System.err.println("usage: GpuCheck [--out DIR] [--cases N] [--max-tokens T] [--no-timing] [--no-correctness] "
                            + "[--quick] [--cpu-selftest] [--profile-run]");
                    System.exit(2);
                }
            }
        }
        if (selftest) {
            Map<String, Object> r = cpuSelfTest(cases, maxTokens);
            CudaSupport.Availability a = CudaSupport.availability();
            r.put("cuda", (a.available() ? "available: " : "unavailable: ") + a.message());
            r.put("kernels", KernelImage.get().built() ? KernelImage.get().kernels().size() + " entry points, nvcc "
                    + KernelImage.get().nvccVersion() + ", " + KernelImage.get().archs() : KernelImage.get().reason());
            System.out.println("cpu self-test: " + r);
            if (out != null) {
                System.out.println("cpu self-test: wrote " + ResultsWriter.open("gpu-check-selftest", out).writeJson("selftest.json", r));
            }
            return;
        }
        CudaSupport.Availability a = CudaSupport.availability();
        if (!a.available()) {
            System.err.println("gpu-check: no GPU: " + a.message());
            System.exit(2);
        }
        System.out.println("gpu-check: " + a.message());
        if (profileRun) {
            GpuTiming.profileRun();
            return;
        }
        Map<String, Object> result = new LinkedHashMap<>();
        CudaDevice dev = CudaDevice.get();
        result.put("device", dev.info());
        result.put("nvtx", Nvtx.source());
        result.put("kernelRegistersSm90", KernelImage.get().registers());
        String bundle = System.getenv("MOECAST_BUNDLE_COMMIT");
        if (bundle != null) {
            result.put("bundleCommit", bundle);
        }
        boolean ok = true;
        if (correctness) {
            Map<String, Object> c = correctness(quick ? Math.min(cases, 200) : cases, maxTokens);
            result.put("correctness", c);
            ok = (Integer) c.get("failed") == 0;
            System.out.printf("correctness: %d cases, %d failed (%s)%n", c.get("cases"), c.get("failed"), c.get("byKind"));
        }
        if (timing) {
            result.put("timing", GpuTiming.run(quick));
        }
        ResultsWriter w = ResultsWriter.open("gpu-check", out != null ? out : Path.of("runs", "gpu-check"));
        Path p = w.writeJson("gpu-check.json", result);
        System.out.println("gpu-check: wrote " + p);
        if (!ok) {
            System.exit(1);
        }
    }

    /** Runs the reference over the cases (no GPU): proves the runtime and the generator work. */
    static Map<String, Object> cpuSelfTest(int n, int maxTokens) {
        long t0 = System.nanoTime();
        List<CheckCases.Case> list = CheckCases.generate(42, n, maxTokens);
        ScalarRouter ref = new ScalarRouter();
        long slots = 0;
        try (Arena arena = Arena.ofConfined()) {
            for (CheckCases.Case c : list) {
                Expected e = expected(ref, c, arena);
                slots += Arrays.stream(e.counts).sum();
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cases", list.size());
        m.put("slotsRouted", slots);
        m.put("seconds", (System.nanoTime() - t0) / 1e9);
        return m;
    }

    /** Reference results of a case. */
    record Expected(int[] ids, float[] weights, long[] counts) {
    }

    static Expected expected(ScalarRouter ref, CheckCases.Case c, Arena arena) {
        RoutingSpec spec = c.spec();
        int n = c.tokens() * spec.k();
        if (c.precision() == Precision.F32) {
            RoutingOutput o = new RoutingOutput();
            ref.route(c.logits(), c.tokens(), spec, o);
            return new Expected(Arrays.copyOf(o.ids(), n), Arrays.copyOf(o.weights(), n), o.counts().clone());
        }
        MemorySegment ids = arena.allocate(Math.max(4, n * 4L));
        MemorySegment w = arena.allocate(Math.max(4, n * 4L));
        long[] counts = new long[spec.experts()];
        ref.route(c.segment(arena), Precision.BF16, c.tokens(), spec, ids, w, counts);
        return new Expected(ids.asSlice(0, n * 4L).toArray(ValueLayout.JAVA_INT), w.asSlice(0, n * 4L).toArray(ValueLayout.JAVA_FLOAT), counts);
    }

    /** The CUDA router's results for a case through entry point {@code path} (heap, segment or device). */
    static Expected actual(CudaRouter cuda, CheckCases.Case c, String path, Arena arena) {
        RoutingSpec spec = c.spec();
        int n = c.tokens() * spec.k();
        cuda.variant(c.variant());
        if (path.equals("heap") && c.precision() == Precision.F32) {
            RoutingOutput o = new RoutingOutput();
            Arrays.fill(o.prepare(c.tokens(), spec.k(), spec.experts()).ids(), -7);   // poison
            cuda.route(c.logits(), c.tokens(), spec, o);
            return new Expected(Arrays.copyOf(o.ids(), n), Arrays.copyOf(o.weights(), n), o.counts().clone());
        }
        MemorySegment logits = c.segment(arena);
        long[] counts = new long[spec.experts()];
        MemorySegment ids = arena.allocate(Math.max(4, n * 4L));
        MemorySegment w = arena.allocate(Math.max(4, n * 4L));
        ids.fill((byte) 0xF9);
        if (path.equals("device") && c.tokens() > 0) {
            try (DeviceBuffer dl = DeviceBuffer.allocate(logits.byteSize());
                 DeviceBuffer di = DeviceBuffer.allocate(n * 4L);
                 DeviceBuffer dw = DeviceBuffer.allocate(n * 4L);
                 DeviceBuffer dc = DeviceBuffer.allocate(spec.experts() * 8L)) {
                DeviceIo.upload(dl, logits);
                DeviceIo.upload(di, ids.asSlice(0, n * 4L));
                cuda.zero(dc);
                cuda.routeDevice(dl, c.precision(), c.tokens(), spec, di, dw, dc);
                cuda.synchronize();
                DeviceIo.download(di, ids.asSlice(0, n * 4L));
                DeviceIo.download(dw, w.asSlice(0, n * 4L));
                MemorySegment cs = arena.allocate(spec.experts() * 8L);
                DeviceIo.download(dc, cs);
                counts = cs.toArray(ValueLayout.JAVA_LONG);
            }
        } else {
            cuda.route(logits, c.precision(), c.tokens(), spec, ids, w, counts);
        }
        return new Expected(ids.asSlice(0, n * 4L).toArray(ValueLayout.JAVA_INT), w.asSlice(0, n * 4L).toArray(ValueLayout.JAVA_FLOAT), counts);
    }

    /** Null when equal, else a one-line description of the first difference. */
    static String compare(CheckCases.Case c, Expected ref, Expected got) {
        int k = c.spec().k();
        for (int i = 0; i < ref.ids.length; i++) {
            if (ref.ids[i] != got.ids[i]) {
                int t = i / k;
                return "ids differ at token " + t + " slot " + (i % k) + ": reference " + Arrays.toString(Arrays.copyOfRange(ref.ids, t * k, t * k + k))
                        + ", cuda " + Arrays.toString(Arrays.copyOfRange(got.ids, t * k, t * k + k)) + diagnose(c, t, ref.ids[i], got.ids[i]);
            }
        }
        if (!Arrays.equals(ref.counts, got.counts)) {
            return "counts differ: reference " + Arrays.toString(ref.counts) + ", cuda " + Arrays.toString(got.counts);
        }
        for (int i = 0; i < ref.weights.length; i++) {
            double a = ref.weights[i];
            double b = got.weights[i];
            if (!(Math.abs(a - b) <= WEIGHT_ABS + WEIGHT_REL * Math.abs(a))) {
                return "weight differs at token " + i / k + " slot " + i % k + ": reference " + a + ", cuda " + b;
            }
        }
        return null;
    }

    /** For a selection difference: the two experts' logits and keys, and how close the keys are. */
    private static String diagnose(CheckCases.Case c, int t, int a, int b) {
        int E = c.spec().experts();
        if (a < 0 || b < 0 || a >= E || b >= E) {
            return " (cuda id out of range)";
        }
        float xa = c.logits()[t * E + a];
        float xb = c.logits()[t * E + b];
        String s = " (x[" + a + "]=" + xa + ", x[" + b + "]=" + xb;
        if (c.spec().mode() == ScoringMode.SIGMOID_GROUPED) {
            double ka = 1.0 / (1.0 + Math.exp(-(double) xa)) + c.spec().bias(a);
            double kb = 1.0 / (1.0 + Math.exp(-(double) xb)) + c.spec().bias(b);
            s += ", keys " + ka + " vs " + kb + ", " + Math.abs(ka - kb) / Math.ulp(Math.max(Math.abs(ka), Math.abs(kb))) + " ulp apart";
        }
        return s + ")";
    }

    /** Every case through the heap/segment path, every 7th also device-resident. */
    static Map<String, Object> correctness(int n, int maxTokens) {
        List<CheckCases.Case> list = CheckCases.generate(20251130L, n, maxTokens);
        ScalarRouter ref = new ScalarRouter();
        int failed = 0;
        int checks = 0;
        Map<String, int[]> byKind = new TreeMap<>();
        Map<String, int[]> byKernel = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        long t0 = System.nanoTime();
        try (CudaRouter cuda = CudaRouter.create()) {
            for (CheckCases.Case c : list) {
                try (Arena arena = Arena.ofConfined()) {
                    Expected e = expected(ref, c, arena);
                    List<String> paths = new ArrayList<>(List.of(c.precision() == Precision.F32 ? "heap" : "segment"));
                    if (c.index() % 7 == 0) {
                        paths.add("device");
                    }
                    for (String path : paths) {
                        String d;
                        try {
                            d = compare(c, e, actual(cuda, c, path, arena));
                        } catch (RuntimeException ex) {
                            d = "threw " + ex;
                        }
                        checks++;
                        String kernel = cuda.lastPlan() == null ? "none" : cuda.lastPlan().kernel();
                        byKind.computeIfAbsent(c.kind(), x -> new int[2])[d == null ? 0 : 1]++;
                        byKernel.computeIfAbsent(kernel, x -> new int[2])[d == null ? 0 : 1]++;
                        if (d != null) {
                            failed++;
                            if (failures.size() < 25) {
                                failures.add(c + " via " + path + ": " + d);
                                System.out.println("FAIL " + c + " via " + path + ": " + d);
                            }
                        }
                    }
                }
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cases", list.size());
        m.put("checks", checks);
        m.put("failed", failed);
        m.put("weightTolerance", "|w - ref| <= " + WEIGHT_ABS + " + " + WEIGHT_REL + " |ref|");
        m.put("seconds", (System.nanoTime() - t0) / 1e9);
        m.put("byKind", passFail(byKind));
        m.put("byKernel", passFail(byKernel));
        m.put("failures", failures);
        return m;
    }

    private static Map<String, String> passFail(Map<String, int[]> m) {
        Map<String, String> r = new LinkedHashMap<>();
        m.forEach((key, v) -> r.put(key, v[0] + " ok" + (v[1] > 0 ? ", " + v[1] + " FAILED" : "")));
        return r;
    }
}

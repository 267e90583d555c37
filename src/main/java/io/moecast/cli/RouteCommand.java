package io.moecast.cli;

import io.moecast.UserError;
import io.moecast.report.MachineInfo;
import io.moecast.routing.Precision;
import io.moecast.routing.Router;
import io.moecast.routing.Routers;
import io.moecast.routing.RoutingOutput;
import io.moecast.routing.RoutingSpec;
import io.moecast.routing.ScoringMode;
import io.moecast.routing.SyntheticLogits;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code moecast route}: routes one synthetic batch of router logits (N(0,1), fixed seed) and prints the
 * load histogram and the timing (warm-up runs, then the median of timed runs).
 */
@Command(name = "route", mixinStandardHelpOptions = true,
        description = "Route a synthetic batch of router logits (N(0,1)) and print the per-expert load histogram and timing.")
public final class RouteCommand implements Runnable {
    /** The Vector API is slow until C2 compiles the kernels: route a slice this long first. */
    static final long JIT_WARMUP_NS = 1_500_000_000L;

    @Option(names = "--tokens", defaultValue = "1048576", description = "Tokens T in the batch (default ${DEFAULT-VALUE}).")
    long tokens;

    @Option(names = "--experts", defaultValue = "64", description = "Experts E (default ${DEFAULT-VALUE}).")
    int experts;

    @Option(names = "--k", defaultValue = "2", description = "Experts per token (default ${DEFAULT-VALUE}).")
    int k;

    @Option(names = "--mode", defaultValue = "topk-softmax",
            description = "softmax-topk, topk-softmax or sigmoid-grouped (default ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--groups", description = "sigmoid-grouped: expert groups G (default: the largest divisor of E up to 8).")
    Integer groups;

    @Option(names = "--topk-groups", description = "sigmoid-grouped: groups kept per token (default min(4, G)).")
    Integer topkGroups;

    @Option(names = "--impl", defaultValue = "auto", description = "scalar, vector, cuda or auto (default ${DEFAULT-VALUE}).")
    String impl;

    @Option(names = "--threads", description = "Threads for the vector router (default: available processors).")
    Integer threads;

    @Option(names = "--precision", defaultValue = "f32",
            description = "f32 or bf16 logits; bf16, and batches over 2^31 elements, are routed from off-heap memory (default ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the synthetic logits (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--warmup", defaultValue = "3",
            description = "Untimed warm-up runs of the whole batch, after about 1.5 s of JIT warm-up on a slice of it (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--runs", defaultValue = "5", description = "Timed runs; the median is reported (default ${DEFAULT-VALUE}).")
    int runs;

    @Mixin
    OutputOptions output;

    @Override
    public void run() {
        ScoringMode m = parseMode();
        RoutingSpec spec = spec(m);
        Precision p = switch (precision.toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> Precision.F32;
            case "bf16", "bfloat16" -> Precision.BF16;
            default -> throw UserError.option("--precision", "use f32 or bf16, got '" + precision + "'");
        };
        if (tokens < 1) {
            throw UserError.option("--tokens", "must be at least 1, got " + tokens);
        }
        if (warmup < 0) {
            throw UserError.option("--warmup", "must be 0 or more, got " + warmup);
        }
        if (runs < 1) {
            throw UserError.option("--runs", "must be at least 1, got " + runs);
        }
        int nThreads = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (nThreads < 1) {
            throw UserError.option("--threads", "must be at least 1, got " + nThreads);
        }
        if (!List.of("scalar", "vector", "cuda", "auto").contains(impl.toLowerCase(Locale.ROOT))) {
            throw UserError.option("--impl", "use scalar, vector, cuda or auto, got '" + impl + "'");
        }
        long elements = tokens * experts;
        boolean offHeap = p == Precision.BF16 || elements > Integer.MAX_VALUE - 8 || tokens * k > Integer.MAX_VALUE - 8;
        long bytes = elements * p.bytes();
        long heapNeeded = offHeap ? tokens * k * 8 : elements * 4 + tokens * k * 8;
        if (heapNeeded > Runtime.getRuntime().maxMemory() * 9 / 10) {
            throw UserError.option("--tokens", tokens + " tokens x " + experts + " experts need about "
                    + (heapNeeded >> 20) + " MiB of heap; raise -Xmx (MOECAST_JAVA_OPTS) or route fewer tokens");
        }

        Router router;
        try {
            router = Routers.create(impl, nThreads);
        } catch (IllegalStateException e) {
            throw UserError.option("--impl", e.getMessage());
        } catch (UserError e) {
            throw UserError.option("--impl", e.getMessage());
        }
        try (Arena arena = Arena.ofShared()) {
            long[] counts;
            double[] ms = new double[runs];
            if (offHeap) {
                MemorySegment logits = arena.allocate(bytes, 64);
                SyntheticLogits.fill(logits, p, elements, seed);
                MemorySegment ids = arena.allocate(tokens * k * 4, 64);
                MemorySegment w = arena.allocate(tokens * k * 4, 64);
                counts = new long[experts];
                long slice = Math.min(tokens, 8192);
                long end = System.nanoTime() + JIT_WARMUP_NS;
                while (System.nanoTime() < end) {
                    router.route(logits, p, slice, spec, ids, w, new long[experts]);
                }
                for (int i = 0; i < warmup + runs; i++) {
                    Arrays.fill(counts, 0);
                    long t0 = System.nanoTime();
                    router.route(logits, p, tokens, spec, ids, w, counts);
                    long t1 = System.nanoTime();
                    if (i >= warmup) {
                        ms[i - warmup] = (t1 - t0) / 1e6;
                    }
                }
            } else {
                float[] logits = new float[(int) elements];
                SyntheticLogits.fill(logits, seed);
                RoutingOutput out = new RoutingOutput();
                int slice = (int) Math.min(tokens, 8192);
                long end = System.nanoTime() + JIT_WARMUP_NS;
                while (System.nanoTime() < end) {
                    router.route(logits, slice, spec, out);
                }
                for (int i = 0; i < warmup + runs; i++) {
                    long t0 = System.nanoTime();
                    router.route(logits, (int) tokens, spec, out);
                    long t1 = System.nanoTime();
                    if (i >= warmup) {
                        ms[i - warmup] = (t1 - t0) / 1e6;
                    }
                }
                counts = out.counts().clone();
            }
            Map<String, Object> result = result(router, spec, p, nThreads, ms, counts, bytes);
            output.emit("route", "route", result, () -> text(result, counts), System.out);
        } finally {
            if (router instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // best effort
                }
            }
        }
    }

    private ScoringMode parseMode() {
        try {
            return ScoringMode.parse(mode);
        } catch (IllegalArgumentException e) {
            throw UserError.option("--mode", e.getMessage());
        }
    }

    private RoutingSpec spec(ScoringMode m) {
        if (experts < 1) {
            throw UserError.option("--experts", "must be at least 1, got " + experts);
        }
        if (k < 1 || k > experts) {
            throw UserError.option("--k", "must be between 1 and --experts (" + experts + "), got " + k);
        }
        if (m != ScoringMode.SIGMOID_GROUPED) {
            if (groups != null || topkGroups != null) {
                throw UserError.option(groups != null ? "--groups" : "--topk-groups", "applies to --mode sigmoid-grouped only");
            }
            return RoutingSpec.of(experts, k, m);
        }
        int g = groups != null ? groups : RoutingSpec.defaultGroups(experts);
        if (g < 1 || experts % g != 0) {
            throw UserError.option("--groups", "must divide --experts (" + experts + "), got " + g);
        }
        int keep = topkGroups != null ? topkGroups : Math.min(RoutingSpec.DEFAULT_TOPK_GROUPS, g);
        if (keep < 1 || keep > g) {
            throw UserError.option("--topk-groups", "must be between 1 and --groups (" + g + "), got " + keep);
        }
        if (k > keep * (experts / g)) {
            throw UserError.option("--k", "must be at most --topk-groups x experts per group (" + keep * (experts / g) + "), got " + k);
        }
        return RoutingSpec.grouped(experts, k, g, keep, null);
    }

    private Map<String, Object> result(Router router, RoutingSpec spec, Precision p, int nThreads, double[] ms,
                                       long[] counts, long bytes) {
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        long total = 0;
        long max = 0;
        for (long c : counts) {
            total += c;
            max = Math.max(max, c);
        }
        double mean = (double) total / experts;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("impl", router.name());
        r.put("threads", router.name().equals("scalar") ? 1 : nThreads);
        r.put("cpu", MachineInfo.oneLine());
        r.put("tokens", tokens);
        r.put("experts", experts);
        r.put("k", k);
        r.put("mode", spec.mode().cliName());
        if (spec.mode() == ScoringMode.SIGMOID_GROUPED) {
            r.put("groups", spec.groups());
            r.put("topk_groups", spec.topkGroups());
        }
        r.put("precision", p.name().toLowerCase(Locale.ROOT));
        r.put("seed", seed);
        r.put("warmup_runs", warmup);
        List<Double> runsMs = new ArrayList<>();
        for (double v : ms) {
            runsMs.add(v);
        }
        r.put("runs_ms", runsMs);
        r.put("median_ms", median);
        r.put("ns_per_token", median * 1e6 / tokens);
        r.put("logits_gb_per_s", bytes / (median * 1e-3) / 1e9);
        r.put("counts", counts);
        r.put("counts_total", total);
        r.put("max_over_mean", mean > 0 ? max / mean : 0);
        return r;
    }

    private String text(Map<String, Object> r, long[] counts) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "route: %s, %d tokens x %d experts, k=%d, %s logits; %s router, %s thread(s)%n",
                r.get("mode"), tokens, experts, k, r.get("precision"), r.get("impl"), r.get("threads")));
        sb.append(String.format(Locale.ROOT, "machine: %s%n", r.get("cpu")));
        sb.append(String.format(Locale.ROOT, "time: median %.3f ms of %d runs (after %d warm-up): %.2f ns/token, %.2f GB/s of logits%n",
                (double) r.get("median_ms"), runs, warmup, (double) r.get("ns_per_token"), (double) r.get("logits_gb_per_s")));
        sb.append(String.format(Locale.ROOT, "load: %d slots (T x k), max/mean %.4f%n", (long) r.get("counts_total"), (double) r.get("max_over_mean")));
        long max = Arrays.stream(counts).max().orElse(1);
        long total = (long) r.get("counts_total");
        for (int e = 0; e < counts.length; e++) {
            int bar = max == 0 ? 0 : (int) Math.round(40.0 * counts[e] / max);
            sb.append(String.format(Locale.ROOT, "  expert %3d %12d %6.2f%% %s%n", e, counts[e],
                    total == 0 ? 0 : 100.0 * counts[e] / total, "#".repeat(bar)));
        }
        return sb.toString();
    }
}

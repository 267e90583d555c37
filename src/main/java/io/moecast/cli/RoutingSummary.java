package io.moecast.cli;

import io.moecast.report.MachineInfo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Derived metrics (ns/token, GB/s of logits read, GFLOP/s) and the ratios the routing issue asks for:
 * kernel vs memory-read roof, vector vs scalar, 2 threads vs 1, vs the libtorch peer, fused gate vs
 * FMA peak, with the targets for T = 2^20, E = 64.
 */
final class RoutingSummary {
    private RoutingSummary() {
    }

    static final int T_TARGET = 1 << 20;
    static final int E_TARGET = 64;
    /** FMA rounds per fmaPeak operation and independent chains (GateBench.PEAK_ITERS, Roofs.FMA_CHAINS). */
    static final long PEAK_ITERS = 1 << 20;
    static final int FMA_CHAINS = 12;

    static boolean isRoute(BenchCommand.Row r) {
        return r.benchmark().endsWith("RoutingBench.route") || r.benchmark().endsWith("TorchRoutingBench.route");
    }

    static boolean isRoof(BenchCommand.Row r) {
        return r.benchmark().endsWith("MemoryRoofBench.readAll");
    }

    static int threadsOf(BenchCommand.Row r) {
        if (r.p("threads") != null) {
            return Integer.parseInt(r.p("threads"));
        }
        String impl = r.p("impl");
        return impl == null ? 1 : Integer.parseInt(impl.substring(impl.lastIndexOf('-') + 1, impl.length() - 1));
    }

    static Map<String, Object> derived(BenchCommand.Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        double seconds = r.scoreUs() * 1e-6;
        if (isRoute(r) || isRoof(r)) {
            long t = Long.parseLong(r.p("tokens"));
            long e = Long.parseLong(r.p("experts"));
            m.put("ns_per_token", r.scoreUs() * 1e3 / t);
            m.put("logits_gb_per_s", t * e * 4 / seconds / 1e9);
        } else if (r.benchmark().endsWith("GateBench.fusedGate")) {
            double flops = 2.0 * Long.parseLong(r.p("tokens")) * Long.parseLong(r.p("dim")) * Long.parseLong(r.p("experts"));
            m.put("gflop_per_s", flops / seconds / 1e9);
            m.put("ns_per_token", r.scoreUs() * 1e3 / Long.parseLong(r.p("tokens")));
        } else if (r.benchmark().endsWith("GateBench.fmaPeak")) {
            m.put("gflop_per_s", (double) PEAK_ITERS * FMA_CHAINS * lanes() * 2 * threadsOf(r) / seconds / 1e9);
        }
        return m;
    }

    static int lanes() {
        String s = MachineInfo.vectorSpecies();
        try {
            return Integer.parseInt(s.replaceAll("\\D*(\\d+)-bit.*", "$1")) / 32;
        } catch (NumberFormatException e) {
            return 8;
        }
    }

    private static BenchCommand.Row find(List<BenchCommand.Row> rows, String bench, Map<String, String> want) {
        for (BenchCommand.Row r : rows) {
            if (!r.benchmark().endsWith(bench)) {
                continue;
            }
            boolean ok = true;
            for (Map.Entry<String, String> w : want.entrySet()) {
                if (!Objects.equals(r.p(w.getKey()), w.getValue())) {
                    ok = false;
                    break;
                }
            }
            if (ok) {
                return r;
            }
        }
        return null;
    }

    private static Map<String, String> key(BenchCommand.Row r, String impl) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("tokens", r.p("tokens"));
        m.put("experts", r.p("experts"));
        m.put("k", r.p("k"));
        m.put("mode", r.p("mode"));
        m.put("impl", impl);
        return m;
    }

    /** Per routing row: × roof, vs scalar, 2t speed-up, vs peer. */
    static List<Map<String, Object>> ratios(List<BenchCommand.Row> rows) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (BenchCommand.Row r : rows) {
            if (!r.benchmark().endsWith(".RoutingBench.route") || !r.p("impl").startsWith("vector")) {
                continue;
            }
            int th = threadsOf(r);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tokens", r.p("tokens"));
            m.put("experts", r.p("experts"));
            m.put("k", r.p("k"));
            m.put("mode", r.p("mode"));
            m.put("impl", r.p("impl"));
            m.put("ns_per_token", r.scoreUs() * 1e3 / Long.parseLong(r.p("tokens")));
            BenchCommand.Row roof = find(rows, "MemoryRoofBench.readAll",
                    Map.of("tokens", r.p("tokens"), "experts", r.p("experts"), "threads", "" + th));
            if (roof != null) {
                m.put("x_roof", r.scoreUs() / roof.scoreUs());
                m.put("x_roof_best", r.bestUs() / roof.bestUs());
            }
            BenchCommand.Row scalar = find(rows, ".RoutingBench.route", key(r, "scalar-1t"));
            if (scalar != null) {
                m.put("speedup_vs_scalar", scalar.scoreUs() / r.scoreUs());
                m.put("speedup_vs_scalar_best", scalar.bestUs() / r.bestUs());
            }
            if (th == 2) {
                BenchCommand.Row one = find(rows, ".RoutingBench.route", key(r, "vector-1t"));
                if (one != null) {
                    m.put("speedup_2t_vs_1t", one.scoreUs() / r.scoreUs());
                    m.put("speedup_2t_vs_1t_best", one.bestUs() / r.bestUs());
                }
            }
            BenchCommand.Row peer = find(rows, "TorchRoutingBench.route", key(r, "torch-" + th + "t"));
            if (peer != null) {
                m.put("speedup_vs_peer", peer.scoreUs() / r.scoreUs());
                m.put("speedup_vs_peer_best", peer.bestUs() / r.bestUs());
            }
            out.add(m);
        }
        for (BenchCommand.Row r : rows) {
            if (r.benchmark().endsWith("GateBench.fusedGate")) {
                BenchCommand.Row peak = find(rows, "GateBench.fmaPeak", Map.of("impl", r.p("impl")));
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("fused_gate", r.p("impl"));
                m.put("gflop_per_s", derived(r).get("gflop_per_s"));
                if (peak != null) {
                    double pk = (double) derived(peak).get("gflop_per_s");
                    m.put("fma_peak_gflop_per_s", pk);
                    m.put("share_of_fma_peak", (double) derived(r).get("gflop_per_s") / pk);
                    m.put("share_of_fma_peak_best", peak.bestUs() / r.bestUs()
                            * (2.0 * Long.parseLong(r.p("tokens")) * Long.parseLong(r.p("dim")) * Long.parseLong(r.p("experts")))
                            / ((double) PEAK_ITERS * FMA_CHAINS * lanes() * 2 * threadsOf(peak)));
                }
                out.add(m);
            }
        }
        return out;
    }

    private static String f(Object v, String fmt) {
        return v == null ? "–" : String.format(Locale.ROOT, fmt, v);
    }

    static String markdown(List<BenchCommand.Row> rows, String size, String machine) {
        List<Map<String, Object>> ratios = ratios(rows);
        StringBuilder sb = new StringBuilder();
        sb.append("# Routing benchmarks (").append(size).append(")\n\n");
        sb.append("Machine: ").append(machine).append(". One JMH run; ratios are side by side in that run: mean of the ")
                .append("measurement iterations, and in parentheses the ratio of the fastest iterations (steadier on a shared machine).\n\n");
        sb.append("## Targets (T = 2^20, E = 64, float32)\n\n");
        sb.append("| target | measured | goal | met |\n|---|---|---|---|\n");
        target(sb, ratios, "topk-softmax", "1", "vector-1t", "x_roof", "k=1 vs 1-thread roof", 1.3, false);
        target(sb, ratios, "topk-softmax", "2", "vector-1t", "x_roof", "k=2 vs 1-thread roof", 2.0, false);
        target(sb, ratios, "topk-softmax", "8", "vector-1t", "x_roof", "k=8 vs 1-thread roof", 8.0, false);
        target(sb, ratios, "softmax-topk", "2", "vector-1t", "x_roof", "softmax-topk k=2 vs roof", 3.5, false);
        target(sb, ratios, "topk-softmax", "1", "vector-2t", "x_roof", "2 threads, k=1 vs 2-thread roof", 1.3, false);
        target(sb, ratios, "topk-softmax", "8", "vector-2t", "speedup_2t_vs_1t", "2 threads vs 1, topk-softmax k=8", 1.6, true);
        target(sb, ratios, "softmax-topk", "2", "vector-2t", "speedup_2t_vs_1t", "2 threads vs 1, softmax-topk k=2", 1.6, true);
        for (String mode : new String[] {"topk-softmax", "softmax-topk"}) {
            for (String k : new String[] {"1", "2", "8"}) {
                for (String impl : new String[] {"vector-1t", "vector-2t"}) {
                    target(sb, ratios, mode, k, impl, "speedup_vs_peer", "vs libtorch " + impl.replace("vector-", "") + ", " + mode + " k=" + k, 10.0, true);
                }
            }
        }
        for (Map<String, Object> m : ratios) {
            if (m.containsKey("fused_gate") && m.containsKey("share_of_fma_peak")) {
                double v = (double) m.get("share_of_fma_peak");
                sb.append("| fused gate d=1024 E=64, ").append(m.get("fused_gate")).append(", share of FMA peak | ")
                        .append(f(v, "%.2f")).append(" (").append(f(m.get("share_of_fma_peak_best"), "%.2f")).append("); ")
                        .append(f(m.get("gflop_per_s"), "%.1f")).append(" / ")
                        .append(f(m.get("fma_peak_gflop_per_s"), "%.1f")).append(" GFLOP/s | ≥ 0.40 | ")
                        .append(v >= 0.4 ? "yes" : "no").append(" |\n");
            }
        }
        sb.append("\n## Routing kernels\n\n");
        sb.append("| T | E | k | mode | impl | ns/token | GB/s | × roof | vs scalar | 2t/1t | vs peer |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Map<String, Object> m : ratios) {
            if (m.containsKey("fused_gate")) {
                continue;
            }
            double ns = (double) m.get("ns_per_token");
            double gbs = Long.parseLong((String) m.get("experts")) * 4 / ns;
            sb.append("| ").append(m.get("tokens")).append(" | ").append(m.get("experts")).append(" | ").append(m.get("k"))
                    .append(" | ").append(m.get("mode")).append(" | ").append(m.get("impl"))
                    .append(" | ").append(f(ns, "%.2f")).append(" | ").append(f(gbs, "%.1f"))
                    .append(" | ").append(f(m.get("x_roof"), "%.2f")).append(" | ").append(f(m.get("speedup_vs_scalar"), "%.1f"))
                    .append(" | ").append(f(m.get("speedup_2t_vs_1t"), "%.2f")).append(" | ").append(f(m.get("speedup_vs_peer"), "%.1f"))
                    .append(" |\n");
        }
        sb.append("\n## All measurements\n\n| benchmark | params | µs/op | ± | best µs/op | derived |\n|---|---|---|---|---|---|\n");
        for (BenchCommand.Row r : rows) {
            String name = r.benchmark().substring(r.benchmark().lastIndexOf('.', r.benchmark().lastIndexOf('.') - 1) + 1);
            sb.append("| ").append(name).append(" | ").append(r.params()).append(" | ").append(f(r.scoreUs(), "%.1f"))
                    .append(" | ").append(f(r.errorUs(), "%.1f")).append(" | ").append(f(r.bestUs(), "%.1f")).append(" | ");
            derived(r).forEach((k, v) -> sb.append(k).append('=').append(f(v, "%.2f")).append(' '));
            sb.append("|\n");
        }
        return sb.toString();
    }

    private static void target(StringBuilder sb, List<Map<String, Object>> ratios, String mode, String k, String impl,
                               String metric, String label, double goal, boolean atLeast) {
        for (Map<String, Object> m : ratios) {
            if (("" + T_TARGET).equals(m.get("tokens")) && ("" + E_TARGET).equals(m.get("experts")) && k.equals(m.get("k"))
                    && mode.equals(m.get("mode")) && impl.equals(m.get("impl")) && m.get(metric) != null) {
                double v = (double) m.get(metric);
                boolean met = atLeast ? v >= goal : v <= goal;
                sb.append("| ").append(label).append(" | ").append(f(v, "%.2f")).append(atLeast ? "×" : "× roof")
                        .append(" (").append(f(m.get(metric + "_best"), "%.2f")).append(")")
                        .append(" | ").append(atLeast ? "≥ " : "≤ ").append(goal).append(" | ").append(met ? "yes" : "no").append(" |\n");
            }
        }
    }
}

package io.moecast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.moecast.Build;
import io.moecast.UserError;
import io.moecast.report.MachineInfo;
import io.moecast.report.ResultsWriter;
import io.moecast.util.Json;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** {@code moecast bench routing}: the routing JMH suites from the runnable jar. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Run the JMH suites from the runnable jar (results JSON + a Markdown summary of the ratios).",
        subcommands = {BenchCommand.Routing.class})
public final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Size {
        @Option(names = "--quick", description = "A few minutes: the T=2^20, E=64 targets with short iterations.")
        boolean quick;

        @Option(names = "--full", description = "The full grid (T x E x k x mode x impl); hours.")
        boolean full;
    }

    /** One JMH invocation: a benchmark regex and its parameter overrides. */
    record Group(String name, String include, Map<String, String[]> params) {
    }

    /** One measured configuration. scoreUs: JMH's mean; bestUs: the fastest measurement iteration (steadier on a loaded machine). */
    record Row(String benchmark, Map<String, String> params, double scoreUs, double errorUs, double bestUs) {
        String p(String key) {
            return params.get(key);
        }
    }

    @Command(name = "routing", mixinStandardHelpOptions = true,
            description = "Routing kernels (vector, scalar, libtorch peer when moecast-peer.jar is present), the memory-read "
                    + "roof and the FMA-peak roof in one run. Default subset: about 75 configurations, roughly 15-20 minutes "
                    + "on an idle 2-core machine.")
    static final class Routing implements Runnable {
        @ArgGroup(exclusive = true)
        Size size = new Size();

        @Option(names = "--peer-jar", paramLabel = "JAR",
                description = "The libtorch peer jar (default: moecast-peer.jar next to the running jar, if present).")
        Path peerJar;

        @Option(names = "--no-peer", description = "Skip the libtorch peer even when its jar is present.")
        boolean noPeer;

        @Mixin
        OutputOptions output;

        @Override
        public void run() {
            String sizeName = size.quick ? "quick" : size.full ? "full" : "default";
            ResultsWriter w = output.results("bench routing");
            List<Group> groups = plan(sizeName);
            List<Row> rows = new ArrayList<>();
            long t0 = System.nanoTime();
            for (Group g : groups) {
                System.err.printf(Locale.ROOT, "moecast bench routing: %s (%s) ...%n", g.name(), g.include());
                rows.addAll(runGroup(g, sizeName, w.dir()));
            }
            Path peer = noPeer ? null : peerJar();
            if (peer != null) {
                System.err.println("moecast bench routing: libtorch peer (" + peer.getFileName() + ") ...");
                rows.addAll(runPeer(peer, sizeName, w.dir()));
            } else if (!noPeer) {
                System.err.println("moecast bench routing: no peer jar (build it with: mvn -Ppeer package -DskipTests); peer ratios left out");
            }
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("size", sizeName);
            result.put("minutes", (System.nanoTime() - t0) / 6e10);
            result.put("jvm_flags", Arrays.asList(Build.jvmFlags()));
            result.put("iterations", iterationSettings(sizeName));
            List<Map<String, Object>> out = new ArrayList<>();
            for (Row r : rows) {
                out.add(rowMap(r));
            }
            result.put("results", out);
            String md = RoutingSummary.markdown(rows, sizeName, MachineInfo.oneLine());
            result.put("summary", RoutingSummary.ratios(rows));
            w.writeJson("routing-bench.json", result);
            w.writeText("routing-bench.md", md);
            if (output.json) {
                OutputOptions.print(ResultsWriter.envelope("bench routing", result), System.out);
            } else {
                System.out.print(md);
                System.out.println("\nresults: " + w.dir().resolve("routing-bench.json") + ", " + w.dir().resolve("routing-bench.md"));
            }
        }

        private Path peerJar() {
            if (peerJar != null) {
                if (!Files.isRegularFile(peerJar)) {
                    throw UserError.option("--peer-jar", "no such file: " + peerJar);
                }
                return peerJar;
            }
            try {
                Path jar = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                Path p = jar.resolveSibling("moecast-peer.jar");
                return Files.isRegularFile(p) && !jar.equals(p) ? p : null;
            } catch (Exception e) {
                return null;
            }
        }
    }

    static Map<String, Object> iterationSettings(String size) {
        int[] s = iterations(size);
        return Map.of("warmup_iterations", s[0], "warmup_seconds", s[1], "measurement_iterations", s[2],
                "measurement_seconds", s[3], "forks", s[4]);
    }

    /** warmup iterations, warmup s, measurement iterations, measurement s, forks. */
    static int[] iterations(String size) {
        return switch (size) {
            case "quick" -> new int[] {2, 1, 3, 1, 1};
            default -> new int[] {3, 1, 5, 1, 1};
        };
    }

    static final String ROUTE = "io.moecast.bench.RoutingBench.route";
    static final String ROOF = "io.moecast.bench.MemoryRoofBench.readAll";
    static final String GATE = "io.moecast.bench.GateBench";
    static final String PEER = "io.moecast.bench.peer.TorchRoutingBench.route";

    static String[] a(String... v) {
        return v;
    }

    static List<Group> plan(String size) {
        List<Group> g = new ArrayList<>();
        String[] modes = a("topk-softmax", "softmax-topk", "sigmoid-grouped");
        switch (size) {
            case "quick" -> {
                g.add(new Group("targets: vector", ROUTE, Map.of("tokens", a("1048576"), "experts", a("64"),
                        "k", a("1", "2", "8"), "mode", a("topk-softmax", "softmax-topk"), "impl", a("vector-1t", "vector-2t"))));
                g.add(new Group("targets: scalar", ROUTE, Map.of("tokens", a("1048576"), "experts", a("64"),
                        "k", a("2"), "mode", a("topk-softmax"), "impl", a("scalar-1t"))));
                g.add(new Group("memory roof", ROOF, Map.of("tokens", a("1048576"), "experts", a("64"), "threads", a("1", "2"))));
                g.add(new Group("fused gate + FMA peak", GATE, Map.of("impl", a("vector-1t", "vector-2t"))));
            }
            case "full" -> {
                g.add(new Group("full grid", ROUTE, Map.of("tokens", a("4096", "65536", "1048576"), "experts", a("16", "64", "128", "256"),
                        "k", a("1", "2", "8"), "mode", modes, "impl", a("vector-1t", "vector-2t", "scalar-1t"))));
                g.add(new Group("memory roof", ROOF, Map.of("tokens", a("4096", "65536", "1048576"), "experts", a("16", "64", "128", "256"),
                        "threads", a("1", "2"))));
                g.add(new Group("fused gate + FMA peak", GATE, Map.of("impl", a("vector-1t", "vector-2t"))));
            }
            default -> {
                g.add(new Group("targets", ROUTE, Map.of("tokens", a("1048576"), "experts", a("64"),
                        "k", a("1", "2", "8"), "mode", modes, "impl", a("vector-1t", "vector-2t", "scalar-1t"))));
                g.add(new Group("expert sweep", ROUTE, Map.of("tokens", a("65536"), "experts", a("16", "128", "256"),
                        "k", a("2", "8"), "mode", a("topk-softmax", "softmax-topk"), "impl", a("vector-1t"))));
                g.add(new Group("expert sweep: scalar", ROUTE, Map.of("tokens", a("65536"), "experts", a("16", "128", "256"),
                        "k", a("2"), "mode", a("topk-softmax"), "impl", a("scalar-1t"))));
                g.add(new Group("small batch", ROUTE, Map.of("tokens", a("4096"), "experts", a("64"),
                        "k", a("2"), "mode", modes, "impl", a("vector-1t", "vector-2t", "scalar-1t"))));
                g.add(new Group("memory roof", ROOF, Map.of("tokens", a("1048576"), "experts", a("64"), "threads", a("1", "2"))));
                g.add(new Group("memory roof (sweep)", ROOF, Map.of("tokens", a("65536"), "experts", a("16", "128", "256"), "threads", a("1"))));
                g.add(new Group("memory roof (small)", ROOF, Map.of("tokens", a("4096"), "experts", a("64"), "threads", a("1", "2"))));
                g.add(new Group("fused gate + FMA peak", GATE, Map.of("impl", a("vector-1t", "vector-2t"))));
            }
        }
        return g;
    }

    static List<Row> runGroup(Group g, String size, Path dir) {
        int[] it = iterations(size);
        String file = g.name().replaceAll("[^A-Za-z0-9]+", "-").replaceAll("^-|-$", "");
        List<String> jvm = new ArrayList<>(Arrays.asList(Build.jvmFlags()));
        jvm.add("-Xmx6g");
        ChainedOptionsBuilder o = new OptionsBuilder()
                .include("^" + g.include().replace(".", "\\.") + "(\\.|$)")
                .warmupIterations(it[0]).warmupTime(TimeValue.seconds(it[1]))
                .measurementIterations(it[2]).measurementTime(TimeValue.seconds(it[3]))
                .forks(it[4])
                .jvmArgs(jvm.toArray(String[]::new))
                .shouldFailOnError(true)
                .timeUnit(TimeUnit.MICROSECONDS)
                .resultFormat(ResultFormatType.JSON)
                .result(dir.resolve("jmh-" + file + ".json").toString())
                .output(dir.resolve("jmh-" + file + ".log").toString());
        for (Map.Entry<String, String[]> p : g.params().entrySet()) {
            o.param(p.getKey(), p.getValue());
        }
        try {
            List<Row> rows = new ArrayList<>();
            for (RunResult r : new Runner(o.build()).run()) {
                Map<String, String> params = new LinkedHashMap<>();
                for (String key : r.getParams().getParamsKeys()) {
                    params.put(key, r.getParams().getParam(key));
                }
                rows.add(new Row(r.getParams().getBenchmark(), params, r.getPrimaryResult().getScore(),
                        r.getPrimaryResult().getScoreError(), r.getPrimaryResult().getStatistics().getMin()));
            }
            return rows;
        } catch (RunnerException e) {
            throw new IllegalStateException("JMH failed in group '" + g.name() + "' (see " + dir.resolve("jmh-" + file + ".log") + "): " + e.getMessage(), e);
        }
    }

    /** The peer runs in its own JVMs from the peer jar (libtorch never enters the main jar). */
    static List<Row> runPeer(Path jar, String size, Path dir) {
        return runPeer(jar, size, dir, null);
    }

    /**
     * The libtorch peer in its own JVM (its natives stay out of the main jar). {@code shape}, when not
     * null, replaces the size's parameter subset (JMH {@code -p name=v1,v2} per entry), so a caller that
     * needs one shape runs only that shape.
     */
    static List<Row> runPeer(Path jar, String size, Path dir, Map<String, String[]> shape) {
        int[] it = iterations(size);
        Path json = dir.resolve("jmh-peer.json");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(Arrays.asList(Build.jvmFlags()));
        if (Boolean.getBoolean("jmh.ignoreLock")) {
            cmd.add("-Djmh.ignoreLock=true"); // a shared machine where another JMH run holds JMH's lock file (jmh.lock in the temp directory)
        }
        cmd.addAll(List.of("-Dai.djl.offline=true", "-cp", jar.toString(), "org.openjdk.jmh.Main",
                "^" + PEER.replace(".", "\\.") + "$",
                "-wi", "" + it[0], "-w", it[1] + "s", "-i", "" + it[2], "-r", it[3] + "s", "-f", "" + it[4],
                "-tu", "us", "-foe", "true", "-rf", "json", "-rff", json.toString(),
                "-jvmArgsAppend", String.join(" ", Build.jvmFlags()) + " -Dai.djl.offline=true -Xmx6g"));
        if (shape != null) {
            shape.forEach((k, v) -> cmd.addAll(List.of("-p", k + "=" + String.join(",", v))));
        } else if (size.equals("quick")) {
            cmd.addAll(List.of("-p", "tokens=1048576", "-p", "experts=64", "-p", "k=2,8",
                    "-p", "mode=topk-softmax,softmax-topk", "-p", "impl=torch-1t"));
        } else if (!size.equals("full")) {
            cmd.addAll(List.of("-p", "tokens=1048576", "-p", "experts=64", "-p", "k=1,2,8",
                    "-p", "mode=topk-softmax,softmax-topk", "-p", "impl=torch-1t,torch-2t"));
        }
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("jmh-peer.log").toFile()).start();
            int rc = p.waitFor();
            if (rc != 0 || !Files.isRegularFile(json)) {
                System.err.println("moecast bench routing: the peer run failed (exit " + rc + "; see " + dir.resolve("jmh-peer.log") + "); peer ratios left out");
                return List.of();
            }
            List<Row> rows = new ArrayList<>();
            for (JsonNode b : Json.MAPPER.readTree(json.toFile())) {
                Map<String, String> params = new LinkedHashMap<>();
                b.path("params").properties().forEach(e -> params.put(e.getKey(), e.getValue().asText()));
                JsonNode pm = b.path("primaryMetric");
                double best = Double.POSITIVE_INFINITY;
                for (JsonNode fork : pm.path("rawData")) {
                    for (JsonNode v : fork) {
                        best = Math.min(best, v.asDouble());
                    }
                }
                double score = pm.path("score").asDouble();
                rows.add(new Row(b.path("benchmark").asText(), params, score, pm.path("scoreError").asDouble(),
                        Double.isInfinite(best) ? score : best));
            }
            return rows;
        } catch (IOException e) {
            System.err.println("moecast bench routing: cannot run the peer: " + e.getMessage());
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    static Map<String, Object> rowMap(Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("benchmark", r.benchmark());
        m.put("params", r.params());
        m.put("score_us", r.scoreUs());
        m.put("error_us", Double.isNaN(r.errorUs()) ? null : r.errorUs());
        m.put("best_us", r.bestUs());
        RoutingSummary.derived(r).forEach(m::put);
        return m;
    }
}

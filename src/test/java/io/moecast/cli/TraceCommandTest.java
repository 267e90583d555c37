package io.moecast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.Traces;
import io.moecast.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code moecast trace info|convert|merge} end to end on the bundled traces, plus --help/--version everywhere. */
class TraceCommandTest {
    @TempDir
    Path dir;

    static Path bundled(String name) {
        return Path.of(System.getProperty("moecast.repo", ".")).resolve("traces").resolve(name);
    }

    static JsonNode json(Path p) throws IOException {
        return Json.MAPPER.readTree(p.toFile());
    }

    @Test
    void npyToCsvToJsonlToNpyKeepsCountsAndMetadata() throws IOException {
        for (String run : new String[] {"moe-gpt-jdk-e16-top2-seed1", "moe-gpt-jdk-e16-top2-seed2"}) {
            Path src = dir.resolve(run + ".npy");
            Files.copy(bundled(run + ".npy"), src);
            Files.copy(bundled(run + ".json"), dir.resolve(run + ".json"));
            Path csv = dir.resolve("step1/" + run + ".csv");
            Path jsonl = dir.resolve("step2/" + run + ".jsonl");
            Path npy = dir.resolve("step3/" + run + ".npy");
            for (Path[] io : new Path[][] {{src, csv}, {csv, jsonl}, {jsonl, npy}}) {
                CliRun r = CliRun.run("trace", "convert", io[0].toString(), io[1].toString());
                assertEquals(0, r.exitCode(), r.toString());
                assertTrue(r.out().contains("6000 steps x 3 layers x 16 experts"), r.toString());
            }
            LoadTrace a = Traces.load(bundled(run + ".npy"));
            LoadTrace b = Traces.load(npy);
            assertArrayEquals(a.counts(), b.counts(), run);
            assertEquals(6000, b.steps());
            // identical metadata: every key of the original sidecar (losses, recipe, ...) and nothing else
            assertEquals(json(bundled(run + ".json")), json(npy.resolveSibling(run + ".json")), run);
            assertEquals(json(bundled(run + ".json")), json(csv.resolveSibling(run + ".json")), run);
            // and the int32 data bytes of the final .npy are the original's
            byte[] x = Files.readAllBytes(bundled(run + ".npy"));
            byte[] y = Files.readAllBytes(npy);
            assertArrayEquals(java.util.Arrays.copyOfRange(x, x.length - 6000 * 48 * 4, x.length),
                    java.util.Arrays.copyOfRange(y, y.length - 6000 * 48 * 4, y.length));
        }
    }

    @Test
    void infoPrintsShapeAndJson() throws IOException {
        CliRun r = CliRun.run("trace", "info", bundled("moe-gpt-jdk-e16-top2-seed1.npy").toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("shape     [6000 steps, 3 MoE layers, 16 experts]"), r.out());
        assertTrue(r.out().contains("min 8192, median 8192, max 8192"), r.out());
        assertTrue(r.out().contains("min 4096, median 4096, max 4096"), r.out());

        CliRun j = CliRun.run("trace", "info", "--json", "--out", dir.resolve("o").toString(), bundled("moe-gpt-jdk-e16-top2-seed2.npy").toString());
        assertEquals(0, j.exitCode(), j.toString());
        JsonNode doc = Json.MAPPER.readTree(j.out());
        JsonNode res = doc.has("result") ? doc.get("result") : doc;
        assertEquals("[6000,3,16]", res.get("shape").toString(), doc.toString());
        assertEquals(6000L * 3 * 8192, res.get("totalCount").asLong());
        assertEquals("[1,3,5]", res.get("moeLayerIndices").toString());
        assertTrue(Files.exists(dir.resolve("o/trace-info.json")));
        assertTrue(Files.exists(dir.resolve("o/trace-info.md")));
    }

    @Test
    void mergeJoinsChunksAlongSteps() throws IOException {
        LoadTrace t = Traces.load(bundled("moe-gpt-jdk-e16-top2-seed1.npy"));
        List<String> args = new ArrayList<>(List.of("trace", "merge"));
        int[] cuts = {0, 1000, 1001, 3500, 6000};
        String[] ext = {".npy", ".csv", ".jsonl.gz", ".npz"};
        for (int i = 0; i + 1 < cuts.length; i++) {
            Path chunk = dir.resolve("chunk-" + i + ext[i]);
            Traces.write(t.slice(cuts[i], cuts[i + 1]), chunk);
            args.add(chunk.toString());
        }
        Path out = dir.resolve("merged.npy");
        args.add(out.toString());
        CliRun r = CliRun.run(args.toArray(String[]::new));
        assertEquals(0, r.exitCode(), r.toString());
        LoadTrace m = Traces.load(out);
        assertArrayEquals(t.counts(), m.counts());
        assertEquals(0, m.firstStep());
        assertEquals(json(bundled("moe-gpt-jdk-e16-top2-seed1.json")), json(dir.resolve("merged.json")));

        // chunks out of order: one line, exit 2, no output
        Path out2 = dir.resolve("bad-merge.npy");
        CliRun bad = CliRun.run("trace", "merge", dir.resolve("chunk-0.npy").toString(), dir.resolve("chunk-2.jsonl.gz").toString(), out2.toString());
        assertEquals(2, bad.exitCode(), bad.toString());
        assertEquals(1, bad.errLines().length, bad.toString());
        assertTrue(bad.err().contains("chunk-2.jsonl.gz: step 1001: chunk starts at step 1001 but the previous chunk ended at step 999"), bad.err());
        assertFalse(Files.exists(out2));
        assertFalse(Files.exists(dir.resolve("bad-merge.json")));
        assertNoTempFiles();
    }

    @Test
    void mergeRejectsShapeMismatch() throws IOException {
        Path a = dir.resolve("a.jsonl");
        Path b = dir.resolve("b.jsonl");
        Files.writeString(a, "{\"step\": 0, \"loads\": [[1, 2]]}\n");
        Files.writeString(b, "{\"step\": 1, \"loads\": [[1, 2, 3]]}\n");
        CliRun r = CliRun.run("trace", "merge", a.toString(), b.toString(), dir.resolve("m.csv").toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("does not match the first chunk"), r.err());
        assertFalse(Files.exists(dir.resolve("m.csv")));
    }

    @Test
    void convertRefusesToOverwriteItsInput() throws IOException {
        Path a = dir.resolve("a.jsonl");
        Files.writeString(a, "{\"step\": 0, \"loads\": [[1, 2]]}\n");
        CliRun r = CliRun.run("trace", "convert", a.toString(), a.toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("same file as an input"), r.err());
        assertEquals("{\"step\": 0, \"loads\": [[1, 2]]}\n", Files.readString(a));
    }

    @Test
    void unknownOutputFormat() throws IOException {
        Path a = dir.resolve("a.jsonl");
        Files.writeString(a, "{\"step\": 0, \"loads\": [[1, 2]]}\n");
        CliRun r = CliRun.run("trace", "convert", a.toString(), dir.resolve("x.parquet").toString());
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("x.parquet: unknown output format"), r.err());
    }

    @Test
    void helpOnEveryCommandAndVersion() {
        List<List<String>> paths = new ArrayList<>();
        collect(Main.commandLine(), new ArrayList<>(), paths);
        assertTrue(paths.size() >= 5, paths.toString());
        for (List<String> p : paths) {
            List<String> args = new ArrayList<>(p);
            args.add("--help");
            CliRun r = CliRun.run(args.toArray(String[]::new));
            assertEquals(0, r.exitCode(), p + ": " + r);
            assertTrue(r.out().contains("Usage:"), p + ": " + r);
        }
        CliRun v = CliRun.run("--version");
        assertEquals(0, v.exitCode());
        assertTrue(v.out().startsWith("moecast "), v.out());
        CliRun bad = CliRun.run("trace", "info");
        assertEquals(2, bad.exitCode());
        assertEquals(1, bad.errLines().length, bad.toString());
        assertTrue(bad.err().contains("Missing required parameter"), bad.err());
    }

    private static void collect(CommandLine cl, List<String> prefix, List<List<String>> out) {
        out.add(prefix);
        for (var e : cl.getSubcommands().entrySet()) {
            if (e.getValue().getCommandSpec().aliases().length > 0 && List.of(e.getValue().getCommandSpec().aliases()).contains(e.getKey())) {
                continue;
            }
            List<String> p = new ArrayList<>(prefix);
            p.add(e.getKey());
            collect(e.getValue(), p, out);
        }
    }

    private void assertNoTempFiles() throws IOException {
        try (var s = Files.walk(dir)) {
            List<Path> parts = s.filter(p -> p.getFileName().toString().endsWith(".part")).toList();
            assertTrue(parts.isEmpty(), parts.toString());
        }
    }
}

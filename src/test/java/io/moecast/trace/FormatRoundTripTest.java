package io.moecast.trace;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moecast.trace.format.Sidecar;
import io.moecast.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every output format reads back to the same counts, first step and metadata. */
class FormatRoundTripTest {
    @TempDir
    Path dir;

    static LoadTrace sample(int steps, int layers, int experts, long firstStep) {
        int[] c = NpyFixtures.randomCounts(steps * 1000L + layers * 10L + experts, steps * layers * experts, 5000);
        c[0] = 0; // a zero (long CSV writes it; readers must keep it)
        c[c.length - 1] = Integer.MAX_VALUE; // the largest count a trace holds
        TraceMeta m = TraceMeta.empty().model("tiny test model").tokensPerStep(2048).topK(2).source("unit test");
        int[] idx = new int[layers];
        for (int l = 0; l < layers; l++) {
            idx[l] = 2 * l + 1;
        }
        m.moeLayerIndices(idx);
        m.json().putObject("recipe").put("lr", 1e-3).putArray("betas").add(0.9).add(0.95);
        m.json().put("experts", experts);
        return new LoadTrace(m, steps, layers, experts, firstStep, c);
    }

    @ParameterizedTest
    @ValueSource(strings = {"t.npy", "t.npy.gz", "t.npz", "t.csv", "t.csv.gz", "t.jsonl", "t.jsonl.gz", "t.ndjson"})
    void roundTrip(String name) {
        for (long first : new long[] {0, 42}) {
            for (int[] shape : new int[][] {{7, 3, 5}, {1, 1, 1}, {4, 1, 9}}) {
                LoadTrace t = sample(shape[0], shape[1], shape[2], first);
                Path f = dir.resolve(name);
                Traces.write(t, f);
                LoadTrace back = Traces.load(f);
                assertEquals(t.steps(), back.steps(), name);
                assertEquals(t.layers(), back.layers(), name);
                assertEquals(t.experts(), back.experts(), name);
                assertEquals(first, back.firstStep(), name);
                assertArrayEquals(t.counts(), back.counts(), name);
                ObjectNode want = t.meta().copy().json();
                want.put("steps", t.steps());
                if (first != 0) {
                    want.put("first_step", first);
                }
                assertEquals(normalized(want), normalized(back.meta().json()), name);
            }
        }
    }

    /** Jackson compares numbers by node type (IntNode != LongNode); compare what the JSON says. */
    static com.fasterxml.jackson.databind.JsonNode normalized(com.fasterxml.jackson.databind.JsonNode n) {
        try {
            return Json.MAPPER.readTree(n.toString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void longCsvRoundTripAndOmittedZeroRows() throws IOException {
        LoadTrace t = sample(5, 2, 4, 3);
        Path f = dir.resolve("long.csv");
        Traces.write(t, f, true);
        assertTrue(Files.readString(f).startsWith("step,layer,expert,tokens\n3,0,0,0\n"));
        assertArrayEquals(t.counts(), Traces.load(f).counts());

        // zero rows may be omitted; the sidecar's experts/moe_layer_indices keep the shape when a whole
        // expert or layer never appears
        Path g = dir.resolve("sparse.csv");
        Files.writeString(g, "step,layer,expert,tokens\n0,0,1,5\n1,0,0,2\n");
        LoadTrace s = Traces.load(g);
        assertEquals(2, s.steps());
        assertEquals(1, s.layers());
        assertEquals(2, s.experts());
        assertArrayEquals(new int[] {0, 5, 2, 0}, s.counts());
        Files.writeString(dir.resolve("sparse.json"), "{\"experts\": 4, \"moe_layer_indices\": [1, 3]}");
        LoadTrace s2 = Traces.load(g);
        assertEquals(2, s2.layers());
        assertEquals(4, s2.experts());
        assertArrayEquals(new int[] {0, 5, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}, s2.counts());
    }

    @Test
    void readmeExamplesRead() throws IOException {
        Path wide = dir.resolve("wide.csv");
        Files.writeString(wide, "step,layer,e0,e1,e2,e3\n0,0,517,498,530,503\n0,1,611,402,480,555\n");
        LoadTrace w = Traces.load(wide);
        assertEquals(1, w.steps());
        assertEquals(2, w.layers());
        assertEquals(611, w.count(0, 1, 0));
        Path jl = dir.resolve("x.jsonl");
        Files.writeString(jl, "{\"step\": 0, \"loads\": [[517, 498, 530, 503], [611, 402, 480, 555]]}\n"
                + "{\"step\": 1, \"loads\": [[520, 490, 533, 505], [600, 410, 478, 560]]}\n");
        LoadTrace j = Traces.load(jl);
        assertEquals(2, j.steps());
        assertEquals(560, j.count(1, 1, 3));
        // a BOM (spreadsheet export), CRLF line ends, spaces, "count" header and whole-number floats
        Path bom = dir.resolve("bom.csv");
        Files.writeString(bom, "\uFEFFstep, layer, expert, count\r\n0, 0, 0, 7.0\r\n0, 0, 1, 1e1\r\n");
        assertArrayEquals(new int[] {7, 10}, Traces.load(bom).counts());
        // one layer written flat in JSON Lines
        Path flat = dir.resolve("flat.jsonl");
        Files.writeString(flat, "{\"step\": 5, \"loads\": [1, 2, 3]}\n\n{\"step\": 6, \"loads\": [4, 5, 6]}\n");
        LoadTrace fl = Traces.load(flat);
        assertEquals(5, fl.firstStep());
        assertArrayEquals(new int[] {1, 2, 3, 4, 5, 6}, fl.counts());
    }

    @Test
    void detectsFormatByContentNotName() throws IOException {
        LoadTrace t = sample(3, 2, 3, 0);
        Path csv = dir.resolve("a.csv");
        Traces.write(t, csv);
        Path misnamed = dir.resolve("a.dat");
        Files.copy(csv, misnamed);
        assertArrayEquals(t.counts(), Traces.load(misnamed).counts());
        Path gz = dir.resolve("b.jsonl.gz");
        Traces.write(t, gz);
        try (GZIPInputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
            assertTrue(new String(in.readAllBytes(), StandardCharsets.UTF_8).startsWith("{\"step\": 0, \"loads\": [["));
        }
        Path gzMisnamed = dir.resolve("b.bin");
        Files.copy(gz, gzMisnamed);
        assertArrayEquals(t.counts(), Traces.load(gzMisnamed).counts());
    }

    @Test
    void sidecarSitsNextToTheTrace() throws IOException {
        LoadTrace t = sample(2, 1, 2, 0);
        Traces.write(t, dir.resolve("run.npy.gz"));
        Path side = dir.resolve("run.json");
        assertEquals(Sidecar.of(dir.resolve("run.npy.gz")), side.toAbsolutePath());
        assertEquals("tiny test model", Json.MAPPER.readTree(side.toFile()).get("model").asText());
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "only the trace and its sidecar; no temporary files left");
        }
    }
}

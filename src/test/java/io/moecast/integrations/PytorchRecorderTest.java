package io.moecast.integrations;

import com.fasterxml.jackson.databind.JsonNode;
import io.moecast.cli.CliRun;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.Traces;
import io.moecast.util.Json;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The PyTorch recorder end to end: {@code integrations/pytorch/test_recorder.py} trains a tiny MoE model
 * on CPU with Debian's python3-torch (installed by {@code .ci/run}) and records its expert loads in
 * chunks; moecast merges the chunks and reads the trace. Skipped, with a message, where
 * {@code /usr/bin/python3} cannot import torch.
 */
class PytorchRecorderTest {
    static final String PYTHON = System.getProperty("moecast.python", "/usr/bin/python3");

    @TempDir
    Path dir;

    static Path repo() {
        return Path.of(System.getProperty("moecast.repo", ".")).toAbsolutePath();
    }

    static boolean torchAvailable() {
        if (!Files.isExecutable(Path.of(PYTHON))) {
            return false;
        }
        try {
            Process p = new ProcessBuilder(PYTHON, "-c", "import torch").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Test
    void recordsATrainingRunThatMoecastMergesAndReads() throws Exception {
        Assumptions.assumeTrue(torchAvailable(), "skipped: " + PYTHON + " cannot import torch (install Debian's python3-torch: "
                + "apt-get install python3-torch; .ci/run does this)");
        Path chunks = dir.resolve("chunks");
        Path log = dir.resolve("recorder.log");
        Process p = new ProcessBuilder(PYTHON, "integrations/pytorch/test_recorder.py", chunks.toString())
                .directory(repo().toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done, "test_recorder.py timed out:\n" + out);
        assertEquals(0, p.exitValue(), "test_recorder.py failed:\n" + out);

        List<String> args = new ArrayList<>(List.of("trace", "merge"));
        try (var s = Files.list(chunks)) {
            s.filter(f -> f.getFileName().toString().endsWith(".npy")).sorted().forEach(f -> args.add(f.toString()));
        }
        assertEquals(2 + 3, args.size(), "three chunks: " + args);
        Path merged = dir.resolve("run.npy");
        args.add(merged.toString());
        CliRun m = CliRun.run(args.toArray(String[]::new));
        assertEquals(0, m.exitCode(), m.toString());

        CliRun info = CliRun.run("trace", "info", "--json", merged.toString());
        assertEquals(0, info.exitCode(), info.toString());
        JsonNode doc = Json.MAPPER.readTree(info.out());
        JsonNode res = doc.has("result") ? doc.get("result") : doc;
        assertEquals("[40,4,8]", res.get("shape").toString(), res.toString());
        assertEquals("[1,3,5,7]", res.get("moeLayerIndices").toString());
        assertEquals(40L * 4 * 256 * 2, res.get("totalCount").asLong());

        Path analysis = dir.resolve("analysis");
        CliRun an = CliRun.run("analyze", merged.toString(), "--windows", "5,10", "--state-window", "10", "--out", analysis.toString());
        assertEquals(0, an.exitCode(), an.toString());
        assertTrue(java.nio.file.Files.isRegularFile(analysis.resolve("summary.md")), "analyze wrote its summary");
        assertTrue(java.nio.file.Files.isRegularFile(analysis.resolve("analysis.json")));

        LoadTrace t = Traces.load(merged);
        assertEquals(2, t.meta().topK());
        assertEquals(256, t.meta().tokensPerStep());
        assertArrayEquals(new int[] {1, 3, 5, 7}, t.meta().moeLayerIndices());
        assertEquals(0, t.firstStep());
        long slots = t.meta().tokensPerStep() * t.meta().topK();
        for (int s = 0; s < t.steps(); s++) {
            for (int l = 0; l < t.layers(); l++) {
                assertEquals(slots, t.layerTotal(s, l), "step " + s + ", layer " + l);
            }
        }
    }
}

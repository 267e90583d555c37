package io.moecast.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.moecast.trace.LoadTrace;
import io.moecast.trace.Traces;
import io.moecast.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code moecast analyze} and {@code moecast simulate} end to end. */
class AnalyzeSimulateCommandTest {
    @TempDir
    Path dir;

    @Test
    void analyzeReportsTransitionsAndWritesChartsForABundledTrace() throws IOException {
        Path out = dir.resolve("a");
        CliRun r = CliRun.run("analyze", TraceCommandTest.bundled("moe-gpt-jdk-e16-top2-seed1.npy").toString(),
                "--windows", "10,100,200", "--out", out.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("stable from step"), r.out());
        for (String f : new String[] {"summary.md", "analysis.json", "machine.json", "proportions-layer1.png",
                "proportions-layer3.png", "proportions-layer5.png", "fluctuation-w10.png", "fluctuation-w100.png",
                "fluctuation-w200.png", "states-ratio.png", "imbalance.png"}) {
            assertTrue(Files.size(out.resolve(f)) > 100, f);
        }
        BufferedImage img = ImageIO.read(out.resolve("proportions-layer1.png").toFile());
        assertEquals(1400, img.getWidth());
        JsonNode doc = TraceCommandTest.json(out.resolve("analysis.json")).get("result");
        JsonNode layers = doc.get("layers");
        assertEquals(3, layers.size());
        for (JsonNode l : layers) {
            long t = l.get("transitionStep").asLong();
            assertTrue(t > 0 && t < 1000, "transition " + t);
            assertEquals(16, l.get("expertShare").size());
            assertEquals(16, l.get("windows").get("100").get("experts").size());
        }
        assertTrue(doc.get("states").get("modelTransitionStep").asLong() > 0);
        String md = Files.readString(out.resolve("summary.md"));
        assertTrue(md.contains("Model transition: step"), md);
        assertTrue(md.contains("![states-ratio.png](states-ratio.png)"));
    }

    @Test
    void analyzeJsonToStdout() {
        CliRun r = CliRun.run("analyze", TraceCommandTest.bundled("moe-gpt-jdk-e16-top2-seed2.npy").toString(),
                "--no-charts", "--json", "--out", dir.resolve("b").toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("\"modelTransitionStep\""), r.out());
    }

    @Test
    void analyzeRejectsBadOptionsWithOneLine() {
        CliRun r = CliRun.run("analyze", TraceCommandTest.bundled("moe-gpt-jdk-e16-top2-seed2.npy").toString(), "--windows", "1");
        assertEquals(2, r.exitCode(), r.toString());
        assertEquals(1, r.errLines().length, r.toString());
        r = CliRun.run("analyze", dir.resolve("missing.npy").toString());
        assertEquals(2, r.exitCode(), r.toString());
        r = CliRun.run("analyze", TraceCommandTest.bundled("moe-gpt-jdk-e16-top2-seed2.npy").toString(), "--threshold", "0.5");
        assertEquals(2, r.exitCode(), r.toString());
    }

    @Test
    void simulateWritesAReproducibleTraceWithMetadata() throws IOException {
        String[] common = {"--layers", "2", "--experts", "8", "--k", "2", "--hidden", "16", "--tokens", "512",
                "--steps", "30", "--vocab", "512", "--clusters", "8", "--warmup", "5", "--impl", "scalar",
                "--capacity-factor", "1.1", "--seed", "7"};
        Path a = dir.resolve("sim-a.npy");
        Path b = dir.resolve("sim-b.jsonl");
        Path drops = dir.resolve("drops.csv");
        CliRun r = CliRun.run(concat(common, a.toString(), "--dropped", drops.toString(), "--out", dir.resolve("res").toString()));
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.out().contains("steps/s"), r.out());
        CliRun r2 = CliRun.run(concat(common, b.toString()));
        assertEquals(0, r2.exitCode(), r2.toString());
        LoadTrace ta = Traces.load(a);
        LoadTrace tb = Traces.load(b);
        assertEquals(30, ta.steps());
        assertArrayEquals(ta.counts(), tb.counts(), "same seed, same trace, in any format");
        assertEquals(2, ta.meta().topK());
        assertEquals(512, ta.meta().tokensPerStep());
        assertEquals(1.1, ta.meta().json().get("cap").asDouble());
        LoadTrace td = Traces.load(drops);
        for (int s = 0; s < ta.steps(); s++) {
            for (int l = 0; l < 2; l++) {
                assertEquals(512 * 2, ta.layerTotal(s, l) + td.layerTotal(s, l), "kept + dropped = routed");
            }
        }
        JsonNode res = Json.MAPPER.readTree(dir.resolve("res").resolve("simulate.json").toFile()).get("result");
        assertTrue(res.get("stepsPerSecond").asDouble() > 0);
        assertEquals("scalar", res.get("router").asText());
    }

    @Test
    void simulateRejectsBadOptionsWithOneLine() {
        CliRun r = CliRun.run("simulate", dir.resolve("x.npy").toString(), "--experts", "4", "--k", "5");
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.err().contains("--k"), r.toString());
        r = CliRun.run("simulate", dir.resolve("x.npy").toString(), "--scoring", "nope");
        assertEquals(2, r.exitCode(), r.toString());
        r = CliRun.run("simulate", dir.resolve("x.npy").toString(), "--impl", "nope");
        assertEquals(2, r.exitCode(), r.toString());
        r = CliRun.run("simulate", dir.resolve("x.unknown").toString(), "--steps", "2");
        assertEquals(2, r.exitCode(), r.toString());
    }

    private static String[] concat(String[] a, String... more) {
        String[] out = new String[a.length + more.length + 1];
        out[0] = "simulate";
        System.arraycopy(a, 0, out, 1, a.length);
        System.arraycopy(more, 0, out, 1 + a.length, more.length);
        return out;
    }
}

package io.moecast.trace;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The bundled traces load with the shape and totals their README gives. */
class BundledTracesTest {
    static Path trace(String name) {
        return Path.of(System.getProperty("moecast.repo", ".")).resolve("traces").resolve(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"moe-gpt-jdk-e16-top2-seed1.npy", "moe-gpt-jdk-e16-top2-seed2.npy"})
    void loadsWithDocumentedShapeAndTotals(String name) {
        LoadTrace t = Traces.load(trace(name));
        assertEquals(6000, t.steps());
        assertEquals(3, t.layers());
        assertEquals(16, t.experts());
        for (int s = 0; s < t.steps(); s++) {
            for (int l = 0; l < t.layers(); l++) {
                assertEquals(8192, t.layerTotal(s, l), "step " + s + " layer " + l);
            }
        }
        assertEquals(6000L * 3 * 8192, t.total());
        assertEquals(4096, t.meta().tokensPerStep());
        assertEquals(2, t.meta().topK());
        assertArrayEquals(new int[] {1, 3, 5}, t.meta().moeLayerIndices());
    }
}

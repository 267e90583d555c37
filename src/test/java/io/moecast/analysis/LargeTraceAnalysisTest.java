package io.moecast.analysis;

import io.moecast.trace.NpyFixturesAccess;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code analyze} streams a trace larger than the test JVM's heap (-Xmx512m): 9,000 steps × 60 layers ×
 * 256 experts of int32 (553 MB, a sparse file of zeros: every layer routes nothing, so its shares are
 * uniform and constant, hence stable from the first step).
 */
@Tag("slow")
class LargeTraceAnalysisTest {
    @TempDir
    Path dir;

    @Test
    void analysesATraceLargerThanTheHeap() throws IOException {
        int steps = 9000;
        int layers = 60;
        int experts = 256;
        Path f = dir.resolve("big.npy");
        byte[] header = NpyFixturesAccess.header(steps, layers, experts);
        long size = header.length + 4L * steps * layers * experts;
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(header);
            raf.setLength(size);
        }
        assertTrue(size > Runtime.getRuntime().maxMemory(), "needs a trace larger than the heap");
        long t0 = System.nanoTime();
        TraceAnalysis a = TraceAnalysis.run(f, TraceAnalysis.Options.defaults());
        double secs = (System.nanoTime() - t0) / 1e9;
        System.out.printf("analyze %d x %d x %d: %.1f s (%.0f steps/s over two passes)%n", steps, layers, experts, secs, steps / secs);
        assertEquals(steps, a.steps);
        assertEquals(0, a.timeline.modelTransitionStep());
        assertEquals(8, AnalysisReport.charts(a).keySet().stream().filter(k -> k.startsWith("proportions")).count());
    }
}

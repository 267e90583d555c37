package io.moecast.trace;

import com.fasterxml.jackson.databind.JsonNode;
import io.moecast.UserError;
import io.moecast.cli.CliRun;
import io.moecast.util.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A trace larger than the test JVM's whole heap (Surefire runs with {@code moecast.test.heap}, -Xmx512m)
 * streams step by step: a sparse .npy of ~640 MB of int32 (written as a header plus a file length, so it
 * costs no disk and little time) with a few known non-zero counts.
 */
class LargeTraceStreamingTest {
    static final int STEPS = 2600;
    static final int LAYERS = 60;
    static final int EXPERTS = 1024;
    // {step, layer, expert, count}
    static final int[][] MARKS = {{0, 0, 0, 7}, {1, 59, 1023, 11}, {1300, 30, 512, 123_456}, {2599, 59, 1023, 99}, {2599, 0, 1, 5}};

    @TempDir
    Path dir;

    @Test
    void streamsATraceLargerThanTheHeap() throws IOException {
        Path f = dir.resolve("huge.npy");
        byte[] header = NpyFixtures.header(1, "<i4", false, STEPS, LAYERS, EXPERTS);
        long size = header.length + 4L * STEPS * LAYERS * EXPERTS;
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.write(header);
            raf.setLength(size);
            for (int[] m : MARKS) {
                raf.seek(header.length + 4L * (((long) m[0] * LAYERS + m[1]) * EXPERTS + m[2]));
                raf.writeInt(Integer.reverseBytes(m[3])); // little-endian
            }
        }
        long heap = Runtime.getRuntime().maxMemory();
        assertTrue(size > heap, "the test needs a trace larger than the heap: " + size + " vs " + heap);

        // 1. the streaming reader: one step in memory at a time
        long total = 0;
        int steps = 0;
        try (TraceReader r = Traces.open(f)) {
            assertEquals(STEPS, r.steps());
            int[] step = new int[r.layers() * r.experts()];
            while (r.next(step)) {
                for (int[] m : MARKS) {
                    if (m[0] == steps) {
                        assertEquals(m[3], step[m[1] * EXPERTS + m[2]], "step " + steps);
                    }
                }
                for (int c : step) {
                    total += c;
                }
                steps++;
            }
        }
        assertEquals(STEPS, steps);
        long want = 0;
        for (int[] m : MARKS) {
            want += m[3];
        }
        assertEquals(want, total);

        // 2. the CLI's info on it
        CliRun info = CliRun.run("trace", "info", "--json", f.toString());
        assertEquals(0, info.exitCode(), info.toString());
        JsonNode doc = Json.MAPPER.readTree(info.out());
        JsonNode res = doc.has("result") ? doc.get("result") : doc;
        assertEquals("[" + STEPS + "," + LAYERS + "," + EXPERTS + "]", res.get("shape").toString());
        assertEquals(want, res.get("totalCount").asLong());

        // 3. loading it whole is refused with a clear message, not an OutOfMemoryError
        UserError e = assertThrows(UserError.class, () -> Traces.load(f));
        assertTrue(e.getMessage().contains("too large to load into memory"), e.getMessage());
    }
}

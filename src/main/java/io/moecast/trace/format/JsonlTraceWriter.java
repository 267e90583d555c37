package io.moecast.trace.format;

import io.moecast.trace.TraceMeta;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Writes JSON Lines, one step per line: {@code {"step": s, "loads": [[...], ...]}}. */
public final class JsonlTraceWriter extends AbstractTraceWriter {
    private final GZIPOutputStream gz;
    private final Writer w;
    private final StringBuilder line = new StringBuilder(1024);

    public JsonlTraceWriter(Path path, TraceMeta meta, int layers, int experts, long firstStep, boolean gzip) throws IOException {
        super(path, meta, layers, experts, firstStep);
        OutputStream o = out.stream();
        this.gz = gzip ? new GZIPOutputStream(o, 1 << 16) : null;
        this.w = new BufferedWriter(new OutputStreamWriter(gzip ? gz : o, StandardCharsets.UTF_8), 1 << 16);
    }

    @Override
    protected void writeStep(int[] counts, long step) throws IOException {
        line.setLength(0);
        line.append("{\"step\": ").append(step).append(", \"loads\": [");
        for (int l = 0; l < layers; l++) {
            line.append(l == 0 ? "[" : ", [");
            for (int e = 0; e < experts; e++) {
                if (e > 0) {
                    line.append(", ");
                }
                line.append(counts[l * experts + e]);
            }
            line.append(']');
        }
        line.append("]}\n");
        w.append(line);
    }

    @Override
    protected void finish() throws IOException {
        w.flush();
        if (gz != null) {
            gz.finish();
        }
    }
}

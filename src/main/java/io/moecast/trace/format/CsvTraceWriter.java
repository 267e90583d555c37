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

/** Writes a CSV trace, wide ({@code step,layer,e0,...}) or long ({@code step,layer,expert,tokens}). */
public final class CsvTraceWriter extends AbstractTraceWriter {
    private final boolean wide;
    private final GZIPOutputStream gz;
    private final Writer w;
    private final StringBuilder line = new StringBuilder(256);

    public CsvTraceWriter(Path path, TraceMeta meta, int layers, int experts, long firstStep, boolean wide, boolean gzip) throws IOException {
        super(path, meta, layers, experts, firstStep);
        this.wide = wide;
        OutputStream o = out.stream();
        this.gz = gzip ? new GZIPOutputStream(o, 1 << 16) : null;
        this.w = new BufferedWriter(new OutputStreamWriter(gzip ? gz : o, StandardCharsets.UTF_8), 1 << 16);
        if (wide) {
            w.write("step,layer");
            for (int e = 0; e < experts; e++) {
                w.write(",e" + e);
            }
            w.write('\n');
        } else {
            w.write("step,layer,expert,tokens\n");
        }
    }

    @Override
    protected void writeStep(int[] counts, long step) throws IOException {
        for (int l = 0; l < layers; l++) {
            int o = l * experts;
            if (wide) {
                line.setLength(0);
                line.append(step).append(',').append(l);
                for (int e = 0; e < experts; e++) {
                    line.append(',').append(counts[o + e]);
                }
                w.append(line).append('\n');
            } else {
                for (int e = 0; e < experts; e++) {
                    line.setLength(0);
                    line.append(step).append(',').append(l).append(',').append(e).append(',').append(counts[o + e]).append('\n');
                    w.append(line);
                }
            }
        }
    }

    @Override
    protected void finish() throws IOException {
        w.flush();
        if (gz != null) {
            gz.finish();
        }
    }
}

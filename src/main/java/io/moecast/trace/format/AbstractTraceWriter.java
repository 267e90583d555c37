package io.moecast.trace.format;

import io.moecast.trace.TraceMeta;
import io.moecast.trace.TraceWriter;
import io.moecast.util.AtomicOutput;

import java.io.IOException;
import java.nio.file.Path;

/** Shared bookkeeping for writers: step count, temp-file output, the sidecar on commit. */
abstract class AbstractTraceWriter implements TraceWriter {
    protected final Path path;
    protected final TraceMeta meta;
    protected final int layers;
    protected final int experts;
    protected final long firstStep;
    protected final AtomicOutput out;
    protected long written;
    private boolean done;

    AbstractTraceWriter(Path path, TraceMeta meta, int layers, int experts, long firstStep) throws IOException {
        this.path = path;
        this.meta = meta.copy();
        this.layers = layers;
        this.experts = experts;
        this.firstStep = firstStep;
        this.out = AtomicOutput.create(path);
    }

    @Override
    public final void write(int[] counts) throws IOException {
        writeStep(counts, firstStep + written);
        written++;
    }

    protected abstract void writeStep(int[] counts, long step) throws IOException;

    /** Finish the data in the temporary file (before it is moved). */
    protected abstract void finish() throws IOException;

    @Override
    public final void commit() throws IOException {
        finish();
        meta.json().put("steps", written);
        if (meta.json().has("experts")) {
            meta.json().put("experts", experts);
        }
        if (firstStep != 0) {
            meta.firstStep(firstStep);
        } else {
            meta.json().remove(TraceMeta.FIRST_STEP);
        }
        Sidecar.write(path, meta);
        out.commit();
        done = true;
    }

    @Override
    public void close() throws IOException {
        if (!done) {
            out.close();
        }
    }
}

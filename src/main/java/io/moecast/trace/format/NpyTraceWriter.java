package io.moecast.trace.format;

import io.moecast.trace.TraceMeta;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes int32 little-endian {@code .npy} ({@code [S, L, E]}), optionally gzip-compressed
 * ({@code .npy.gz}) or as a one-array {@code .npz}. The step count is written into the header at commit
 * (the header keeps room for it), so steps stream through without being held.
 */
public final class NpyTraceWriter extends AbstractTraceWriter {
    private static final int SHAPE_WIDTH = 48;
    private final Path raw;
    private final OutputStream data;
    private final ByteBuffer stepBuf;
    private final Compression compression;

    public enum Compression { NONE, GZIP, NPZ }

    public NpyTraceWriter(Path path, TraceMeta meta, int layers, int experts, long firstStep, Compression c) throws IOException {
        super(path, meta, layers, experts, firstStep);
        this.compression = c;
        this.raw = c == Compression.NONE ? out.tempPath()
                : Files.createTempFile(out.tempPath().getParent(), ".moecast-npy", ".part");
        this.data = new BufferedOutputStream(c == Compression.NONE ? out.stream() : Files.newOutputStream(raw), 1 << 16);
        data.write(NpyHeader.encode("<i4", new long[] {0, layers, experts}, SHAPE_WIDTH));
        this.stepBuf = ByteBuffer.allocate(layers * experts * 4).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    protected void writeStep(int[] counts, long step) throws IOException {
        stepBuf.clear();
        stepBuf.asIntBuffer().put(counts, 0, layers * experts);
        data.write(stepBuf.array(), 0, stepBuf.capacity());
    }

    @Override
    protected void finish() throws IOException {
        data.close();
        byte[] header = NpyHeader.encode("<i4", new long[] {written, layers, experts}, SHAPE_WIDTH);
        try (FileChannel fc = FileChannel.open(raw, StandardOpenOption.WRITE)) {
            fc.write(ByteBuffer.wrap(header), 0);
        }
        if (compression == Compression.NONE) {
            return;
        }
        try (InputStream in = Files.newInputStream(raw)) {
            OutputStream o = out.stream();
            if (compression == Compression.GZIP) {
                GZIPOutputStream gz = new GZIPOutputStream(o, 1 << 16);
                in.transferTo(gz);
                gz.finish();
            } else {
                ZipOutputStream zip = new ZipOutputStream(o);
                zip.putNextEntry(new ZipEntry("counts.npy"));
                in.transferTo(zip);
                zip.closeEntry();
                zip.finish();
            }
        } finally {
            Files.deleteIfExists(raw);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            data.close();
        } catch (IOException ignored) {
            // discarded anyway
        }
        if (compression != Compression.NONE) {
            Files.deleteIfExists(raw);
        }
        super.close();
    }
}

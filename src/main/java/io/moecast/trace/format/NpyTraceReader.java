package io.moecast.trace.format;

import io.moecast.UserError;
import io.moecast.trace.TraceMeta;
import io.moecast.trace.TraceReader;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Path;

/**
 * Streams a {@code .npy} array of shape {@code [S, L, E]} or {@code [S, E]} (int8..int64, uint8..uint64,
 * float32, float64 holding whole numbers; C order) one step at a time. Only one step's bytes are held.
 */
public final class NpyTraceReader implements TraceReader {
    private final Path path;
    private final ReadableByteChannel ch;
    private final TraceMeta meta;
    private final NpyHeader header;
    private final int layers;
    private final int experts;
    private final long steps;
    private final long firstStep;
    private final ByteBuffer buf;
    private long index = -1;

    /**
     * @param knownSize the file's size in bytes when known (plain files: truncation is reported before
     *                  any step is read), or -1 for compressed streams (reported at the step that ends early)
     */
    public NpyTraceReader(Path path, ReadableByteChannel ch, long knownSize, TraceMeta meta) throws IOException {
        this.path = path;
        this.ch = ch;
        this.meta = meta;
        this.header = NpyHeader.read(ch, path);
        long[] shape = header.shape();
        if (shape.length == 3) {
            steps = shape[0];
            layers = toInt(shape[1], "layers");
            experts = toInt(shape[2], "experts");
        } else if (shape.length == 2) {
            steps = shape[0];
            layers = 1;
            experts = toInt(shape[1], "experts");
        } else {
            throw UserError.inFile(path, header.where(), "shape " + java.util.Arrays.toString(shape)
                    + " is not a trace (expected [steps, layers, experts] or [steps, experts])");
        }
        if (layers < 1 || experts < 1) {
            throw UserError.inFile(path, header.where(), "shape " + java.util.Arrays.toString(shape) + " has no experts");
        }
        long stepBytes = (long) layers * experts * header.dtype().size();
        if (stepBytes > Integer.MAX_VALUE - 64) {
            throw UserError.inFile(path, header.where(), "one step holds too many counts (" + layers + " x " + experts + ")");
        }
        if (knownSize >= 0) {
            long dataBytes = steps > (Long.MAX_VALUE - header.dataOffset()) / stepBytes ? Long.MAX_VALUE - header.dataOffset() : steps * stepBytes;
            long need = header.dataOffset() + dataBytes;
            if (knownSize < need) {
                long whole = (knownSize - header.dataOffset()) / stepBytes;
                throw UserError.inFile(path, "byte " + knownSize, "truncated: the header promises " + steps
                        + " steps (" + need + " bytes) but the file ends inside step " + Math.max(0, whole));
            }
        }
        this.firstStep = meta.firstStep();
        this.buf = ByteBuffer.allocate((int) stepBytes).order(header.dtype().order());
    }

    private int toInt(long v, String what) {
        if (v > Integer.MAX_VALUE) {
            throw UserError.inFile(path, header.where(), "too many " + what + ": " + v);
        }
        return (int) v;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public TraceMeta meta() {
        return meta;
    }

    @Override
    public int layers() {
        return layers;
    }

    @Override
    public int experts() {
        return experts;
    }

    @Override
    public long steps() {
        return steps;
    }

    @Override
    public long firstStep() {
        return firstStep;
    }

    @Override
    public long index() {
        return index;
    }

    public NpyHeader header() {
        return header;
    }

    @Override
    public boolean next(int[] dst) throws IOException {
        if (index + 1 >= steps) {
            return false;
        }
        long s = index + 1;
        buf.clear();
        int got;
        try {
            got = NpyHeader.readFully(ch, buf);
        } catch (java.io.EOFException | java.util.zip.ZipException e) {
            throw UserError.inFile(path, "step " + (firstStep + s), "truncated or corrupt compressed data (" + e.getMessage() + ")");
        }
        if (got < buf.capacity()) {
            long at = header.dataOffset() + s * buf.capacity() + got;
            throw UserError.inFile(path, "byte " + at, "truncated: the data ends inside step " + (firstStep + s) + " (row " + s + " of " + steps + ")");
        }
        buf.flip();
        decode(dst, s);
        index = s;
        return true;
    }

    private void decode(int[] dst, long s) {
        int n = layers * experts;
        NpyHeader.DType dt = header.dtype();
        switch (dt.kind()) {
            case 'f' -> {
                for (int i = 0; i < n; i++) {
                    double v = dt.size() == 4 ? buf.getFloat() : buf.getDouble();
                    if (v >= 0 && v <= Integer.MAX_VALUE && v == (int) v) {
                        dst[i] = (int) v;
                    } else {
                        dst[i] = CountCheck.fromDouble(v, path, where(s, i));
                    }
                }
            }
            case 'i' -> {
                switch (dt.size()) {
                    case 4 -> {
                        buf.asIntBuffer().get(dst, 0, n);
                        for (int i = 0; i < n; i++) {
                            if (dst[i] < 0) {
                                CountCheck.fromLong(dst[i], path, where(s, i));
                            }
                        }
                    }
                    case 8 -> {
                        for (int i = 0; i < n; i++) {
                            dst[i] = CountCheck.fromLong(buf.getLong(), path, where(s, i));
                        }
                    }
                    case 2 -> {
                        for (int i = 0; i < n; i++) {
                            dst[i] = CountCheck.fromLong(buf.getShort(), path, where(s, i));
                        }
                    }
                    default -> {
                        for (int i = 0; i < n; i++) {
                            dst[i] = CountCheck.fromLong(buf.get(), path, where(s, i));
                        }
                    }
                }
            }
            default -> { // unsigned
                for (int i = 0; i < n; i++) {
                    long v = switch (dt.size()) {
                        case 1 -> buf.get() & 0xffL;
                        case 2 -> buf.getShort() & 0xffffL;
                        case 4 -> buf.getInt() & 0xffffffffL;
                        default -> {
                            long x = buf.getLong();
                            yield x < 0 ? Long.MAX_VALUE : x;
                        }
                    };
                    dst[i] = CountCheck.fromLong(v, path, where(s, i));
                }
            }
        }
    }

    private String where(long s, int i) {
        long elem = s * layers * experts + i;
        return "byte " + (header.dataOffset() + elem * header.dtype().size()) + " (" + CountCheck.where(firstStep + s, i / experts, i % experts) + ")";
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}

package io.moecast.trace;

import io.moecast.UserError;
import io.moecast.trace.format.CsvTraceReader;
import io.moecast.trace.format.CsvTraceWriter;
import io.moecast.trace.format.JsonlTraceReader;
import io.moecast.trace.format.JsonlTraceWriter;
import io.moecast.trace.format.NpyTraceReader;
import io.moecast.trace.format.NpyTraceWriter;
import io.moecast.trace.format.Sidecar;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Opening, loading and writing traces in any supported format. The format is detected from the content
 * (gzip, zip, NPY magic; a text file starting with '{' is JSON Lines, else CSV) so a misnamed file still
 * reads; the extension chooses the output format.
 */
public final class Traces {
    private static final byte[] GZIP = {0x1f, (byte) 0x8b};
    private static final byte[] ZIP = {'P', 'K', 3, 4};
    private static final byte[] NPY = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    private Traces() {
    }

    /** Opens a trace for step-by-step reading. Problems with the file raise {@link UserError}. */
    public static TraceReader open(Path path) {
        try {
            return openChecked(path);
        } catch (UserError e) {
            throw e;
        } catch (java.util.zip.ZipException e) {
            throw UserError.inFile(path, "", "corrupt compressed data (" + e.getMessage() + ")");
        } catch (java.io.EOFException e) {
            throw UserError.inFile(path, "", "truncated compressed data");
        } catch (IOException e) {
            throw UserError.inFile(path, "", "cannot read: " + e.getMessage());
        }
    }

    private static TraceReader openChecked(Path path) throws IOException {
        if (!Files.exists(path)) {
            throw UserError.inFile(path, "", "no such file");
        }
        if (Files.isDirectory(path)) {
            throw UserError.inFile(path, "", "is a directory, not a trace file");
        }
        if (!Files.isReadable(path)) {
            throw UserError.inFile(path, "", "not readable");
        }
        long size = Files.size(path);
        if (size == 0) {
            throw UserError.inFile(path, "byte 0", "empty file");
        }
        TraceMeta meta = Sidecar.read(path);
        byte[] head = head(path, 8);
        if (startsWith(head, NPY)) {
            FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
            try {
                return new NpyTraceReader(path, ch, size, meta);
            } catch (RuntimeException | IOException e) {
                ch.close();
                throw e;
            }
        }
        if (startsWith(head, ZIP)) {
            return openNpz(path, meta);
        }
        if (startsWith(head, GZIP)) {
            BufferedInputStream in = new BufferedInputStream(new GZIPInputStream(Files.newInputStream(path), 1 << 16), 1 << 16);
            in.mark(16);
            byte[] inner = in.readNBytes(8);
            in.reset();
            if (inner.length == 0) {
                in.close();
                throw UserError.inFile(path, "byte 0", "empty file (inside gzip)");
            }
            if (startsWith(inner, NPY)) {
                try {
                    return new NpyTraceReader(path, Channels.newChannel(in), -1, meta);
                } catch (RuntimeException | IOException e) {
                    in.close();
                    throw e;
                }
            }
            in.close();
            return openText(path, meta, () -> new InputStreamReader(new GZIPInputStream(Files.newInputStream(path), 1 << 16), StandardCharsets.UTF_8), inner);
        }
        return openText(path, meta, () -> Files.newBufferedReader(path, StandardCharsets.UTF_8), head);
    }

    private static TraceReader openText(Path path, TraceMeta meta, CsvTraceReader.Source src, byte[] head) throws IOException {
        for (byte b : head) {
            int u = b & 0xff; // UTF-8 bytes >= 0x80 (a BOM, accented names) are text
            if (u < 0x20 && u != '\n' && u != '\r' && u != '\t') {
                throw UserError.inFile(path, "byte 0", "not a recognised trace format (binary data that is not NPY, NPZ or gzip)");
            }
        }
        int first = firstNonSpace(src);
        if (first < 0) {
            throw UserError.inFile(path, "byte 0", "empty file (only whitespace)");
        }
        if (first == '{') {
            Reader r = src.open();
            BufferedReader br = r instanceof BufferedReader b ? b : new BufferedReader(r, 1 << 16);
            try {
                return new JsonlTraceReader(path, br, meta);
            } catch (RuntimeException | IOException e) {
                br.close();
                throw e;
            }
        }
        return new CsvTraceReader(path, src, meta);
    }

    private static int firstNonSpace(CsvTraceReader.Source src) throws IOException {
        try (Reader r = src.open()) {
            int c;
            while ((c = r.read()) >= 0) {
                if (!Character.isWhitespace(c) && c != '\uFEFF') {
                    return c;
                }
            }
            return -1;
        }
    }

    private static TraceReader openNpz(Path path, TraceMeta meta) throws IOException {
        ZipFile zip;
        try {
            zip = new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw UserError.inFile(path, "", "corrupt .npz (zip) file: " + e.getMessage());
        }
        List<ZipEntry> arrays = new ArrayList<>();
        for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
            ZipEntry z = en.nextElement();
            if (!z.isDirectory() && z.getName().endsWith(".npy")) {
                arrays.add(z);
            }
        }
        if (arrays.size() != 1) {
            zip.close();
            String names = arrays.stream().limit(4).map(z -> "'" + z.getName() + "'").collect(java.util.stream.Collectors.joining(", "));
            throw UserError.inFile(path, arrays.isEmpty() ? "zip entries" : "zip entries " + names,
                    ".npz must hold exactly one array, found " + arrays.size());
        }
        InputStream in = new BufferedInputStream(zip.getInputStream(arrays.getFirst()), 1 << 16) {
            @Override
            public void close() throws IOException {
                super.close();
                zip.close();
            }
        };
        try {
            return new NpyTraceReader(path, Channels.newChannel(in), -1, meta);
        } catch (RuntimeException | IOException e) {
            in.close();
            throw e;
        }
    }

    private static byte[] head(Path path, int n) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return in.readNBytes(n);
        }
    }

    private static boolean startsWith(byte[] a, byte[] prefix) {
        if (a.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (a[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /** Loads a whole trace into memory (it must hold fewer than 2^31 counts). */
    public static LoadTrace load(Path path) {
        try (TraceReader r = open(path)) {
            return load(r);
        } catch (IOException e) {
            throw UserError.inFile(path, "", "cannot read: " + e.getMessage());
        }
    }

    /** Reads the rest of a reader into memory. */
    public static LoadTrace load(TraceReader r) throws IOException {
        int per = r.layers() * r.experts();
        long known = r.steps();
        long cap = known >= 0 ? known * per : 1024L * per;
        if (known >= 0 && cap > Integer.MAX_VALUE - 8) {
            throw UserError.inFile(r.path(), "", "too large to load into memory (" + known + " steps); use the streaming commands");
        }
        long heap = Runtime.getRuntime().maxMemory();
        if (known >= 0 && heap != Long.MAX_VALUE && cap * 4 > heap - (heap >> 3)) {
            throw UserError.inFile(r.path(), "", "too large to load into memory (" + (cap * 4 >> 20) + " MiB of counts, the JVM heap is "
                    + (heap >> 20) + " MiB); raise the heap (MOECAST_JAVA_OPTS=-Xmx...) or use the streaming commands");
        }
        int[] counts = new int[(int) Math.max(per, cap)];
        int[] step = new int[per];
        int n = 0;
        while (r.next(step)) {
            if ((long) (n + 1) * per > counts.length) {
                long grow = Math.min((long) counts.length * 2, Integer.MAX_VALUE - 8);
                if (grow < (long) (n + 1) * per) {
                    throw UserError.inFile(r.path(), "step " + n, "too large to load into memory; use the streaming commands");
                }
                counts = java.util.Arrays.copyOf(counts, (int) grow);
            }
            System.arraycopy(step, 0, counts, n * per, per);
            n++;
        }
        if (n == 0) {
            throw UserError.inFile(r.path(), "", "the trace has no steps");
        }
        if (counts.length != n * per) {
            counts = java.util.Arrays.copyOf(counts, n * per);
        }
        return new LoadTrace(r.meta(), n, r.layers(), r.experts(), r.firstStep(), counts);
    }

    /** A writer for {@code path}, in the format its name asks for. */
    public static TraceWriter writer(Path path, TraceMeta meta, int layers, int experts, long firstStep, boolean longCsv) throws IOException {
        String name = path.getFileName().toString();
        TraceFormat f = TraceFormat.forOutput(name, longCsv);
        if (f == null) {
            throw UserError.inFile(path, "", "unknown output format (use .npy, .npz, .csv, .jsonl, optionally with .gz)");
        }
        boolean gz = TraceFormat.gzipped(name);
        return switch (f) {
            case NPY -> new NpyTraceWriter(path, meta, layers, experts, firstStep, gz ? NpyTraceWriter.Compression.GZIP : NpyTraceWriter.Compression.NONE);
            case NPZ -> new NpyTraceWriter(path, meta, layers, experts, firstStep, NpyTraceWriter.Compression.NPZ);
            case CSV_WIDE, CSV_LONG -> new CsvTraceWriter(path, meta, layers, experts, firstStep, f == TraceFormat.CSV_WIDE, gz);
            case JSONL -> new JsonlTraceWriter(path, meta, layers, experts, firstStep, gz);
        };
    }

    /** Writes an in-memory trace. */
    public static void write(LoadTrace t, Path path) {
        write(t, path, false);
    }

    public static void write(LoadTrace t, Path path, boolean longCsv) {
        try (TraceWriter w = writer(path, t.meta(), t.layers(), t.experts(), t.firstStep(), longCsv)) {
            int[] step = new int[t.layers() * t.experts()];
            for (int s = 0; s < t.steps(); s++) {
                t.copyStep(s, step);
                w.write(step);
            }
            w.commit();
        } catch (IOException e) {
            throw UserError.inFile(path, "", "cannot write: " + e.getMessage());
        }
    }

    /** Streams one reader into a writer; returns the number of steps copied. */
    public static long copy(TraceReader r, TraceWriter w) throws IOException {
        int[] step = new int[r.layers() * r.experts()];
        long n = 0;
        while (r.next(step)) {
            w.write(step);
            n++;
        }
        return n;
    }
}

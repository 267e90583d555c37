package io.moecast.trace.format;

import io.moecast.UserError;
import io.moecast.trace.TraceMeta;
import io.moecast.trace.TraceReader;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;

/**
 * Streams a CSV trace, one step at a time. Two layouts, told apart by the header line:
 * <ul>
 *   <li>long: {@code step,layer,expert,tokens}, one row per (step, layer, expert); rows of a step are
 *       contiguous; (layer, expert) pairs that do not appear count 0;</li>
 *   <li>wide: {@code step,layer,e0,e1,...}, one row per (step, layer), one column per expert.</li>
 * </ul>
 * Steps must be consecutive and ascending. The shape comes from one light pre-scan of the file.
 */
public final class CsvTraceReader implements TraceReader {
    /** Re-opens the underlying text (the pre-scan reads it once, the step reader a second time). */
    public interface Source {
        Reader open() throws IOException;
    }

    private final Path path;
    private final TraceMeta meta;
    private final boolean wide;
    private final int layers;
    private final int experts;
    private final long steps;
    private final long firstStep;
    private final CSVParser parser;
    private final Iterator<CSVRecord> it;
    private CSVRecord pending;
    private long index = -1;
    private final boolean[] seen;

    public CsvTraceReader(Path path, Source source, TraceMeta meta) throws IOException {
        this.path = path;
        this.meta = meta;
        Scan scan = prescan(path, source);
        this.wide = scan.wide;
        int l = scan.layers;
        int e = scan.experts;
        if (!wide) {
            // Long form may omit zero rows, so a layer or expert that never received a token would be
            // missing from the scan: the sidecar's shape (when there is one) is the lower bound.
            int[] moe = meta.moeLayerIndices();
            if (moe != null) {
                l = Math.max(l, moe.length);
            }
            com.fasterxml.jackson.databind.JsonNode ex = meta.json().get("experts");
            if (ex != null && ex.canConvertToInt() && ex.asInt() > 0 && ex.asInt() <= 1_000_000) {
                e = Math.max(e, ex.asInt());
            }
        }
        this.layers = l;
        this.experts = e;
        this.steps = scan.steps;
        this.firstStep = scan.firstStep;
        this.seen = new boolean[layers * experts];
        this.parser = CSVParser.builder().setReader(source.open()).setFormat(format()).get();
        this.it = parser.iterator();
        next(it); // header
        this.pending = next(it);
    }

    private static CSVFormat format() {
        return CSVFormat.DEFAULT.builder().setIgnoreSurroundingSpaces(true).setIgnoreEmptyLines(true).get();
    }

    private CSVRecord next(Iterator<CSVRecord> i) {
        return nextRecord(path, i, parserLine());
    }

    private long parserLine() {
        return parser == null ? 0 : parser.getCurrentLineNumber();
    }

    private static CSVRecord nextRecord(Path path, Iterator<CSVRecord> i, long line) {
        try {
            return i.hasNext() ? i.next() : null;
        } catch (UncheckedIOException e) {
            throw UserError.inFile(path, "line " + (line + 1), textProblem(e.getCause(), "malformed CSV"));
        }
    }

    /** The message for an I/O problem met while reading text (gzip damage, bad encoding, ...). */
    static String textProblem(IOException e, String otherwise) {
        if (e instanceof java.io.EOFException || e instanceof java.util.zip.ZipException) {
            return "truncated or corrupt compressed data (" + e.getMessage() + ")";
        }
        if (e instanceof java.nio.charset.CharacterCodingException) {
            return "not UTF-8 text";
        }
        return otherwise + " (" + e.getMessage() + ")";
    }

    private static final int MAX_LAYERS = 100_000;
    private static final int MAX_EXPERTS = 1_000_000;
    private static final long MAX_COUNTS_PER_STEP = 1L << 28;

    private record Scan(boolean wide, int layers, int experts, long steps, long firstStep) {
    }

    private static Scan prescan(Path path, Source source) throws IOException {
        try (CSVParser p = CSVParser.builder().setReader(source.open()).setFormat(format()).get()) {
            Iterator<CSVRecord> i = p.iterator();
            CSVRecord header = nextRecord(path, i, 0);
            if (header == null) {
                throw UserError.inFile(path, "", "empty file");
            }
            boolean wide = isWideHeader(header);
            if (!wide && !isLongHeader(header)) {
                throw UserError.inFile(path, "line 1", "expected a header 'step,layer,expert,tokens' (long form) or 'step,layer,e0,e1,...' (wide form), found '"
                        + CountCheck.clip(String.join(",", header)) + "'");
            }
            int width = header.size();
            int maxLayer = -1;
            int maxExpert = wide ? width - 3 : -1;
            long first = Long.MIN_VALUE;
            long prev = Long.MIN_VALUE;
            long steps = 0;
            CSVRecord r;
            while ((r = nextRecord(path, i, p.getCurrentLineNumber())) != null) {
                String where = "line " + p.getCurrentLineNumber();
                if (r.size() != width) {
                    throw UserError.inFile(path, where, "ragged row: " + r.size() + " fields, the header has " + width);
                }
                long step = parseIndex(path, where, r.get(0), "step");
                long layer = parseIndex(path, where, r.get(1), "layer");
                if (layer >= MAX_LAYERS) {
                    throw UserError.inFile(path, where, "implausible layer index " + layer + " (limit " + (MAX_LAYERS - 1) + ")");
                }
                if (!wide) {
                    long expert = parseIndex(path, where, r.get(2), "expert");
                    if (expert >= MAX_EXPERTS) {
                        throw UserError.inFile(path, where, "implausible expert index " + expert + " (limit " + (MAX_EXPERTS - 1) + ")");
                    }
                    maxExpert = Math.max(maxExpert, (int) expert);
                }
                maxLayer = Math.max(maxLayer, (int) layer);
                if (first == Long.MIN_VALUE) {
                    first = step;
                    prev = step;
                    steps = 1;
                } else if (step != prev) {
                    checkOrder(path, where, prev, step);
                    prev = step;
                    steps++;
                }
            }
            if (first == Long.MIN_VALUE) {
                throw UserError.inFile(path, "line 2", "no data rows after the header");
            }
            if ((long) (maxLayer + 1) * (maxExpert + 1) > MAX_COUNTS_PER_STEP) {
                throw UserError.inFile(path, "", "implausible shape: " + (maxLayer + 1) + " layers x " + (maxExpert + 1) + " experts per step");
            }
            return new Scan(wide, maxLayer + 1, maxExpert + 1, steps, first);
        }
    }

    static void checkOrder(Path path, String where, long prev, long step) {
        if (step < prev) {
            throw UserError.inFile(path, where, "step " + step + " after step " + prev + ": steps out of order");
        }
        if (step != prev + 1) {
            throw UserError.inFile(path, where, "step " + step + " follows step " + prev + ": steps must be consecutive");
        }
    }

    private static String first(CSVRecord h) {
        String f = h.get(0);
        return f.startsWith("\uFEFF") ? f.substring(1).trim() : f; // a byte-order mark (spreadsheet exports)
    }

    private static boolean isLongHeader(CSVRecord h) {
        return h.size() == 4 && first(h).equalsIgnoreCase("step") && h.get(1).equalsIgnoreCase("layer")
                && h.get(2).equalsIgnoreCase("expert") && (h.get(3).equalsIgnoreCase("tokens") || h.get(3).equalsIgnoreCase("count"));
    }

    private static boolean isWideHeader(CSVRecord h) {
        if (h.size() < 3 || !first(h).equalsIgnoreCase("step") || !h.get(1).equalsIgnoreCase("layer")) {
            return false;
        }
        for (int c = 2; c < h.size(); c++) {
            if (!h.get(c).equalsIgnoreCase("e" + (c - 2))) {
                return false;
            }
        }
        return true;
    }

    private static long parseIndex(Path path, String where, String text, String what) {
        try {
            long v = Long.parseLong(text.trim());
            if (v < 0) {
                throw UserError.inFile(path, where, "negative " + what + " " + v);
            }
            return v;
        } catch (NumberFormatException e) {
            throw UserError.inFile(path, where, what + " is not a whole number: '" + CountCheck.clip(text) + "'");
        }
    }

    @Override
    public boolean next(int[] dst) throws IOException {
        if (pending == null) {
            return false;
        }
        long step = Long.parseLong(pending.get(0).trim());
        Arrays.fill(dst, 0, layers * experts, 0);
        Arrays.fill(seen, false);
        int rows = 0;
        while (pending != null && Long.parseLong(pending.get(0).trim()) == step) {
            CSVRecord r = pending;
            String where = "line " + parser.getCurrentLineNumber();
            int layer = Integer.parseInt(r.get(1).trim());
            if (wide) {
                int o = layer * experts;
                if (seen[o]) {
                    throw UserError.inFile(path, where, "step " + step + ", layer " + layer + " appears twice");
                }
                seen[o] = true;
                for (int e = 0; e < experts; e++) {
                    dst[o + e] = CountCheck.fromText(r.get(e + 2), path, where + " (" + CountCheck.where(step, layer, e) + ")");
                }
            } else {
                int e = Integer.parseInt(r.get(2).trim());
                int o = layer * experts + e;
                if (seen[o]) {
                    throw UserError.inFile(path, where, CountCheck.where(step, layer, e) + " appears twice");
                }
                seen[o] = true;
                dst[o] = CountCheck.fromText(r.get(3), path, where + " (" + CountCheck.where(step, layer, e) + ")");
            }
            rows++;
            pending = next(it);
        }
        if (wide && rows != layers) {
            throw UserError.inFile(path, "line " + parser.getCurrentLineNumber(), "step " + step + " has " + rows + " layer rows, expected " + layers);
        }
        index++;
        return true;
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

    @Override
    public void close() throws IOException {
        parser.close();
    }
}

package io.moecast.trace;

import java.util.Locale;

/** The trace file formats moecast reads and writes. */
public enum TraceFormat {
    /** NumPy .npy, {@code [S, L, E]} or {@code [S, E]}. */
    NPY,
    /** NumPy .npz holding one array. */
    NPZ,
    /** CSV, wide: {@code step,layer,e0,...,eN}. */
    CSV_WIDE,
    /** CSV, long: {@code step,layer,expert,tokens}. */
    CSV_LONG,
    /** JSON Lines, {@code {"step": s, "loads": [[...], ...]}} per line. */
    JSONL;

    /** The format to write for a file name ({@code .npy[.gz]}, {@code .npz}, {@code .csv[.gz]}, {@code .jsonl[.gz]}). */
    public static TraceFormat forOutput(String fileName, boolean longCsv) {
        String n = fileName.toLowerCase(Locale.ROOT);
        if (n.endsWith(".gz")) {
            n = n.substring(0, n.length() - 3);
        }
        if (n.endsWith(".npy")) {
            return NPY;
        }
        if (n.endsWith(".npz")) {
            return NPZ;
        }
        if (n.endsWith(".csv")) {
            return longCsv ? CSV_LONG : CSV_WIDE;
        }
        if (n.endsWith(".jsonl") || n.endsWith(".ndjson")) {
            return JSONL;
        }
        return null;
    }

    public static boolean gzipped(String fileName) {
        return fileName.toLowerCase(Locale.ROOT).endsWith(".gz");
    }
}

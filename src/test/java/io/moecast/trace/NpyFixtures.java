package io.moecast.trace;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * Writes {@code .npy} test files independently of moecast's own writer (so reader and writer are not
 * only checked against each other): any header version, dtype, byte order, shape and {@code fortran_order},
 * following numpy.lib.format.
 */
public final class NpyFixtures {
    private NpyFixtures() {
    }

    /** The raw header (magic, version, length, dict padded to 64 bytes). */
    public static byte[] header(int version, String descr, boolean fortran, long... shape) {
        StringBuilder sh = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            sh.append(i == 0 ? "" : ", ").append(shape[i]);
        }
        if (shape.length == 1) {
            sh.append(',');
        }
        sh.append(')');
        String dict = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + sh + ", }";
        int prefix = version == 1 ? 10 : 12;
        int pad = 64 - (prefix + dict.length() + 1) % 64;
        String text = dict + " ".repeat(pad % 64) + "\n";
        byte[] t = text.getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(prefix + t.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) version).put((byte) 0);
        if (version == 1) {
            b.putShort((short) t.length);
        } else {
            b.putInt(t.length);
        }
        b.put(t);
        return b.array();
    }

    /** Encodes values (whole numbers, or anything for float dtypes) as the given dtype descr. */
    public static byte[] data(String descr, double[] values) {
        ByteOrder order = descr.charAt(0) == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        char kind = descr.charAt(1);
        int size = Integer.parseInt(descr.substring(2));
        ByteBuffer b = ByteBuffer.allocate(values.length * size).order(order);
        for (double v : values) {
            if (kind == 'f') {
                if (size == 4) {
                    b.putFloat((float) v);
                } else {
                    b.putDouble(v);
                }
            } else {
                long x = (long) v;
                switch (size) {
                    case 1 -> b.put((byte) x);
                    case 2 -> b.putShort((short) x);
                    case 4 -> b.putInt((int) x);
                    default -> b.putLong(x);
                }
            }
        }
        return b.array();
    }

    public static Path write(Path file, int version, String descr, long[] shape, double[] values) throws IOException {
        byte[] h = header(version, descr, false, shape);
        byte[] d = data(descr, values);
        byte[] all = new byte[h.length + d.length];
        System.arraycopy(h, 0, all, 0, h.length);
        System.arraycopy(d, 0, all, h.length, d.length);
        Files.write(file, all);
        return file;
    }

    /** Random counts in [0, max), C order. */
    public static int[] randomCounts(long seed, int n, int max) {
        Random r = new Random(seed);
        int[] c = new int[n];
        for (int i = 0; i < n; i++) {
            c[i] = r.nextInt(max);
        }
        return c;
    }

    public static double[] asDoubles(int[] c) {
        double[] d = new double[c.length];
        for (int i = 0; i < c.length; i++) {
            d[i] = c[i];
        }
        return d;
    }

    /** Reads all steps of a trace through the streaming reader into a flat array. */
    public static int[] readAll(Path p) throws IOException {
        try (TraceReader r = Traces.open(p)) {
            return Traces.load(r).counts();
        }
    }
}

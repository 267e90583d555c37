package io.moecast.trace.format;

import io.moecast.UserError;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The header of a NumPy {@code .npy} file (format versions 1, 2 and 3): magic {@code \x93NUMPY}, version,
 * header length (uint16 in v1, uint32 in v2/3), then a Python dict literal with {@code descr},
 * {@code fortran_order} and {@code shape}, padded with spaces to a multiple of 64 bytes and ended by
 * a newline. See numpy.lib.format.
 */
public final class NpyHeader {
    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    /** Element type: kind 'i', 'u' or 'f', size in bytes, byte order. */
    public record DType(char kind, int size, ByteOrder order, String descr) {
        public boolean isFloat() {
            return kind == 'f';
        }
    }

    private final DType dtype;
    private final long[] shape;
    private final long dataOffset;
    private final int dictOffset;

    NpyHeader(DType dtype, long[] shape, int dictOffset, long dataOffset) {
        this.dtype = dtype;
        this.shape = shape;
        this.dictOffset = dictOffset;
        this.dataOffset = dataOffset;
    }

    /** The position of the header dict, for messages: "byte 10 (NPY header)". */
    public String where() {
        return "byte " + dictOffset + " (NPY header)";
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** Byte offset of the first array element. */
    public long dataOffset() {
        return dataOffset;
    }

    public long elementCount() {
        long n = 1;
        for (long s : shape) {
            n = Math.multiplyExact(n, s);
        }
        return n;
    }

    /** Reads and validates the header from the start of a channel. */
    public static NpyHeader read(ReadableByteChannel ch, Object file) throws IOException {
        ByteBuffer pre = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        int got = readFully(ch, pre);
        if (got == 0) {
            throw UserError.inFile(file, "", "empty file");
        }
        if (got < 8) {
            throw UserError.inFile(file, "byte " + got, "truncated NPY header (file is " + got + " bytes)");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (pre.get(i) != MAGIC[i]) {
                throw UserError.inFile(file, "byte 0", "not a NumPy .npy file (bad magic)");
            }
        }
        int major = pre.get(6) & 0xff;
        long headerLen;
        int prefix;
        if (major == 1) {
            if (got < 10) {
                throw UserError.inFile(file, "byte " + got, "truncated NPY header");
            }
            headerLen = pre.getShort(8) & 0xffff;
            prefix = 10;
        } else if (major == 2 || major == 3) {
            ByteBuffer more = ByteBuffer.allocate(2);
            int extra = readFully(ch, more);
            if (got < 10 || extra < 2) {
                throw UserError.inFile(file, "byte " + (got + extra), "truncated NPY header");
            }
            ByteBuffer four = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            four.put(pre.get(8)).put(pre.get(9)).put(more.get(0)).put(more.get(1)).flip();
            headerLen = four.getInt() & 0xffffffffL;
            prefix = 12;
        } else {
            throw UserError.inFile(file, "byte 6", "unsupported NPY format version " + major);
        }
        if (headerLen > 1 << 20) {
            throw UserError.inFile(file, "byte 8", "corrupt NPY header (header length " + headerLen + ")");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        int hgot = readFully(ch, hb);
        if (hgot < headerLen) {
            throw UserError.inFile(file, "byte " + (prefix + hgot), "truncated NPY header (expected " + headerLen + " header bytes)");
        }
        String dict = new String(hb.array(), 0, hgot, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1).trim();
        return parse(dict, file, prefix, prefix + headerLen);
    }

    /** Parses the header dict found at byte {@code dictOffset}; errors name "byte N (NPY header)". */
    static NpyHeader parse(String dict, Object file, int dictOffset, long dataOffset) {
        String at = "byte " + dictOffset + " (NPY header)";
        if (!dict.startsWith("{") || !dict.endsWith("}")) {
            throw UserError.inFile(file, at, "corrupt NPY header (not a Python dict: '" + CountCheck.clip(dict) + "')");
        }
        String descr = stringValue(dict, "descr", file, at);
        String fortran = rawValue(dict, "fortran_order", file, at);
        String shapeText = rawValue(dict, "shape", file, at);
        if (fortran.startsWith("True")) {
            throw UserError.inFile(file, at, "Fortran-order arrays are not supported (save with numpy.ascontiguousarray)");
        }
        if (!fortran.startsWith("False")) {
            throw UserError.inFile(file, at, "corrupt NPY header (fortran_order is neither True nor False)");
        }
        DType dt = parseDType(descr, file, at);
        if (!shapeText.startsWith("(")) {
            throw UserError.inFile(file, at, "corrupt NPY header (shape " + CountCheck.clip(shapeText) + ")");
        }
        int close = shapeText.indexOf(')');
        if (close < 0) {
            throw UserError.inFile(file, at, "corrupt NPY header (shape " + CountCheck.clip(shapeText) + ")");
        }
        List<Long> dims = new ArrayList<>();
        for (String part : shapeText.substring(1, close).split(",")) {
            String t = part.trim();
            if (t.endsWith("L")) {
                t = t.substring(0, t.length() - 1);
            }
            if (t.isEmpty()) {
                continue;
            }
            try {
                long v = Long.parseLong(t);
                if (v < 0) {
                    throw new NumberFormatException();
                }
                dims.add(v);
            } catch (NumberFormatException e) {
                throw UserError.inFile(file, at, "corrupt NPY header (shape " + shapeText.substring(0, close + 1) + ")");
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        return new NpyHeader(dt, shape, dictOffset, dataOffset);
    }

    static DType parseDType(String descr, Object file, String at) {
        if (descr.length() < 3) {
            throw UserError.inFile(file, at, "unsupported dtype '" + descr + "' (use int32, int64, float32 or float64)");
        }
        char bo = descr.charAt(0);
        char kind = descr.charAt(1);
        int size;
        try {
            size = Integer.parseInt(descr.substring(2));
        } catch (NumberFormatException e) {
            throw UserError.inFile(file, at, "unsupported dtype '" + descr + "' (use int32, int64, float32 or float64)");
        }
        ByteOrder order = switch (bo) {
            case '<', '|', '=' -> ByteOrder.LITTLE_ENDIAN;
            case '>' -> ByteOrder.BIG_ENDIAN;
            default -> null;
        };
        boolean ok = order != null && switch (kind) {
            case 'i', 'u' -> size == 1 || size == 2 || size == 4 || size == 8;
            case 'f' -> size == 4 || size == 8;
            default -> false;
        };
        if (!ok) {
            throw UserError.inFile(file, at, "unsupported dtype '" + descr + "' (use int32, int64, float32 or float64)");
        }
        return new DType(kind, size, order, descr);
    }

    private static String rawValue(String dict, String key, Object file, String at) {
        int k = dict.indexOf("'" + key + "'");
        if (k < 0) {
            k = dict.indexOf("\"" + key + "\"");
        }
        if (k < 0) {
            throw UserError.inFile(file, at, "corrupt NPY header (no '" + key + "')");
        }
        int colon = dict.indexOf(':', k + key.length() + 2);
        if (colon < 0) {
            throw UserError.inFile(file, at, "corrupt NPY header near '" + key + "'");
        }
        return dict.substring(colon + 1).trim();
    }

    private static String stringValue(String dict, String key, Object file, String at) {
        String v = rawValue(dict, key, file, at);
        if (v.isEmpty() || (v.charAt(0) != '\'' && v.charAt(0) != '"')) {
            throw UserError.inFile(file, at, "unsupported dtype (structured or object arrays are not traces)");
        }
        int end = v.indexOf(v.charAt(0), 1);
        if (end < 0) {
            throw UserError.inFile(file, at, "corrupt NPY header near '" + key + "'");
        }
        return v.substring(1, end);
    }

    /** Reads until the buffer is full or the channel ends; returns the bytes read. */
    static int readFully(ReadableByteChannel ch, ByteBuffer buf) throws IOException {
        int total = 0;
        while (buf.hasRemaining()) {
            int n = ch.read(buf);
            if (n < 0) {
                break;
            }
            total += n;
        }
        return total;
    }

    /**
     * A v1 (or v2 when needed) header for a C-order array; the dict is padded so the data starts at a
     * multiple of 64 bytes. {@code shapeWidth} pads the shape text so a writer that does not know the
     * step count yet can rewrite the header in place later.
     */
    public static byte[] encode(String descr, long[] shape, int shapeWidth) {
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            s.append(shape[i]);
            s.append(shape.length == 1 ? "," : (i + 1 < shape.length ? ", " : ""));
        }
        s.append(")");
        String shapeText = s.toString();
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeText + ", }";
        StringBuilder padded = new StringBuilder(dict);
        padded.append(" ".repeat(Math.max(0, shapeWidth - shapeText.length())));
        int prefix = 10;
        int total = prefix + padded.length() + 1;
        int pad = (64 - total % 64) % 64;
        padded.append(" ".repeat(pad)).append('\n');
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(MAGIC);
        out.write(1);
        out.write(0);
        int len = padded.length();
        out.write(len & 0xff);
        out.write((len >>> 8) & 0xff);
        out.writeBytes(padded.toString().getBytes(StandardCharsets.ISO_8859_1));
        return out.toByteArray();
    }
}

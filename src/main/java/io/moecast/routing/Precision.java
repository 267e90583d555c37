package io.moecast.routing;

/** Element type of logits in a {@link java.lang.foreign.MemorySegment} (heap arrays are always F32). */
public enum Precision {
    /** IEEE float32, 4 bytes, native byte order. */
    F32(4),
    /** bfloat16 (the upper 16 bits of a float32), 2 bytes, native byte order. */
    BF16(2);

    private final int bytes;

    Precision(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    /** bf16 bits to float. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** float to bf16 bits, round to nearest even (NaN stays NaN). */
    public static short floatToBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((x >>> 16) | 0x40);
        }
        int lsb = (x >>> 16) & 1;
        x += 0x7fff + lsb;
        return (short) (x >>> 16);
    }
}

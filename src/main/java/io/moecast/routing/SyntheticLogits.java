package io.moecast.routing;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Synthetic router logits, N(0, 1) per element, generated in parallel chunks of 2^16 values with one
 * seeded generator per chunk, so the values depend only on the seed (not on the thread count).
 */
public final class SyntheticLogits {
    private static final int CHUNK = 1 << 16;

    private SyntheticLogits() {
    }

    /** A new {@code [tokens][experts]} array of N(0,1) logits. */
    public static float[] gaussian(int tokens, int experts, long seed) {
        float[] a = new float[Math.multiplyExact(tokens, experts)];
        fill(a, seed);
        return a;
    }

    public static void fill(float[] a, long seed) {
        int chunks = (int) ((a.length + (long) CHUNK - 1) / CHUNK);
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom r = generator(seed, c);
            int end = (int) Math.min(a.length, (long) (c + 1) * CHUNK);
            for (int i = c * CHUNK; i < end; i++) {
                a[i] = next(r);
            }
        });
    }

    /** Fills {@code n} logits of a segment in the given precision (bf16: rounded to nearest even). */
    public static void fill(MemorySegment seg, Precision p, long n, long seed) {
        int chunks = (int) ((n + CHUNK - 1) / CHUNK);
        IntStream.range(0, chunks).parallel().forEach(c -> {
            SplittableRandom r = generator(seed, c);
            long end = Math.min(n, (long) (c + 1) * CHUNK);
            for (long i = (long) c * CHUNK; i < end; i++) {
                float v = next(r);
                if (p == Precision.F32) {
                    seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, v);
                } else {
                    seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, Precision.floatToBf16(v));
                }
            }
        });
    }

    private static SplittableRandom generator(long seed, int chunk) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + chunk);
    }

    /** Box–Muller (cosine branch). */
    public static float next(SplittableRandom r) {
        double u = r.nextDouble();
        double v = r.nextDouble();
        return (float) (Math.sqrt(-2 * Math.log1p(-u)) * Math.cos(2 * Math.PI * v));
    }
}

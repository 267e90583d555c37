package io.moecast.placement;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The bucket sort of {@link IndexSort} against a stable comparison sort on the same packed keys. */
class IndexSortTest {

    static int[] expected(double[] key, int n) {
        int b = 32 - Integer.numberOfLeadingZeros(Math.max(1, n - 1));
        long mask = (1L << b) - 1;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Long.compare(Double.doubleToRawLongBits(key[y] + 0.0) & ~mask,
                Double.doubleToRawLongBits(key[x] + 0.0) & ~mask));
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = order[i];
        }
        return r;
    }

    @Test
    void bucketSortMatchesStableSortOnOddDistributions() {
        Random rnd = new Random(5);
        int[] sizes = {1, 2, 3, 8, 31, 32, 33, 64, 65, 72, 100, 127, 128, 129, 255, 256, 257, 288, 511, 600, 1000};
        for (int n : sizes) {
            long[] work = new long[n];
            long[] tmp = new long[n];
            int[] count = new int[IndexSort.buckets(n)];
            int[] idx = new int[n];
            int[] idxQuick = new int[n];
            for (int kind = 0; kind < 9; kind++) {
                double[] key = new double[n];
                for (int i = 0; i < n; i++) {
                    key[i] = switch (kind) {
                        case 0 -> rnd.nextDouble();
                        case 1 -> rnd.nextInt(3);
                        case 2 -> 5.0;
                        case 3 -> i == 0 ? 1e300 : 1 + rnd.nextDouble(); // one outlier: everything else in one bucket
                        case 4 -> i % 7 == 0 ? -0.0 : i % 3 == 0 ? Double.MIN_VALUE * i : 0.0;
                        case 5 -> n - i; // already descending
                        case 6 -> i; // ascending
                        case 7 -> Math.pow(rnd.nextDouble(), -2);
                        default -> i % 2 == 0 ? 1 + rnd.nextDouble() * 1e-9 : Double.MAX_VALUE * rnd.nextDouble();
                    };
                }
                int[] want = expected(key, n);
                IndexSort.descending(key, n, idx, work, tmp, count);
                assertArrayEquals(want, idx, "bucket sort, n " + n + " kind " + kind);
                IndexSort.descending(key, n, idxQuick, work);
                assertArrayEquals(want, idxQuick, "quicksort, n " + n + " kind " + kind);
            }
        }
    }
}

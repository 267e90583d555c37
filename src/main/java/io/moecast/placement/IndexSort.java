package io.moecast.placement;

/**
 * Orders 0..n−1 by a non-negative double key, descending, ties by ascending index: the order a stable
 * descending sort gives. Each item is packed into one long, the key's IEEE bits (monotone for
 * non-negative doubles) with the lowest {@code b = ceil(log2 n)} mantissa bits replaced by the
 * complemented index, and the longs are sorted as primitives (no comparator, no allocation). So keys
 * that differ only in those lowest mantissa bits (relative difference below 2^(b−52), about 1e-13 for
 * n ≤ 512) count as equal and go by index; EPLB's reference compares float32 values, which conflates
 * keys up to about 6e-8 apart.
 */
final class IndexSort {
    private IndexSort() {
    }

    /**
     * Fills {@code idx[0..n)} with 0..n−1 ordered by {@code key[i]} descending, ties by lower i.
     * {@code work} needs length ≥ n. Keys must be non-negative and not NaN.
     */
    static void descending(double[] key, int n, int[] idx, long[] work) {
        descending(key, n, idx, work, null, null);
    }

    /**
     * As {@link #descending(double[], int, int[], long[])}; with {@code tmp} (length ≥ n) and
     * {@code count} (length 256) given, sorts by LSD radix (8-bit digits, passes whose digit is the same
     * for every key skipped): branch-free and allocation-free.
     */
    static void descending(double[] key, int n, int[] idx, long[] work, long[] tmp, int[] count) {
        if (n == 0) {
            return;
        }
        int b = 32 - Integer.numberOfLeadingZeros(Math.max(1, n - 1));
        long mask = (1L << b) - 1;
        for (int i = 0; i < n; i++) {
            long bits = Double.doubleToRawLongBits(key[i] + 0.0); // -0.0 -> +0.0
            work[i] = (bits & ~mask) | (mask - i);
        }
        if (tmp != null && n > 32) {
            radix(work, tmp, n, count);
        } else {
            sort(work, 0, n - 1);
        }
        for (int k = 0; k < n; k++) {
            idx[k] = (int) (mask - (work[n - 1 - k] & mask));
        }
    }

    /** Ascending LSD radix sort of {@code a[0..n)} (non-negative longs), 8 bits a pass; result in a. */
    static void radix(long[] a, long[] tmp, int n, int[] count) {
        long[] src = a;
        long[] dst = tmp;
        for (int shift = 0; shift < 64; shift += 8) {
            java.util.Arrays.fill(count, 0);
            for (int i = 0; i < n; i++) {
                count[(int) (src[i] >>> shift) & 0xFF]++;
            }
            if (count[(int) (src[0] >>> shift) & 0xFF] == n) {
                continue; // every key has this digit
            }
            int sum = 0;
            for (int d = 0; d < 256; d++) {
                int c = count[d];
                count[d] = sum;
                sum += c;
            }
            for (int i = 0; i < n; i++) {
                long v = src[i];
                dst[count[(int) (v >>> shift) & 0xFF]++] = v;
            }
            long[] t = src;
            src = dst;
            dst = t;
        }
        if (src != a) {
            System.arraycopy(src, 0, a, 0, n);
        }
    }

    /**
     * Ascending in-place quicksort of {@code a[lo..hi]} (median of three, insertion sort for short
     * runs, recursion on the smaller side). {@code Arrays.sort(long[])} allocates on JDK 25, so it is
     * not used here.
     */
    static void sort(long[] a, int lo, int hi) {
        while (hi - lo > 24) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] < a[lo]) {
                swap(a, lo, mid);
            }
            if (a[hi] < a[lo]) {
                swap(a, lo, hi);
            }
            if (a[hi] < a[mid]) {
                swap(a, mid, hi);
            }
            long pivot = a[mid];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    swap(a, i, j);
                    i++;
                    j--;
                }
            }
            if (j - lo < hi - i) {
                sort(a, lo, j);
                lo = i;
            } else {
                sort(a, i, hi);
                hi = j;
            }
        }
        for (int i = lo + 1; i <= hi; i++) {
            long v = a[i];
            int j = i - 1;
            while (j >= lo && a[j] > v) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
    }

    private static void swap(long[] a, int i, int j) {
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    /** a before b: larger key first, then lower index (exact comparison, for heaps). */
    static boolean before(double[] key, int a, int b) {
        double ka = key[a];
        double kb = key[b];
        return ka > kb || (ka == kb && a < b);
    }
}

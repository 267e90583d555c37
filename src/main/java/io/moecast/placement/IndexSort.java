package io.moecast.placement;

/**
 * Orders 0..n−1 by a non-negative double key, descending, ties by ascending index: the order a stable
 * descending sort gives. Each item is packed into one long, the key's IEEE bits (monotone for
 * non-negative doubles) with the lowest {@code b = ceil(log2 n)} mantissa bits replaced by the
 * complemented index, and the longs are sorted as primitives (no comparator, no allocation; for n > 32
 * by one bucket pass over the keys' actual range and an insertion pass, see
 * {@link #descending(double[], int, int[], long[], long[], int[])}). So keys
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
     * {@code count} (length ≥ {@link #buckets buckets(n)}) given, and n > 32, sorts by one bucket pass:
     * each packed long goes to a bucket by the top bits of its distance below the largest one (about 2n
     * buckets spread over the actual range of the keys, so the IEEE bits act as a log scale across
     * binades and a linear one within), then an insertion pass fixes the order inside buckets (a
     * quicksort takes over when that exceeds a few moves per item). Allocation-free; the result is
     * the same as any sort of the packed longs, which are distinct.
     */
    static void descending(double[] key, int n, int[] idx, long[] work, long[] tmp, int[] count) {
        if (n == 0) {
            return;
        }
        int b = 32 - Integer.numberOfLeadingZeros(Math.max(1, n - 1));
        long mask = (1L << b) - 1;
        for (int i = 0; i < n; i++) {
            work[i] = pack(key[i], mask, i);
        }
        sortDescending(work, n, tmp, count);
        for (int k = 0; k < n; k++) {
            idx[k] = (int) (mask - (work[k] & mask));
        }
    }

    /** The packed long of item i: the key's bits (−0.0 as +0.0) with the low mask bits set to mask − i. */
    static long pack(double key, long mask, int i) {
        return (Double.doubleToRawLongBits(key + 0.0) & ~mask) | (mask - i);
    }

    /**
     * Sorts the distinct non-negative longs {@code v[0..n)} descending, in place: a bucket pass plus an
     * insertion pass when {@code tmp} and {@code count} are given and n > 32 (see
     * {@link #descending(double[], int, int[], long[], long[], int[])}), else the quicksort.
     */
    static void sortDescending(long[] v, int n, long[] tmp, int[] count) {
        if (tmp == null || n <= 32) {
            sort(v, 0, n - 1);
            for (int i = 0, j = n - 1; i < j; i++, j--) {
                swap(v, i, j);
            }
            return;
        }
        long hi = 0;
        long lo = Long.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            hi = Math.max(hi, v[i]);
            lo = Math.min(lo, v[i]);
        }
        // u = hi - v >= 0: ascending u is descending v. Bucket = top d bits of u within the range.
        int d = 33 - Integer.numberOfLeadingZeros(Math.max(1, n - 1));
        int nb = 1 << d;
        long range = hi - lo;
        int shift = Math.max(0, 64 - Long.numberOfLeadingZeros(range) - d);
        java.util.Arrays.fill(count, 0, nb, 0);
        for (int i = 0; i < n; i++) {
            count[(int) ((hi - v[i]) >>> shift)]++;
        }
        int sum = 0;
        for (int q = 0; q < nb; q++) {
            int c = count[q];
            count[q] = sum;
            sum += c;
        }
        for (int i = 0; i < n; i++) {
            long u = hi - v[i];
            tmp[count[(int) (u >>> shift)]++] = u;
        }
        insertionOrQuick(tmp, n);
        for (int k = 0; k < n; k++) {
            v[k] = hi - tmp[k];
        }
    }

    /** Length of the {@code count} array {@link #descending(double[], int, int[], long[], long[], int[])} needs for n items. */
    static int buckets(int n) {
        return 2 << (32 - Integer.numberOfLeadingZeros(Math.max(1, n - 1)));
    }

    /**
     * Ascending sort of a nearly sorted {@code a[0..n)}: insertion sort, handing over to the quicksort
     * once it has moved more than 8 items per item (the sorted prefix does not hurt the quicksort).
     */
    static void insertionOrQuick(long[] a, int n) {
        int budget = 8 * n;
        for (int i = 1; i < n; i++) {
            long v = a[i];
            int j = i - 1;
            while (j >= 0 && a[j] > v) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
            budget -= i - 1 - j;
            if (budget < 0) {
                sort(a, 0, n - 1);
                return;
            }
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

package io.moecast.placement;

/**
 * Sorts an index array by a double key, descending, ties by ascending index: a total order, so the
 * result is the one a stable descending sort of 0..n−1 gives. In place, no allocation (quicksort with
 * insertion sort for short runs, recursion on the smaller side only).
 */
final class IndexSort {
    private IndexSort() {
    }

    /** Fills {@code idx[0..n)} with 0..n−1 ordered by {@code key[i]} descending, ties by lower i. */
    static void descending(double[] key, int n, int[] idx) {
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        sort(key, idx, 0, n - 1);
    }

    /** a before b: larger key first, then lower index. */
    static boolean before(double[] key, int a, int b) {
        double ka = key[a];
        double kb = key[b];
        return ka > kb || (ka == kb && a < b);
    }

    private static void sort(double[] key, int[] idx, int lo, int hi) {
        while (hi - lo > 16) {
            int mid = (lo + hi) >>> 1;
            // median of three into idx[mid]
            if (before(key, idx[mid], idx[lo])) {
                swap(idx, lo, mid);
            }
            if (before(key, idx[hi], idx[lo])) {
                swap(idx, lo, hi);
            }
            if (before(key, idx[hi], idx[mid])) {
                swap(idx, mid, hi);
            }
            int pivot = idx[mid];
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (before(key, idx[i], pivot)) {
                    i++;
                }
                while (before(key, pivot, idx[j])) {
                    j--;
                }
                if (i <= j) {
                    swap(idx, i, j);
                    i++;
                    j--;
                }
            }
            if (j - lo < hi - i) {
                sort(key, idx, lo, j);
                lo = i;
            } else {
                sort(key, idx, i, hi);
                hi = j;
            }
        }
        for (int i = lo + 1; i <= hi; i++) {
            int v = idx[i];
            int j = i - 1;
            while (j >= lo && before(key, v, idx[j])) {
                idx[j + 1] = idx[j];
                j--;
            }
            idx[j + 1] = v;
        }
    }

    private static void swap(int[] a, int i, int j) {
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

package io.moecast.analysis;

import java.util.Arrays;

/**
 * Keeps a long per-step series as at most {@code 2·cap} buckets of consecutive steps (mean, min, max),
 * for charts: when the buckets run out, neighbours are merged and the bucket width doubles, so the
 * length of the series need not be known in advance. O(cap) memory. NaN values are skipped.
 */
public final class Downsampler {
    private final int cap;
    private long width = 1;
    private final long[] first;
    private final double[] sum;
    private final double[] min;
    private final double[] max;
    private final long[] n;
    private int buckets;
    private long fill;
    private long firstStep = Long.MIN_VALUE;
    private long seen;

    public Downsampler(int cap) {
        if (cap < 2) {
            throw new IllegalArgumentException("cap must be at least 2");
        }
        this.cap = cap;
        first = new long[2 * cap];
        sum = new double[2 * cap];
        min = new double[2 * cap];
        max = new double[2 * cap];
        n = new long[2 * cap];
    }

    /** Adds the value of the next step ({@code step} only matters for the first call). */
    public void add(long step, double v) {
        if (firstStep == Long.MIN_VALUE) {
            firstStep = step;
        }
        if (buckets == 0 || fill == width) {
            if (buckets == 2 * cap) {
                merge();
            }
            if (buckets == 0 || fill == width) {
                int b = buckets++;
                first[b] = firstStep + seen;
                sum[b] = 0;
                n[b] = 0;
                min[b] = Double.POSITIVE_INFINITY;
                max[b] = Double.NEGATIVE_INFINITY;
                fill = 0;
            }
        }
        int b = buckets - 1;
        if (!Double.isNaN(v)) {
            sum[b] += v;
            n[b]++;
            min[b] = Math.min(min[b], v);
            max[b] = Math.max(max[b], v);
        }
        fill++;
        seen++;
    }

    private void merge() {
        int m = buckets / 2;
        for (int i = 0; i < m; i++) {
            int a = 2 * i;
            int c = 2 * i + 1;
            first[i] = first[a];
            sum[i] = sum[a] + sum[c];
            n[i] = n[a] + n[c];
            min[i] = Math.min(min[a], min[c]);
            max[i] = Math.max(max[a], max[c]);
        }
        buckets = m;
        width *= 2;
        fill = width; // the last merged bucket is full
    }

    public int size() {
        return buckets;
    }

    /** Steps per bucket (the last bucket may hold fewer). */
    public long width() {
        return width;
    }

    /** Middle step of bucket i. */
    public double step(int i) {
        long end = i == buckets - 1 ? firstStep + seen : first[i + 1];
        return (first[i] + end - 1) / 2.0;
    }

    public long firstStepOf(int i) {
        return first[i];
    }

    /** Mean of bucket i (NaN when it holds no value). */
    public double mean(int i) {
        return n[i] == 0 ? Double.NaN : sum[i] / n[i];
    }

    public double min(int i) {
        return n[i] == 0 ? Double.NaN : min[i];
    }

    public double max(int i) {
        return n[i] == 0 ? Double.NaN : max[i];
    }

    public double[] means() {
        double[] out = new double[buckets];
        for (int i = 0; i < buckets; i++) {
            out[i] = mean(i);
        }
        return out;
    }

    @Override
    public String toString() {
        return "Downsampler" + Arrays.toString(means());
    }
}

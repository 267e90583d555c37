package io.moecast.predict;

import java.util.Arrays;

/**
 * {@code last-window-sum}: what vLLM's and SGLang's EPLB feed the planner: the token counts of the last
 * w steps summed unweighted (vLLM {@code window_size}, SGLang {@code eplb_rebalance_num_iterations},
 * both 1,000 by default); the forecast for every future step is that sum normalised per layer. Before
 * w steps have been seen, the sum covers what there is. Parameter: {@code window} (default 1000).
 */
public final class WindowSumPredictor extends FlatPredictor {
    private final int window;
    private final int[] ring;
    private final long[] sum;
    private int pos;
    private int filled;

    public WindowSumPredictor(int layers, int experts, int window, double confidence) {
        super("last-window-sum", layers, experts, confidence, true);
        if (window < 1) {
            throw new IllegalArgumentException("window must be >= 1: " + window);
        }
        this.window = window;
        this.ring = new int[Math.multiplyExact(window, n)];
        this.sum = new long[n];
    }

    public int window() {
        return window;
    }

    @Override
    protected void update(long step, int[] counts, double[] share) {
        int o = pos * n;
        if (filled == window) {
            for (int i = 0; i < n; i++) {
                sum[i] += counts[i] - ring[o + i];
            }
        } else {
            for (int i = 0; i < n; i++) {
                sum[i] += counts[i];
            }
            filled++;
        }
        System.arraycopy(counts, 0, ring, o, n);
        pos = pos + 1 == window ? 0 : pos + 1;
    }

    @Override
    protected void level(double[] out) {
        for (int i = 0; i < n; i++) {
            out[i] = sum[i];
        }
        normalize(out, layers, experts);
    }

    @Override
    protected void resetState() {
        Arrays.fill(ring, 0);
        Arrays.fill(sum, 0);
        pos = 0;
        filled = 0;
    }
}

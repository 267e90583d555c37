package io.moecast.predict;

/**
 * {@code last-value}: the next steps repeat the last observed step's shares (Prophet's and
 * Pro-Prophet's locality assumption; the naive forecast).
 */
public final class LastValuePredictor extends FlatPredictor {
    private final double[] last;

    public LastValuePredictor(int layers, int experts, double confidence) {
        super("last-value", layers, experts, confidence, true);
        this.last = new double[n];
    }

    @Override
    protected void update(long step, int[] counts, double[] share) {
        System.arraycopy(share, 0, last, 0, n);
    }

    @Override
    protected void level(double[] out) {
        System.arraycopy(last, 0, out, 0, n);
    }

    @Override
    protected void resetState() {
        java.util.Arrays.fill(last, 0);
    }
}

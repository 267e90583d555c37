package io.moecast.predict;

/**
 * {@code kalman}: a local-level (random walk plus noise) Kalman filter per expert series,
 * x(t) = μ(t) + ε(t), μ(t) = μ(t−1) + η(t), Var ε = R, Var η = Q, with R and Q estimated online.
 *
 * <p><b>Noise estimation.</b> The model implies the variogram γ(k) = ½·E[(x(t) − x(t−k))²] = R + k·Q/2.
 * Per series, γ is tracked at lags k = 1, 2, 4, …, {@code maxlag} (exponentially weighted, memory
 * {@code memory} steps) and R, Q are the least-squares line through (k, γ(k)); Q ≥ 0, and R is held at
 * or above the multinomial variance p(1−p)/N of a share p when N token slots are routed per step (from
 * the trace metadata; that is only a lower bound: tokens of one sequence are correlated, and the
 * bundled traces run at 4–6× it). On real load series the variogram bends (short-range correlation,
 * then flat), so the fitted line is a compromise; the report shows where that costs accuracy.
 *
 * <p><b>Forecast.</b> The filtered level μ̂ for every future step (normalised per layer). <b>Upper
 * bound</b> (model-based): the horizon mean has variance P + Q·(h+1)(2h+1)/(6h) + R/h; bound =
 * μ̂ + z·sd with z the normal quantile of the confidence. Parameters: {@code maxlag} (256),
 * {@code memory} (2000).
 *
 * <p><b>Cost.</b> The filter runs in float on the Vector API over blocks of up to
 * {@link ShareHistory#BLOCK} steps ({@link LocalLevelFilter}): {@code observe} only stores the step's
 * shares until a block is full or a forecast is asked for. O(n) work per step; memory
 * (maxlag + 16)·n floats of history.
 */
public final class KalmanPredictor extends FlatPredictor {
    private final double z;
    private final ShareHistory history;
    private final LocalLevelFilter filter;

    public KalmanPredictor(int layers, int experts, int maxLag, int memory, long slotsPerStep, double confidence) {
        super("kalman", layers, experts, confidence, false);
        this.filter = new LocalLevelFilter(layers, experts, maxLag, memory, slotsPerStep);
        this.history = new ShareHistory(n, filter.maxLag());
        this.z = Num.normalQuantile(confidence);
    }

    @Override
    protected void update(long step, int[] counts, double[] x) {
        if (history.append(x) == ShareHistory.BLOCK) {
            flush();
        }
    }

    private void flush() {
        if (history.pending() > 0) {
            filter.process(history);
            history.done();
        }
    }

    @Override
    protected void level(double[] out) {
        flush();
        filter.level(out);
    }

    @Override
    protected void modelUpper(int h, double[] mean, double[] upper) {
        flush();
        double drift = (h + 1.0) * (2.0 * h + 1.0) / (6.0 * h);
        float[] p = filter.p;
        float[] q = filter.q;
        float[] r = filter.r;
        for (int i = 0; i < n; i++) {
            double var = p[i] + q[i] * drift + r[i] / h;
            upper[i] = Math.min(1.0, mean[i] + z * Math.sqrt(Math.max(0, var)));
        }
    }

    /** Current noise estimates of series i: {R, Q} (for tests and reports). */
    public double[] noise(int i) {
        flush();
        return new double[] {filter.r[i], filter.q[i]};
    }

    @Override
    protected void resetState() {
        history.reset();
        filter.reset();
    }
}

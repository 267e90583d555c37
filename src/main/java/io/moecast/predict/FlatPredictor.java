package io.moecast.predict;

/**
 * A predictor whose forecast is the same share vector for every future step (a level): moving sums,
 * averages, EMAs, last value, the Kalman local level. The horizon mean, every path row and every
 * single-step forecast are that level.
 */
public abstract class FlatPredictor extends AbstractPredictor {
    protected FlatPredictor(String name, int layers, int experts, double confidence, boolean empiricalBounds) {
        super(name, layers, experts, confidence, empiricalBounds);
    }

    /** The current level (shares; each layer sums to 1). */
    protected abstract void level(double[] out);

    @Override
    protected final void forecastMean(int horizon, double[] mean) {
        level(mean);
    }

    @Override
    protected final void path(int horizon, double[] path) {
        level(path);
        for (int k = 1; k < horizon; k++) {
            System.arraycopy(path, 0, path, k * n, n);
        }
    }

    @Override
    protected final void step(int k, double[] out) {
        level(out);
    }
}

package io.moecast.predict;

import java.util.Arrays;

/**
 * {@code holt}: Holt's linear (level + trend) exponential smoothing per expert series,
 * ℓ(t) = α·x(t) + (1−α)·(ℓ(t−1) + φ·b(t−1)), b(t) = β·(ℓ(t) − ℓ(t−1)) + (1−β)·φ·b(t−1); the k-step
 * forecast is ℓ + (φ + φ² + … + φᵏ)·b (φ = 1: the classic linear trend), projected onto shares.
 *
 * <p>α and β are set online, as Holt's method is usually fitted, by one-step squared error: a bank of
 * filters over α ∈ {0.003, 0.01, 0.03, 0.1, 0.3} × β ∈ {0.01, 0.05, 0.2} runs side by side and each
 * layer uses the pair with the lowest exponentially weighted one-step error (memory {@code memory}
 * steps) of that layer. Parameters: {@code phi} (1), {@code memory} (1000).
 */
public final class HoltPredictor extends AbstractPredictor {
    static final double[] ALPHAS = {0.003, 0.01, 0.03, 0.1, 0.3};
    static final double[] BETAS = {0.01, 0.05, 0.2};

    private final int c;
    private final double[] alpha;
    private final double[] beta;
    private final double phi;
    private final double memory;
    private final double[] lvl;
    private final double[] trend;
    private final double[] err;
    private final int[] chosen;
    private long seen;

    public HoltPredictor(int layers, int experts, double phi, int memory, double confidence) {
        super("holt", layers, experts, confidence, true);
        if (!(phi > 0 && phi <= 1)) {
            throw new IllegalArgumentException("phi must be in (0, 1]: " + phi);
        }
        this.c = ALPHAS.length * BETAS.length;
        this.alpha = new double[c];
        this.beta = new double[c];
        for (int a = 0, j = 0; a < ALPHAS.length; a++) {
            for (double b : BETAS) {
                alpha[j] = ALPHAS[a];
                beta[j++] = b;
            }
        }
        this.phi = phi;
        this.memory = memory;
        this.lvl = new double[c * n];
        this.trend = new double[c * n];
        this.err = new double[c * layers];
        this.chosen = new int[layers];
        Arrays.fill(chosen, c / 2);
    }

    @Override
    protected void update(long step, int[] counts, double[] x) {
        if (seen++ == 0) {
            for (int j = 0; j < c; j++) {
                System.arraycopy(x, 0, lvl, j * n, n);
            }
            return;
        }
        double lam = Math.max(1.0 / seen, 1.0 / memory);
        for (int j = 0; j < c; j++) {
            double a = alpha[j];
            double b = beta[j];
            int o = j * n;
            for (int l = 0; l < layers; l++) {
                double se = 0;
                for (int e = 0, i = l * experts; e < experts; e++, i++) {
                    double prevL = lvl[o + i];
                    double prevB = trend[o + i] * phi;
                    double f = prevL + prevB;
                    double d = x[i] - f;
                    se += d * d;
                    double nl = f + a * d;
                    lvl[o + i] = nl;
                    trend[o + i] = b * (nl - prevL) + (1 - b) * prevB;
                }
                err[j * layers + l] += lam * (se - err[j * layers + l]);
            }
        }
        for (int l = 0; l < layers; l++) {
            int best = 0;
            for (int j = 1; j < c; j++) {
                if (err[j * layers + l] < err[best * layers + l]) {
                    best = j;
                }
            }
            chosen[l] = best;
        }
    }

    /** φ + φ² + … + φᵏ */
    private double damp(int k) {
        return phi == 1.0 ? k : phi * (1 - Math.pow(phi, k)) / (1 - phi);
    }

    /** Σ_{k=1..h} damp(k) / h */
    private double dampMean(int h) {
        if (phi == 1.0) {
            return (h + 1) / 2.0;
        }
        return phi / (1 - phi) * (1 - phi * (1 - Math.pow(phi, h)) / ((1 - phi) * h));
    }

    private void fill(double factor, double[] out, int off) {
        for (int l = 0; l < layers; l++) {
            int o = chosen[l] * n;
            for (int e = 0, i = l * experts; e < experts; e++, i++) {
                out[off + i] = lvl[o + i] + factor * trend[o + i];
            }
        }
        normalize(out, off, layers, experts);
    }

    @Override
    protected void forecastMean(int horizon, double[] mean) {
        fill(dampMean(horizon), mean, 0);
    }

    @Override
    protected void path(int horizon, double[] path) {
        for (int k = 1; k <= horizon; k++) {
            fill(damp(k), path, (k - 1) * n);
        }
    }

    @Override
    protected void step(int k, double[] out) {
        fill(damp(k), out, 0);
    }

    /** The (α, β) each layer uses now. */
    public double[] parameters(int layer) {
        return new double[] {alpha[chosen[layer]], beta[chosen[layer]]};
    }

    @Override
    protected void resetState() {
        Arrays.fill(lvl, 0);
        Arrays.fill(trend, 0);
        Arrays.fill(err, 0);
        Arrays.fill(chosen, c / 2);
        seen = 0;
    }
}

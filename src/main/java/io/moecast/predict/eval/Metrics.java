package io.moecast.predict.eval;

/**
 * Error sums of one cell (predictor × horizon × layer × state at the forecast origin). Per origin and
 * layer, with p̂ the forecast and p the realised shares of the layer's E experts:
 * <ul>
 *   <li>L1 = Σₑ |p̂ₑ − pₑ| (the share of the layer's tokens forecast on the wrong expert, ×2);</li>
 *   <li>MAE = L1 / E (reported in percentage points);</li>
 *   <li>relative error = mean over experts with pₑ ≥ 1/(10E) of |p̂ₑ − pₑ| / pₑ;</li>
 * </ul>
 * each for the horizon-mean forecast (p = the mean share over steps t+1..t+h) and the per-step
 * forecast (p = the share at step t+h); and for the horizon mean, the coverage of the upper bounds
 * (fraction of experts with pₑ ≤ upperₑ) and the mean headroom (upperₑ − p̂ₑ).
 */
public final class Metrics {
    long origins;
    double l1Mean;
    double l1Step;
    double relMean;
    long relMeanN;
    double relStep;
    long relStepN;
    long covHit;
    long covN;
    double headroom;
    int experts;

    Metrics(int experts) {
        this.experts = experts;
    }

    void add(Metrics o) {
        origins += o.origins;
        l1Mean += o.l1Mean;
        l1Step += o.l1Step;
        relMean += o.relMean;
        relMeanN += o.relMeanN;
        relStep += o.relStep;
        relStepN += o.relStepN;
        covHit += o.covHit;
        covN += o.covN;
        headroom += o.headroom;
    }

    public long origins() {
        return origins;
    }

    /** Mean L1 error of the horizon-mean forecast (fraction, 0..2). */
    public double l1Mean() {
        return origins == 0 ? Double.NaN : l1Mean / origins;
    }

    public double l1Step() {
        return origins == 0 ? Double.NaN : l1Step / origins;
    }

    /** Mean absolute error of the horizon-mean shares, percentage points. */
    public double maePpMean() {
        return l1Mean() / experts * 100;
    }

    public double maePpStep() {
        return l1Step() / experts * 100;
    }

    /** Mean relative error (fraction) over experts with share ≥ 1/(10E). */
    public double relMean() {
        return relMeanN == 0 ? Double.NaN : relMean / relMeanN;
    }

    public double relStep() {
        return relStepN == 0 ? Double.NaN : relStep / relStepN;
    }

    /** Fraction of realised horizon-mean shares at or below the upper bound. */
    public double coverage() {
        return covN == 0 ? Double.NaN : covHit / (double) covN;
    }

    /** Mean headroom upper − forecast, percentage points. */
    public double headroomPp() {
        return covN == 0 ? Double.NaN : headroom / covN * 100;
    }
}

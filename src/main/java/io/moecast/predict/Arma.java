package io.moecast.predict;

import java.util.Arrays;

/**
 * Hannan–Rissanen estimation of ARMA(p, q) for one series, step for step as statsmodels'
 * {@code statsmodels.tsa.arima.estimators.hannan_rissanen} with {@code demean=False} (what
 * {@code ARIMA(...).fit(method='hannan_rissanen')} uses on the differenced series), without the optional
 * third (bias-correction) step:
 * <ol>
 *   <li>a long AR(m) by Yule–Walker ("mle" autocovariances of the demeaned series, Levinson–Durbin),
 *       m = max(⌊ln(n)²⌋, 2·max(p, q)); its residuals on the series as given;</li>
 *   <li>ordinary least squares (no intercept) of y(t) on y(t−1..t−p) and those residuals at
 *       t−1..t−q, over t = m+q .. n−1.</li>
 * </ol>
 * Plus the checks a forecaster needs: stationarity of the AR part and invertibility of the MA part
 * (by the step-down recursion to partial autocorrelations), with coefficients shrunk (φⱼ·ρʲ) until
 * they hold.
 */
final class Arma {
    private Arma() {
    }

    /** The long-AR order statsmodels uses. */
    static int initialOrder(int nobs, int p, int q) {
        double l = Math.log(nobs);
        return Math.max((int) Math.floor(l * l), 2 * Math.max(p, q));
    }

    /**
     * Fits ARMA(p, q) to y[off .. off+len). Writes φ to {@code ar[0..p)} and θ to {@code ma[0..q)}.
     * Returns false (leaving zeros) when there are too few observations for the regression.
     *
     * @param work scratch, grown as needed
     */
    static boolean fit(double[] y, int off, int len, int p, int q, double[] ar, double[] ma, Work work) {
        Arrays.fill(ar, 0, p, 0);
        Arrays.fill(ma, 0, q, 0);
        if (p == 0 && q == 0) {
            return true;
        }
        int k = p + q;
        if (q == 0) {
            // plain OLS of y(t) on y(t-1..t-p), t = p..n-1 (columns are shifted views of y)
            int rows = len - p;
            if (rows < k + 1) {
                return false;
            }
            double[] xtx = work.xtx(k);
            double[] xty = work.xty(k);
            for (int a = 0; a < p; a++) {
                int ca = off + p - 1 - a;
                xty[a] = Kernels.dot(y, ca, y, off + p, rows);
                for (int b = 0; b <= a; b++) {
                    xtx[a * k + b] = Kernels.dot(y, ca, y, off + p - 1 - b, rows);
                }
            }
            return solve(xtx, xty, k, ar, 0, p, null, 0, work);
        }
        int m = initialOrder(len, p, q);
        int rows = len - m - q;
        if (rows < k + 1 || m >= len) {
            return false;
        }
        // step 1: Yule-Walker AR(m) on the demeaned series, autocovariances / n
        double mean = 0;
        for (int t = 0; t < len; t++) {
            mean += y[off + t];
        }
        mean /= len;
        double[] dm = work.tmp2(len);
        for (int t = 0; t < len; t++) {
            dm[t] = y[off + t] - mean;
        }
        double[] r = work.r(m + 1);
        for (int lag = 0; lag <= m; lag++) {
            r[lag] = Kernels.dot(dm, lag, dm, 0, len - lag) / len;
        }
        double[] rho = work.rho(m);
        if (!levinson(r, m, rho, work)) {
            return false;
        }
        // residuals on the series as given: e(t) = y(t) - sum rho_j y(t-1-j), t = m..n-1
        double[] e = work.e(len);
        System.arraycopy(y, off + m, e, m, len - m);
        for (int j = 0; j < m; j++) {
            Kernels.axpy(-rho[j], y, off + m - 1 - j, e, m, len - m);
        }
        // step 2: OLS of y(t) on y(t-1..t-p), e(t-1..t-q), t = m+q..n-1; column a is a shifted view
        double[] xtx = work.xtx(k);
        double[] xty = work.xty(k);
        int t0 = m + q;
        for (int a = 0; a < k; a++) {
            double[] ca = a < p ? y : e;
            int oa = a < p ? off + t0 - 1 - a : t0 - 1 - (a - p);
            xty[a] = Kernels.dot(ca, oa, y, off + t0, rows);
            for (int b = 0; b <= a; b++) {
                double[] cb = b < p ? y : e;
                int ob = b < p ? off + t0 - 1 - b : t0 - 1 - (b - p);
                xtx[a * k + b] = Kernels.dot(ca, oa, cb, ob, rows);
            }
        }
        return solve(xtx, xty, k, ar, 0, p, ma, p, work);
    }

    /** Levinson–Durbin: solves toeplitz(r[0..m-1]) · phi = r[1..m]. */
    static boolean levinson(double[] r, int m, double[] phi, Work work) {
        if (!(r[0] > 0)) {
            Arrays.fill(phi, 0, m, 0);
            return false;
        }
        double[] prev = work.tmp(m);
        double err = r[0];
        for (int k = 0; k < m; k++) {
            double acc = r[k + 1];
            for (int j = 0; j < k; j++) {
                acc -= phi[j] * r[k - j];
            }
            double kk = acc / err;
            System.arraycopy(phi, 0, prev, 0, k);
            phi[k] = kk;
            for (int j = 0; j < k; j++) {
                phi[j] = prev[j] - kk * prev[k - 1 - j];
            }
            err *= 1 - kk * kk;
            if (!(err > 0)) {
                return false;
            }
        }
        return true;
    }

    /** Cholesky solve of the symmetric (lower-filled) normal equations; splits β into two outputs. */
    private static boolean solve(double[] a, double[] b, int k, double[] out1, int o1, int n1, double[] out2, int n2Start, Work work) {
        double[] l = work.chol(k);
        double scale = 0;
        for (int i = 0; i < k; i++) {
            scale = Math.max(scale, a[i * k + i]);
        }
        if (!(scale > 0)) {
            return false;
        }
        double ridge = scale * 1e-13;
        for (int i = 0; i < k; i++) {
            for (int j = 0; j <= i; j++) {
                double s = a[i * k + j] + (i == j ? ridge : 0);
                for (int c = 0; c < j; c++) {
                    s -= l[i * k + c] * l[j * k + c];
                }
                if (i == j) {
                    if (!(s > 0)) {
                        return false;
                    }
                    l[i * k + i] = Math.sqrt(s);
                } else {
                    l[i * k + j] = s / l[j * k + j];
                }
            }
        }
        double[] z = work.tmp(k);
        for (int i = 0; i < k; i++) {
            double s = b[i];
            for (int c = 0; c < i; c++) {
                s -= l[i * k + c] * z[c];
            }
            z[i] = s / l[i * k + i];
        }
        for (int i = k - 1; i >= 0; i--) {
            double s = z[i];
            for (int c = i + 1; c < k; c++) {
                s -= l[c * k + i] * z[c];
            }
            z[i] = s / l[i * k + i];
        }
        for (int i = 0; i < n1; i++) {
            out1[o1 + i] = z[i];
        }
        if (out2 != null) {
            for (int i = n2Start; i < k; i++) {
                out2[i - n2Start] = z[i];
            }
        }
        for (int i = 0; i < k; i++) {
            if (!Double.isFinite(z[i])) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether 1 − φ₁z − … − φₚzᵖ has all roots outside the unit circle (step-down recursion: every
     * partial autocorrelation strictly inside (−1, 1)).
     */
    static boolean stationary(double[] phi, int p) {
        if (p == 0) {
            return true;
        }
        double[] a = Arrays.copyOf(phi, p);
        double[] b = new double[p];
        for (int k = p - 1; k >= 0; k--) {
            double kk = a[k];
            if (!(Math.abs(kk) < 1 - 1e-9)) {
                return false;
            }
            double den = 1 - kk * kk;
            for (int j = 0; j < k; j++) {
                b[j] = (a[j] + kk * a[k - 1 - j]) / den;
            }
            System.arraycopy(b, 0, a, 0, k);
        }
        return true;
    }

    /** Whether 1 + θ₁z + … + θ_q z^q has all roots outside the unit circle. */
    static boolean invertible(double[] theta, int q) {
        double[] neg = new double[q];
        for (int j = 0; j < q; j++) {
            neg[j] = -theta[j];
        }
        return stationary(neg, q);
    }

    /** Shrinks c_j ← c_j·ρ^(j+1) with ρ = 0.98 until {@code ok} holds (at most 200 rounds); false if it never does. */
    static boolean shrinkUntil(double[] c, int len, boolean ma) {
        for (int round = 0; round < 200; round++) {
            if (ma ? invertible(c, len) : stationary(c, len)) {
                return true;
            }
            double f = 0.98;
            double g = f;
            for (int j = 0; j < len; j++) {
                c[j] *= g;
                g *= f;
            }
        }
        return false;
    }

    /** Reusable scratch for the fits of one predictor. */
    static final class Work {
        private double[] xtx = new double[0];
        private double[] xty = new double[0];
        private double[] x = new double[0];
        private double[] r = new double[0];
        private double[] rho = new double[0];
        private double[] e = new double[0];
        private double[] tmp = new double[0];
        private double[] tmp2 = new double[0];
        private double[] chol = new double[0];

        double[] xtx(int k) {
            if (xtx.length < k * k) {
                xtx = new double[k * k];
            }
            Arrays.fill(xtx, 0, k * k, 0);
            return xtx;
        }

        double[] xty(int k) {
            if (xty.length < k) {
                xty = new double[k];
            }
            Arrays.fill(xty, 0, k, 0);
            return xty;
        }

        double[] x(int k) {
            if (x.length < k) {
                x = new double[k];
            }
            return x;
        }

        double[] r(int k) {
            if (r.length < k) {
                r = new double[k];
            }
            return r;
        }

        double[] rho(int k) {
            if (rho.length < k) {
                rho = new double[k];
            }
            Arrays.fill(rho, 0, k, 0);
            return rho;
        }

        double[] e(int k) {
            if (e.length < k) {
                e = new double[k];
            }
            return e;
        }

        double[] tmp(int k) {
            if (tmp.length < k) {
                tmp = new double[k];
            }
            return tmp;
        }

        double[] tmp2(int k) {
            if (tmp2.length < k) {
                tmp2 = new double[k];
            }
            return tmp2;
        }

        double[] chol(int k) {
            if (chol.length < k * k) {
                chol = new double[k * k];
            }
            Arrays.fill(chol, 0, k * k, 0);
            return chol;
        }
    }
}

#!/usr/bin/python3
"""Golden values for moecast's ARIMA (src/main/java/io/moecast/predict/ArimaPredictor.java).

Run with Debian's statsmodels (apt-get install python3-statsmodels; /usr/bin/python3 arima_golden.py).
Writes arima_golden.json next to this script. For each case: a share series stored as integer counts
k out of N (so Java and Python see the same doubles k/N), the ARIMA order, and
  - hr_ar / hr_ma: statsmodels' Hannan-Rissanen estimate on the differenced series
    (ARIMA(...).fit(method='hannan_rissanen', method_kwargs={'unbiased': False}): the two-step
    procedure moecast implements), whether it is stationary / invertible, and the forecasts of the
    results object with those parameters (steps 1..H, exact state-space filtering);
  - conditional_forecast: the textbook conditional forecast with the HR coefficients, written out in
    NumPy (innovations from zero initial values, future innovations 0, integrated d times). For d = 1
    it equals statsmodels' forecast to ~1e-8; for d = 2 statsmodels' state-space forecast drifts away
    from it (about 1e-3 after 200 steps on the d = 2 case here), so that case is pinned on this one;
  - mle_forecast: the forecasts of statsmodels' default maximum-likelihood fit (method='statespace').
statsmodels here has no CSS method, so the comparison with the MLE fit is on forecasts only.
"""
import json
import os
import warnings

import numpy as np
import statsmodels
from statsmodels.tsa.arima.model import ARIMA

warnings.filterwarnings("ignore")
N = 100_000_000
H = 200
HERE = os.path.dirname(os.path.abspath(__file__))


def simulate_arima(n, ar, ma, d, sigma, level, seed):
    rng = np.random.default_rng(seed)
    e = rng.normal(0.0, sigma, n + 200)
    y = np.zeros(n + 200)
    for t in range(n + 200):
        v = e[t]
        for j, a in enumerate(ar):
            if t - 1 - j >= 0:
                v += a * y[t - 1 - j]
        for j, m in enumerate(ma):
            if t - 1 - j >= 0:
                v += m * e[t - 1 - j]
        y[t] = v
    y = y[200:]
    for _ in range(d):
        y = np.cumsum(y)
    return level + y


def conditional_forecast(x, d, ar, ma, steps):
    y = np.diff(x, d) if d else x.copy()
    n = len(y)
    e = np.zeros(n)
    for t in range(n):
        f = sum(ar[j] * y[t - 1 - j] for j in range(len(ar)) if t - 1 - j >= 0)
        f += sum(ma[j] * e[t - 1 - j] for j in range(len(ma)) if t - 1 - j >= 0)
        e[t] = y[t] - f
    yh = list(y)
    eh = list(e)
    lvl = x[-1]
    slope = x[-1] - x[-2] if d == 2 else 0.0
    out = []
    for k in range(1, steps + 1):
        v = sum(ar[j] * yh[-1 - j] for j in range(len(ar)))
        v += sum(ma[j - 1] * eh[len(e) - 1 - (j - k)] for j in range(k, len(ma) + 1))
        yh.append(v)
        if d == 0:
            out.append(v)
        elif d == 1:
            lvl += v
            out.append(lvl)
        else:
            slope += v
            lvl += slope
            out.append(lvl)
    return out


def bundled(step0, n, layer, expert):
    a = np.load(os.path.join(HERE, "..", "..", "..", "..", "traces", "moe-gpt-jdk-e16-top2-seed1.npy"))
    c = a[step0:step0 + n, layer, :].astype(float)
    return c[:, expert] / c.sum(axis=1)


cases = [
    ("arima111", simulate_arima(800, [0.6], [0.3], 1, 0.002, 0.4, 1), (1, 1, 1)),
    ("arima210", simulate_arima(600, [0.5, -0.3], [], 1, 0.003, 0.5, 2), (2, 1, 0)),
    ("arima012", simulate_arima(700, [], [0.4, 0.2], 1, 0.002, 0.3, 3), (0, 1, 2)),
    ("arima211_d2", simulate_arima(900, [0.4, 0.2], [0.3], 2, 0.000002, 0.45, 4), (2, 2, 1)),
    ("trace515", bundled(1000, 1000, 0, 3), (5, 1, 5)),
    ("trace515_l2", bundled(3000, 1000, 2, 7), (5, 1, 5)),
]

out = {"generator": "arima_golden.py", "statsmodels": statsmodels.__version__, "numpy": np.__version__,
       "N": N, "H": H, "cases": []}
for name, x, order in cases:
    k = np.rint(np.clip(x, 0.0, 1.0) * N).astype(np.int64)
    xs = k / N
    hr = ARIMA(xs, order=order, trend="n", enforce_stationarity=False,
               enforce_invertibility=False).fit(method="hannan_rissanen",
                                                method_kwargs={"unbiased": False})
    p, d, q = order
    ar = [float(v) for v in hr.polynomial_ar[1:] * -1] if p else []
    ma = [float(v) for v in hr.polynomial_ma[1:]] if q else []
    stat = bool(np.all(np.abs(np.roots(np.r_[1, -np.array(ar)][::-1])) > 1)) if p else True
    inv = bool(np.all(np.abs(np.roots(np.r_[1, np.array(ma)][::-1])) > 1)) if q else True
    mle = ARIMA(xs, order=order).fit()
    out["cases"].append({
        "name": name, "order": list(order), "counts": [int(v) for v in k],
        "hr_ar": ar, "hr_ma": ma, "hr_stationary": stat, "hr_invertible": inv,
        "hr_forecast": [float(v) for v in hr.forecast(H)],
        "conditional_forecast": [float(v) for v in conditional_forecast(xs, d, ar, ma, H)],
        "mle_forecast": [float(v) for v in mle.forecast(H)],
    })
    print(name, order, "ar", np.round(ar, 4), "ma", np.round(ma, 4), "stationary", stat, "invertible", inv)

with open(os.path.join(HERE, "arima_golden.json"), "w") as f:
    json.dump(out, f)

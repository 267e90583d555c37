#!/usr/bin/python3
"""Synthetic load traces for testing predictors beyond the bundled runs (never used to tune them).

Usage: /usr/bin/python3 make_synthetic.py OUTDIR   (needs NumPy)
Writes OUTDIR/<name>.npy ([steps, layers, experts] int32 token-slot counts) and <name>.json sidecars:
  syn-stationary  fixed shares, i.i.d. multinomial sampling: a long steady run, where the longest
                  window wins;
  syn-walk        expert logits on a Gaussian random walk (sd 0.01 per step), 200k slots per step:
                  drift dominates sampling noise, so short memories win;
  syn-shifts      regime changes (new shares at steps 1500, 3000 and 4500), AR(1) logit noise with
                  short memory (phi 0.8) on top of 8,192 slots per step: locality, then jumps.
"""
import json
import os
import sys

import numpy as np


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sample(p, slots, rng):
    steps, layers, experts = p.shape
    out = np.zeros((steps, layers, experts), dtype=np.int32)
    for t in range(steps):
        for l in range(layers):
            out[t, l] = rng.multinomial(slots, p[t, l])
    return out


def write(outdir, name, counts, tokens, topk, note):
    np.save(os.path.join(outdir, name + ".npy"), counts)
    meta = {"model": "synthetic: " + note, "source": "results/predict/make_synthetic.py",
            "tokens_per_step": tokens, "topk": topk,
            "moe_layer_indices": list(range(counts.shape[1]))}
    with open(os.path.join(outdir, name + ".json"), "w") as f:
        json.dump(meta, f, indent=1)


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(2024)
    steps = 6000
    # stationary
    base = softmax(rng.normal(0, 0.4, (1, 3, 16)))
    write(outdir, "syn-stationary", sample(np.repeat(base, steps, 0), 8192, rng), 4096, 2,
          "fixed shares, multinomial noise (3 x 16, 8192 slots)")
    # random-walk logits
    z = rng.normal(0, 0.5, (2, 32)) + np.cumsum(rng.normal(0, 0.01, (steps, 2, 32)), axis=0)
    write(outdir, "syn-walk", sample(softmax(z), 200_000, rng), 100_000, 2,
          "random-walk logits, sd 0.01/step (2 x 32, 200k slots)")
    # regime shifts + AR(1) logit noise
    z = np.zeros((steps, 2, 8))
    level = rng.normal(0, 0.5, (2, 8))
    ar = np.zeros((2, 8))
    for t in range(steps):
        if t in (1500, 3000, 4500):
            level = rng.normal(0, 0.5, (2, 8))
        ar = 0.8 * ar + rng.normal(0, 0.05, (2, 8))
        z[t] = level + ar
    write(outdir, "syn-shifts", sample(softmax(z), 8192, rng), 4096, 2,
          "regime shifts at 1500/3000/4500, AR(1) logit noise (2 x 8, 8192 slots)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")

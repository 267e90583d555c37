#!/usr/bin/env python3
"""PyTorch peer for moecast's GPU check (bench/gpu-check), run on the GPU machine.

  torch_peer.py peer --out DIR            times PyTorch on the same GPU and shapes as GpuTiming.SHAPES:
                                          softmax + topk + bincount (softmax-topk), the bf16 variant, a
                                          DeepSeek-style sigmoid grouped top-k, and a device-to-device copy
                                          (the bandwidth roof); writes DIR/torch-peer.json
  torch_peer.py summary --out DIR         joins DIR/gpu-check.json and DIR/torch-peer.json into
                                          DIR/summary.md (ratios: moecast vs PyTorch, vs the copy roof)
  torch_peer.py ncu CSV --out DIR         condenses an `ncu --csv` metrics dump into DIR/ncu-summary.md

Inputs are generated on the GPU (torch.randn); timings are CUDA events, median of 20 after 3 warm-ups,
rotating inputs so small shapes are not timed from L2.
"""
import argparse
import csv
import json
import os
import statistics
import sys

SHAPES = [(t, e, k, "softmax-topk", "f32") for t in (65536, 1 << 20, 1 << 24) for e in (64, 128, 256) for k in (2, 8)]
SHAPES += [(1 << 20, 64, 2, "softmax-topk", "bf16"), (1 << 20, 256, 8, "sigmoid-grouped", "f32")]
WARMUP, REPS = 3, 20


def time_cuda(torch, fn, reps=REPS, warmup=WARMUP):
    for i in range(warmup):
        fn(i)
    torch.cuda.synchronize()
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
    torch.cuda._sleep(50_000_000)  # keep the GPU busy while the host queues the timed launches
    ev[0].record()
    for i in range(reps):
        fn(warmup + i)
        ev[i + 1].record()
    torch.cuda.synchronize()
    return [ev[i].elapsed_time(ev[i + 1]) for i in range(reps)]


def peer(out):
    import torch
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    l2 = getattr(props, "L2_cache_size", 60 << 20)
    res = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": props.name,
           "multiprocessors": props.multi_processor_count, "shapes": []}
    # bandwidth roof: device-to-device copy, bytes read + written
    n = (2 << 30) // 4
    a = torch.randn(n, device=dev)
    b = torch.empty_like(a)
    ms = time_cuda(torch, lambda i: b.copy_(a))
    res["copyRoof"] = {"bytesEachWay": n * 4, "medianMs": statistics.median(ms),
                       "GBps": 2 * n * 4 / (statistics.median(ms) * 1e-3) / 1e9}
    del a, b
    for (T, E, k, mode, prec) in SHAPES:
        dtype = torch.float32 if prec == "f32" else torch.bfloat16
        nbytes = T * E * (4 if prec == "f32" else 2)
        rot = max(1, min(16, -(-4 * l2 // nbytes)))
        xs = [torch.randn(T, E, device=dev).to(dtype) for _ in range(rot)]
        if mode == "softmax-topk":
            def fn(i):
                p = torch.softmax(xs[i % rot], dim=-1, dtype=torch.float32)
                w, idx = torch.topk(p, k, dim=-1)
                c = torch.bincount(idx.flatten(), minlength=E)
                return w, idx, c
        else:
            g, keep = 8, 4
            bias = (torch.randn(E, device=dev) * 0.05).float()

            def fn(i):  # DeepSeek-V3 / Megatron group_limited_topk with a selection bias
                s = torch.sigmoid(xs[i % rot].float())
                key = s + bias
                gscore = key.view(T, g, E // g).topk(2, dim=-1).values.sum(-1)
                gidx = gscore.topk(keep, dim=-1).indices
                gmask = torch.zeros_like(gscore).scatter_(1, gidx, 1.0)
                emask = gmask.unsqueeze(-1).expand(T, g, E // g).reshape(T, E)
                idx = key.masked_fill(emask == 0, float("-inf")).topk(k, dim=-1).indices
                w = s.gather(1, idx)
                w = w / w.sum(-1, keepdim=True)
                c = torch.bincount(idx.flatten(), minlength=E)
                return w, idx, c
        ms = time_cuda(torch, fn)
        med = statistics.median(ms)
        res["shapes"].append({"shape": f"{mode} {prec} T={T} E={E} k={k}", "tokens": T, "experts": E, "k": k,
                              "mode": mode, "precision": prec, "medianUs": med * 1e3, "minUs": min(ms) * 1e3,
                              "rotatingInputs": rot})
        print(f"torch {mode:16s} {prec:4s} T={T:<9d} E={E:<4d} k={k}  {med * 1e3:10.1f} us", flush=True)
        del xs
        torch.cuda.empty_cache()
    with open(os.path.join(out, "torch-peer.json"), "w") as f:
        json.dump(res, f, indent=2)


def summary(out):
    with open(os.path.join(out, "gpu-check.json")) as f:
        ours = json.load(f)["result"]
    peer_path = os.path.join(out, "torch-peer.json")
    theirs = json.load(open(peer_path)) if os.path.exists(peer_path) else {"shapes": []}
    t = {s["shape"]: s for s in theirs["shapes"]}
    timing = ours.get("timing", {})
    roof = timing.get("copyRoof", {}).get("GBps")
    dev = ours.get("device", {})
    lines = ["# moecast GPU check", "",
             f"Device: {dev.get('name')} (sm {dev.get('computeCapability')}, {dev.get('multiprocessors')} SMs, "
             f"SM clock {dev.get('smClockMHz')} MHz, memory clock {dev.get('memoryClockMHz')} MHz, "
             f"CUDA driver API {dev.get('cudaDriverApi')}); kernels from nvcc {dev.get('kernelsNvcc')}.", ""]
    c = ours.get("correctness")
    if c:
        lines += [f"Correctness: {c['cases']} cases, {c['checks']} checks, **{c['failed']} failed** "
                  f"(ids and counts identical to the scalar reference; weights {c['weightTolerance']}).", ""]
    if roof:
        lines += [f"Copy roof (device-to-device, read + write): {roof:.0f} GB/s (moecast/JCuda); "
                  f"{theirs.get('copyRoof', {}).get('GBps', float('nan')):.0f} GB/s (PyTorch).", ""]
    lines += ["| shape | kernel | us | GB/s | % of copy roof | PyTorch us | speed-up vs PyTorch |",
              "|---|---|---|---|---|---|---|"]
    for r in timing.get("deviceResident", []):
        p = t.get(r["shape"]) if r["variant"] == "AUTO" else None
        tu = p["medianUs"] if p else None
        lines.append(f"| {r['shape']} | {r['kernel']} | {r['medianUs']:.1f} | {r['GBps']:.0f} | {r['pctOfCopyRoof']:.1f} | "
                     + (f"{tu:.1f} | {tu / r['medianUs']:.1f}x |" if tu else "- | - |"))
    for r in timing.get("fromHost", []):
        lines.append(f"\nFrom host ({r['input']}): {r['shape']}: {r['medianMs']:.2f} ms ({r['logitsGBps']:.1f} GB/s of logits)")
    target = "softmax-topk f32 T=1048576 E=64 k=2"
    tr = next((r for r in timing.get("deviceResident", []) if r["shape"] == target and r["variant"] == "AUTO"), None)
    if tr:
        lines += ["", f"Target ({target}, device-resident): {tr['pctOfCopyRoof']:.1f}% of the copy roof (goal >= 70%)"
                  + (f", {t[target]['medianUs'] / tr['medianUs']:.1f}x PyTorch (goal >= 5x)" if target in t else "")]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def ncu(csv_path, out):
    """Keeps, per profiled kernel: duration, DRAM throughput, achieved occupancy, registers."""
    keep = {"gpu__time_duration.sum": "duration", "dram__throughput.avg.pct_of_peak_sustained_elapsed": "DRAM % of peak",
            "dram__bytes_read.sum.per_second": "DRAM read/s", "sm__warps_active.avg.pct_of_peak_sustained_active": "achieved occupancy %",
            "launch__registers_per_thread": "registers", "launch__occupancy_limit_registers": "block limit (registers)",
            "sm__throughput.avg.pct_of_peak_sustained_elapsed": "SM % of peak"}
    rows = {}
    with open(csv_path, newline="") as f:
        lines = [l for l in f if l.startswith('"')]
    for r in csv.DictReader(lines):
        name = r.get("Metric Name")
        if name in keep:
            key = (r.get("ID"), r.get("Kernel Name"))
            rows.setdefault(key, {})[keep[name]] = f"{r.get('Metric Value')} {r.get('Metric Unit', '')}".strip()
    cols = list(keep.values())
    text = ["# Nsight Compute summary (one launch per kernel, --clock-control none)", "",
            "| id | kernel | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for (i, k), v in sorted(rows.items(), key=lambda kv: int(kv[0][0] or 0)):
        text.append(f"| {i} | {k.split('(')[0]} | " + " | ".join(v.get(c, "") for c in cols) + " |")
    with open(os.path.join(out, "ncu-summary.md"), "w") as f:
        f.write("\n".join(text) + "\n")
    print("\n".join(text))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["peer", "summary", "ncu"])
    ap.add_argument("csv", nargs="?")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.what == "peer":
        peer(a.out)
    elif a.what == "summary":
        summary(a.out)
    else:
        ncu(a.csv, a.out)


if __name__ == "__main__":
    sys.exit(main())

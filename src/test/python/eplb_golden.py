#!/usr/bin/env python3
"""Golden cases for moecast's EplbPlanner, from an independent NumPy rendering of DeepSeek EPLB's
rebalance_experts (deepseek-ai/EPLB, eplb.py: balanced_packing, replicate_experts,
rebalance_experts_hierarchical, rebalance_experts), written from its published algorithm:

  1. hierarchical policy when num_groups % num_nodes == 0, else the same steps with 1 group, 1 node;
  2. group loads packed onto nodes (balanced packing), experts renumbered node by node, group by group
     in packing order;
  3. within each node, each redundant slot goes to the expert with the highest load/logcnt (first max);
  4. each replica carries load/logcnt; replicas packed onto the node's GPUs (balanced packing), slots
     numbered GPU by GPU in packing order; log2phy scattered by replica rank, padded with -1.

balanced packing: items by descending weight, each onto the lightest non-full pack (first min); when
every pack takes one item, item i goes to pack i.

The reference computes in float32 (weight.float()); this script does the same (DTYPE). Its torch.sort
is not stable; here ties are broken by the lower index (a stable descending sort), moecast's rule.
torch is not needed. Usage (NumPy required):

    python3 src/test/python/eplb_golden.py > src/test/resources/io/moecast/placement/eplb-golden.json
"""
import json
import sys

import numpy as np

DTYPE = np.float32


def balanced_packing(weight, num_packs):
    layers, n = weight.shape
    per = n // num_packs
    assert n % num_packs == 0
    if per == 1:
        return np.tile(np.arange(n), (layers, 1)), np.zeros((layers, n), dtype=np.int64)
    pack_index = np.full((layers, n), -1, dtype=np.int64)
    rank_in_pack = np.full((layers, n), -1, dtype=np.int64)
    for i in range(layers):
        order = np.argsort(-weight[i], kind="stable")
        pack_w = [DTYPE(0)] * num_packs
        pack_n = [0] * num_packs
        for item in order:
            best = -1
            for p in range(num_packs):
                if pack_n[p] < per and (best < 0 or pack_w[p] < pack_w[best]):
                    best = p
            pack_index[i, item] = best
            rank_in_pack[i, item] = pack_n[best]
            pack_w[best] = DTYPE(pack_w[best] + weight[i, item])
            pack_n[best] += 1
    return pack_index, rank_in_pack


def replicate(weight, num_phy):
    rows, num_log = weight.shape
    phy2log = np.tile(np.arange(num_phy), (rows, 1))
    rank = np.zeros((rows, num_phy), dtype=np.int64)
    logcnt = np.ones((rows, num_log), dtype=np.int64)
    for r in range(rows):
        for i in range(num_log, num_phy):
            per_replica = (weight[r] / logcnt[r]).astype(DTYPE)
            e = int(np.argmax(per_replica))  # first maximum
            phy2log[r, i] = e
            rank[r, i] = logcnt[r, e]
            logcnt[r, e] += 1
    return phy2log, rank, logcnt


def inverse(perm):
    inv = np.empty_like(perm)
    for r in range(perm.shape[0]):
        inv[r, perm[r]] = np.arange(perm.shape[1])
    return inv


def hierarchical(weight, num_phy, num_groups, num_nodes, num_gpus):
    layers, num_log = weight.shape
    group_size = num_log // num_groups
    groups_per_node = num_groups // num_nodes
    phy_per_gpu = num_phy // num_gpus
    group_load = weight.reshape(layers, num_groups, group_size).sum(-1, dtype=DTYPE)
    gpack, grank = balanced_packing(group_load, num_nodes)
    log2mlog = (((gpack * groups_per_node + grank) * group_size)[:, :, None] + np.arange(group_size)).reshape(layers, -1)
    mlog2log = inverse(log2mlog)
    tok_mlog = np.take_along_axis(weight, mlog2log, -1).reshape(-1, num_log // num_nodes)
    phy2mlog, phyrank, mlogcnt = replicate(tok_mlog, num_phy // num_nodes)
    tok_phy = np.take_along_axis((tok_mlog / mlogcnt).astype(DTYPE), phy2mlog, -1)
    pack, rank_in_pack = balanced_packing(tok_phy, num_gpus // num_nodes)
    phy2pphy = pack * phy_per_gpu + rank_in_pack
    pphy2phy = inverse(phy2pphy)
    pphy2mlog = np.take_along_axis(phy2mlog, pphy2phy, -1)
    pphy2mlog = (pphy2mlog.reshape(layers, num_nodes, -1)
                 + np.arange(0, num_log, num_log // num_nodes).reshape(1, -1, 1)).reshape(layers, -1)
    pphy2log = np.take_along_axis(mlog2log, pphy2mlog, -1)
    pphyrank = np.take_along_axis(phyrank, pphy2phy, -1).reshape(layers, -1)
    logcnt = np.take_along_axis(mlogcnt.reshape(layers, -1), log2mlog, -1)
    return pphy2log, pphyrank, logcnt


def rebalance(weight, num_replicas, num_groups, num_nodes, num_gpus):
    weight = weight.astype(DTYPE)
    layers, num_log = weight.shape
    if num_groups % num_nodes == 0:
        phy2log, rank, logcnt = hierarchical(weight, num_replicas, num_groups, num_nodes, num_gpus)
    else:
        phy2log, rank, logcnt = hierarchical(weight, num_replicas, 1, 1, num_gpus)
    maxcnt = int(logcnt.max())
    log2phy = np.full((layers, num_log, maxcnt), -1, dtype=np.int64)
    for l in range(layers):
        for q in range(num_replicas):
            log2phy[l, phy2log[l, q], rank[l, q]] = q
    return phy2log, log2phy, logcnt


def case(name, weight, replicas, groups, nodes, gpus):
    phy2log, log2phy, logcnt = rebalance(np.asarray(weight), replicas, groups, nodes, gpus)
    return {"name": name, "weight": np.asarray(weight).tolist(), "replicas": replicas, "groups": groups,
            "nodes": nodes, "gpus": gpus, "phy2log": phy2log.tolist(), "log2phy": log2phy.tolist(),
            "logcnt": logcnt.tolist()}


def main():
    rng = np.random.default_rng(20240425)
    cases = [
        # the example of EPLB's README: 2 layers, 12 experts, 16 replicas, 4 groups, 2 nodes, 8 GPUs
        case("readme-example", [[90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86],
                                [20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27]], 16, 4, 2, 8),
        # the hand-worked case of EplbPlannerTest
        case("hand-4e-2r-2g", [[6, 3, 2, 1]], 6, 1, 1, 2),
        case("ties-all-equal", [[5] * 8, [0] * 8], 12, 1, 1, 4),
    ]
    shapes = [  # (layers, experts, replicas, groups, nodes, gpus)
        (3, 16, 20, 1, 1, 4), (3, 16, 24, 1, 1, 8), (2, 16, 16, 1, 1, 4), (2, 64, 72, 8, 2, 8),
        (2, 64, 80, 8, 3, 8),  # groups % nodes != 0: global policy
        (2, 128, 144, 8, 4, 16), (2, 256, 288, 8, 4, 32), (2, 8, 10, 1, 1, 2), (2, 60, 64, 4, 1, 4),
    ]
    for (layers, experts, replicas, groups, nodes, gpus) in shapes:
        # heavy-tailed integer loads (production-like skew), plus a few exact ties and zeros
        w = np.floor(rng.pareto(1.2, size=(layers, experts)) * 1000).astype(np.int64)
        w[:, rng.integers(0, experts, size=2)] = 0
        w[:, -1] = w[:, 0]
        cases.append(case(f"random-{layers}x{experts}-{replicas}r-{groups}g-{nodes}n-{gpus}gpu", w.tolist(),
                          replicas, groups, nodes, gpus))
    json.dump({"generator": "src/test/python/eplb_golden.py", "dtype": "float32",
               "numpy": np.__version__, "cases": cases}, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

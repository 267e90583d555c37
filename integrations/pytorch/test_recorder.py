"""Test of moecast_recorder.py: trains a tiny MoE language model on CPU and records its expert loads.

    /usr/bin/python3 integrations/pytorch/test_recorder.py OUT_DIR [--device cpu|cuda]

The model has 8 layers, MoE in the odd ones (model layers 1, 3, 5, 7), each routed by a router of a
different real-world shape (the Hugging Face library itself is not needed):
  1: Mixtral/Qwen2-MoE-style ``MixtralSparseMoeBlock`` (gate nn.Linear, returns (hidden, router_logits));
  3: Megatron-core-style ``TopKRouter`` inside a ``MoELayer`` (returns (probs, routing_map));
  5: DeepSeek-style ``MoEGate`` (returns (topk_idx, topk_weight, aux_loss): expert indices);
  7: newer-HF-style ``OlmoeSparseMoeBlock`` whose ``OlmoeTopKRouter`` returns (logits, scores, indices)
     (two nested router-like modules: the recorder must hook only the inner one).
Every MoE layer has 8 experts and top-2 routing. Each routing function also tallies the experts it
actually dispatched to (the ground truth); the test checks that the recorder's chunk files hold
exactly those counts, that eval passes are not counted, that gradient-accumulation micro-batches add
up within a step, and that a slow disk does not stall the training step. It writes the chunks into
OUT_DIR (``trace-00000000.npy`` + ``.json``, ...) for ``moecast trace merge``; the Java test
PytorchRecorderTest runs this script and reads the result. Exits non-zero on any failure.
"""

import collections
import json
import os
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import moecast_recorder  # noqa: E402
from moecast_recorder import MoeRecorder, expert_counts  # noqa: E402

E, K, D, VOCAB = 8, 2, 32, 64
SEQ, BATCH, MICRO = 16, 8, 2          # 2 micro-batches of 8 x 16 tokens = 256 tokens per step
STEPS, CHUNK = 40, 16
TOKENS_PER_STEP = SEQ * BATCH * MICRO

TRUTH = collections.defaultdict(lambda: collections.defaultdict(lambda: torch.zeros(E, dtype=torch.int64)))
STATE = {"step": 0, "record": True}


def tally(layer, chosen):
    if STATE["record"]:
        TRUTH[layer][STATE["step"]] += torch.bincount(chosen.reshape(-1).cpu(), minlength=E)


class Expert(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Linear(D, 2 * D)
        self.down = nn.Linear(2 * D, D)

    def forward(self, x):
        return self.down(F.gelu(self.up(x)))


def dispatch(experts, x, chosen, weights):
    out = torch.zeros_like(x)
    for e, expert in enumerate(experts):
        tok, slot = torch.where(chosen == e)
        if tok.numel():
            out.index_add_(0, tok, expert(x[tok]) * weights[tok, slot, None])
    return out


class MixtralSparseMoeBlock(nn.Module):
    """Hugging Face Mixtral/Qwen2-MoE/OLMoE (transformers 4.x) shape."""

    def __init__(self, layer):
        super().__init__()
        self.layer, self.num_experts, self.top_k = layer, E, K
        self.gate = nn.Linear(D, E, bias=False)
        self.experts = nn.ModuleList(Expert() for _ in range(E))

    def forward(self, hidden_states):
        b, s, d = hidden_states.shape
        x = hidden_states.reshape(-1, d)
        router_logits = self.gate(x)
        weights = F.softmax(router_logits, dim=1, dtype=torch.float)
        weights, chosen = torch.topk(weights, self.top_k, dim=-1)
        weights = weights / weights.sum(dim=-1, keepdim=True)
        tally(self.layer, chosen)
        return dispatch(self.experts, x, chosen, weights).reshape(b, s, d), router_logits


class MegatronConfig:
    num_moe_experts = E
    moe_router_topk = K


class TopKRouter(nn.Module):
    """Megatron-core shape: forward(input) -> (probs, routing_map)."""

    def __init__(self, layer, config):
        super().__init__()
        self.layer, self.config, self.topk = layer, config, config.moe_router_topk
        self.weight = nn.Parameter(torch.randn(config.num_moe_experts, D) * 0.02)

    def forward(self, x):
        logits = F.linear(x, self.weight)
        scores, top = torch.topk(logits, self.topk, dim=1)
        probs = torch.zeros_like(logits).scatter(1, top, torch.softmax(scores, dim=-1))
        routing_map = torch.zeros_like(logits, dtype=torch.bool).scatter(1, top, True)
        tally(self.layer, top)
        return probs, routing_map


class MoELayer(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.router = TopKRouter(layer, MegatronConfig())
        self.experts = nn.ModuleList(Expert() for _ in range(E))

    def forward(self, h):
        b, s, d = h.shape
        x = h.reshape(-1, d)
        probs, routing_map = self.router(x)
        chosen = torch.topk(routing_map.to(torch.int8) * 2 + probs, K, dim=1).indices
        weights = probs.gather(1, chosen)
        return dispatch(self.experts, x, chosen, weights).reshape(b, s, d), None   # (output, mlp_bias)


class MoEGate(nn.Module):
    """DeepSeek shape: forward(hidden) -> (topk_idx, topk_weight, aux_loss)."""

    def __init__(self, layer):
        super().__init__()
        self.layer, self.n_routed_experts, self.top_k = layer, E, K
        self.weight = nn.Parameter(torch.randn(E, D) * 0.02)

    def forward(self, hidden_states):
        x = hidden_states.reshape(-1, hidden_states.shape[-1])
        scores = F.linear(x, self.weight).softmax(dim=-1)
        topk_weight, topk_idx = torch.topk(scores, self.top_k, dim=-1)
        tally(self.layer, topk_idx)
        aux_loss = (scores.mean(0) * F.one_hot(topk_idx, E).float().mean((0, 1))).sum() * E
        return topk_idx, topk_weight, aux_loss


class DeepseekMoE(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.gate = MoEGate(layer)
        self.experts = nn.ModuleList(Expert() for _ in range(E))

    def forward(self, h):
        b, s, d = h.shape
        idx, w, aux = self.gate(h)
        return dispatch(self.experts, h.reshape(-1, d), idx, w).reshape(b, s, d) + 0 * aux


class OlmoeTopKRouter(nn.Module):
    """Newer Hugging Face shape: a router module returning (logits, top-k scores, top-k indices)."""

    def __init__(self, layer):
        super().__init__()
        self.layer, self.num_experts, self.top_k = layer, E, K
        self.weight = nn.Parameter(torch.randn(E, D) * 0.02)

    def forward(self, x):
        logits = F.linear(x, self.weight)
        scores, indices = torch.topk(logits.softmax(dim=-1), self.top_k, dim=-1)
        tally(self.layer, indices)
        return logits, scores, indices


class OlmoeSparseMoeBlock(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.num_experts, self.top_k = E, K
        self.gate = OlmoeTopKRouter(layer)
        self.experts = nn.ModuleList(Expert() for _ in range(E))

    def forward(self, h):
        b, s, d = h.shape
        x = h.reshape(-1, d)
        logits, scores, indices = self.gate(x)
        return dispatch(self.experts, x, indices, scores).reshape(b, s, d), logits


class Block(nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.attn = nn.MultiheadAttention(D, 4, batch_first=True)
        moe = {1: MixtralSparseMoeBlock, 3: MoELayer, 5: DeepseekMoE, 7: OlmoeSparseMoeBlock}.get(layer)
        self.mlp = moe(layer) if moe else nn.Sequential(nn.Linear(D, 2 * D), nn.GELU(), nn.Linear(2 * D, D))

    def forward(self, h, mask):
        a = self.ln1(h)
        h = h + self.attn(a, a, a, attn_mask=mask, need_weights=False)[0]
        out = self.mlp(self.ln2(h))
        return h + (out[0] if isinstance(out, tuple) else out)


class TinyMoE(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D)
        self.pos = nn.Parameter(torch.randn(SEQ, D) * 0.02)
        self.layers = nn.ModuleList(Block(i) for i in range(8))
        self.head = nn.Linear(D, VOCAB)

    def forward(self, tokens):
        mask = torch.triu(torch.full((tokens.shape[1], tokens.shape[1]), float("-inf"), device=tokens.device), 1)
        h = self.embed(tokens) + self.pos[: tokens.shape[1]]
        for blk in self.layers:
            h = blk(h, mask)
        return self.head(h)


def read_npy(path):
    """Parses a .npy written by the recorder (no numpy): returns (shape, flat list of ints)."""
    with open(path, "rb") as f:
        b = f.read()
    assert b[:8] == b"\x93NUMPY\x01\x00", b[:8]
    n = b[8] | b[9] << 8
    header = eval(b[10:10 + n].decode("latin1"), {"__builtins__": {}})   # a Python literal dict
    assert header["descr"] == "<i4" and header["fortran_order"] is False, header
    assert (10 + n) % 64 == 0
    shape = header["shape"]
    count = shape[0] * shape[1] * shape[2]
    data = struct.unpack("<%di" % count, b[10 + n:])
    return shape, list(data)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def main(out_dir, device):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = TinyMoE().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    text = torch.tensor([ord(c) % VOCAB for c in open(__file__).read()], dtype=torch.long)

    # the unit pieces first: the three counting methods agree
    idx = torch.randint(0, E, (1000, K))
    ref = torch.bincount(idx.reshape(-1), minlength=E)
    for m in ("bincount", "index_add", "sorted"):
        check(torch.equal(expert_counts(idx.to(device), E, m).cpu(), ref), "expert_counts " + m)

    # a slow disk must not stall the step: every chunk write takes 0.5 s in the background
    real_write = moecast_recorder._write_chunk

    def slow_write(*a):
        time.sleep(0.5)
        real_write(*a)

    moecast_recorder._write_chunk = slow_write

    rec = MoeRecorder(model, out_dir, chunk_steps=CHUNK, model_name="test_recorder.py TinyMoE (8 layers, MoE at 1,3,5,7, E=8, top-2)",
                      source="integrations/pytorch/test_recorder.py", extra_meta={"seq": SEQ, "batch": BATCH * MICRO})
    check(rec.moe_layer_indices == [1, 3, 5, 7], "found routers %s" % rec.router_names)
    check(rec.router_names == ["layers.1.mlp", "layers.3.mlp.router", "layers.5.mlp.gate", "layers.7.mlp.gate"],
          "router names %s" % rec.router_names)

    g = torch.Generator().manual_seed(1)
    step_times, losses = [], []
    for step in range(STEPS):
        STATE["step"] = step
        opt.zero_grad()
        for _ in range(MICRO):
            starts = torch.randint(0, len(text) - SEQ - 1, (BATCH,), generator=g)
            batch = torch.stack([text[s:s + SEQ + 1] for s in starts.tolist()]).to(device)
            logits = model(batch[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, VOCAB), batch[:, 1:].reshape(-1)) / MICRO
            loss.backward()
        opt.step()
        losses.append(loss.item() * MICRO)
        t0 = time.perf_counter()
        rec.step()
        step_times.append(time.perf_counter() - t0)
        if step == 10:   # an evaluation pass must not be counted
            STATE["record"] = False
            model.eval()
            with torch.no_grad():
                model(batch[:, :-1])
            model.train()
            STATE["record"] = True
    files = rec.close()
    moecast_recorder._write_chunk = real_write

    check(max(step_times) < 0.25, "rec.step() stalled for %.3f s (chunk writes take 0.5 s)" % max(step_times))
    expect = ["trace-%08d.npy" % s for s in (0, 16, 32)]
    check([os.path.basename(f) for f in files] == expect, "chunk files %s" % files)
    check(losses[-1] < losses[0], "the model trains (loss %.3f -> %.3f)" % (losses[0], losses[-1]))

    numpy = None
    try:
        import numpy   # only to cross-check the hand-written format; the recorder never needs it
    except ImportError:
        pass
    for f in files:
        first = int(os.path.basename(f)[6:14])
        shape, data = read_npy(f)
        rows = min(CHUNK, STEPS - first)
        check(shape == (rows, 4, E), "%s shape %s" % (f, shape))
        meta = json.load(open(f[:-4] + ".json"))
        for key, want in (("first_step", first), ("topk", K), ("moe_layer_indices", [1, 3, 5, 7]),
                          ("tokens_per_step", TOKENS_PER_STEP), ("experts", E), ("steps", rows)):
            check(meta.get(key) == want, "%s: %s is %r, expected %r" % (f, key, meta.get(key), want))
        check(meta["model"].startswith("test_recorder.py") and meta["source"].endswith("test_recorder.py"), meta)
        for r in range(rows):
            for li, layer in enumerate((1, 3, 5, 7)):
                got = data[(r * 4 + li) * E:(r * 4 + li + 1) * E]
                want = TRUTH[layer][first + r].tolist()
                check(got == want, "%s step %d layer %d: recorded %s, routed %s" % (f, first + r, layer, got, want))
                check(sum(got) == TOKENS_PER_STEP * K, "step %d layer %d sums to %d" % (first + r, layer, sum(got)))
        if numpy is not None:
            a = numpy.load(f)
            check(a.dtype == numpy.int32 and a.shape == shape and a.reshape(-1).tolist() == data, "numpy reads " + f)
    print(json.dumps({"ok": True, "files": files, "steps": STEPS, "layers": 4, "experts": E,
                      "tokens_per_step": TOKENS_PER_STEP, "topk": K, "loss_first": round(losses[0], 4),
                      "loss_last": round(losses[-1], 4), "max_step_seconds": round(max(step_times), 4),
                      "numpy_cross_check": numpy is not None, "torch": torch.__version__}))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    dev = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--device" else "cpu"
    os.makedirs(sys.argv[1], exist_ok=True)
    main(sys.argv[1], dev)

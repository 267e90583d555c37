"""Record expert loads (tokens per expert, per MoE layer, per step) from a PyTorch MoE model.

Writes moecast's trace format: ``.npy`` chunks of int32 counts shaped ``[steps, moe_layers, experts]``
plus a JSON sidecar each (keys ``model, tokens_per_step, topk, moe_layer_indices, source, first_step``),
every ``chunk_steps`` steps. ``moecast trace merge DIR/NAME-*.npy run.npy`` joins the chunks.

Dependencies: PyTorch and the Python standard library (no numpy; the .npy format is written by hand).

    from moecast_recorder import MoeRecorder
    rec = MoeRecorder(model, "runs/trace", topk=2)   # hooks every router found in the model
    for batch in loader:
        train_step(model, batch)                       # forward(s) + backward + optimizer step
        rec.step()                                     # closes this step's counts
    rec.close()                                        # flushes the last chunk

What is hooked (a forward hook; the router's output is read, never changed):
  * Hugging Face MoE blocks (Mixtral, Qwen2-MoE, OLMoE, ...: ``*SparseMoeBlock``) returning
    ``(hidden_states, router_logits)``, and routers returning logits or probabilities ``[tokens, E]``:
    the recorder takes the top-k of the last ``[..., E]`` float tensor (softmax keeps the order, so
    logits and probabilities give the same experts);
  * Megatron-core's ``TopKRouter``, returning ``(probs, routing_map)`` (a bool ``[tokens, E]`` map is
    counted directly) or, in older releases, ``(scores, indices)``;
  * any module returning top-k expert indices (an integer tensor ``[..., k]``, e.g. DeepSeek's ``MoEGate``
    returning ``(topk_idx, topk_weight, aux_loss)``).
Or pass the router modules yourself: ``MoeRecorder(model, out, routers=[m.gate for m in moe_blocks])``.

Counting stays on the model's device: ``torch.bincount`` of the chosen experts (on CUDA, ``index_add_``
into a fixed-size row instead: CUDA bincount reads the largest index back to the host to size its
output, a device sync on every router call), added into a device buffer ``[chunk_steps, layers, E]``.
Every ``chunk_steps`` steps the buffer is converted to int32 and copied to pinned host memory with a
non-blocking copy; a background thread waits for that copy and writes the files, so the training step
never waits for the device or the disk.

Data parallelism: each rank's routers see that rank's tokens only; record on one rank (a sample of
the step's tokens, with its own ``tokens_per_step``) or give every rank its own ``out_dir``.

Caveats: with activation checkpointing the routers run again during backward and would be counted twice
(pass ``routers=`` hooks on modules outside the checkpointed region, or disable recomputation of the
router); only forward passes of modules in training mode are counted unless ``training_only=False``
(for serving traces).
"""

import ctypes
import json
import os
import queue
import re
import sys
import threading
import time

import torch

__all__ = ["MoeRecorder", "expert_counts", "find_routers", "npy_header", "write_npy"]
__version__ = "1.0"

_ROUTER_CLASS = re.compile(r"(SparseMoeBlock|MoeBlock|MoEBlock|TopKRouter|Router|MoEGate|TopKGate)$")
_TOPK_ATTRS = ("top_k", "topk", "num_experts_per_tok", "router_topk", "moe_router_topk", "k")
_EXPERT_ATTRS = ("num_experts", "num_local_experts", "n_routed_experts", "num_moe_experts", "expert_count")


# ---------------------------------------------------------------------------------------------------
# The .npy format (numpy.lib.format, version 1.0), written without numpy.

def npy_header(descr, shape):
    """The bytes of a version-1.0 .npy header for a C-order array (data starts 64-byte aligned)."""
    dims = ", ".join(str(int(d)) for d in shape) + ("," if len(shape) == 1 else "")
    text = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    pad = (64 - (10 + len(text) + 1) % 64) % 64
    text = text + " " * pad + "\n"
    n = len(text)
    if n > 65535:
        raise ValueError("header too long for .npy version 1.0")
    return b"\x93NUMPY\x01\x00" + bytes((n & 0xFF, n >> 8)) + text.encode("latin1")


def write_npy(path, tensor):
    """Writes a CPU int32 tensor as .npy (atomically: a temporary file renamed into place)."""
    t = tensor.contiguous()
    if t.device.type != "cpu" or t.dtype != torch.int32:
        raise ValueError("write_npy expects a CPU int32 tensor")
    descr = ("<" if sys.byteorder == "little" else ">") + "i4"
    data = ctypes.string_at(t.data_ptr(), t.numel() * 4) if t.numel() else b""
    _atomic_write(path, npy_header(descr, tuple(t.shape)) + data)


def _atomic_write(path, data):
    tmp = "%s.%d.part" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _write_chunk(npy_path, json_path, counts, meta):
    """Writes one chunk (the background thread calls this; tests may wrap it)."""
    write_npy(npy_path, counts)
    _atomic_write(json_path, (json.dumps(meta, indent=2) + "\n").encode("utf-8"))


# ---------------------------------------------------------------------------------------------------

def _attr(module, names):
    for n in names:
        v = getattr(module, n, None)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    cfg = getattr(module, "config", None)
    if cfg is not None:
        for n in names:
            v = getattr(cfg, n, None)
            if isinstance(v, int) and not isinstance(v, bool) and v > 0:
                return v
    return None


def _layer_index(name):
    """Model-layer index from a module path: 'model.layers.3.block_sparse_moe' -> 3."""
    m = re.search(r"(?:^|\.)(\d+)(?:\.|$)", name)
    return int(m.group(1)) if m else None


def find_routers(model):
    """(name, module) of every router-like module, innermost when they nest, in module order."""
    found = [(n, m) for n, m in model.named_modules() if _ROUTER_CLASS.search(type(m).__name__)]
    names = [n for n, _ in found]
    return [(n, m) for n, m in found
            if not any(o != n and (o.startswith(n + ".") if n else True) for o in names)]


def expert_counts(idx, E, method="bincount"):
    """Tokens per expert (int64 [E]) from expert indices, on idx's device.

    ``bincount``: torch.bincount (the CPU path; it checks the indices); ``index_add``: adds ones into a
    fixed-size row (CUDA: no device-to-host sync, unlike CUDA bincount, which reads the largest index
    back to size its output); ``sorted``: sort + searchsorted (deterministic, also sync-free; used
    when torch.use_deterministic_algorithms(True) is on). All three give the same counts.
    """
    idx = idx.reshape(-1).to(torch.int64)
    if method == "bincount":
        c = torch.bincount(idx, minlength=E)
        if c.numel() > E:
            raise ValueError("expert index %d out of range for %d experts (check num_experts=)" % (c.numel() - 1, E))
        return c
    if method == "index_add":
        return torch.zeros(E, dtype=torch.int64, device=idx.device).index_add_(0, idx, torch.ones_like(idx))
    if method == "sorted":
        edges = torch.searchsorted(torch.sort(idx).values, torch.arange(E + 1, device=idx.device))
        return edges[1:] - edges[:-1]
    raise ValueError("unknown method " + method)


class MoeRecorder:
    """Forward hooks on a model's routers that record tokens per expert per step into trace chunks.

    Args:
      model: the model (routers are found by class name) or None when ``routers`` is given.
      out_dir: folder for the chunks ``NAME-<first step, 8 digits>.npy`` and ``.json``.
      topk: experts per token; default: the router's ``top_k``/``num_experts_per_tok``/... attribute.
      num_experts: experts per layer; needed only for routers that return bare indices and do not
        carry a ``num_experts``-like attribute.
      routers: modules to hook (or (name, module) pairs) instead of searching the model.
      chunk_steps: steps per chunk file (the device buffer holds this many steps).
      tokens_per_step: tokens per step before top-k; default: observed at the first step.
      model_name, source: metadata for the sidecar; ``extra_meta``: more sidecar keys.
      training_only: count only modules in training mode (skips eval passes); default True.
      first_step: step number of the first recorded step (e.g. when resuming).
    """

    def __init__(self, model, out_dir, topk=None, num_experts=None, routers=None, chunk_steps=500,
                 name="trace", tokens_per_step=None, model_name=None, source=None, extra_meta=None,
                 training_only=True, first_step=0):
        if routers is None:
            if model is None:
                raise ValueError("give a model or routers=")
            pairs = find_routers(model)
        else:
            named = {id(m): n for n, m in model.named_modules()} if model is not None else {}
            pairs = [r if isinstance(r, tuple) else (named.get(id(r), "router%d" % i), r)
                     for i, r in enumerate(routers)]
        if not pairs:
            raise ValueError("no router modules found: pass routers=[...] (modules returning router "
                             "logits, probabilities, a routing map or top-k expert indices)")
        if chunk_steps < 1:
            raise ValueError("chunk_steps must be >= 1")
        self.out_dir = out_dir
        self.name = name
        self.chunk_steps = int(chunk_steps)
        self.training_only = training_only
        self.router_names = [n for n, _ in pairs]
        idx = [_layer_index(n) for n in self.router_names]
        self.moe_layer_indices = idx if None not in idx and len(set(idx)) == len(idx) else list(range(len(pairs)))
        self.layers = len(pairs)
        self._topk = [topk or _attr(m, _TOPK_ATTRS) for _, m in pairs]
        self._experts = [num_experts or _attr(m, _EXPERT_ATTRS) for _, m in pairs]
        self.tokens_per_step = tokens_per_step
        self.meta = {
            "model": model_name or (type(model).__name__ if model is not None else "unknown"),
            "source": source or "moecast_recorder.py %s (PyTorch %s)" % (__version__, torch.__version__),
        }
        if extra_meta:
            self.meta.update(extra_meta)
        self.step_index = int(first_step)   # step number of the step being recorded now
        self._chunk_first = int(first_step)
        self._row = 0
        self._buf = None                     # device tensor [chunk_steps, layers, E], int64
        self._E = None
        self._k = None
        self._device = None
        self._queue = queue.Queue(maxsize=4)
        self._error = None
        self._closed = False
        self.files = []
        os.makedirs(out_dir, exist_ok=True)
        self._thread = threading.Thread(target=self._writer, name="moecast-recorder", daemon=True)
        self._thread.start()
        self._handles = [m.register_forward_hook(self._hook(i)) for i, (_, m) in enumerate(pairs)]

    # -- counting (runs inside the model's forward) --------------------------------------------

    def _hook(self, layer):
        def hook(module, inputs, output):
            if self._closed or (self.training_only and not module.training):
                return None
            self._count(layer, output)
            return None
        return hook

    def _count(self, layer, output):
        tensors = list(output) if isinstance(output, (tuple, list)) else [output]
        if hasattr(output, "router_logits") and getattr(output, "router_logits") is not None:
            tensors = [output.router_logits]
        tensors = [t for t in tensors if isinstance(t, torch.Tensor)]
        E = self._experts[layer]
        mask = next((t for t in tensors if t.dtype == torch.bool and t.dim() >= 1
                     and (E is None or t.shape[-1] == E)), None)
        ints = next((t for t in tensors if not t.dtype.is_floating_point and t.dtype != torch.bool), None)
        floats = [t for t in tensors if t.dtype.is_floating_point and t.dim() >= 1 and (E is None or t.shape[-1] == E)]
        if mask is not None:
            E = mask.shape[-1]
            if self._topk[layer] is None:
                raise ValueError("router %r returns a routing map: pass topk=" % self.router_names[layer])
            self._ensure(E, self._topk[layer], mask.device, layer)
            counts = mask.reshape(-1, E).sum(0)
        elif ints is not None:
            if E is None:
                raise ValueError("router %r returns expert indices: pass num_experts=" % self.router_names[layer])
            self._ensure(E, self._topk[layer] or (ints.shape[-1] if ints.dim() >= 1 else 1), ints.device, layer)
            counts = self._bincount(ints.reshape(-1), E)
        elif floats:
            logits = floats[-1]   # HF blocks return (hidden_states, router_logits): the last one
            E = logits.shape[-1]
            k = self._topk[layer]
            if k is None:
                raise ValueError("router %r returns logits: pass topk=" % self.router_names[layer])
            self._ensure(E, k, logits.device, layer)
            with torch.no_grad():
                chosen = torch.topk(logits.detach().reshape(-1, E), k, dim=-1).indices
            counts = self._bincount(chosen.reshape(-1), E)
        else:
            raise ValueError("router %r returned no logits, routing map or expert indices" % self.router_names[layer])
        if counts.device != self._buf.device:   # pipeline stages on other devices
            counts = counts.to(self._buf.device, non_blocking=True)
        self._buf[self._row, layer].add_(counts)

    def _bincount(self, idx, E):
        idx = idx.detach()
        if idx.device.type == "cpu":
            method = "bincount"
        elif torch.are_deterministic_algorithms_enabled():
            method = "sorted"
        else:
            method = "index_add"
        return expert_counts(idx, E, method)

    def _ensure(self, E, k, device, layer):
        if self._buf is None:
            self._E, self._k, self._device = int(E), int(k), device
            self._buf = torch.zeros((self.chunk_steps, self.layers, self._E), dtype=torch.int64, device=device)
            return
        if E != self._E:
            raise ValueError("router %r has %d experts, the others %d: a trace needs one expert count"
                             % (self.router_names[layer], E, self._E))

    # -- steps and chunks --------------------------------------------------------------------------

    def step(self):
        """Ends the current training step (call once per optimizer step, after its forward passes)."""
        self._check()
        if self._buf is None:
            return   # nothing routed yet (e.g. a step skipped by the loss scaler before any forward)
        self._row += 1
        self.step_index += 1
        if self._row == self.chunk_steps:
            self._flush()

    def _flush(self):
        n = self._row
        if n == 0 or self._buf is None:
            return
        dev = self._buf[:n].to(torch.int32)
        if dev.device.type == "cuda":
            host = torch.empty(dev.shape, dtype=torch.int32, pin_memory=True)
            host.copy_(dev, non_blocking=True)
            done = torch.cuda.Event()
            done.record(torch.cuda.current_stream(dev.device))
        else:
            host = dev   # .to(int32) made a copy already
            done = None
        self._buf.zero_()   # stream-ordered after the copy on CUDA
        first = self._chunk_first
        self._chunk_first += n
        self._row = 0
        self._queue.put((first, host, done))

    def _writer(self):
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                first, host, done = item
                if done is not None:
                    done.synchronize()
                self._write(first, host)
            except BaseException as e:   # reported to the training thread at the next step()/close()
                self._error = e
            finally:
                self._queue.task_done()

    def _write(self, first, host):
        if self.tokens_per_step is None:
            self.tokens_per_step = int(host[0, 0].sum().item()) // self._k
        meta = dict(self.meta)
        meta.update({
            "tokens_per_step": self.tokens_per_step,
            "topk": self._k,
            "moe_layer_indices": self.moe_layer_indices,
            "first_step": first,
            "steps": int(host.shape[0]),
            "experts": self._E,
            "routers": self.router_names,
            "shape": "[steps, moe_layers, experts]",
            "counts": "tokens routed per expert per step, each of the top-k slots counted",
        })
        base = os.path.join(self.out_dir, "%s-%08d" % (self.name, first))
        _write_chunk(base + ".npy", base + ".json", host, meta)
        self.files.append(base + ".npy")

    def _check(self):
        if self._error is not None:
            e, self._error = self._error, None
            raise RuntimeError("moecast recorder: writing a chunk failed: %r" % (e,)) from e

    def flush(self):
        """Writes the steps recorded so far as a chunk and waits until every chunk is on disk."""
        self._flush()
        self._queue.join()
        self._check()

    def close(self):
        """Flushes the last chunk, waits for the writer and removes the hooks. Returns the chunk files."""
        if self._closed:
            return list(self.files)
        try:
            self.flush()
        finally:
            self._closed = True
            for h in self._handles:
                h.remove()
            self._queue.put(None)
            self._thread.join()
        return list(self.files)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

"""Counting a user's own nn.Module at the op level, so functional code counts too.

One forward pass (no grad) runs under a ``TorchDispatchMode`` that sees every aten op,
while global module hooks keep the stack of modules running: each op is attributed to
the innermost module that ran it. Mult-adds come from PyTorch's own formulas
(``torch.utils.flop_counter.flop_registry``: convolution, mm, addmm, bmm, baddbmm,
attention), which count FLOPs, two per multiply-accumulate: archprof halves them, so the
convention is the paper's (``F.conv2d``, ``x @ w``, ``torch.einsum`` and ``F.linear``
count; batch norm, activations, pooling, adds do not). Every other op that does
arithmetic is listed with its call count (``uncounted``), never silently zero; ops that
only move or view data are not arithmetic.

Rows: every leaf module that ran (``Conv2d``, ``BatchNorm2d``, ``ReLU``, …), and, for a
module whose own ``forward`` ran ops between its children (``out + identity``,
``torch.cat``), a row ``<path>/forward`` for those ops. Paths are module names with
``/`` for ``.``; parameters are counted once where they are owned (shared weights once).
Memory by liveness works on the storages the ops really read and write.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import pandas as pd

OWN = "forward"  # the rows of the ops a module runs itself, between its children: forward, forward2, …
_OWN_ROW = re.compile(rf"(^|\.){OWN}[0-9]*$")

# Ops that allocate, view, copy or arrange data without arithmetic (by overload packet name).
MOVES = frozenset(
    [
        "view",
        "_unsafe_view",
        "reshape",
        "t",
        "transpose",
        "permute",
        "unsqueeze",
        "squeeze",
        "select",
        "slice",
        "expand",
        "expand_as",
        "narrow",
        "alias",
        "detach",
        "clone",
        "contiguous",
        "flatten",
        "unflatten",
        "as_strided",
        "split",
        "split_with_sizes",
        "chunk",
        "unbind",
        "cat",
        "stack",
        "empty",
        "empty_like",
        "empty_strided",
        "zeros",
        "zeros_like",
        "ones",
        "ones_like",
        "full",
        "full_like",
        "new_empty",
        "new_zeros",
        "new_ones",
        "copy_",
        "_to_copy",
        "to",
        "lift_fresh",
        "index",
        "select_scatter",
        "slice_scatter",
        "pad",
        "constant_pad_nd",
        "reflection_pad2d",
        "replication_pad2d",
        "dropout",
        "native_dropout",
        "feature_dropout",
        "alpha_dropout",
        "repeat",
        "tile",
        "roll",
        "flip",
        "channel_shuffle",
        "pixel_shuffle",
        "pixel_unshuffle",
        "_reshape_alias",
        "index_select",
        "gather",
        "masked_fill",
        "fill_",
        "_local_scalar_dense",
        "item",
        "uniform_",
        "normal_",
        "random_",
        "bernoulli_",
        "zero_",
        "embedding",
        "lift",
        "lift_fresh_copy",
    ]
)


def _key(t) -> int:
    return t.untyped_storage().data_ptr()


def _nbytes(t) -> int:
    return t.untyped_storage().nbytes()


@dataclass
class _Event:
    op: str
    module: str  # innermost module's dotted name ("" for the root)
    reads: list[int] = field(default_factory=list)  # storage keys of activation tensors read
    writes: list[tuple[int, int]] = field(default_factory=list)  # (storage key, bytes) newly written
    mult_adds: int = 0
    weights: list = field(default_factory=list)  # parameters used as a counted op's weight
    biases: list = field(default_factory=list)  # … and as its bias
    in_shape: tuple | None = None
    out_shape: tuple | None = None
    arithmetic: bool = False
    conv: dict | None = None  # kernel, stride, padding, groups of a convolution


def _tensors(obj) -> list:
    import torch
    from torch.utils._pytree import tree_flatten

    return [t for t in tree_flatten(obj)[0] if isinstance(t, torch.Tensor)]


def trace(model, x) -> dict:
    """Run ``model(x)`` once and record every op with the module that ran it, and every module call."""
    import torch
    from torch.nn.modules import module as module_mod
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    names = {id(m): n for n, m in model.named_modules()}
    params = {_key(p): p for p in model.parameters()}
    buffers = {_key(b) for b in model.buffers()}
    stack: list[str] = []
    calls: dict[str, dict] = {}  # dotted name -> first call: order, input, output
    events: list[_Event] = []
    # A storage's address is reused once it is freed, so a tensor is known by a generation: an op's output
    # that shares an input's address is that input (a view, an in-place op); any other output is new.
    current: dict[int, int] = {_key(x): 0}
    generations = itertools.count(1)

    def pre(module, args):
        name = names.get(id(module))
        stack.append(name if name is not None else (stack[-1] if stack else ""))
        if name is not None and name not in calls:
            ins = _tensors(args)
            calls[name] = {
                "order": len(events),
                "call": len(calls),
                "input": tuple(ins[0].shape) if ins else None,
            }

    def post(module, args, output):
        name = stack.pop()
        outs = _tensors(output)
        if name in calls and "output" not in calls[name]:
            calls[name]["output"] = tuple(outs[0].shape) if outs else None

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            packet = func.overloadpacket
            name = packet.__name__
            ev = _Event(name, stack[-1] if stack else "", arithmetic=name not in MOVES)
            inputs = set()
            for t in _tensors((args, kwargs)):
                k = _key(t)
                inputs.add(k)
                if k not in params and k not in buffers and k in current:
                    ev.reads.append(current[k])
            for t in _tensors(out):
                k = _key(t)
                if k in inputs or k in params or k in buffers:
                    continue
                current[k] = generation = next(generations)
                ev.writes.append((generation, _nbytes(t)))
            if packet in flop_registry:
                ev.mult_adds = int(flop_registry[packet](*args, **kwargs, out_val=out)) // 2
                weight = args[1] if len(args) > 1 and isinstance(args[1], torch.Tensor) else None
                # addmm(bias, input, weightᵀ): the weight is the third argument
                if name == "addmm" and len(args) > 2:
                    weight = args[2]
                if weight is not None and _key(weight) in params:
                    ev.weights.append(params[_key(weight)])
                bias = (
                    args[2]
                    if name in ("convolution", "_convolution") and len(args) > 2
                    else args[0]
                    if name in ("addmm", "baddbmm")
                    else None
                )
                if isinstance(bias, torch.Tensor) and _key(bias) in params:
                    ev.biases.append(params[_key(bias)])
                if name in ("convolution", "_convolution"):
                    ev.conv = {
                        "kernel": list(args[1].shape[2:]),
                        "stride": list(args[3]),
                        "padding": list(args[4]),
                        "groups": int(args[8]),
                        "in_c": int(args[0].shape[1]),
                    }
            outs, ins = _tensors(out), _tensors(args)
            ev.out_shape = tuple(outs[0].shape) if outs else None
            ev.in_shape = tuple(ins[0].shape) if ins else None
            events.append(ev)
            return out

    handles = [
        module_mod.register_module_forward_pre_hook(pre),
        module_mod.register_module_forward_hook(post),
    ]
    try:
        with torch.no_grad(), Mode():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return {
        "events": events,
        "calls": calls,
        "output": tuple(_tensors(out)[0].shape) if _tensors(out) else None,
        "input_key": 0,
        "input_bytes": _nbytes(x),
    }


def _chw(shape, channels_first: bool = False) -> tuple[int, int, int]:
    """A tensor shape without its batch dimension, as (C, H, W): (N, F) → (F, 1, 1); (N, L, F) → (F, L, 1),
    as linear layers and attention hold it, or (N, C, L) → (C, L, 1) for convolutions, pools and norms."""
    if not shape:
        return (0, 0, 0)
    rest = list(shape[1:])
    if channels_first and len(rest) == 2:
        return (rest[0], rest[1], 1)
    if len(rest) >= 3:
        c, h, w = rest[0], rest[1], 1
        for d in rest[2:]:
            w *= d
        return (c, h, w)
    if len(rest) == 2:
        return (rest[1], rest[0], 1)
    return (rest[0] if rest else 1, 1, 1)


def _group(ev: _Event | None, kind: str) -> str:
    if ev is None:
        return kind
    if ev.conv:
        k = "×".join(map(str, ev.conv["kernel"]))
        depthwise = ev.conv["groups"] > 1 and ev.conv["groups"] == ev.conv["in_c"]
        return f"Conv DW {k}" if depthwise else f"Conv {k}"
    if ev.op in ("mm", "addmm"):
        return "FC"
    if ev.op in ("bmm", "baddbmm"):
        return "MatMul"
    return "Attention" if "attention" in ev.op else ev.op


def _live(events: list[_Event], input_key: int, input_bytes: int) -> list[int]:
    """Bytes of activation storages alive at each op (written ≤ step ≤ last read), as memory.py defines."""
    start: dict[int, int] = {input_key: 0}
    size: dict[int, int] = {input_key: input_bytes}
    last: dict[int, int] = {input_key: 0}
    for i, ev in enumerate(events):
        for k in ev.reads:
            if k in start:
                last[k] = i
        for k, n in ev.writes:
            start[k], size[k], last[k] = i, n, i
    delta = [0] * (len(events) + 2)
    for k, s in start.items():
        delta[s] += size[k]
        delta[last[k] + 1] -= size[k]
    out, live = [], 0
    for i in range(len(events)):
        live += delta[i]
        out.append(live)
    return out


ELEMENT_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


def _numel(shape) -> int:
    n = 1
    for d in shape or ():
        n *= d
    return n


def rows(model, traced: dict, model_key: str, resolution: int, dtype: str = "float32", batch: int = 1):
    """(leaf rows as archprof's DataFrame, the tree: every row and block in execution order, uncounted op counts).

    The trace is of one image in float32; bytes scale to ``dtype`` and ``batch``, counts do not.
    """
    from .costs import LAYER_COLUMNS
    from .spec import Block, ResolvedLayer, Shape

    events, calls = traced["events"], traced["calls"]
    modules = dict(model.named_modules())
    scale = batch * ELEMENT_BYTES[dtype] / 4
    children = {
        n: [c for c in calls if c != n and (c.rpartition(".")[0] == n if n else "." not in c)] for n in calls
    }
    live = _live(events, traced["input_key"], traced["input_bytes"])
    # A module's own ops come in runs between its children's calls; each run is a row (forward, forward2, …),
    # and so is each counted op (a functional conv) within a run, so that every conv has a row of its own.
    by_row: dict[str, list[int]] = {}
    segments: dict[str, int] = {}
    for i, ev in enumerate(events):
        own = bool(children.get(ev.module)) or ev.module == ""
        if not own:
            by_row.setdefault(ev.module, []).append(i)
            continue
        base = f"{ev.module}.{OWN}" if ev.module else OWN
        n = segments.get(ev.module, 0)
        row = base if n <= 1 else f"{base}{n}"
        previous = events[i - 1] if i else None
        continues = n and previous is not None and previous.module == ev.module and not ev.mult_adds
        if not continues:
            n = segments[ev.module] = n + 1
            row = base if n == 1 else f"{base}{n}"
        by_row.setdefault(row, []).append(i)
    for name in calls:  # leaf modules that ran no op (Identity, Dropout in eval)
        if name and not children.get(name) and name not in by_row:
            by_row[name] = []

    owned: set[int] = set()
    used_weights: set[int] = set()
    # first, the parameters that a module's own functional ops use belong to the row of those ops
    claimed: dict[str, list] = {}
    for row, idx in by_row.items():
        if _OWN_ROW.search(row):
            for p in (p for i in idx if events[i].mult_adds for p in events[i].weights + events[i].biases):
                if id(p) not in owned:
                    owned.add(id(p))
                    claimed.setdefault(row, []).append(p)
    records: list[dict] = []
    # (sort key, path, the block or None for a leaf row, input shape, output shape)
    tree: list[tuple[tuple[float, float], str, Block | None, Shape, Shape]] = []
    for row, idx in by_row.items():
        own = bool(_OWN_ROW.search(row))
        mod_name = row.rpartition(".")[0] if own else row
        module = modules.get(mod_name)
        call = calls.get(mod_name, {"order": 0, "call": 0})
        evs = [events[i] for i in idx]
        counted = [e for e in evs if e.mult_adds]
        first = next((e for e in counted if e.conv), counted[0] if counted else None)
        params = frozen = bn_stats = weight_bytes = paper = 0
        # a module's own row has the parameters its functional ops used; its other ones go to its first row
        first_own = own and row == (f"{mod_name}.{OWN}" if mod_name else OWN)
        mine = list(claimed.get(row, []))
        if not own or first_own:
            for p in module.parameters(recurse=False) if module is not None else ():
                if (
                    id(p) not in owned
                ):  # a weight shared by two modules is counted once, where it is met first
                    owned.add(id(p))
                    mine.append(p)
        for p in mine:
            params += p.numel()
            frozen += 0 if p.requires_grad else p.numel()
            weight_bytes += p.numel() * p.element_size()
        for bname, b in (
            module.named_buffers(recurse=False) if module is not None and (not own or first_own) else ()
        ):
            weight_bytes += b.numel() * b.element_size()
            bn_stats += b.numel() if bname in ("running_mean", "running_var") else 0
        for w in (w for e in counted for w in e.weights):
            if id(w) not in used_weights:
                used_weights.add(id(w))
                paper += w.numel()
        first_dim = module is not None and type(module).__name__.endswith(("1d", "2d", "3d"))
        lead = first or (
            evs[0] if evs else None
        )  # a run of own ops: the input of its conv, else of its first op
        in_shape = (
            _chw(call.get("input"), first_dim)
            if not own
            else _chw(lead.in_shape, bool(lead.conv))
            if lead is not None and lead.in_shape
            else (0, 0, 0)
        )
        # a run of own ops with a conv or FC in it is that layer (its output, as a spec's conv row); else its last op's
        tail = first or (evs[-1] if evs else None)
        out_shape = (
            _chw(call.get("output"), first_dim)
            if not own
            else _chw(tail.out_shape, bool(tail.conv))
            if tail is not None and tail.out_shape
            else (0, 0, 0)
        )
        kind = OWN if own else type(module).__name__
        path = row.replace(".", "/")
        conv = first.conv if first else None
        records.append(
            {
                "model": model_key,
                "variant": "module",
                "alpha": 1.0,
                "resolution": resolution,
                "dtype": dtype,
                "batch": batch,
                "path": path,
                "name": path.rpartition("/")[2],
                "parent": path.rpartition("/")[0],
                "depth": path.count("/"),
                "kind": kind,
                "group": _group(first, "Functional ops" if own else kind),
                "role": "",
                "filter": (
                    ", ".join(dict.fromkeys(e.op for e in evs))
                    if own
                    else module.extra_repr()
                    if module is not None
                    else ""
                ),
                "stride": conv["stride"][0] if conv else 1,
                "line": None,
                "kernel": conv["kernel"] if conv else None,
                "groups": conv["groups"] if conv else 1,
                "padding": [conv["padding"][0]] * 2 + [conv["padding"][-1]] * 2 if conv else [0, 0, 0, 0],
                "in_c": in_shape[0],
                "in_h": in_shape[1],
                "in_w": in_shape[2],
                "out_c": out_shape[0],
                "out_h": out_shape[1],
                "out_w": out_shape[2],
                "params": params,
                "paper_params": paper,
                "non_trainable_params": bn_stats + frozen,
                "frozen_params": frozen,
                "mult_adds": sum(e.mult_adds for e in evs),
                "weight_bytes": weight_bytes,
                "input_bytes": int(0 if own else _numel(call.get("input")) * 4 * scale),
                "activation_bytes": int(sum(n for e in evs for _, n in e.writes) * scale),
                "live_bytes": int(max((live[i] for i in idx), default=0) * scale),
                "latency_ms": float("nan"),
            }
        )
        # a module's own ops sort after its call; a leaf at its first op (or its call, if it ran none)
        key = (idx[0], call["call"] + (0.5 if own else 0)) if idx else (call["order"], call["call"])
        tree.append((key, path, None, in_shape, out_shape))
    # parameters of modules whose forward never ran (an unused layer, a branch not taken, a fused fast path,
    # a scripted submodule): counted all the same, in a row that says so, so that params = sum(p.numel())
    blocks_ran = {n for n in calls if n and children.get(n)}
    for name, module in modules.items():
        own_params = [p for p in module.parameters(recurse=False) if id(p) not in owned]
        if not own_params:
            continue
        for p in own_params:
            owned.add(id(p))
        path = name.replace(".", "/") or OWN
        if name in blocks_ran or not name:
            path = f"{path}/{OWN}" if name else OWN
        n_params = sum(p.numel() for p in own_params)
        frozen = sum(p.numel() for p in own_params if not p.requires_grad)
        existing = next((r for r in records if r["path"] == path), None)
        if existing is not None:
            existing["params"] += n_params
            existing["frozen_params"] += frozen
            existing["non_trainable_params"] += frozen
            existing["weight_bytes"] += sum(p.numel() * p.element_size() for p in own_params)
            continue
        records.append(
            {
                **dict.fromkeys(LAYER_COLUMNS),
                "model": model_key,
                "variant": "module",
                "alpha": 1.0,
                "resolution": resolution,
                "dtype": dtype,
                "batch": batch,
                "path": path,
                "name": path.rpartition("/")[2],
                "parent": path.rpartition("/")[0],
                "depth": path.count("/"),
                "kind": type(module).__name__,
                "group": "not run",
                "role": "",
                "filter": "did not run in the forward pass",
                "stride": 1,
                "groups": 1,
                "padding": [0, 0, 0, 0],
                "in_c": 0,
                "in_h": 0,
                "in_w": 0,
                "out_c": 0,
                "out_h": 0,
                "out_w": 0,
                "params": n_params,
                "paper_params": 0,
                "non_trainable_params": frozen,
                "frozen_params": frozen,
                "mult_adds": 0,
                "weight_bytes": sum(p.numel() * p.element_size() for p in own_params),
                "input_bytes": 0,
                "activation_bytes": 0,
                "live_bytes": 0,
                "latency_ms": float("nan"),
            }
        )
        tree.append(((len(events) + 1, len(calls) + len(tree)), path, None, (0, 0, 0), (0, 0, 0)))
    for name, info in calls.items():
        if name and children.get(name):
            path = name.replace(".", "/")
            block = Block("seq", (), kind=type(modules[name]).__name__, name=path.rpartition("/")[2])
            tree.append(
                (
                    (info["order"], info["call"]),
                    path,
                    block,
                    _chw(info.get("input")),
                    _chw(info.get("output")),
                )
            )
    tree.sort(key=lambda t: t[0])
    order = {path: i for i, (_, path, block, _, _) in enumerate(tree) if block is None}
    records.sort(key=lambda r: order[r["path"]])
    for i, r in enumerate(records, 1):
        r["index"] = i
    index = {r["path"]: r["index"] for r in records}
    resolved = tuple(
        ResolvedLayer(
            index.get(path, 0),
            path.rpartition("/")[2],
            block,
            i_s,
            o_s,
            path,
            path.rpartition("/")[0],
            path.count("/"),
        )
        for _, path, block, i_s, o_s in tree
    )
    uncounted: dict[str, int] = {}
    for ev in events:
        if ev.arithmetic and not ev.mult_adds:
            uncounted[ev.op] = uncounted.get(ev.op, 0) + 1
    frame = pd.DataFrame(records, columns=LAYER_COLUMNS)
    return frame, resolved, dict(sorted(uncounted.items(), key=lambda kv: -kv[1]))

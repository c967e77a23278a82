"""The ONNX Runtime backend: the built model exported to ONNX (offline), run by ORT's CPU provider.

Export: ``torch.onnx.export`` with the TorchScript exporter (``dynamo=False``), in eval
mode, at the measuring batch, into memory. Its node names carry the module path of the
row that made them (``/conv2_x/unit1/main/conv1/conv1.2/Relu``; ``_scope``). ORT then
optimises the graph (level ALL: batch norm folded into the conv, the activation fused,
NCHWc layout), and every optimised node that the profiler times is traced back to the
original nodes it runs (``_assign``): a conv + BN + ReLU of one row stays that row. A node
that runs several rows (ResNet's conv fused with the residual add and ReLU after it) is
reported as such: its time is the first row's and the row notes name the span ("fused:
conv2 + add"); the absorbed rows get no time of their own, never a made-up share. What
maps to no row (ORT's layout reorders between blocked and plain tensors) is counted as
unattributed time.

Timing: end to end, ``session.run`` on a session without profiling (the caller's timer,
as for torch); per row, a second session with ORT's profiler on, whose per-node kernel
times are summed per row and per run. Threads: ``intra_op_num_threads`` = the measuring
threads (default 1), ``inter_op_num_threads`` = 1, sequential execution.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError

INSTALL = "pip install 'archprof[onnx]'"
NOTHING_RUNS = ("Identity", "Dropout")  # ops the optimiser removes: a row made of them runs nothing


def available() -> bool:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxRuntimeCPU:
    name = "onnxruntime"

    def prepare(self, spec, opts) -> OrtRunner:
        if not available():
            raise ConfigError(f"--backend onnxruntime needs onnxruntime and onnx: {INSTALL}")
        if opts.device != "cpu":
            raise ConfigError(
                "--backend onnxruntime runs on the CPU here; use --device cpu (or the torch backend)"
            )
        if opts.dtype != "float32":
            raise ConfigError(f"--backend onnxruntime measures float32 models; got --dtype {opts.dtype}")
        if opts.channels_last:
            raise ConfigError("--channels-last is a torch option; ONNX Runtime picks its own layout (NCHWc)")
        model, x, rows = _built(spec, opts.batch)
        return OrtRunner(_export(model, x), x.numpy(), rows, opts.threads)


def _built(spec, batch: int) -> tuple:
    import copy

    import torch

    from ..build import build_model, example_input
    from ..spec import ModuleModel

    if isinstance(spec, ModuleModel):
        if spec.module is None:
            raise ConfigError(f"{spec.key}: no module to export")
        model = copy.deepcopy(spec.module).float().eval()
        x = torch.randn(batch, *spec.input_dims)
        rows = [r.path for r in spec.tree if not r.is_block]
    else:
        from ..shapes import resolve

        model = build_model(spec)
        x = example_input(spec, batch)
        rows = [r.path for r in resolve(spec)]
    return model, x, rows


def _export(model, x) -> bytes:
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            model,
            (x,),
            buf,  # type: ignore[arg-type]  # a file-like object: the TorchScript exporter writes to it
            dynamo=False,
            input_names=["input"],
            output_names=["output"],
            opset_version=17,
        )
    return buf.getvalue()


def _session(
    model: bytes, threads: int, profile_prefix: str | None = None, optimized: str | None = None
) -> Any:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3  # errors only: ORT's warnings go to fd 2, past Python
    if profile_prefix:
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    if optimized:
        so.optimized_model_filepath = optimized
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


class OrtRunner:
    def __init__(self, model: bytes, x: Any, rows: list[str], threads: int) -> None:
        self.model, self.x, self.rows, self.threads = model, x, rows, threads
        self.session = _session(model, threads)
        self.feed = {self.session.get_inputs()[0].name: x}
        self.row_notes: dict[str, str] = {}  # row path -> "fused: a + b" / "fused into a" / "runs nothing"
        self.unattributed_ms: list[float] = []  # per profiled run: time of nodes that map to no row

    def environment(self) -> dict:
        import onnx
        import onnxruntime as ort

        return {
            "onnxruntime": ort.__version__,
            "onnx": onnx.__version__,
            "ort_intra_op_threads": self.threads,
            "ort_inter_op_threads": 1,
            "ort_optimization": "all (BN folded, activations fused, NCHWc)",
            "exporter": "torch.onnx.export (TorchScript, dynamo=False), opset 17",
        }

    def forward(self) -> None:
        self.session.run(None, self.feed)

    def outputs(self) -> list:
        """One forward pass's outputs (the check that the export is the same network as torch's)."""
        return self.session.run(None, self.feed)

    def per_row(self, timer: Callable, run_time: float) -> tuple[list[float], dict[str, list[float]]]:
        import time

        with tempfile.TemporaryDirectory(prefix="archprof-ort-") as tmp:
            optimized = os.path.join(tmp, "optimized.onnx")
            session = _session(self.model, self.threads, os.path.join(tmp, "profile"), optimized)
            feed = {session.get_inputs()[0].name: self.x}
            for _ in range(3):  # warm-up, as the end-to-end timing had
                session.run(None, feed)
            start = time.perf_counter()
            runs = 0
            while runs < 5 or time.perf_counter() - start < run_time:
                session.run(None, feed)
                runs += 1
            with open(session.end_profiling(), encoding="utf-8") as f:
                events = json.load(f)
            written = _outputs_of(optimized)
        e2e, nodes = _parse_profile(events, runs + 3)
        e2e = e2e[3:]
        nodes = {name: times[3:] for name, times in nodes.items()}
        ops = {
            e["name"][: -len("_kernel_time")]: e.get("args", {}).get("op_name", "")
            for e in events
            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")
        }
        assign, notes = _assign(self._original_graph(), list(nodes), self.rows, written, ops)
        self.row_notes = notes
        times = {}
        for row in self.rows:
            names = [n for n, r in assign.items() if r == row]
            if names:
                times[row] = [sum(nodes[n][i] for n in names) for i in range(len(e2e))]
        orphans = [n for n, r in assign.items() if r is None]
        self.unattributed_ms = [sum(nodes[n][i] for n in orphans) for i in range(len(e2e))]
        return e2e, times

    def isolated(self, timer: Callable, run_time: float, tick: Callable) -> dict[str, list[float]]:
        return {}  # ORT runs a whole graph; a row alone would be a different graph

    def memory(self) -> tuple[int | None, dict[str, int]]:
        return None, {}

    def _original_graph(self) -> Any:
        import onnx

        return onnx.load_model_from_string(self.model).graph


def _outputs_of(path: str) -> dict[str, list[str]]:
    """{node name: the tensors it writes} of the optimised graph ORT saved (empty if it could not save it)."""
    import onnx

    try:
        graph = onnx.load(path, load_external_data=False).graph
    except Exception:  # not saved, or not readable: nodes then map by their names only
        return {}
    return {node.name: list(node.output) for node in graph.node}


def _parse_profile(events: list, runs: int) -> tuple[list[float], dict[str, list[float]]]:
    """ORT's profile: end-to-end (``model_run``) and per-node kernel times, in ms, one entry per run."""
    e2e = [e["dur"] / 1e3 for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    nodes: dict[str, list[float]] = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            nodes.setdefault(e["name"][: -len("_kernel_time")], []).append(e["dur"] / 1e3)
    n = len(e2e)
    # a node that did not run in every pass (none should) cannot be lined up with the runs: left out, not guessed
    return e2e, {k: v for k, v in nodes.items() if len(v) == n}


def _scope(name: str) -> str:
    """The module path an exported name carries, as a row path: ``/0/0.0/0.0.0/Conv`` → ``0/0/0``.

    The TorchScript exporter prefixes a node's name with the scope of every module it sits in, one segment
    per module: its attribute name, or for a numbered child its parent's segment and the number
    (``/conv2_x/unit1/main/conv1/conv1.2/Relu``). The last segment is the op or tensor.
    """
    parts: list[str] = []
    previous = None
    for seg in name.removeprefix("fused ").lstrip("/").split("/")[:-1]:
        parts.append(seg[len(previous) + 1 :] if previous and seg.startswith(previous + ".") else seg)
        previous = seg
    return "/".join(parts)


class _Rows:
    """Rows by the scopes of exported names: the deepest row whose path prefixes the scope, else the one row of
    the scope's own ops (a model file's ``forward`` row), else none."""

    def __init__(self, rows: list[str]):
        self.by_depth = sorted(rows, key=lambda r: (-r.count("/"), -len(r)))
        own: dict[str, list[str]] = {}
        for r in rows:
            parent, _, leaf = r.rpartition("/")
            if leaf.startswith("forward"):
                own.setdefault(parent, []).append(r)
        self.own = {
            parent: rs[0] for parent, rs in own.items() if len(rs) == 1
        }  # several: which one is unknown

    def __call__(self, name: str) -> str | None:
        scope = _scope(name)
        for row in self.by_depth:
            if scope == row or scope.startswith(row + "/"):
                return row
        return self.own.get(scope)


HEADS = {"FusedConv": ("Conv",), "Gemm": ("Gemm", "MatMul"), "FusedGemm": ("Gemm", "MatMul")}
# ops ORT fuses into the conv or GEMM before them (batch norm, activations, a residual add)
FUSED_AFTER = {
    "BatchNormalization",
    "Relu",
    "Clip",
    "LeakyRelu",
    "Sigmoid",
    "HardSigmoid",
    "Tanh",
    "Add",
    "Sum",
}


def _assign(
    graph,
    node_names: list[str],
    rows: list[str],
    written: dict[str, list[str]] | None = None,
    ops: dict[str, str] | None = None,
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each profiled node's row (``node_names`` in ORT's execution order), and the notes of rows that share a
    node or run nothing.

    ORT fuses an op into the node of its producer: batch norm and the activation into a conv, a residual add
    and its ReLU into one of the convs it adds. So a profiled node runs a chain of original nodes: a head (of
    its own op type: a Conv for a Conv) and what was fused after it. Its name anchors it to one original node
    of that chain: the one of the same name, the one that wrote the tensor it is named after
    (``…/conv1.2/Relu_output_0_nchwc``: the chain's last ReLU; its head is found by walking back to a node of
    the profiled node's op type), or else the one that wrote a tensor it writes (``written``: the optimised
    graph; a layout reorder back to a row's tensor). A batch norm, activation or add that no chain holds was
    fused into the node running one of its producers: the one ORT runs last (a fused op can only run once all
    its inputs exist); other original nodes no chain holds (shape arithmetic) were folded away. A node's time goes to the first row (in execution order) among the rows of the original nodes it
    runs; when those are several rows, the notes say so on each ("fused: a + b", "fused into a"), and the
    time is never split.
    """
    row_of = _Rows(rows)
    written, ops = written or {}, ops or {}
    by_name = {node.name: node for node in graph.node}
    producers = {out: node for node in graph.node for out in node.output}
    order = {n: i for i, n in enumerate(node_names)}

    def anchor(name: str):
        plain = name.removeprefix("fused ")
        if plain in by_name:
            return by_name[plain]
        if plain.removesuffix("_nchwc") in producers:
            return producers[plain.removesuffix("_nchwc")]
        return next((producers[t] for t in written.get(name, []) if t in producers), None)

    runs: dict[str, str] = {}  # original node name -> the profiled node that runs it
    for n in node_names:
        node = anchor(n)
        if node is None or node.name in runs:
            continue
        chain = [node]
        heads = HEADS.get(ops.get(n, ""), (ops.get(n, ""),))
        while chain[-1].op_type not in heads and len(chain) < 6:  # from the chain's tail back to its head
            inputs = [producers[t] for t in chain[-1].input[:1] if t in producers]
            if not inputs or inputs[0].name in runs:
                chain = chain[:1]  # no head of that type behind it: the anchor alone
                break
            chain.append(inputs[0])
        else:
            if chain[-1].op_type not in heads:
                chain = chain[:1]
        for member in chain:
            runs[member.name] = n
    for node in graph.node:  # in the graph's (topological) order: a producer is settled before its consumers
        # only what ORT fuses into a conv or a GEMM; other leftovers (shape arithmetic) were folded away
        if node.name in runs or node.op_type not in FUSED_AFTER:
            continue
        feeding = [
            runs[producers[t].name] for t in node.input if t in producers and producers[t].name in runs
        ]
        if feeding:
            runs[node.name] = max(feeding, key=order.__getitem__)

    position = {r: i for i, r in enumerate(rows)}
    covers: dict[str, list[str]] = {n: [] for n in node_names}
    for original, n in runs.items():
        row = row_of(original)
        if row is not None and row not in covers[n]:
            covers[n].append(row)
    assign: dict[str, str | None] = {}
    notes: dict[str, str] = {}
    for n in node_names:
        span = sorted(covers[n], key=position.__getitem__) or [r for r in [row_of(n)] if r is not None]
        if not span:  # a node anchored to an original node another chain holds (a reorder): that node's row
            node = anchor(n)
            span = [r for r in [row_of(node.name) if node is not None else None] if r is not None]
        assign[n] = span[0] if span else None
        if len(span) > 1:
            notes[span[0]] = "fused: " + " + ".join(span)
            for other in span[1:]:
                notes[other] = f"fused into {span[0]}"
    timed = {r for r in assign.values() if r is not None}
    for row in rows:
        if row not in timed and row not in notes:
            notes[row] = (
                "runs nothing of its own in ONNX Runtime (folded into a neighbour or removed by the export)"
            )
    return assign, notes

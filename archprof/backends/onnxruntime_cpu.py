"""The ONNX Runtime backend: the built model exported to ONNX (offline), run by ORT's CPU provider.

Export: ``torch.onnx.export`` with the TorchScript exporter (``dynamo=False``), in eval
mode, at the measuring batch, into memory. Its node names carry the module path of the
row that made them (``/conv2_x/unit1/main/conv1/conv1.2/Relu``), so every node maps to a
spec row by its longest row-path prefix; a node without one maps by its output tensor's
name; what still maps to no row (ORT's layout reorders between blocked and plain
tensors) is counted as unattributed time. ORT then optimises the graph (level ALL: batch
norm folded into the conv, the activation fused, NCHWc layout): a conv + BN + ReLU of one
row stays that row. A node that absorbs later rows (a conv fused with the residual add
and ReLU after it) is reported as such: its time is the first row's and the row notes
name the span ("fused: conv2 + add"); the absorbed rows get no time of their own,
never a made-up share.

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
        from ..errors import ConfigError

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
        model = copy.deepcopy(spec.module).float().eval()  # type: ignore[attr-defined]
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
        assign, notes = _assign(self._original_graph(), list(nodes), self.rows, written)
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


def _row_of(name: str, rows_by_depth: list[str]) -> str | None:
    """The deepest row whose path is a prefix of an ONNX name (``/inception3a/b2/conv2/conv2.0/Conv``)."""
    text = name.lstrip("/")
    for row in rows_by_depth:
        if text == row or text.startswith(row + "/"):
            return row
    return None


def _assign(
    graph, node_names: list[str], rows: list[str], written: dict[str, list[str]] | None = None
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each profiled node's row (``node_names`` in ORT's execution order), and the notes of rows that share a
    node or run nothing.

    The optimised node ``/a/b/conv2/conv2.0/Conv_output_0_nchwc`` is named after the tensor its original
    node wrote, so it maps by the same prefix; a node named otherwise (``ReorderOutput_token_3``, a Squeeze
    in an If branch) maps by the tensors it writes (``written``: the optimised graph), and else to no row. A row whose original graph has compute nodes but which has no
    optimised node of its own was fused into a node of a row that feeds it — ORT fuses an op into a producer:
    BN and the activation into a conv, a residual add and its ReLU into one of the convs it adds. Which
    producer: the one ORT runs last (a fused op can only run once all its inputs exist).
    """
    by_depth = sorted(rows, key=lambda r: (-r.count("/"), -len(r)))
    # ORT names a node it made by fusion "fused <the node it started from>"
    assign = {n: _row_of(n.removeprefix("fused "), by_depth) for n in node_names}
    producers = {out: node for node in graph.node for out in node.output}
    for n, row in assign.items():
        # e.g. a Squeeze inside an If branch, a layout reorder back to a row's tensor: by what it wrote
        for out in (written or {}).get(n, []):
            if row is None:
                row = _row_of(out, by_depth)
            if row is None and out in producers:
                row = _row_of(producers[out].name, by_depth)
        assign[n] = row
    last_run: dict[str, int] = {}
    for i, n in enumerate(node_names):
        row = assign[n]
        if row is not None:
            last_run[row] = i
    original: dict[str, list] = {}
    for node in graph.node:
        row = _row_of(node.name, by_depth)
        if row is not None:
            original.setdefault(row, []).append(node)
    notes: dict[str, str] = {}
    owner_of: dict[str, str] = {}  # a fused row -> the row whose node runs it
    spans: dict[str, list[str]] = {}
    previous = None
    for row in rows:
        if row in last_run:
            previous = row
            continue
        nodes = original.get(row, [])
        if not nodes or all(n.op_type in NOTHING_RUNS for n in nodes):
            notes[row] = "runs nothing in ONNX Runtime (removed by the export or the optimiser)"
            continue
        feeding = set()
        for node in nodes:
            for t in node.input:
                src = _row_of(producers[t].name, by_depth) if t in producers else None
                if src is not None and src != row:
                    feeding.add(owner_of.get(src, src))
        candidates = [r for r in feeding if r in last_run]
        owner = max(candidates, key=last_run.__getitem__) if candidates else previous
        if owner is None:
            notes[row] = "no node of its own in the optimised graph"
            continue
        owner_of[row] = owner
        spans.setdefault(owner, [owner]).append(row)
        notes[row] = f"fused into {owner}"
    for owner, span in spans.items():
        notes[owner] = "fused: " + " + ".join(span)
    return assign, notes

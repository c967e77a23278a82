"""Runtimes that run a built configuration: the interface ``measure.py`` times through.

A ``Backend`` turns a configuration into a ``Runner``; a runner runs one forward pass,
times every leaf row inside the full pass (keyed by the row's ``path``), times each row
alone on the input it saw, and profiles memory. ``measure.py`` owns the statistics,
the rounds and the clocks' policy; a backend owns how its runtime is driven. A second
runtime (ONNX Runtime, a latency table) is one more module here and one entry in
``BACKENDS``; profiling does not change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Runner(Protocol):
    rows: list[str]  # the leaf rows' paths, in execution order

    def forward(self) -> None:
        """One forward pass on the prepared input (finished when it returns)."""

    def per_row(self, timer: Callable, run_time: float) -> tuple[list[float], dict[str, list[float]]]:
        """Full passes with a clock on every row: (end-to-end times, {path: times}), in ms."""

    def isolated(
        self, timer: Callable, run_time: float, tick: Callable[[str], None]
    ) -> dict[str, list[float]]:
        """Each row alone on the input it saw in a full pass: {path: times}, in ms."""

    def memory(self) -> tuple[int, dict[str, int]]:
        """Peak live bytes of one forward pass and each row's output allocation."""


class Backend(Protocol):
    name: str

    def prepare(self, spec, opts) -> Runner:
        """Build ``spec`` for this runtime with the measuring options ``opts`` (device, dtype, batch, …)."""


def get(name: str = "torch") -> Backend:
    """The backend called ``name``; a ConfigError for an unknown one or one whose runtime is not installed."""
    from ..errors import ConfigError

    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    module, attr = BACKENDS[name]
    import importlib

    mod = importlib.import_module(module, __name__)
    if not getattr(mod, "available", lambda: True)():
        raise ConfigError(f"--backend {name} needs its runtime, which is not installed: {mod.INSTALL}")
    return getattr(mod, attr)()


def names(text: str, installed: bool = True) -> list[str]:
    """``"torch,onnxruntime"`` → ``["torch", "onnxruntime"]``, each checked: known, no repeats, and (with
    ``installed``) its runtime installed."""
    from ..errors import ConfigError

    out = [t.strip() for t in text.split(",")]
    if not all(out) or len(set(out)) != len(out):
        raise ConfigError(f"--backend takes backend names, comma-separated, each once; got {text!r}")
    for name in out:
        if installed:
            get(name)
        elif name not in BACKENDS:
            raise ConfigError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    return out


BACKENDS = {
    "torch": (".torch_eager", "TorchEager"),
    "onnxruntime": (".onnxruntime_cpu", "OnnxRuntimeCPU"),  # the optional extra archprof[onnx]
}

"""Predicted latency: the interface a latency predictor (a lookup table of measured rows) plugs into.

A ``Predictor`` turns one configuration into a ``Prediction``: the end-to-end time in ms,
the time of every leaf row (keyed by the row's ``path``, as measured rows are), where the
numbers come from (the table file) and, per row, whether it was looked up or estimated.
``profile --latency predicted``, ``sweep --latency predicted`` and ``--budget-ms`` use it.
Predictors are found by name in ``PREDICTORS`` (module, attribute), as backends are in
``backends.BACKENDS``: ``lut`` (``lut.TablePredictor``) is the one there is.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Protocol

from .errors import ConfigError
from .spec import ModelSpec


@dataclass(frozen=True)
class Prediction:
    """One configuration's predicted latency."""

    total_ms: float
    per_row_ms: dict[str, float] = field(default_factory=dict)  # leaf row path -> ms
    source: str = ""  # what the prediction rests on: "lut: tables/cpu-1thread.json (…)"
    per_row_source: dict[str, str] = field(default_factory=dict)  # leaf row path -> "lookup" | "estimated"


class Predictor(Protocol):
    name: str

    def predict(self, spec: ModelSpec) -> Prediction:
        """The predicted latency of ``spec``, one configuration (raises ConfigError for what it cannot predict)."""


# name -> (module relative to this package, attribute)
PREDICTORS: dict[str, tuple[str, str]] = {"lut": (".lut", "TablePredictor")}


def get(name: str = "lut", **options) -> Predictor:
    """The predictor called ``name`` made with ``options`` (the lut's: path, backend, threads, device,
    dtype, batch), or a ConfigError saying why there is none."""
    if name not in PREDICTORS:
        raise ConfigError(f"unknown predictor {name!r}; known: {', '.join(PREDICTORS)}")
    module, attr = PREDICTORS[name]
    return getattr(importlib.import_module(module, __package__), attr)(**options)

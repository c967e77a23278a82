"""The pipeline as Python calls: ``profile`` one configuration, ``compare`` many.

The command line is a thin layer over these (it parses arguments and renders), so a
notebook gets the same numbers::

    import archprof
    p = archprof.profile("mobilenet_v1", alpha=0.5, resolution=160)
    p.totals["mult_adds"]          # 76,524,800: exact, the paper's convention (its Table 9: 76 M)
    p.layers                       # one row per layer: path, shapes, params, mult-adds, bytes, latency
    archprof.compare(["mobilenet_v1", "vgg16"])   # one row per configuration

Nothing here prints or writes files; measuring (``latency=True``) is the slow edge.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import pandas as pd

from . import costs, grid, profiling
from .errors import ConfigError
from .spec import ModelSpec, ModuleModel


class ProgressBar(Protocol):
    """What a progress callable returns: a context manager whose value advances it by one step."""

    def __enter__(self) -> ProgressBar: ...
    def __exit__(self, *exc: object) -> bool | None: ...
    def advance(self, label: str = "") -> None: ...


class _NoProgress:
    def __init__(self, total: int = 0, description: str = ""):
        pass

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        return False

    def advance(self, label: str = "") -> None:
        pass


Progress = Callable[[int, str], ProgressBar]  # (total steps, description) -> a ProgressBar


def configuration(
    spec,
    alpha: float = 1.0,
    resolution: int | None = None,
    rho: float | None = None,
    classes: int | None = None,
    input_shape=None,
):
    """The configured spec: a built-in name, a spec file path (either with ``:standard``) or a ModelSpec —
    or a user's own model: ``"FILE.py:NAME"`` or an ``nn.Module``, counted on ``input_shape``."""
    from .catalog import load, split_ref
    from .transforms import configure, rho_to_resolution

    if resolution is not None and rho is not None:
        raise ConfigError("give the resolution or ρ, not both")
    if _is_module(spec):
        return _module_configuration(spec, alpha, resolution, rho, classes, input_shape)
    if input_shape is not None:
        raise ConfigError(
            "--input-shape is for model files (FILE.py:NAME); a spec takes --resolution or --rho"
        )
    if isinstance(spec, ModelSpec):
        base, variant = spec, "base"
    elif isinstance(spec, str):
        name, variant = split_ref(spec)
        base = load(name)
    else:
        raise ConfigError(
            f"a spec is a built-in name, a spec file path or a ModelSpec, got {type(spec).__name__}"
        )
    if rho is not None:
        resolution = rho_to_resolution(base, rho)
    return configure(base, variant, alpha, resolution, classes)


def _is_module(spec) -> bool:
    from .modelfile import is_model_ref

    if is_model_ref(spec):
        return True
    nn = sys.modules.get("torch.nn")  # a module object can only exist once torch is imported
    return nn is not None and isinstance(spec, nn.Module)


def _module_configuration(spec, alpha, resolution, rho, classes, input_shape):
    from . import modelfile

    if alpha != 1.0 or rho is not None or classes is not None:
        what = "--alpha" if alpha != 1.0 else "--rho" if rho is not None else "--classes"
        raise ConfigError(f"{what} transforms a spec; a model file is profiled as it is written")
    shape = tuple(
        modelfile.parse_input_shape(input_shape)
        if isinstance(input_shape, str)
        else input_shape or modelfile.DEFAULT_INPUT
    )
    if resolution is not None:
        if len(shape) != 3:
            raise ConfigError("--resolution needs an image input (C × H × W); give --input-shape instead")
        shape = modelfile.parse_input_shape(f"{shape[0]}x{resolution}x{resolution}")  # the same size limits
    if isinstance(spec, str):
        return modelfile.load(spec, shape)
    return modelfile.module_model(spec, shape)


@dataclass
class Profile:
    """One configuration's results: a row per layer, its totals, and what was measured.

    ``layers`` has one row per leaf row (a layer, or the merge of a block's branches),
    keyed by ``path``; its columns sum to ``totals``. ``blocks`` gives each block's
    subtotal, ``nested()`` both in execution order for display.
    """

    spec: ModelSpec
    layers: pd.DataFrame
    extras: dict = field(default_factory=dict)  # latency, memory, roofline, by_kind, environment, warnings

    @property
    def totals(self) -> dict:
        return costs.totals(self.layers)

    @property
    def config(self) -> dict:
        s = self.spec
        return {
            "model": s.ref,
            "name": s.name,
            "variant": s.variant,
            "alpha": float(s.alpha),
            "resolution": int(s.resolution),
            "classes": int(s.classes),
            "label": s.label,
            "input_shape": list(getattr(s, "input_dims", ()) or s.input_shape),
            "dtype": str(self.layers["dtype"].iloc[0]),
            "batch": int(self.layers["batch"].iloc[0]),
        }

    @property
    def blocks(self) -> pd.DataFrame:
        return costs.block_rows(self.spec, self.layers)

    def nested(self) -> pd.DataFrame:
        return costs.nested(self.spec, self.layers)

    @property
    def warnings(self) -> list[str]:
        return list(self.extras.get("warnings") or [])

    def to_dict(self) -> dict:
        from .report.export import profile_dict

        return profile_dict(self.spec, self.layers, self.extras)

    def to_json(self) -> str:
        from .report.export import to_json

        return to_json(self.to_dict())

    def to_csv(self) -> str:
        from .report.export import to_csv

        return to_csv(self.nested())

    def table(self):
        """The rich renderable the terminal shows (print it with a rich Console)."""
        from .report.terminal import profile_table

        return profile_table(self.spec, self.layers, self.extras)

    def __repr__(self) -> str:
        t = self.totals
        latency = f", {t['latency_ms']:.3f} ms" if t["latency_ms"] is not None else ""
        return (
            f"<Profile {self.spec.label}: {t['params']:,} params, {t['mult_adds']:,} mult-adds, "
            f"{len(self.layers)} rows{latency}>"
        )


def profile(
    spec,
    alpha: float = 1.0,
    resolution: int | None = None,
    *,
    rho: float | None = None,
    classes: int | None = None,
    input_shape=None,
    latency: bool = False,
    dtype: str = "float32",
    batch: int = 1,
    threads: int = 1,
    device: str = "cpu",
    channels_last: bool = False,
    min_run_time: float = 1.0,
    isolated: bool = True,
    max_memory: int | None = None,
    backend: str = "torch",
    progress: Progress = _NoProgress,
    predicted: bool = False,
    table: str | None = None,
) -> Profile:
    """Count ``spec`` in one configuration and, with ``latency=True``, measure it.

    ``predicted=True`` gives latency without running anything: each row looked up in, or
    estimated from, the latency table of ``backend``, ``threads``, ``device``, ``dtype`` and
    ``batch`` (``archprof lut build`` makes it), or the table file ``table``.

    ``spec`` is a built-in name (``"mobilenet_v1"``), a spec file path, either with
    ``":standard"``, or a ModelSpec — or your own model, ``"my_net.py:MyNet"`` or an
    ``nn.Module``, counted at the op level on ``input_shape`` (default (3, 224, 224)).
    Counting a spec alone is pure arithmetic and instant.
    """
    from .measure import MeasureOptions

    if table is not None and not predicted:  # as the command line refuses --table alone
        raise ConfigError("table= is the latency table of predicted latency: give predicted=True too")
    if table is not None and not str(table).strip():  # "" would quietly be the per-user table
        raise ConfigError("table= is empty: give a latency table file, or None for the per-user one")
    config = configuration(spec, alpha, resolution, rho, classes, input_shape)
    _check_dtype(dtype)
    opts = MeasureOptions(
        threads=threads,
        batch=batch,
        device=device,
        dtype=dtype,
        channels_last=channels_last,
        min_run_time=min_run_time,
        max_run_time=max(2.0, min_run_time),
        isolated=isolated,
        max_memory=max_memory,
    ).check()  # bad options are refused before any work
    from . import backends

    if len(backends.names(backend, installed=latency)) != 1:  # a bad name is refused even when counting only
        raise ConfigError(
            "profile measures with one backend; compare takes several (--backend torch,onnxruntime)"
        )
    layers = costs.count(config, dtype=dtype, batch=batch)
    if predicted:
        return _predicted(
            config,
            layers,
            table,
            backend=backend,
            threads=threads,
            device=device,
            dtype=dtype,
            batch=batch,
            latency=latency,
        )
    measured = roof = None
    if latency:
        import torch  # noqa: F401  (loaded before the guard reads this process's resident set)

        from .guard import check
        from .measure import measure, roofline

        t = costs.totals(layers)
        check(
            f"{config.label} at batch {batch}", t["weight_bytes"], t["peak_activation_bytes"], opts.max_memory
        )
        steps = 5 + (len(layers) if opts.isolated else 0)
        with progress(steps, f"measuring {config.label}") as bar, _users_failures(config):
            measured = measure(config, opts, bar.advance, backend)
            roof = roofline(opts.threads, opts.device, opts.dtype)
            bar.advance("roofline")
    layers = profiling.attach(layers, measured, roof)
    extras = profiling.extras(layers, measured, roof)
    if isinstance(config, ModuleModel):
        extras["uncounted"] = dict(config.uncounted)
    return Profile(config, layers, extras)


def _predicted(config, layers: pd.DataFrame, table: str | None, latency: bool, **setting) -> Profile:
    """A profile whose latency is the table's prediction: per row and end to end, nothing run."""
    from .lut import TablePredictor

    if latency:
        raise ConfigError("predicted latency runs nothing: ask for measured latency or predicted, not both")
    if isinstance(config, ModuleModel):
        raise ConfigError(
            "predicted latency needs a spec's rows; a model file (FILE.py:NAME) is measured, not predicted"
        )
    predictor = TablePredictor(table, **setting)
    prediction = predictor.predict(config)
    layers = profiling.attach_predicted(layers, prediction)
    extras = profiling.extras(layers)
    extras["predicted"] = profiling.predicted_summary(prediction, predictor.table.environment)
    return Profile(config, layers, extras)


@contextlib.contextmanager
def _users_failures(*models):
    """While a user's own model is measured, its failures are its own: one line, not a traceback."""
    users = [m for m in models if isinstance(m, ModuleModel)]
    if not users:
        yield
        return
    from .modelfile import user_code

    try:
        with user_code(users[0].path or users[0].key):
            yield
    except SystemExit as e:
        raise ConfigError(f"{users[0].key}: the forward pass called exit({e.code}) while measuring") from None
    except (ConfigError, KeyboardInterrupt):
        raise
    except Exception as e:
        raise ConfigError(
            f"{', '.join(m.key for m in users)}: measuring failed: {type(e).__name__}: "
            f"{' '.join(str(e).split())}"
        ) from None


def _check_dtype(dtype: str) -> None:
    if dtype not in costs.DTYPE_BYTES:
        raise ConfigError(f"dtype must be one of {', '.join(costs.DTYPE_BYTES)}, got {dtype!r}")


@dataclass
class Comparison:
    """Many configurations: one row of totals per configuration and one row per layer per configuration."""

    specs: list[ModelSpec]
    configs: pd.DataFrame
    layers: pd.DataFrame
    environment: dict | None = None
    roofline: dict | None = None
    warnings: list[str] = field(default_factory=list)
    checks: list = field(
        default_factory=list
    )  # the papers' claims and the invariants for these specs (validate.Check)

    def to_html(self, *, title: str | None = None, command: str = "", generated: str | None = None) -> str:
        """The interactive report as one self-contained HTML string (plotly.js embedded; works offline).

        ``command`` is shown in the report's provenance as the command that produced it: the
        command line passes its own; from Python, say what you ran (nothing reads ``sys.argv``).
        """
        import time

        from .report import html

        return html.render(
            self,
            title=title or "archprof: " + " vs ".join(dict.fromkeys(self.configs["ref"])),
            command=command,
            generated=time.strftime("%Y-%m-%d %H:%M %Z") if generated is None else generated,
        )

    def write_html(self, path, **kwargs) -> Path:
        """Write ``to_html(**kwargs)`` to ``path`` atomically; returns the path written."""
        from .outputs import write_atomic

        return write_atomic(path, self.to_html(**kwargs))


def run_compare(
    specs: Iterable[str],
    alphas=None,
    resolutions=None,
    rhos=None,
    *,
    input_shape=None,
    latency: bool = False,
    dtype: str = "float32",
    batch: int = 1,
    threads: int = 1,
    device: str = "cpu",
    channels_last: bool = False,
    max_rounds: int = 8,
    max_memory: int | None = None,
    backend: str = "torch",
    progress: Progress = _NoProgress,
) -> Comparison:
    """Every configuration of ``specs`` over their default grids (or the α / resolution / ρ lists given).

    ``backend`` names the runtime that measures, or several, comma-separated (``"torch,onnxruntime"``): the
    first gives ``latency_ms``, each other one its own columns beside it (``latency_ms_onnxruntime``, …).
    """
    from .measure import MeasureOptions

    refs = list(specs)  # α and ρ lists apply to the specs; model files are profiled as written
    if resolutions and rhos:
        raise ConfigError("give resolutions or ρ values, not both")
    configs = grid.configurations(refs, alphas, resolutions, rhos, input_shape)
    _check_dtype(dtype)
    opts = MeasureOptions(
        threads=threads,
        batch=batch,
        device=device,
        dtype=dtype,
        channels_last=channels_last,
        isolated=False,
        memory=False,
        max_memory=max_memory,
    ).check()
    if max_rounds < 3:
        raise ConfigError(f"--max-rounds must be at least 3, got {max_rounds}")
    counted = grid.counts(configs, dtype, batch)
    measured = roof = None
    others: dict[str, list] = {}  # the second and further backends' measurements, side by side
    from . import backends

    runtimes = backends.names(backend, installed=latency)  # a bad name is refused even when counting only
    if latency:
        import torch  # noqa: F401  (loaded before the guard reads this process's resident set)

        from .guard import check
        from .measure import GridOptions, grid_steps, measure_grid, roofline

        # every configuration's model is built up front (so rounds can interleave them): all weights, largest peak
        sizes = [costs.totals(c) for c in counted]
        check(
            f"measuring {len(configs)} configurations at batch {batch}",
            sum(t["weight_bytes"] for t in sizes),
            max(t["peak_activation_bytes"] for t in sizes),
            opts.max_memory,
        )
        rounds = GridOptions(max_rounds=max_rounds)
        with (
            progress(grid_steps(len(configs), rounds) * len(runtimes) + 1, "measuring") as bar,
            _users_failures(*[c for c in configs if isinstance(c, ModuleModel)]),
        ):
            measured = measure_grid(configs, opts, rounds, bar.advance, runtimes[0])
            for name in runtimes[1:]:
                others[name] = measure_grid(configs, opts, rounds, bar.advance, name)
            roof = roofline(opts.threads, opts.device, opts.dtype)
            bar.advance("roofline")
    layers = grid.layer_frame(configs, counted, measured, roof)
    totals = grid.config_frame(configs, layers, measured)
    for name, runs in others.items():
        grid.side_by_side(totals, layers, name, runs)
    warnings = []
    if measured:
        for name, runs in [(runtimes[0], measured), *others.items()]:
            for i, m in enumerate(runs):
                summary = profiling.latency_summary(layers[layers["config"] == i], m)
                prefix = f"{configs[i].label}" + (f" ({name})" if others else "")
                warnings += [
                    f"{prefix}: {w}"
                    for w in profiling.warnings_for(summary, m.environment, "raise --max-rounds")
                ]
    from . import validate

    # the paper's claims for these specs, from the counts (the fvcore cross-check is `archprof validate`)
    checks = (
        validate.run(list(dict.fromkeys(s.ref for s in configs if isinstance(s, ModelSpec))), cross=False)
        if any(isinstance(s, ModelSpec) for s in configs)
        else []
    )
    return Comparison(
        configs,
        totals,
        layers,
        measured[0].environment if measured else None,
        None if roof is None else dataclasses.asdict(roof),
        warnings,
        checks,
    )


def compare(specs: Iterable[str] | str, alphas=None, resolutions=None, rhos=None, **kwargs) -> pd.DataFrame:
    """One row of totals per configuration (the paper's Table 8 layout, with ratios to the first)."""
    if isinstance(specs, str):
        specs = [specs]
    return run_compare(specs, alphas, resolutions, rhos, **kwargs).configs

"""Measuring a built model: latency (end to end and per layer), memory, and the machine's roofline.

The only module that touches clocks, threads and devices. Timing uses
``torch.utils.benchmark.Timer`` (blocked autorange); raw times are kept and statistics
derived from them. Per-layer times come from forward pre/post hooks on the named children
*inside the full forward pass* (conv + its BN + ReLU, as built); the layer alone on a
tensor of its input shape is a second, hot-cache lower bound (``isolated``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import resource
import time
from dataclasses import dataclass, field
from typing import Callable

from .errors import ConfigError
from .spec import ModelSpec
from .stats import summarize

GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=1073741824"
MAX_BATCH = 1_000_000  # beyond any real batch; keeps every byte count far inside int64


@dataclass(frozen=True)
class MeasureOptions:
    """What was measured, and how: a frozen, hashable description (as torch.utils.benchmark keeps)."""

    threads: int = 1
    batch: int = 1
    device: str = "cpu"
    dtype: str = "float32"
    channels_last: bool = False
    min_run_time: float = 1.0        # seconds of end-to-end timing at least ...
    max_run_time: float = 2.0        # ... and at most, adding rounds while the spread is above target_spread
    target_spread: float = 0.05      # IQR / median that ends the end-to-end timing early
    layer_run_time: float = 0.5      # seconds of per-layer timing (hooked full passes)
    isolated: bool = True            # also time each layer alone on a tensor of its input shape
    isolated_run_time: float = 0.03  # seconds per layer for the isolated timing
    memory: bool = True              # profile one forward pass's memory
    max_memory: int | None = None    # bytes: refuse configurations estimated to need more (see guard.py)

    def check(self) -> "MeasureOptions":
        if self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}")
        if not 0 < self.min_run_time <= self.max_run_time:
            raise ConfigError(f"--min-run-time must be greater than 0 and at most {self.max_run_time:g} s, "
                              f"got {self.min_run_time:g}")
        if not 1 <= self.batch <= MAX_BATCH:
            raise ConfigError(f"--batch must be between 1 and {MAX_BATCH:,}, got {self.batch:,}")
        if self.device not in ("cpu", "cuda"):
            raise ConfigError(f"--device must be cpu or cuda, got {self.device!r}")
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ConfigError("--device cuda: no CUDA GPU is available here (torch.cuda.is_available() is False)")
        return self


@dataclass
class Measured:
    """Raw results of one configuration's measurement (milliseconds and bytes)."""

    end_to_end_ms: list[float]
    hooked_end_to_end_ms: list[float]
    layer_ms: dict[str, list[float]]
    isolated_ms: dict[str, list[float]] = field(default_factory=dict)
    peak_bytes: int | None = None
    output_bytes: dict[str, int] = field(default_factory=dict)
    page_faults: int = 0              # minor faults during the end-to-end timing
    passes: int = 0                   # forward passes timed end to end
    environment: dict = field(default_factory=dict)


@contextlib.contextmanager
def threads(n: int):
    """Run with ``n`` intra-op threads, then restore the previous setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(opts: MeasureOptions) -> dict:
    import torch

    env = {
        "cpu": cpu_model(), "cores": os.cpu_count(), "threads": opts.threads, "device": opts.device,
        "dtype": opts.dtype, "batch": opts.batch, "channels_last": opts.channels_last,
        "torch": torch.__version__, "python": platform.python_version(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    if opts.device == "cuda":
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def prepare(spec: ModelSpec, opts: MeasureOptions):
    """The model and an input on the device, in the dtype and memory format asked for."""
    import torch

    from .build import build_model, example_input

    dtype = getattr(torch, opts.dtype)
    model = build_model(spec).to(device=opts.device, dtype=dtype)
    x = example_input(spec, opts.batch, opts.device).to(dtype)
    if opts.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    return model, x


def _sync(device: str):
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class _LayerClock:
    """Forward pre/post hooks that time every named child inside the full forward pass."""

    def __init__(self, model, device: str):
        import torch

        self.times: dict[str, list[float]] = {name: [] for name, _ in model.named_children()}
        self.cuda = device == "cuda"
        self.handles = []
        self.pending: list[tuple[str, object, object]] = []
        for name, child in model.named_children():
            self.handles.append(child.register_forward_pre_hook(functools.partial(self._start, name)))
            self.handles.append(child.register_forward_hook(functools.partial(self._stop, name)))
        self._start_at: dict[str, object] = {}
        self._torch = torch

    def _start(self, name, module, args):
        if self.cuda:
            ev = self._torch.cuda.Event(enable_timing=True)
            ev.record()
            self._start_at[name] = ev
        else:
            self._start_at[name] = time.perf_counter_ns()

    def _stop(self, name, module, args, output):
        if self.cuda:
            ev = self._torch.cuda.Event(enable_timing=True)
            ev.record()
            self.pending.append((name, self._start_at[name], ev))
        else:
            self.times[name].append((time.perf_counter_ns() - self._start_at[name]) / 1e6)

    def collect(self):
        if self.cuda:
            self._torch.cuda.synchronize()
            for name, start, stop in self.pending:
                self.times[name].append(start.elapsed_time(stop))
            self.pending.clear()

    def remove(self):
        for h in self.handles:
            h.remove()


def _timer(stmt: str, glob: dict, num_threads: int, min_run_time: float) -> list[float]:
    """Blocked autorange of ``stmt``: the per-run times, in ms."""
    from torch.utils.benchmark import Timer

    m = Timer(stmt, globals=glob, num_threads=num_threads).blocked_autorange(min_run_time=min_run_time)
    return [t * 1e3 for t in m.times]


def _per_layer(model, x, opts: MeasureOptions, run_time: float):
    """Full forward passes with a clock on every child: (end-to-end times, per-child times), in ms."""
    clock = _LayerClock(model, opts.device)
    try:
        hooked = _timer("model(x); clock.collect()", {"model": model, "x": x, "clock": clock}, opts.threads, run_time)
    finally:
        clock.remove()
    return hooked, clock.times


def _adaptive(stmt: str, glob: dict, opts: MeasureOptions) -> list[float]:
    """Rounds of blocked autorange: at least ``min_run_time``, more while the spread is high, up to a cap."""
    from .stats import relative_spread

    round_time = min(opts.min_run_time, 0.5)
    times: list[float] = []
    start = time.perf_counter()
    while True:
        times += _timer(stmt, glob, opts.threads, round_time)
        spent = time.perf_counter() - start
        if spent >= opts.max_run_time:
            break
        if spent >= opts.min_run_time and relative_spread(summarize(times)) <= opts.target_spread:
            break
    return times


def measure(spec: ModelSpec, opts: MeasureOptions, advance: Callable[[str], None] | None = None) -> Measured:
    """Time ``spec`` end to end and per layer, profile its memory; ``advance`` ticks a progress bar."""
    import torch

    tick = advance or (lambda label: None)
    model, x = prepare(spec, opts)
    with threads(opts.threads), torch.inference_mode():
        if opts.device == "cuda":
            torch.backends.cudnn.benchmark = True
        for _ in range(3):  # warm-up: first calls allocate, pick kernels, autotune cudnn
            model(x)
        _sync(opts.device)
        tick("warm-up")

        faults = _minor_faults()
        e2e = _adaptive("model(x)", {"model": model, "x": x}, opts)
        faults = _minor_faults() - faults
        tick("end to end")

        hooked, layer_ms = _per_layer(model, x, opts, min(opts.layer_run_time, opts.min_run_time))
        tick("per layer")

        isolated: dict[str, list[float]] = {}
        if opts.isolated:
            y = x
            for name, child in model.named_children():
                isolated[name] = _timer("child(y)", {"child": child, "y": y}, opts.threads, opts.isolated_run_time)
                y = child(y)
                tick(f"isolated {name}")
        peak, outputs = memory_profile(model, x, opts.device) if opts.memory else (None, {})
        tick("memory")
    return Measured(end_to_end_ms=e2e, hooked_end_to_end_ms=hooked, layer_ms=layer_ms, isolated_ms=isolated,
                    peak_bytes=peak, output_bytes=outputs, page_faults=faults, passes=len(e2e),
                    environment=environment(opts))


def memory_profile(model, x, device: str) -> tuple[int, dict[str, int]]:
    """Peak live bytes of one forward pass (the input included) and each layer's net allocation.

    CPU: torch.profiler with ``profile_memory``; each child runs under a ``record_function``
    scope, and its net allocation is what it leaves allocated: its output. The peak is
    the running sum of every allocation and free in time order, scratch buffers included.
    It exceeds the analytic peak because the model runs as built: a conv's output is still
    alive while batch norm writes its own, and the caller keeps the input image.
    CUDA: ``max_memory_allocated`` and ``memory_allocated`` deltas.
    """
    import torch

    input_bytes = x.numel() * x.element_size()
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        outputs = {}
        y = x
        for name, child in model.named_children():
            before = torch.cuda.memory_allocated()
            out = child(y)
            torch.cuda.synchronize()
            outputs[name] = torch.cuda.memory_allocated() - before
            y = out
        del y, out
        return torch.cuda.max_memory_allocated() - base + input_bytes, outputs

    from torch.profiler import ProfilerActivity, profile, record_function

    names = [n for n, _ in model.named_children()]
    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        y = x
        for name, child in model.named_children():
            with record_function(name):
                out = child(y)
            y = out  # the previous output is freed here, outside the scope of the next layer
        del y, out
    outputs = {e.name: int(e.cpu_memory_usage) for e in prof.events() if e.name in names}
    return _peak_live_bytes(prof) + input_bytes, outputs


def _peak_live_bytes(prof) -> int:
    """The running maximum of allocations minus frees, in time order.

    The raw allocator records are the only place where every free has a timestamp (the
    aggregated events attribute frees that happen between ops to the enclosing scope).
    """
    try:
        records = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
        stream = sorted((e.start_ns(), e.nbytes()) for e in records)
    except AttributeError:  # a torch without the raw records: allocations of leaf ops only
        leaves = [e for e in prof.events() if not e.cpu_children and e.self_cpu_memory_usage]
        stream = sorted((e.time_range.start, e.self_cpu_memory_usage) for e in leaves)
    live = peak = 0
    for _, nbytes in stream:
        live += nbytes
        peak = max(peak, live)
    return peak


@contextlib.contextmanager
def _quiet_stderr():
    """The profiler's C++ side prints start/stop lines to fd 2; keep the user's stderr clean."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@dataclass(frozen=True)
class Roof:
    peak_gflops: float        # the larger of a big matmul and a big 1×1 conv
    bandwidth_gbs: float      # a large copy: bytes read + written per second
    matmul_gflops: float
    conv1x1_gflops: float

    def bound_gflops(self, intensity: float) -> float:
        """The roofline: what a kernel of this arithmetic intensity (FLOP/B) can reach at best."""
        return min(self.peak_gflops, intensity * self.bandwidth_gbs)


@functools.lru_cache(maxsize=8)
def roofline(threads_: int, device: str = "cpu", dtype: str = "float32") -> Roof:
    """Measure the machine's compute peak and memory bandwidth once per run (cached)."""
    import torch

    dt = getattr(torch, dtype)

    def best(stmt, glob):  # seconds of the fastest run
        return min(_timer(stmt, glob, threads_, 0.15)) / 1e3

    with threads(threads_), torch.inference_mode():
        n = 1024
        a = torch.randn(n, n, device=device, dtype=dt)
        b = torch.randn(n, n, device=device, dtype=dt)
        matmul = 2 * n ** 3 / best("torch.mm(a, b)", {"torch": torch, "a": a, "b": b}) / 1e9
        conv = torch.nn.Conv2d(256, 256, 1, bias=False).to(device=device, dtype=dt).eval()
        x = torch.randn(1, 256, 56, 56, device=device, dtype=dt)
        conv(x)
        conv_gflops = 2 * 256 * 256 * 56 * 56 / best("conv(x)", {"conv": conv, "x": x}) / 1e9
        src = torch.empty(64 * 2 ** 20 // 4, device=device, dtype=torch.float32).fill_(1.0)
        dst = torch.empty_like(src)
        copy = best("dst.copy_(src)", {"dst": dst, "src": src})
        bandwidth = 2 * src.numel() * 4 / copy / 1e9
    return Roof(max(matmul, conv_gflops), bandwidth, matmul, conv_gflops)


@dataclass(frozen=True)
class GridOptions:
    """How a grid of configurations is measured: interleaved, shuffled rounds."""

    min_rounds: int = 3
    max_rounds: int = 8
    round_time: float = 0.12        # seconds of timing per configuration per round
    target_spread: float = 0.05     # a configuration leaves the rounds once its IQR/median is below this
    seed: int = 0                   # the shuffle is reproducible


def measure_grid(specs: list[ModelSpec], opts: MeasureOptions, grid: GridOptions = GridOptions(),
                 advance: Callable[[str], None] | None = None) -> list[Measured]:
    """Time every configuration in ``specs``, interleaved so that drift hits them all alike.

    Every round visits the configurations still in play in a shuffled order, warms each
    up after the switch (caches, allocator, oneDNN primitives belong to the last model run)
    and times a short block. After ``min_rounds``, a configuration whose spread is below
    ``target_spread`` leaves; the rest go on up to ``max_rounds``. A last round times each
    configuration with per-layer hooks.
    """
    import random

    import torch

    from .stats import relative_spread

    tick = advance or (lambda label: None)
    rng = random.Random(grid.seed)
    prepared = [prepare(spec, opts) for spec in specs]
    times: list[list[float]] = [[] for _ in specs]
    faults = [0] * len(specs)
    layer_times: list[dict[str, list[float]]] = [{} for _ in specs]
    hooked: list[list[float]] = [[] for _ in specs]
    with threads(opts.threads), torch.inference_mode():
        if opts.device == "cuda":
            torch.backends.cudnn.benchmark = True
        active = list(range(len(specs)))
        for round_ in range(grid.max_rounds):
            order = active[:]
            rng.shuffle(order)
            for i in order:
                model, x = prepared[i]
                for _ in range(2):  # warm up after the switch
                    model(x)
                _sync(opts.device)
                before = _minor_faults()
                times[i] += _timer("model(x)", {"model": model, "x": x}, opts.threads, grid.round_time)
                faults[i] += _minor_faults() - before
                tick(specs[i].label)
            if round_ + 1 >= grid.min_rounds:
                active = [i for i in active if relative_spread(summarize(times[i])) > grid.target_spread]
                if not active:
                    break
        order = list(range(len(specs)))
        rng.shuffle(order)
        for i in order:
            model, x = prepared[i]
            model(x)
            hooked[i], layer_times[i] = _per_layer(model, x, opts, grid.round_time * 2)
            tick(f"per layer {specs[i].label}")
    env = environment(opts)
    return [Measured(end_to_end_ms=times[i], hooked_end_to_end_ms=hooked[i], layer_ms=layer_times[i],
                     page_faults=faults[i], passes=len(times[i]), environment=env) for i in range(len(specs))]


def grid_steps(n: int, grid: GridOptions = GridOptions()) -> int:
    """Progress-bar length of ``measure_grid`` (an upper bound: configurations may leave early)."""
    return n * grid.max_rounds + n

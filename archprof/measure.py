"""Measuring a configuration: latency (end to end and per row), memory, and the machine's roofline.

The only module (with the runtimes of ``backends/``) that touches clocks, threads and
devices. Timing uses ``torch.utils.benchmark.Timer`` (blocked autorange), on a GPU CUDA
events around each pass; raw times are kept and statistics derived from them. A backend runs the configuration: per-row times
*inside the full forward pass* (a conv with its BN + ReLU, as built), and each row alone
on the input it saw, a second, hot-cache lower bound (``isolated``). Rows are keyed by
their ``path``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import backends
from .errors import ConfigError
from .limits import MAX_BATCH, MAX_RUN_TIME, MAX_THREADS
from .spec import ModelSpec
from .stats import summarize

GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=67108864:glibc.malloc.trim_threshold=1073741824"


@dataclass(frozen=True)
class MeasureOptions:
    """What was measured, and how: a frozen, hashable description (as torch.utils.benchmark keeps)."""

    threads: int = 1
    batch: int = 1
    device: str = "cpu"
    dtype: str = "float32"
    channels_last: bool = False
    min_run_time: float = 1.0  # seconds of end-to-end timing at least ...
    max_run_time: float = 2.0  # ... and at most, adding rounds while the spread is above target_spread
    target_spread: float = 0.05  # IQR / median that ends the end-to-end timing early
    layer_run_time: float = 0.5  # seconds of per-layer timing (hooked full passes)
    isolated: bool = True  # also time each layer alone on a tensor of its input shape
    isolated_run_time: float = 0.03  # seconds per layer for the isolated timing
    memory: bool = True  # profile one forward pass's memory
    max_memory: int | None = None  # bytes: refuse configurations estimated to need more (see guard.py)

    def check(self) -> MeasureOptions:
        if not 1 <= self.threads <= MAX_THREADS:
            raise ConfigError(f"--threads must be between 1 and {MAX_THREADS:,}, got {self.threads:,}")
        if not 0 < self.min_run_time <= min(self.max_run_time, MAX_RUN_TIME):  # False for NaN too
            raise ConfigError(
                f"--min-run-time must be greater than 0 and at most {min(self.max_run_time, MAX_RUN_TIME):g} s, "
                f"got {self.min_run_time:g}"
            )
        if not 1 <= self.batch <= MAX_BATCH:
            raise ConfigError(f"--batch must be between 1 and {MAX_BATCH:,}, got {self.batch:,}")
        if self.device not in ("cpu", "cuda"):
            raise ConfigError(f"--device must be cpu or cuda, got {self.device!r}")
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ConfigError(
                    "--device cuda: no CUDA GPU is available here (torch.cuda.is_available() is False)"
                )
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
    page_faults: int = 0  # minor faults during the end-to-end timing
    passes: int = 0  # forward passes timed end to end
    environment: dict = field(default_factory=dict)
    # what the backend says about rows that share a timed unit or run nothing ("fused: conv2 + add")
    row_notes: dict[str, str] = field(default_factory=dict)
    unattributed_ms: list[float] = field(default_factory=list)  # per pass: time that maps to no row
    round_passes: list[int] = field(default_factory=list)  # measure_rounds: end-to-end passes of each round


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
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": opts.threads,
        "device": opts.device,
        "dtype": opts.dtype,
        "batch": opts.batch,
        "channels_last": opts.channels_last,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    if opts.device == "cuda":
        env["gpu"] = torch.cuda.get_device_name(0)
    return env


def _minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _row_timer(threads_: int):
    """The timer a backend calls: ``(stmt, globals, run_time) -> times in ms`` at ``threads_`` threads."""
    return lambda stmt, glob, run_time: _timer(stmt, glob, threads_, run_time)


def _timer(stmt: str, glob: dict, num_threads: int, min_run_time: float) -> list[float]:
    """Blocked autorange of ``stmt``: the per-run times, in ms."""
    from torch.utils.benchmark import Timer

    m = Timer(stmt, globals=glob, num_threads=num_threads).blocked_autorange(min_run_time=min_run_time)
    return [t * 1e3 for t in m.times]


def _forward_times(runner, opts: MeasureOptions, run_time: float) -> list[float]:
    """Times of whole forward passes, in ms: on a GPU from CUDA events (the device's own clock, as the
    per-row hooks time rows there), else blocked autorange."""
    if opts.device == "cuda":
        import torch

        return _event_times(runner.forward, run_time, torch.cuda.Event)
    return _timer("runner.forward()", {"runner": runner}, opts.threads, run_time)


def _event_times(call: Callable[[], None], run_time: float, event) -> list[float]:
    """``call`` between two timing events, again and again for at least ``run_time`` seconds (5 calls at least)."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < run_time:
        begin, end = event(enable_timing=True), event(enable_timing=True)
        begin.record()
        call()
        end.record()
        end.synchronize()
        times.append(begin.elapsed_time(end))
    return times


def _adaptive(runner, opts: MeasureOptions) -> list[float]:
    """Rounds of timing: at least ``min_run_time``, more while the spread is high, up to a cap."""
    from .stats import relative_spread

    round_time = min(opts.min_run_time, 0.5)
    times: list[float] = []
    start = time.perf_counter()
    while True:
        times += _forward_times(runner, opts, round_time)
        spent = time.perf_counter() - start
        if spent >= opts.max_run_time:
            break
        if spent >= opts.min_run_time and relative_spread(summarize(times)) <= opts.target_spread:
            break
    return times


def measure(
    spec: ModelSpec,
    opts: MeasureOptions,
    advance: Callable[[str], None] | None = None,
    backend: str = "torch",
) -> Measured:
    """Time ``spec`` end to end and per row, profile its memory; ``advance`` ticks a progress bar."""
    import torch

    tick = advance or (lambda label: None)
    runner = backends.get(backend).prepare(spec, opts)
    timer = _row_timer(opts.threads)
    with threads(opts.threads), torch.inference_mode():
        if opts.device == "cuda":
            torch.backends.cudnn.benchmark = True
        for _ in range(3):  # warm-up: first calls allocate, pick kernels, autotune cudnn
            runner.forward()
        tick("warm-up")

        faults = _minor_faults()
        e2e = _adaptive(runner, opts)
        faults = _minor_faults() - faults
        tick("end to end")

        hooked, layer_ms = runner.per_row(timer, min(opts.layer_run_time, opts.min_run_time))
        tick("per layer")

        isolated = runner.isolated(timer, opts.isolated_run_time, tick) if opts.isolated else {}
        peak, outputs = runner.memory() if opts.memory else (None, {})
        tick("memory")
    return Measured(
        end_to_end_ms=e2e,
        hooked_end_to_end_ms=hooked,
        layer_ms=layer_ms,
        isolated_ms=isolated,
        peak_bytes=peak,
        output_bytes=outputs,
        page_faults=faults,
        passes=len(e2e),
        environment={**environment(opts), **_backend_environment(backend, runner)},
        row_notes=dict(getattr(runner, "row_notes", {})),
        unattributed_ms=list(getattr(runner, "unattributed_ms", [])),
    )


def _backend_environment(backend: str, runner) -> dict:
    """The backend and, for a runtime other than torch, its version and thread settings."""
    env = {"backend": backend}
    env.update(getattr(runner, "environment", lambda: {})())
    return env


@dataclass(frozen=True)
class Roof:
    peak_gflops: float  # the larger of a big matmul and a big 1×1 conv
    bandwidth_gbs: float  # a large copy: bytes read + written per second
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
        matmul = 2 * n**3 / best("torch.mm(a, b)", {"torch": torch, "a": a, "b": b}) / 1e9
        conv = torch.nn.Conv2d(256, 256, 1, bias=False).to(device=device, dtype=dt).eval()
        x = torch.randn(1, 256, 56, 56, device=device, dtype=dt)
        conv(x)
        conv_gflops = 2 * 256 * 256 * 56 * 56 / best("conv(x)", {"conv": conv, "x": x}) / 1e9
        src = torch.empty(64 * 2**20 // 4, device=device, dtype=torch.float32).fill_(1.0)
        dst = torch.empty_like(src)
        copy = best("dst.copy_(src)", {"dst": dst, "src": src})
        bandwidth = 2 * src.numel() * 4 / copy / 1e9
    return Roof(max(matmul, conv_gflops), bandwidth, matmul, conv_gflops)


@dataclass(frozen=True)
class GridOptions:
    """How a grid of configurations is measured: interleaved, shuffled rounds."""

    min_rounds: int = 3
    max_rounds: int = 8
    round_time: float = 0.12  # seconds of timing per configuration per round
    target_spread: float = 0.05  # a configuration leaves the rounds once its IQR/median is below this
    seed: int = 0  # the shuffle is reproducible


def measure_grid(
    specs: list[ModelSpec],
    opts: MeasureOptions,
    grid: GridOptions = GridOptions(),
    advance: Callable[[str], None] | None = None,
    backend: str = "torch",
) -> list[Measured]:
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
    runners = [backends.get(backend).prepare(spec, opts) for spec in specs]
    timer = _row_timer(opts.threads)
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
                for _ in range(2):  # warm up after the switch
                    runners[i].forward()
                before = _minor_faults()
                times[i] += _forward_times(runners[i], opts, grid.round_time)
                faults[i] += _minor_faults() - before
                tick(specs[i].label)
            if round_ + 1 >= grid.min_rounds:
                active = [i for i in active if relative_spread(summarize(times[i])) > grid.target_spread]
                if not active:
                    break
        order = list(range(len(specs)))
        rng.shuffle(order)
        for i in order:
            runners[i].forward()
            hooked[i], layer_times[i] = runners[i].per_row(timer, grid.round_time * 2)
            tick(f"per layer {specs[i].label}")
    env = {**environment(opts), **_backend_environment(backend, runners[0])}
    return [
        Measured(
            end_to_end_ms=times[i],
            hooked_end_to_end_ms=hooked[i],
            layer_ms=layer_times[i],
            page_faults=faults[i],
            passes=len(times[i]),
            environment=env,
            row_notes=dict(getattr(runners[i], "row_notes", {})),
            unattributed_ms=list(getattr(runners[i], "unattributed_ms", [])),
        )
        for i in range(len(specs))
    ]


def measure_rounds(
    specs: list[ModelSpec],
    opts: MeasureOptions,
    rounds: int,
    round_time: float,
    advance: Callable[[str], None] | None = None,
    backend: str = "torch",
) -> list[Measured]:
    """Time every configuration end to end *and per row* in ``rounds`` interleaved, shuffled rounds.

    What a latency table needs: every row's time inside the full pass, robust to the host.
    A burst of load (this machine's noise comes in bursts) then spoils a few passes of many
    configurations instead of every pass of one, and the medians over all rounds shed it.
    Each round gives a configuration ``round_time`` seconds: 40 % end to end, 60 % with a
    clock on every row.
    """
    import random

    import torch

    tick = advance or (lambda label: None)
    rng = random.Random(0)
    runners = [backends.get(backend).prepare(spec, opts) for spec in specs]
    timer = _row_timer(opts.threads)
    e2e: list[list[float]] = [[] for _ in specs]
    rows: list[dict[str, list[float]]] = [{} for _ in specs]
    per_round: list[list[int]] = [[] for _ in specs]
    with threads(opts.threads), torch.inference_mode():
        if opts.device == "cuda":
            torch.backends.cudnn.benchmark = True
        for _ in range(rounds):
            order = list(range(len(specs)))
            rng.shuffle(order)
            for i in order:
                for _ in range(2):  # warm up after the switch: caches, allocator, oneDNN primitives
                    runners[i].forward()
                times = _forward_times(runners[i], opts, 0.4 * round_time)
                e2e[i] += times
                per_round[i].append(len(times))
                _, per = runners[i].per_row(timer, 0.6 * round_time)
                for path, times in per.items():
                    rows[i].setdefault(path, []).extend(times)
                tick(specs[i].label)
    env = {**environment(opts), **_backend_environment(backend, runners[0])}
    return [
        Measured(
            end_to_end_ms=e2e[i],
            hooked_end_to_end_ms=[],
            layer_ms=rows[i],
            passes=len(e2e[i]),
            environment=env,
            row_notes=dict(getattr(runners[i], "row_notes", {})),
            round_passes=per_round[i],
        )
        for i in range(len(specs))
    ]


def grid_steps(n: int, grid: GridOptions = GridOptions()) -> int:
    """Progress-bar length of ``measure_grid`` (an upper bound: configurations may leave early)."""
    return n * grid.max_rounds + n

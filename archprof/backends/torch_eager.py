"""The torch eager backend: the built ``nn.Module`` run as is, rows timed with forward hooks.

Per-row times come from forward pre/post hooks on each leaf row's module (a conv with
its BN and ReLU, a merge) *inside the full forward pass*; blocks are the sums of their
rows. Isolated times feed each row's module the input it recorded in one full pass
(a merge gets its list of branch outputs), a hot-cache lower bound.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time


class TorchEager:
    name = "torch"

    def prepare(self, spec, opts) -> TorchRunner:
        import copy

        import torch

        from ..build import build_model, example_input, row_modules
        from ..spec import ModuleModel

        dtype = getattr(torch, opts.dtype)
        own: dict[str, str] = {}
        if isinstance(spec, ModuleModel):
            if spec.module is None:
                raise ValueError(f"{spec.key} holds no module to measure")
            # the user's module as given (a copy: measuring changes its dtype and device)
            model = copy.deepcopy(spec.module).to(device=opts.device, dtype=dtype).eval()
            x = torch.randn(opts.batch, *spec.input_dims, device=opts.device, dtype=dtype)
            named = dict(model.named_modules())
            modules = {}
            runs: dict[str, list[str]] = {}
            for r in spec.tree:
                if r.is_block:
                    continue
                if r.path.replace("/", ".") in named and r.path != "forward":
                    modules[r.path] = named[r.path.replace("/", ".")]
                else:  # a module's own ops (forward, forward2, …)
                    runs.setdefault(r.parent.replace("/", "."), []).append(r.path)
            # its own ops are its time minus its children's: one figure, so only a module with one run of them
            own = {paths[0]: parent for parent, paths in runs.items() if len(paths) == 1}
        else:
            model = build_model(spec).to(device=opts.device, dtype=dtype)
            x = example_input(spec, opts.batch, opts.device).to(dtype)
            modules = row_modules(model, spec)
        if opts.channels_last and x.dim() == 4:
            # torch's stubs for Module.to omit memory_format, which it takes (and documents)
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            x = x.contiguous(memory_format=torch.channels_last)
        return TorchRunner(model, x, modules, opts.device, own)


class TorchRunner:
    def __init__(self, model, x, modules: dict, device: str, own: dict[str, str] | None = None):
        self.model, self.x, self.modules, self.device = model, x, modules, device
        self.own = own or {}  # row path -> dotted name of the module whose own ops the row is
        self.rows = list(modules) + list(self.own)

    def forward(self) -> None:
        self.model(self.x)
        if self.device == "cuda":
            import torch

            torch.cuda.synchronize()

    def per_row(self, timer, run_time: float):
        named = dict(self.model.named_modules())
        timed = dict(self.modules)
        for parent in self.own.values():  # a module's own ops: its time minus its direct children's
            timed[f"\0{parent}"] = named[parent]
            for child, module in named[parent].named_children():
                timed[f"\0{parent}.{child}" if parent else f"\0{child}"] = module
        clock = _RowClock(timed, self.device)
        try:
            hooked = timer(
                "model(x); clock.collect()", {"model": self.model, "x": self.x, "clock": clock}, run_time
            )
        finally:
            clock.remove()
        times = {path: clock.times[path] for path in self.modules}
        for path, parent in self.own.items():
            total = clock.times[f"\0{parent}"]
            prefix = f"\0{parent}." if parent else "\0"
            kids = [
                clock.times[k]
                for k in clock.times
                if k.startswith(prefix) and k != prefix and k[len(prefix) :] and "." not in k[len(prefix) :]
            ]
            kids = [k for k in kids if k]
            if all(len(k) == len(total) for k in kids):  # each child ran once per pass
                times[path] = [t - sum(k[i] for k in kids) for i, t in enumerate(total)]
        return hooked, times

    def isolated(self, timer, run_time: float, tick):
        inputs = self._recorded_inputs()
        out = {}
        for path, module in self.modules.items():
            if path in inputs:  # a module that never runs in the forward pass has no input to replay
                out[path] = timer("module(*args)", {"module": module, "args": inputs[path]}, run_time)
            tick(f"isolated {path}")
        return out

    def _recorded_inputs(self) -> dict:
        inputs: dict = {}
        handles = [
            m.register_forward_pre_hook(functools.partial(_record, inputs, path))
            for path, m in self.modules.items()
        ]
        try:
            self.model(self.x)
        finally:
            for h in handles:
                h.remove()
        return inputs

    def memory(self):
        return memory_profile(self.model, self.x, self.modules, self.device)


def _record(store: dict, path: str, module, args):
    # Clone: in-place activations of later rows would change a tensor kept by reference.
    store[path] = tuple([t.clone() for t in a] if isinstance(a, list) else a.clone() for a in args)


class _RowClock:
    """Forward pre/post hooks that time every row module inside the full forward pass."""

    def __init__(self, modules: dict, device: str):
        import torch

        self.times: dict[str, list[float]] = {path: [] for path in modules}
        self.cuda = device == "cuda"
        self.handles = []
        self.pending: list[tuple[str, object, object]] = []
        for path, module in modules.items():
            self.handles.append(module.register_forward_pre_hook(functools.partial(self._start, path)))
            self.handles.append(module.register_forward_hook(functools.partial(self._stop, path)))
        self._start_at: dict[str, object] = {}
        self._torch = torch

    def _start(self, path, module, args):
        if self.cuda:
            ev = self._torch.cuda.Event(enable_timing=True)
            ev.record()
            self._start_at[path] = ev
        else:
            self._start_at[path] = time.perf_counter_ns()

    def _stop(self, path, module, args, output):
        if self.cuda:
            ev = self._torch.cuda.Event(enable_timing=True)
            ev.record()
            self.pending.append((path, self._start_at[path], ev))
        else:
            self.times[path].append((time.perf_counter_ns() - self._start_at[path]) / 1e6)

    def collect(self):
        if self.cuda:
            self._torch.cuda.synchronize()
            for path, start, stop in self.pending:
                self.times[path].append(start.elapsed_time(stop))
            self.pending.clear()

    def remove(self):
        for h in self.handles:
            h.remove()


def memory_profile(model, x, modules: dict, device: str) -> tuple[int, dict[str, int]]:
    """Peak live bytes of one forward pass (the input included) and each row's net allocation.

    CPU: torch.profiler with ``profile_memory``; each row runs under a ``record_function``
    scope opened and closed by its forward hooks, and its net allocation is what it
    leaves allocated: its output. The peak is the running sum of every allocation and
    free in time order, scratch buffers included. It exceeds the analytic peak because
    the model runs as built: a conv's output is still alive while batch norm writes its
    own, and the caller keeps the input image.
    CUDA: ``max_memory_allocated`` and ``memory_allocated`` deltas around each row.
    """
    import torch

    input_bytes = x.numel() * x.element_size()
    if device == "cuda":
        outputs: dict[str, int] = {}
        before: dict[str, int] = {}

        def pre(path, module, args):
            torch.cuda.synchronize()
            before[path] = torch.cuda.memory_allocated()

        def post(path, module, args, output):
            torch.cuda.synchronize()
            outputs[path] = torch.cuda.memory_allocated() - before[path]

        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        with _hooks(modules, pre, post):
            model(x)
        return torch.cuda.max_memory_allocated() - base + input_bytes, outputs

    from torch.profiler import ProfilerActivity, profile, record_function

    scopes: dict[str, object] = {}

    def enter(path, module, args):
        scopes[path] = record_function(path)
        scopes[path].__enter__()

    def leave(path, module, args, output):
        scopes.pop(path).__exit__(None, None, None)

    with (
        _quiet_stderr(),
        profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof,
        _hooks(modules, enter, leave),
    ):
        model(x)
    outputs = {e.name: int(e.cpu_memory_usage) for e in prof.events() if e.name in modules}
    return _peak_live_bytes(prof) + input_bytes, outputs


@contextlib.contextmanager
def _hooks(modules: dict, pre, post):
    handles = []
    for path, m in modules.items():
        handles.append(m.register_forward_pre_hook(functools.partial(pre, path)))
        handles.append(m.register_forward_hook(functools.partial(post, path)))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


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

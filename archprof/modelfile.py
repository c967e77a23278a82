"""A user's own model: ``FILE.py:NAME`` → an nn.Module, counted at the op level into a ModuleModel.

A spec file is data; a model file is Python code that runs when it is loaded — only
pass files you trust. NAME is an ``nn.Module`` subclass with a constructor that takes no
arguments, a function of no arguments that returns a module, or a module instance in
that file. Every failure (a syntax error, an import error, a constructor that raises, a
forward pass that fails on the input shape) is a ``ConfigError``: one line with the
user's own message, never a traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
import sys
from pathlib import Path

from .errors import ConfigError
from .spec import ModuleModel

DEFAULT_INPUT = (3, 224, 224)
_SHAPE = re.compile(r"^\s*[0-9]{1,7}(\s*[x×,]\s*[0-9]{1,7}){0,5}\s*$")
MAX_ELEMENTS = 1 << 28  # one input sample (1 GiB in float32): larger is a typo, and it would be allocated


def is_model_ref(ref) -> bool:
    """``my_net.py:Name`` (a Python file and a name in it), as opposed to a spec."""
    if not isinstance(ref, str) or ":" not in ref:
        return False
    file, _, name = ref.rpartition(":")
    return file.endswith(".py") and bool(name)


def parse_input_shape(text: str) -> tuple[int, ...]:
    """'3x224x224' → (3, 224, 224): the input of one sample, without the batch."""
    if not _SHAPE.match(text or ""):
        raise ConfigError(
            f"--input-shape must be sizes separated by x, like 3x224x224 (without the batch), got {text!r}"
        )
    shape = tuple(int(t) for t in re.split(r"\s*[x×,]\s*", text.strip()))
    if min(shape) < 1:
        raise ConfigError(f"--input-shape sizes must be at least 1, got {text!r}")
    n = 1
    for d in shape:
        n *= d
    if n > MAX_ELEMENTS:
        raise ConfigError(f"--input-shape {text} has {n:,} elements; at most {MAX_ELEMENTS:,}")
    return shape


def load_module(ref: str):
    """The nn.Module that ``FILE.py:NAME`` names (its code runs)."""
    from torch import nn

    file, _, name = ref.rpartition(":")
    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"model file {file!r} does not exist")
    module_name = f"archprof_model_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:  # no import machinery for its suffix
        raise ConfigError(f"model file {file!r} is not a Python file that can be imported")
    code = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    before = set(sys.modules)
    sys.modules[module_name] = code  # dataclasses and pickle look their module up there
    sys.path.insert(0, folder)  # so that the file can import its neighbours
    try:
        with user_code(file):
            spec.loader.exec_module(code)
    except SyntaxError as e:
        raise ConfigError(f"{file}:{e.lineno}: syntax error: {e.msg}") from None
    except SystemExit as e:
        raise ConfigError(
            f"{file}: loading it called exit({e.code}) (guard scripts with 'if __name__ == \"__main__\":')"
        ) from None
    except Exception as e:  # the user's code: any failure is theirs to read, in one line
        raise ConfigError(f"{file}: loading it failed: {type(e).__name__}: {_one_line(e)}") from None
    finally:
        sys.path.remove(folder)
        # its neighbours were imported for it: another model file's own "blocks.py" must not find them cached
        for imported in set(sys.modules) - before - {module_name}:
            origin = getattr(sys.modules[imported], "__file__", None) or ""
            if origin.startswith(folder):
                del sys.modules[imported]
    if not hasattr(code, name):
        found = sorted(
            k
            for k, v in vars(code).items()
            if not k.startswith("_")
            and (
                isinstance(v, nn.Module)
                or (isinstance(v, type) and issubclass(v, nn.Module) and v.__module__ == module_name)
            )
        )
        raise ConfigError(f"{file} has no {name!r}; its modules: {', '.join(found) or 'none'}")
    obj = getattr(code, name)
    if isinstance(obj, nn.Module):
        return obj
    if not callable(obj):
        raise ConfigError(
            f"{file}:{name} is a {type(obj).__name__}, not an nn.Module, a module class or a "
            f"function returning one"
        )
    try:
        with user_code(file):
            made = obj()
    except SystemExit as e:
        raise ConfigError(f"{file}:{name}() called exit({e.code})") from None
    except Exception as e:
        raise ConfigError(
            f"{file}:{name}() failed: {type(e).__name__}: {_one_line(e)} (archprof calls it with "
            f"no arguments)"
        ) from None
    if not isinstance(made, nn.Module):
        raise ConfigError(f"{file}:{name}() returned a {type(made).__name__}, not an nn.Module")
    return made


@contextlib.contextmanager
def user_code(file: str):
    """Around the user's code: its prints go to stderr (stdout carries archprof's JSON and CSV) and it sees
    an argv of its own file, not archprof's options."""
    saved = sys.argv
    sys.argv = [file]
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.argv = saved


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or "(no message)"


def module_model(module, input_shape=DEFAULT_INPUT, key: str | None = None, path: str = "") -> ModuleModel:
    """Count ``module`` on one input of ``input_shape`` (without the batch): a ModuleModel."""
    import torch

    from . import opcount

    if len(input_shape) < 1:
        raise ConfigError("the input shape needs at least one size")
    module = module.eval()
    try:
        device = next(module.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    x = torch.randn(1, *input_shape, device=device)
    name = key.rpartition(":")[2] if key and ":" in key else type(module).__name__
    key = key or name
    shape_text = "×".join(map(str, (1, *input_shape)))
    try:
        with user_code(path or key):
            traced = opcount.trace(module, x)
    except SystemExit as e:
        raise ConfigError(f"{key}: the forward pass called exit({e.code})") from None
    except Exception as e:
        raise ConfigError(
            f"{key}: the forward pass failed on an input of {shape_text}: {type(e).__name__}: {_one_line(e)}"
        ) from None
    chw = tuple(input_shape) if len(input_shape) == 3 else opcount._chw((1, *input_shape))
    model = ModuleModel(
        key=key,
        name=name,
        path=path,
        input_shape=chw,
        input_dims=tuple(input_shape),
        module=module,
        trace=traced,
    )
    frame, tree, uncounted = opcount.rows(module, traced, key, chw[1])
    if frame.empty:
        raise ConfigError(
            f"{key} has no parameters and its forward pass ran no operation: there is nothing to count"
        )
    out = traced["output"]
    # an output of (N, K) from a final FC is a classifier of K classes; anything else has none
    has_fc = any(type(m).__name__ == "Linear" for m in module.modules())
    classes = out[1] if out is not None and len(out) == 2 and has_fc else 0
    from dataclasses import replace

    return replace(model, tree=tree, uncounted=uncounted, classes=classes)


def load(ref: str, input_shape=None) -> ModuleModel:
    """``FILE.py:NAME`` counted on ``input_shape`` (default 3 × 224 × 224)."""
    module = load_module(ref)
    return module_model(module, tuple(input_shape or DEFAULT_INPUT), key=ref, path=ref.rpartition(":")[0])

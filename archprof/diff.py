"""``archprof diff A B``: two profiles aligned row by row, each difference with its reason.

Rows are grouped into *units*: a conv, depthwise conv or FC (a row with weights) and the
rows after it up to the next one (its batch norm, activation, pooling, a merge). A spec's
conv row is one unit already; a module's ``Conv2d``, ``BatchNorm2d`` and ``ReLU`` are
three rows of one unit, so a spec and an implementation line up. Units are aligned by
their kind and kernel in execution order (``difflib``), so an extra or a missing row is
named as such and does not shift the rest. For each pair the parameter and mult-add
differences are exact and their sum is the total difference; the reasons say why: a bias,
a batch norm (or its scale), an activation, a stride or padding (and so the shapes), the
channels (with the rounding rule that gives them), the classes.

Pure: it reads two Profiles and returns a ``Diff``; printing is the CLI's.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field

from .spec import Layer, ModelSpec, ModuleModel

COMMON_ALPHAS = (1.4, 1.3, 0.75, 0.5, 0.35, 0.25)


@dataclass
class Unit:
    rows: list[str]
    kind: str  # "conv", "dw", "fc" or "other" (rows before the first weighted one)
    kernel: tuple | None
    stride: int | None
    padding: tuple | None
    in_c: int
    out: tuple  # (C, H, W) of the weighted row
    params: int
    mult_adds: int
    groups: int = 1
    bias: bool | None = None  # None: not known (a module's functional code)
    bn: str | None = None  # "scale", "no scale" or None (absent)
    act: str | None = None
    classifier: bool = False

    @property
    def label(self) -> str:
        k = "×".join(map(str, self.kernel)) if self.kernel else ""
        what = {"dw": f"depthwise {k} conv", "conv": f"{k} conv", "fc": "FC"}.get(self.kind, "rows")
        return f"{what} → {self.out[1]} × {self.out[2]} × {self.out[0]}" if self.out[0] else what


@dataclass
class Row:
    a: list[str]
    b: list[str]
    params_difference: int
    mult_adds_difference: int
    a_output_shape: list | None
    b_output_shape: list | None
    reasons: list[str] = field(default_factory=list)


@dataclass
class Diff:
    a: str
    b: str
    params_a: int
    params_b: int
    mult_adds_a: int
    mult_adds_b: int
    rows: list[Row]
    matched: int  # units that agree in everything

    @property
    def agree(self) -> bool:
        return not self.rows

    @property
    def params_difference(self) -> int:
        return self.params_b - self.params_a

    @property
    def mult_adds_difference(self) -> int:
        return self.mult_adds_b - self.mult_adds_a

    def as_dict(self) -> dict:
        return {
            "a": self.a,
            "b": self.b,
            "agree": self.agree,
            "params": {"a": self.params_a, "b": self.params_b, "difference": self.params_difference},
            "mult_adds": {
                "a": self.mult_adds_a,
                "b": self.mult_adds_b,
                "difference": self.mult_adds_difference,
            },
            "matched_units": self.matched,
            "rows": [asdict(r) for r in self.rows],
        }


# -- units --------------------------------------------------------------------------------------


def _spec_facts(spec: ModelSpec) -> dict[str, Layer]:
    from .shapes import resolve

    return {r.path: r.leaf for r in resolve(spec)}


def _weighted_kind(row) -> str | None:
    """ "conv", "dw" or "fc" for a row with weights, from its Table 2 group (the same for spec and module rows)."""
    group = row.group or ""
    if not (row.paper_params or row.mult_adds):
        return None
    if group.startswith("Conv DW"):
        return "dw"
    if group.startswith("Conv"):
        return "conv"
    if group in ("FC", "MatMul"):
        return "fc"
    return None


def units(profile) -> list[Unit]:
    """The rows of ``profile`` grouped into units (a weighted row and the rows that follow it)."""
    spec = profile.spec
    layers = profile.layers
    facts = _spec_facts(spec) if isinstance(spec, ModelSpec) else {}
    modules = (
        dict(spec.module.named_modules()) if isinstance(spec, ModuleModel) and spec.module is not None else {}
    )
    out: list[Unit] = []
    for r in layers.itertuples():
        layer = facts.get(r.path)
        kind = _weighted_kind(r)
        if kind is not None or not out:
            out.append(
                Unit(
                    [],
                    kind or "other",
                    tuple(r.kernel) if r.kernel is not None else None,
                    int(r.stride) if kind else None,
                    tuple(r.padding) if kind else None,
                    int(r.in_c),
                    (int(r.out_c), int(r.out_h), int(r.out_w)),
                    0,
                    0,
                    groups=int(r.groups) if kind == "conv" and r.groups == r.groups else 1,
                )
            )
        u = out[-1]
        u.rows.append(r.path)
        u.params += int(r.params)
        u.mult_adds += int(r.mult_adds)
        if layer is not None:
            _spec_follow(u, layer, kind is not None)
        elif modules:
            _module_follow(u, r, modules.get(r.path.replace("/", ".")), kind is not None)
    classifier = next((u for u in reversed(out) if u.kind in ("conv", "fc")), None)
    if (
        classifier is not None
        and spec.classes
        and classifier.out[0] == spec.classes
        and (
            isinstance(spec, ModuleModel)
            or any(facts[p].role == "classifier" for p in classifier.rows if p in facts)
        )
    ):
        classifier.classifier = True
    return out


def _spec_follow(u: Unit, layer: Layer, weighted: bool) -> None:
    if weighted and layer.options is not None:
        o = layer.options
        u.bias = o.bias
        u.bn = ("scale" if o.bn_scale else "no scale") if o.batch_norm else None
        u.act = o.activation


def _module_follow(u: Unit, row, module, weighted: bool) -> None:
    from torch import nn

    name = type(module).__name__ if module is not None else ""
    if weighted:
        u.bias = (
            (getattr(module, "bias", None) is not None)
            if module is not None and hasattr(module, "bias")
            else None
        )
        u.act = None
        return
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        u.bn = "scale" if getattr(module, "weight", None) is not None else "no scale"
    elif name.endswith("Norm") or "Norm" in name:  # GroupNorm, LayerNorm, InstanceNorm…
        u.bn = name
    elif type(module).__module__ == "torch.nn.modules.activation" or (row.kind == "forward" and row.filter):
        ops = row.filter.split(", ") if row.kind == "forward" else []
        if name == "ReLU" or "relu" in ops or "relu_" in ops:
            u.act = "relu"
        elif name in ("ReLU6", "Hardtanh") or "hardtanh" in ops or "hardtanh_" in ops:
            u.act = "relu6"
        elif name and name not in ("Softmax", "LogSoftmax"):
            u.act = name.lower()


# -- reasons ----------------------------------------------------------------------------------------


def _rounding(a: int, b: int, alphas) -> str:
    """The width rounding that explains ``a`` and ``b`` channels: one side ``int(c·α)``, the other
    ``make_divisible(c·α, 8)`` of the same c and α, or the same rule at α = 1 and another α."""
    import math

    from .transforms import keras_round, make_divisible

    for alpha in alphas:
        span = range(max(1, math.ceil(min(a, b) / alpha) - 1), math.ceil((max(a, b) + 1) / alpha) + 1)
        for c in sorted(span, key=lambda c: (c % 8 != 0, c)):  # the paper's widths are multiples of 8
            k, d = keras_round(c, alpha), make_divisible(c * alpha)
            if (a, b) == (k, d) and k != d:
                return f" (int({c}·{alpha:g}) = {k} in A, make_divisible({c}·{alpha:g}, 8) = {d} in B)"
            if (a, b) == (d, k) and k != d:
                return f" (make_divisible({c}·{alpha:g}, 8) = {d} in A, int({c}·{alpha:g}) = {k} in B)"
    return ""


def _reasons(a: Unit, b: Unit, alphas=COMMON_ALPHAS) -> list[str]:
    out = []
    if a.kind != b.kind:
        out.append(f"a {a.label} in A, a {b.label} in B")
        return out  # different layers: their channels and options are not one difference each
    if a.kernel != b.kernel and a.kind == b.kind:
        out.append(f"kernel {'×'.join(map(str, a.kernel or ()))} vs {'×'.join(map(str, b.kernel or ()))}")
    if a.out[0] != b.out[0]:
        if a.classifier and b.classifier:
            out.append(f"classes: {a.out[0]} vs {b.out[0]}")
        else:
            out.append(f"output channels {a.out[0]} vs {b.out[0]}{_rounding(a.out[0], b.out[0], alphas)}")
    elif a.in_c != b.in_c and a.kind == b.kind:
        out.append(f"input channels {a.in_c} vs {b.in_c} (an earlier row's output)")
    if a.stride != b.stride and a.kind == b.kind:
        out.append(f"stride {a.stride} vs {b.stride}")
    if a.padding != b.padding and a.kind == b.kind and a.kind != "fc":
        out.append(f"padding {_pads(a.padding)} vs {_pads(b.padding)}")
    if a.groups != b.groups and a.kind == b.kind:
        out.append(f"groups {a.groups} vs {b.groups}")
    if a.out[1:] != b.out[1:] and not any(r.startswith(("stride", "padding")) for r in out):
        out.append(
            f"output {a.out[1]} × {a.out[2]} vs {b.out[1]} × {b.out[2]} (the input differs: an earlier row)"
        )
    if a.bias is not None and b.bias is not None and a.bias != b.bias:
        out.append(
            f"bias: {'present' if a.bias else 'absent'} in A, {'present' if b.bias else 'absent'} in B "
            f"({'+' if b.bias else '−'}{a.out[0] if a.bias else b.out[0]} params)"
        )
    if a.bn != b.bn:
        out.append(f"batch norm: {_bn(a.bn)} in A, {_bn(b.bn)} in B")
    if a.act != b.act and a.bias is not None and b.bias is not None:
        out.append(f"activation: {a.act or 'none'} in A, {b.act or 'none'} in B")
    if not out and (a.params != b.params or a.mult_adds != b.mult_adds):
        out.append("the counts differ without a difference archprof can name (functional code?)")
    return out


def _bn(bn: str | None) -> str:
    return {"scale": "present", "no scale": "present without scale", None: "absent"}.get(
        bn, f"a {bn} instead"
    )


def _pads(p) -> str:
    return "(" + ", ".join(map(str, p)) + ")" if p else "?"


def diff(pa, pb) -> Diff:
    """Profiles ``pa`` (A) and ``pb`` (B) aligned and explained."""
    ua, ub = units(pa), units(pb)
    alphas = tuple(
        dict.fromkeys([a for a in (pa.spec.alpha, pb.spec.alpha) if a != 1.0] + list(COMMON_ALPHAS))
    )
    sig = [(u.kind, u.kernel) for u in ua], [(u.kind, u.kernel) for u in ub]
    rows: list[Row] = []
    matched = 0

    def pair(a: Unit | None, b: Unit | None):
        nonlocal matched
        if a is not None and b is not None:
            reasons = _reasons(a, b, alphas)
            if not reasons:
                matched += 1
                return
        elif a is not None:
            reasons = [f"missing in B: {a.label}"]
        elif b is not None:
            reasons = [f"extra in B: {b.label}"]
        else:  # never: a unit is paired with nothing only on one side
            return
        rows.append(
            Row(
                a.rows if a else [],
                b.rows if b else [],
                (b.params if b else 0) - (a.params if a else 0),
                (b.mult_adds if b else 0) - (a.mult_adds if a else 0),
                list(a.out) if a else None,
                list(b.out) if b else None,
                reasons,
            )
        )

    for _op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, *sig, autojunk=False).get_opcodes():
        left, right = ua[i1:i2], ub[j1:j2]
        for k in range(max(len(left), len(right))):
            pair(left[k] if k < len(left) else None, right[k] if k < len(right) else None)
    ta, tb = pa.totals, pb.totals
    return Diff(
        pa.spec.label,
        pb.spec.label,
        ta["params"],
        tb["params"],
        ta["mult_adds"],
        tb["mult_adds"],
        rows,
        matched,
    )


def side(ref: str, input_shape=None):
    """A diff side: ``SPEC``, ``SPEC@α,R`` (α and resolution) or ``FILE.py:NAME``, counted (no latency)."""
    from .api import profile
    from .errors import ConfigError

    alpha, resolution = 1.0, None
    if "@" in ref:
        ref, _, config = ref.rpartition("@")
        parts = [p.strip() for p in config.split(",")]
        try:
            alpha = float(parts[0])
            resolution = int(parts[1]) if len(parts) > 1 and parts[1] else None
        except (ValueError, IndexError):
            raise ConfigError(
                f"a diff side is SPEC, SPEC@α or SPEC@α,RESOLUTION (e.g. mobilenet_v1@0.5,160), "
                f"got {ref}@{config!r}"
            ) from None
        if len(parts) > 2:
            raise ConfigError(f"SPEC@α,RESOLUTION takes two values, got {config!r}")
    from .modelfile import is_model_ref

    return profile(ref, alpha, resolution, input_shape=input_shape if is_model_ref(ref) else None)

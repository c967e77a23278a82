"""Decode a spec file — a Markdown layer table written like the paper's Table 1 — into a ModelSpec.

This is the only module that reads spec text. The grammar (the README has a full example)::

    # Title                          prose anywhere outside the table is documentation
    - name: MobileNetV1              header entries: "- key: value" lines above the table
    - input: 224 × 224 × 3           H × W × C (or the first row's Input Size)
    - classes: 1000
    - conv: batch norm, relu, no bias      defaults after every conv / depthwise conv
    - fc: bias, relu                       defaults after every FC
    - classifier: bias, no activation      the last conv/FC (it produces the classes)
    - alpha: 1, 0.75, 0.5, 0.25            the default grid of this spec
    - resolution: 224, 192, 160, 128
    - reported top-1: 1.0@224 70.6, 0.5@160 60.2     the paper's accuracy (α@resolution percent)
    - reported top-1 standard: 1.0@224 71.7          ... for the SPEC:standard variant

    | Type / Stride     | Filter Shape       | Input Size     |   Input Size is optional
    |-------------------|--------------------|----------------|
    | Conv / s2         | 3 × 3 × 3 × 32     | 224 × 224 × 3  |
    | 5× { Conv dw / s1 | 3 × 3 × 512 dw     | 14 × 14 × 512  |   a repeated group opens with "N× {"
    | Conv / s1 }       | 1 × 1 × 512 × 512  | 14 × 14 × 512  |   ... and closes with "}"

Type names and the words in cells are case-insensitive; ``×`` and ``x`` both separate
dimensions. Each kind's Filter Shape form is in the registry (``kinds.py``). Nothing is
evaluated as code. Every failure is a ``SpecError`` naming the file, the line, the text
and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import replace

from . import grammar
from .errors import SpecError
from .registry import REGISTRY, RuleError, kind_for_type, type_names
from .shapes import ShapeError, resolve
from .spec import ACTIVATIONS, Layer, ModelSpec, Options

MAX_SPEC_CHARS = 1_000_000   # a spec is a short table; a larger file is a mistake
MAX_ROWS = 10_000            # after expanding repeated groups
MAX_REPEAT = 1_000

_HEADER = re.compile(r"^\s*[-*+]\s+([^:|]+?)\s*:\s*(.*?)\s*$")
_TITLE = re.compile(r"^\s*#\s+(.+?)\s*$")
_SEPARATOR_CELL = re.compile(r"^\s*:?-+:?\s*$")
_GROUP_OPEN = re.compile(r"^\s*(\S+?)\s*[×xX]\s*\{\s*(.*)$")
_GROUP_CLOSE = re.compile(r"^(.*?)\s*\}\s*$")
_TYPE_STRIDE = re.compile(r"^\s*(.+?)\s*/\s*s\s*(\S+)\s*$", re.IGNORECASE)
_REPORTED = re.compile(r"^\s*(\S+)\s*@\s*(\S+)\s+(\S+?)\s*%?\s*$")

_OPTION_WORDS = {
    "bias": ("bias", True), "no bias": ("bias", False),
    "batch norm": ("batch_norm", True), "batchnorm": ("batch_norm", True), "bn": ("batch_norm", True),
    "no batch norm": ("batch_norm", False), "no batchnorm": ("batch_norm", False), "no bn": ("batch_norm", False),
    "no activation": ("activation", None), "linear": ("activation", None),
    **{a: ("activation", a) for a in ACTIVATIONS},
}
_KEYS = ("name", "citation", "input", "classes", "conv", "fc", "classifier", "alpha", "resolution",
         "reported top-1", "reported top-1 standard")


def parse_spec(text: str, path: str, key: str) -> ModelSpec:
    """Decode ``text`` (the contents of ``path``); ``key`` is the name the spec is called by."""
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(path, text[:MAX_SPEC_CHARS].count("\n") + 1, "",
                        f"the file has {len(text):,} characters; a spec is a layer table of at most {MAX_SPEC_CHARS:,}")
    lines = text.splitlines()
    header, title, table = _split(lines, path)
    if table is None:
        raise SpecError(path, 1, "", "no layer table: expected a Markdown table with columns "
                                        "'Type / Stride | Filter Shape | Input Size' (Input Size optional)")
    decoded = _Header(header, path)
    layers = _table(table, lines, path, decoded)
    input_shape = decoded.input_shape or layers[0].declared_input
    if input_shape is None:
        raise SpecError(path, table[0], lines[table[0] - 1], "no input size: give '- input: H × W × C' above the table "
                                                             "or an Input Size column")
    layers = _mark_classifier(layers, decoded)
    spec = ModelSpec(
        key=key, name=decoded.get("name") or title or key, path=path, input_shape=input_shape,
        classes=decoded.classes or _classes(layers, input_shape), layers=tuple(layers), citation=decoded.get("citation") or "",
        alphas=decoded.alphas, resolutions=decoded.resolutions or (input_shape[1],),
        reported_top1=decoded.reported, header=tuple(decoded.values.items()))
    try:
        resolved = resolve(spec)
    except ShapeError as e:
        raise SpecError(path, e.layer.line, lines[e.layer.line - 1], str(e)) from None
    _check_classes(layers, lines, path, decoded)
    settled = tuple(REGISTRY[r.layer.kind].settle(r.layer, r.in_shape) if REGISTRY[r.layer.kind].settle else r.layer
                    for r in resolved)
    return replace(spec, layers=settled)


def _split(lines: list[str], path: str):
    """Header entries and title above the table, and the table's line numbers (1-based)."""
    header: list[tuple[int, str, str]] = []
    title = None
    table: list[int] | None = None
    ended = False
    for number, line in enumerate(lines, 1):
        is_row = line.lstrip().startswith("|")
        if is_row and ended:
            raise SpecError(path, number, line, "a second table: a spec has one layer table")
        if is_row:
            table = (table or []) + [number]
            continue
        if table is not None:
            ended = True
            continue
        if title is None and (m := _TITLE.match(line)):
            title = m.group(1)
        elif m := _HEADER.match(line):
            header.append((number, m.group(1), m.group(2)))
    return header, title, table


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") else body
    return [c.strip() for c in body.split("|")]


class _Header:
    """The header entries, decoded and checked."""

    def __init__(self, entries, path):
        self.path = path
        self.values: dict[str, str] = {}
        self.lines: dict[str, tuple[int, str]] = {}
        for number, raw_key, value in entries:
            key = " ".join(raw_key.strip("*`_ ").lower().split())
            if key not in _KEYS:
                continue  # a list item in the prose, not a header entry
            if key in self.values:
                raise SpecError(path, number, f"{raw_key}: {value}", f"'{key}' is given twice")
            self.values[key] = value
            self.lines[key] = (number, f"{raw_key}: {value}")
        self.input_shape = self._field("input", lambda v: _paper_shape(v, "the input size"))
        self.classes = self._field("classes", lambda v: grammar.whole_number(v, "classes"))
        self.alphas = self._field("alpha", _alphas) or (1.0,)
        self.resolutions = self._field("resolution", lambda v: tuple(
            grammar.whole_number(t, "a resolution") for t in _items(v)))
        self.options = {k: self._field(k, _options) for k in ("conv", "fc", "classifier")}
        self.reported = tuple(
            (variant, a, r, top1)
            for variant, k in (("base", "reported top-1"), ("standard", "reported top-1 standard"))
            for a, r, top1 in (self._field(k, _reported) or ()))

    def get(self, key):
        return self.values.get(key)

    def _field(self, key, decode):
        if key not in self.values:
            return None
        try:
            return decode(self.values[key])
        except RuleError as e:
            number, text = self.lines[key]
            raise SpecError(self.path, number, text, str(e)) from None


def _items(value: str) -> list[str]:
    items = [t.strip() for t in value.split(",")]
    if not all(items):
        raise RuleError("expected a comma-separated list with no empty items")
    return items


def _alphas(value: str) -> tuple[float, ...]:
    alphas = tuple(grammar.decimal(t, "a width multiplier") for t in _items(value))
    if any(a <= 0 for a in alphas):
        raise RuleError("width multipliers must be greater than 0")
    return alphas


def _options(value: str) -> Options:
    fields = {}
    for item in _items(value):
        word = " ".join(item.lower().split())
        if word not in _OPTION_WORDS:
            raise RuleError(f"unknown option {item!r}; expected some of: {', '.join(sorted(_OPTION_WORDS))}")
        name, setting = _OPTION_WORDS[word]
        fields[name] = setting
    return Options(**fields)


def _reported(value: str):
    out = []
    for item in _items(value):
        m = _REPORTED.match(item)
        if not m:
            raise RuleError(f"expected α@resolution top-1 like '1.0@224 70.6', got {item!r}")
        out.append((grammar.decimal(m.group(1), "α"), grammar.whole_number(m.group(2), "the resolution"),
                    grammar.decimal(m.group(3), "the top-1 percentage")))
    return out


def _paper_shape(text: str, what: str):
    h, w, c = grammar.dims(text, 3, what, "H × W × C")
    return (c, h, w)


def _table(numbers: list[int], lines: list[str], path: str, header: _Header) -> list[Layer]:
    head = _cells(lines[numbers[0] - 1])
    columns = {}
    for i, cell in enumerate(head):
        for word, role in (("type", "type"), ("filter", "filter"), ("input", "input")):
            if word in cell.lower() and role not in columns:
                columns[role] = i
    if "type" not in columns or "filter" not in columns:
        raise SpecError(path, numbers[0], lines[numbers[0] - 1],
                        "the table header must name the columns 'Type / Stride' and 'Filter Shape' "
                        "(and optionally 'Input Size')")
    if len(numbers) < 2 or not all(_SEPARATOR_CELL.match(c) for c in _cells(lines[numbers[1] - 1])):
        at = numbers[1] if len(numbers) > 1 else numbers[0]
        raise SpecError(path, at, lines[at - 1], "the second table line must be the separator |---|---|")
    if len(numbers) < 3:
        raise SpecError(path, numbers[1], lines[numbers[1] - 1], "the table has no layer rows")

    layers: list[Layer] = []
    group: tuple[int, int, list[Layer]] | None = None  # (line, repeat, rows)
    for number in numbers[2:]:
        line = lines[number - 1]
        cells = _cells(line)
        if len(cells) != len(head):
            raise SpecError(path, number, line, f"expected {len(head)} cells like the header, got {len(cells)}")
        try:
            type_cell, opens, closes = _group_marks(cells[columns["type"]])
            if opens is not None and group is not None:
                raise RuleError("a repeated group opens inside another; groups do not nest")
            if closes and group is None and opens is None:
                raise RuleError("'}' closes a repeated group that was never opened with 'N× {'")
            layer = _row(type_cell, cells, columns, header, number)
        except RuleError as e:
            raise SpecError(path, number, line, str(e)) from None
        if opens is not None:
            group = (number, opens, [])
        if group is not None:
            group[2].append(layer)
            if closes:
                layers.extend(group[2] * group[1])
                group = None
        else:
            layers.append(layer)
        if len(layers) > MAX_ROWS:
            raise SpecError(path, number, line, f"the table expands to more than {MAX_ROWS:,} rows")
    if group is not None:
        raise SpecError(path, group[0], lines[group[0] - 1], "a repeated group opened with 'N× {' is never closed with '}'")
    return layers


def _group_marks(cell: str):
    """The Type cell without its group marks; the repeat count if a group opens here; whether one closes."""
    opens = None
    if m := _GROUP_OPEN.match(cell):
        opens = grammar.whole_number(m.group(1), "the repeat count")
        if opens > MAX_REPEAT:
            raise RuleError(f"the repeat count must be at most {MAX_REPEAT:,}, got {opens:,}")
        cell = m.group(2)
    closes = False
    if m := _GROUP_CLOSE.match(cell):
        closes, cell = True, m.group(1)
    return cell, opens, closes


def _row(type_cell: str, cells: list[str], columns: dict, header: _Header, number: int) -> Layer:
    m = _TYPE_STRIDE.match(type_cell)
    if not m:
        raise RuleError("the Type / Stride cell must read like 'Conv dw / s1'")
    kind = kind_for_type(m.group(1))
    if kind is None:
        raise RuleError(f"unknown layer type {m.group(1)!r}; known types: {', '.join(type_names())}")
    stride = grammar.whole_number(m.group(2), "the stride")
    fields = kind.parse(cells[columns["filter"]])
    if kind.options_key:
        fields["options"] = header.options[kind.options_key] or Options()
    if "input" in columns and cells[columns["input"]]:
        fields["declared_input"] = _paper_shape(cells[columns["input"]], "the input size")
    return Layer(kind=kind.key, stride=stride, line=number, **fields)


def _mark_classifier(layers: list[Layer], header: _Header) -> list[Layer]:
    """The layer that produces the classes gets the classifier options, and α leaves it alone.

    It is the last conv or FC when the spec says how many classes there are, or when that
    layer is an FC or is followed by a softmax; a backbone without a classifier has none.
    """
    weighted = [i for i, l in enumerate(layers) if l.options is not None]
    if not weighted:
        return layers
    i = weighted[-1]
    last = layers[i]
    softmax_after = any(l.kind == "softmax" for l in layers[i + 1:])
    if last.out_channels is None or not (header.classes is not None or last.kind == "fc" or softmax_after):
        return layers
    kind_options = header.options[REGISTRY[last.kind].options_key] or Options()
    options = header.options["classifier"] or replace(kind_options, activation=None)
    return layers[:i] + [replace(last, role="classifier", options=options)] + layers[i + 1:]


def _classes(layers: list[Layer], input_shape) -> int:
    """Without a ``classes`` entry: the outputs of the classifier, else 0 (a backbone: no classes)."""
    out = [l.out_channels for l in layers if l.role == "classifier"]
    return out[0] if out else 0


def _check_classes(layers: list[Layer], lines, path, header: _Header) -> None:
    if header.classes is None:
        return
    classifier = [l for l in layers if l.role == "classifier"]
    if not classifier:
        last = next((l for l in reversed(layers) if l.options is not None), layers[-1])
        raise SpecError(path, last.line, lines[last.line - 1], f"the header says classes: {header.classes} but "
                        f"no conv or FC produces them (the last weighted layer must be a conv or an FC)")
    if classifier[0].out_channels != header.classes:
        last = classifier[0]
        raise SpecError(path, last.line, lines[last.line - 1], f"the last conv/FC gives "
                        f"{last.out_channels} outputs but the header says classes: {header.classes}")

"""Decode a spec file — Markdown layer tables written like the papers' tables — into a ModelSpec.

This is the only module that reads spec text. The grammar (the README documents it with
full examples)::

    # Title                          prose outside the tables and header is documentation
    - name: MobileNetV1              header entries: "- key: value" lines above the main table
    - input: 224 × 224 × 3           H × W × C (or the first row's Input Size)
    - classes: 1000
    - conv: batch norm, relu, no bias      defaults after every conv / depthwise conv
    - fc: bias, relu                       defaults after every FC
    - classifier: bias, no activation      the last conv/FC (it produces the classes)
    - alpha: 1, 0.75, 0.5, 0.25            the default grid of this spec
    - resolution: 224, 192, 160, 128
    - width rounding: int(c·α)             or make_divisible(c·α, 8)
    - last conv: scales with α             or fixed for α ≤ 1 (MobileNetV2's 1280)
    - reported top-1: 1.0@224 70.6, 0.5@160 60.2     the paper's accuracy (α@resolution percent)
    - reported top-1 standard: 1.0@224 71.7          ... for the SPEC:standard variant

    | Type / Stride     | Filter Shape       | Input Size     | Options       | Name  |
    |-------------------|--------------------|----------------|---------------|-------|
    | Conv / s2         | 3 × 3 × 3 × 32     | 224 × 224 × 3  | no batch norm |       |
    | 5× { Conv dw / s1 | 3 × 3 × 512 dw     | 14 × 14 × 512  |               |       |   "N× {" opens a repeated group
    | Conv / s1 }       | 1 × 1 × 512 × 512  | 14 × 14 × 512  |               |       |   ... and "}" closes it
    | Inception / s1    | 64, 96, 128, 16, 32, 32 | 28 × 28 × 192 |           | inception3a |   a block row
    | my_block / s2     | c 64               |                |               |       |   a block of this file

    ## Block: my_block(c)            a user-defined block: its own header and table
    - merge: add                     add or concat (with a Branch column), else the rows run in sequence
    - after merge: relu              the activation after the merge (default none)

    | Branch   | Type / Stride    | Filter Shape      |
    |----------|------------------|-------------------|
    | main     | Conv / stride    | 3 × 3 × in × c    |    "in": the channels that arrive; "stride": the use's
    | main     | Conv / s1        | 3 × 3 × c × c     |    argument names stand for their values
    | shortcut | Conv / stride    | 1 × 1 × in × c    |    (a row "Identity" is an empty branch)

Columns: Type / Stride and Filter Shape are required; Input Size, Options and Name are
optional (Branch only in a block's table); any other column is an error. Type names and
the words in cells are case-insensitive; ``×`` and ``x`` both separate dimensions. Each
kind's Filter Shape form is in the registry (``kinds.py``, ``blocks.py``). Nothing is
evaluated as code. Every failure is a ``SpecError`` naming the file, the line, the text
and what was expected.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field, replace
from typing import TypeGuard

from . import grammar
from .errors import SpecError
from .registry import REGISTRY, BlockContext, BlockKind, LayerKind, RuleError, kind_for_type, type_names
from .sanitize import spec_lines
from .shapes import ShapeError, output_shape, resolve_tree
from .spec import ACTIVATIONS, Block, Layer, ModelSpec, Node, Options, Shape, WidthRule, leaves, map_leaves

MAX_SPEC_CHARS = 1_000_000  # a spec is a short table; a larger file is a mistake
MAX_ROWS = 10_000  # after expanding repeated groups and blocks
MAX_REPEAT = 1_000
MAX_NESTING = 8  # user blocks used inside user blocks

_HEADER = re.compile(r"^\s*[-*+]\s+([^:|]{1,80}?)\s*:\s*(.*?)\s*$")
_TITLE = re.compile(r"^\s*#\s+(.+?)\s*$")
_BLOCK_HEADING = re.compile(
    r"^\s*#{2,6}\s*block\s*:?\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\(([^()]{0,400})\)\s*$", re.IGNORECASE
)
_LOOSE_BLOCK_HEADING = re.compile(r"^\s*#{2,6}\s*block\b", re.IGNORECASE)
_SEPARATOR_CELL = re.compile(r"^\s*:?-+:?\s*$")
_GROUP_OPEN = re.compile(r"^\s*(\S+?)\s*[×xX]\s*\{\s*(.*)$")
_GROUP_CLOSE = re.compile(r"^(.*?)\s*\}\s*$")
_TYPE_STRIDE = re.compile(r"^\s*(.+?)\s*/\s*s\s*(\S+)\s*$", re.IGNORECASE)
_STRIDE_WORD = re.compile(r"/\s*stride\s*$", re.IGNORECASE)
_REPORTED = re.compile(r"^\s*([^\s@]+)\s*@\s*([^\s@]+)\s+(\S+?)\s*%?\s*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

# Words of the header's conv/fc/classifier defaults and of a row's Options cell: field → value.
_OPTION_WORDS: dict[str, dict[str, bool | str | None]] = {
    "bias": {"bias": True},
    "no bias": {"bias": False},
    **{w: {"batch_norm": True, "bn_scale": True} for w in ("batch norm", "batchnorm", "bn")},
    **{
        w: {"batch_norm": True, "bn_scale": False}
        for w in ("batch norm without scale", "batch norm no scale", "bn without scale", "bn no scale")
    },
    **{w: {"batch_norm": False} for w in ("no batch norm", "no batchnorm", "no bn")},
    "no activation": {"activation": None},
    "linear": {"activation": None},
    **{a: {"activation": a} for a in ACTIVATIONS},
}
# Words only a row's Options cell takes: they change the layer itself.
_PADDING = re.compile(r"^padding\s+(same|valid|k\s*//\s*2|[0-9]{1,6})$")
_GROUPS = re.compile(r"^groups?\s+([0-9]{1,6})$")
_CEIL = ("ceil mode", "ceil")

_KEYS = (
    "name",
    "citation",
    "input",
    "classes",
    "conv",
    "fc",
    "classifier",
    "alpha",
    "resolution",
    "width rounding",
    "last conv",
    "reported top-1",
    "reported top-1 standard",
)
_BLOCK_KEYS = ("merge", "after merge")
_COLUMNS = {
    "type": "Type / Stride",
    "filter": "Filter Shape",
    "input": "Input Size",
    "options": "Options",
    "name": "Name",
    "branch": "Branch",
}
# Words of the grammar a block parameter may not be called, since parameters are replaced by their values in cells.
_RESERVED_ARGS = (
    "in",
    "stride",
    "x",
    "dw",
    "pool",
    "pad",
    "p",
    "size",
    "bias",
    "no",
    "batch",
    "norm",
    "bn",
    "batchnorm",
    "without",
    "scale",
    "relu",
    "relu6",
    "linear",
    "activation",
    "padding",
    "same",
    "valid",
    "k",
    "groups",
    "group",
    "ceil",
    "mode",
    "classifier",
    "identity",
)


def parse_spec(text: str, path: str, key: str) -> ModelSpec:
    """Decode ``text`` (the contents of ``path``); ``key`` is the name the spec is called by."""
    if len(text) > MAX_SPEC_CHARS:
        raise SpecError(
            path,
            text[:MAX_SPEC_CHARS].count("\n") + 1,  # the line where the limit falls
            "",
            f"the file has {len(text):,} characters; a spec is a layer table of at most {MAX_SPEC_CHARS:,}",
        )
    lines = spec_lines(text)
    doc = _split(lines, path)
    if doc.table is None:
        raise SpecError(
            path,
            1,
            "",
            "no layer table: expected a Markdown table with columns "
            "'Type / Stride | Filter Shape | Input Size' (Input Size optional)",
        )
    header = _Header(doc.header, path)
    p = _Parser(path, lines, header)
    for section in doc.blocks:
        p.define(section)
    items = p.table(doc.table, block=None)
    input_shape = header.input_shape or items[0].declared_input
    if input_shape is None:
        raise SpecError(
            path,
            doc.table[0],
            lines[doc.table[0] - 1],
            "no input size: give '- input: H × W × C' above the table or an Input Size column",
        )
    children, _ = p.expand(items, input_shape)
    children = _mark_classifier(children, header, p.own_options)
    root = Block("seq", tuple(children))
    spec = ModelSpec(
        key=key,
        name=header.get("name") or doc.title or key,
        path=path,
        input_shape=input_shape,
        classes=header.classes or _classes(root),
        root=root,
        citation=header.get("citation") or "",
        alphas=header.alphas,
        resolutions=header.resolutions or (input_shape[1],),
        reported_top1=header.reported,
        width_rule=header.width_rule,
        last_conv_fixed=header.last_conv_fixed,
        header=tuple(header.values.items()),
    )
    try:
        rows = resolve_tree(spec)
    except ShapeError as e:
        raise p.error_at(e.layer, str(e)) from None
    _check_classes(root, p, header)
    settled = iter([_settle(r.leaf, r.in_shape) for r in rows if not r.is_block])
    return replace(spec, root=map_leaves(root, lambda _: next(settled)))


def _settle(layer: Layer, shape: Shape) -> Layer:
    """The row as its kind settles it once, with the real input (a pool as large as its input turns global)."""
    settle = REGISTRY[layer.kind].settle
    return settle(layer, shape) if settle is not None else layer


# -- the document: header, title, main table, block sections ---------------------------------


@dataclass
class _Section:
    """A user-defined block: its heading, header entries and table."""

    line: int
    name: str
    params: str
    header: list = field(default_factory=list)
    table: list[int] | None = None


@dataclass
class _Doc:
    header: list = field(default_factory=list)
    title: str | None = None
    table: list[int] | None = None
    blocks: list[_Section] = field(default_factory=list)


def _split(lines: list[str], path: str) -> _Doc:
    """Header entries and title above the main table, the main table's line numbers, the block sections."""
    doc = _Doc()
    section: _Section | None = None  # the block being read, until its table ends
    main_ended = False
    previous_row = False
    for number, line in enumerate(lines, 1):
        is_row = line.lstrip().startswith("|")
        if section is not None:
            if is_row:
                if section.table is not None and not previous_row:
                    raise SpecError(
                        path, number, line, f"a second table in block '{section.name}': a block has one"
                    )
                section.table = section.table if section.table is not None else []
                section.table.append(number)
            elif section.table is not None:
                section = None  # the block's table has ended
            elif m := _HEADER.match(line):
                section.header.append((number, m.group(1), m.group(2)))
            previous_row = is_row
            if section is not None or is_row:
                continue
        if _LOOSE_BLOCK_HEADING.match(line) and not _BLOCK_HEADING.match(line):
            raise SpecError(
                path, number, line, "a block definition's heading is '## Block: name(param, param)'"
            )
        if m := _BLOCK_HEADING.match(line):
            section = _Section(number, m.group(1), m.group(2))
            doc.blocks.append(section)
            if doc.table is not None:
                main_ended = True
            previous_row = False
            continue
        if is_row:
            if main_ended or (doc.table is not None and not previous_row):
                raise SpecError(
                    path,
                    number,
                    line,
                    "a second table: a spec has one layer table (and one per '## Block: name(args)' section)",
                )
            doc.table = doc.table if doc.table is not None else []
            doc.table.append(number)
        elif doc.table is None:
            if doc.title is None and (m := _TITLE.match(line)):
                doc.title = m.group(1)
            elif m := _HEADER.match(line):
                doc.header.append((number, m.group(1), m.group(2)))
        else:
            main_ended = True
        previous_row = is_row
    return doc


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") else body
    return [c.strip() for c in body.split("|")]


def _fold(key: str) -> str:
    return " ".join(key.strip("*`_ ").lower().split())


def _nearest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f"; did you mean '{close[0]}'?" if close else f"; known: {', '.join(choices)}"


class _Header:
    """The header entries, decoded and checked: an unknown key is an error that names the nearest one."""

    def __init__(self, entries, path, keys=_KEYS, where="a header") -> None:
        self.path = path
        self.values: dict[str, str] = {}
        self.lines: dict[str, tuple[int, str]] = {}
        for number, raw_key, value in entries:
            key = _fold(raw_key)
            if key not in keys:
                raise SpecError(
                    path,
                    number,
                    f"{raw_key}: {value}",
                    f"unknown key '{key}' in {where}" + _nearest(key, keys),
                )
            if key in self.values:
                raise SpecError(path, number, f"{raw_key}: {value}", f"'{key}' is given twice")
            self.values[key] = value
            self.lines[key] = (number, f"{raw_key}: {value}")
        if keys is not _KEYS:
            return
        self.input_shape = self.field("input", lambda v: _paper_shape(v, "the input size"))
        self.classes = self.field("classes", lambda v: grammar.whole_number(v, "classes"))
        self.alphas = self.field("alpha", _alphas) or (1.0,)
        self.resolutions = self.field(
            "resolution", lambda v: tuple(grammar.whole_number(t, "a resolution") for t in _items(v))
        )
        self.options = {k: self.field(k, _options) for k in ("conv", "fc", "classifier")}
        self.width_rule = self.field("width rounding", _width_rule) or WidthRule()
        self.last_conv_fixed = self.field("last conv", _last_conv) or False
        self.reported = tuple(
            (variant, a, r, top1)
            for variant, k in (("base", "reported top-1"), ("standard", "reported top-1 standard"))
            for a, r, top1 in (self.field(k, _reported) or ())
        )

    def get(self, key):
        return self.values.get(key)

    def field(self, key, decode):
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


def _option_fields(items: list[str], what: str) -> dict:
    fields: dict = {}
    said: dict = {}  # field -> the word that set it, to name a contradiction
    for item in items:
        word = " ".join(item.lower().split())
        if word not in _OPTION_WORDS:
            raise RuleError(
                f"unknown option {item!r} {what}; expected some of: {', '.join(sorted(_OPTION_WORDS))}"
            )
        for name, value in _OPTION_WORDS[word].items():
            if name in fields and fields[name] != value:
                raise RuleError(f"'{said[name]}' and '{item}' contradict each other {what}")
            fields[name], said[name] = value, item
    return fields


def _options(value: str) -> Options:
    return Options(**_option_fields(_items(value), "in a header default"))


def _width_rule(value: str) -> WidthRule:
    v = "".join(value.lower().split())
    if v in ("keras", "int", "int(c·α)", "int(c*α)", "int(c·alpha)", "int(c*alpha)"):
        return WidthRule("keras")
    m = re.fullmatch(r"(?:make_divisible\(c[·*](?:α|alpha),([0-9]{1,4})\)|divisibleby([0-9]{1,4}))", v)
    if m:
        divisor = int(m.group(1) or m.group(2))
        if divisor < 1:
            raise RuleError("the divisor of make_divisible must be at least 1")
        return WidthRule("divisible", divisor)
    raise RuleError(
        f"width rounding must be 'int(c·α)' (Keras) or 'make_divisible(c·α, 8)' (MobileNetV2), got {value!r}"
    )


def _last_conv(value: str) -> bool:
    v = " ".join(value.lower().split())
    if v in ("scales", "scales with α", "scales with alpha"):
        return False
    if v in ("fixed for α ≤ 1", "fixed for alpha <= 1", "fixed for α <= 1", "fixed"):
        return True
    raise RuleError(f"last conv must be 'scales with α' or 'fixed for α ≤ 1', got {value!r}")


def _reported(value: str):
    out = []
    for item in _items(value):
        m = _REPORTED.match(item)
        if not m:
            raise RuleError(f"expected α@resolution top-1 like '1.0@224 70.6', got {item!r}")
        out.append(
            (
                grammar.decimal(m.group(1), "α"),
                grammar.whole_number(m.group(2), "the resolution"),
                grammar.decimal(m.group(3), "the top-1 percentage"),
            )
        )
    return out


def _paper_shape(text: str, what: str):
    h, w, c = grammar.dims(text, 3, what, "H × W × C")
    return (c, h, w)


# -- rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Use:
    """A block row before its expansion: a built-in block kind or a block of this file, with arguments."""

    kind: BlockKind | _UserBlock
    args: dict
    stride: int
    options: dict  # Options fields the row overrides for the block's convs
    line: int
    name: str = ""
    declared_input: tuple | None = None
    used_at: tuple[int, ...] = ()  # lines of the uses that led here (blocks in blocks)


@dataclass
class _UserBlock:
    """A block defined in the file: its parameters, merge and (unparsed) rows."""

    name: str
    params: tuple[str, ...]
    merge: str
    activation: str | None
    rows: list[tuple[int, dict[str, str]]]  # (line, cells by column role)
    line: int
    uses_stride: bool


class _Parser:
    def __init__(self, path: str, lines: list[str], header: _Header):
        self.path, self.lines, self.header = path, lines, header
        self.user: dict[str, _UserBlock] = {}
        self.expanded = 0  # rows made so far (see _spend)
        self.own_options: dict[
            int, dict
        ] = {}  # id(layer) -> what its Options cell set (it beats the classifier default)

    def fail(self, line: int, message: str, used_at: tuple[int, ...] = ()) -> SpecError:
        if used_at:
            message += f" (in a block used at line {', '.join(map(str, used_at))})"
        return SpecError(self.path, line, self.lines[line - 1] if line else "", message)

    def error_at(self, node: Node, message: str) -> SpecError:
        line = node.line or 1
        return SpecError(self.path, line, self.lines[line - 1] if node.line else "", message)

    # -- tables --

    def _columns(self, numbers: list[int], block: str | None) -> dict[str, int]:
        head = _cells(self.lines[numbers[0] - 1])
        columns: dict[str, int] = {}
        allowed = ("type", "filter", "options", "name") + (("branch",) if block else ("input",))
        for i, cell in enumerate(head):
            word = cell.lower()
            role = next((r for r in allowed if r in word), None)
            if role is None or role in columns:
                what = (
                    f"a second '{_COLUMNS[role]}' column"
                    if role
                    else f"a column {cell!r} that is not understood"
                )
                raise SpecError(
                    self.path,
                    numbers[0],
                    self.lines[numbers[0] - 1],
                    f"{what}; the columns are {', '.join(_COLUMNS[r] for r in allowed)}"
                    + ("" if role else _nearest(word, [_COLUMNS[r].lower() for r in allowed])),
                )
            columns[role] = i
        if "type" not in columns or "filter" not in columns:
            raise SpecError(
                self.path,
                numbers[0],
                self.lines[numbers[0] - 1],
                "the table header must name the columns 'Type / Stride' and 'Filter Shape' "
                "(and optionally 'Input Size')",
            )
        if len(numbers) < 2 or not all(_SEPARATOR_CELL.match(c) for c in _cells(self.lines[numbers[1] - 1])):
            at = numbers[1] if len(numbers) > 1 else numbers[0]
            raise SpecError(
                self.path, at, self.lines[at - 1], "the second table line must be the separator |---|---|"
            )
        if len(numbers) < 3:
            raise SpecError(self.path, numbers[1], self.lines[numbers[1] - 1], "the table has no layer rows")
        columns["_count"] = len(head)
        return columns

    def _raw_rows(self, numbers: list[int], block: str | None) -> list[tuple[int, dict[str, str]]]:
        columns = self._columns(numbers, block)
        if len(numbers) - 2 > MAX_ROWS:  # refused before decoding any: the budget is for expanded rows
            raise SpecError(
                self.path,
                numbers[2 + MAX_ROWS],
                self.lines[numbers[2 + MAX_ROWS] - 1],
                f"the table has {len(numbers) - 2:,} rows; a spec expands to at most {MAX_ROWS:,}",
            )
        rows = []
        for number in numbers[2:]:
            line = self.lines[number - 1]
            cells = _cells(line)
            if len(cells) != columns["_count"]:
                raise SpecError(
                    self.path,
                    number,
                    line,
                    f"expected {columns['_count']} cells like the header, got {len(cells)}",
                )
            rows.append((number, {role: cells[i] for role, i in columns.items() if role != "_count"}))
        return rows

    def table(self, numbers: list[int], block: str | None) -> list:
        """The main table's rows as items (layers and block uses), repeated groups expanded."""
        return self.rows(self._raw_rows(numbers, block), {}, None, ())

    def rows(self, raw, bindings: dict, stride: int | None, used_at: tuple[int, ...]) -> list:
        items: list = []
        group: tuple[int, int, list] | None = None  # (line, repeat, rows)
        for number, cells in raw:
            try:
                type_cell, opens, closes = _group_marks(cells["type"])
                if opens is not None and group is not None:
                    raise RuleError("a repeated group opens inside another; groups do not nest")
                if closes and group is None and opens is None:
                    raise RuleError("'}' closes a repeated group that was never opened with 'N× {'")
                item = self.row(number, type_cell, cells, bindings, stride, used_at)
            except RuleError as e:
                raise self.fail(number, str(e), used_at) from None
            if opens is not None:
                group = (number, opens, [])
            if group is not None:
                group[2].append(item)
                if closes:
                    items.extend(group[2] * group[1])
                    group = None
            else:
                items.append(item)
            if len(items) > MAX_ROWS:
                raise self.fail(number, f"the table expands to more than {MAX_ROWS:,} rows", used_at)
        if group is not None:
            raise self.fail(group[0], "a repeated group opened with 'N× {' is never closed with '}'", used_at)
        return items

    def row(
        self,
        number: int,
        type_cell: str,
        cells: dict,
        bindings: dict,
        stride: int | None,
        used_at: tuple[int, ...],
    ):
        if stride is not None:
            type_cell = _STRIDE_WORD.sub(f"/ s{stride}", type_cell)
        elif _STRIDE_WORD.search(type_cell):
            raise RuleError(
                "'/ stride' is the stride of the row that uses a block: it is written in a block's "
                "table, not in the main table (write '/ s1', '/ s2')"
            )
        if _fold(type_cell).split("/")[0].strip() == "identity":
            raise RuleError(
                "'Identity' is an empty branch of a block with a Branch column (a residual "
                "shortcut); it is not a row of a sequence"
            )
        m = _TYPE_STRIDE.match(type_cell)
        if not m:
            raise RuleError("the Type / Stride cell must read like 'Conv dw / s1'")
        word, stride_text = m.group(1), m.group(2)
        kind = self.user.get(word.lower()) or kind_for_type(word)
        if kind is None:
            known = type_names() + sorted(self.user)
            raise RuleError(f"unknown layer type {word!r}; known types: {', '.join(known)}")
        row_stride = grammar.whole_number(stride_text, "the stride")
        if isinstance(kind, LayerKind) and row_stride != 1 and not kind.strided:
            raise RuleError(
                f"a {kind.label} row has no stride (it would be ignored); write '{kind.label} / s1'"
            )
        filter_cell = (
            _bind(cells["filter"], bindings)
            if isinstance(kind, LayerKind) or "[" in cells["filter"]
            else _bind_values(cells["filter"], bindings)
        )
        opts_cell = _bind(cells.get("options", ""), bindings)
        name = cells.get("name", "").strip()
        if name and not _NAME.match(name):
            raise RuleError(
                f"a row's name is letters, digits and _ (not starting with a digit), got {name!r}"
            )
        declared = _paper_shape(cells["input"], "the input size") if cells.get("input") else None
        if isinstance(kind, LayerKind):
            fields = kind.parse(filter_cell)
            fields.update(self._layer_options(kind, opts_cell))
            own = fields.pop("own_options", ())
            layer = Layer(
                kind=kind.key, stride=row_stride, line=number, name=name, declared_input=declared, **fields
            )
            if own:
                self.own_options[id(layer)] = dict(own)
            return layer
        args = kind.parse(filter_cell) if isinstance(kind, BlockKind) else self._user_args(kind, filter_cell)
        if isinstance(kind, _UserBlock) and len(used_at) >= MAX_NESTING:
            raise RuleError(
                f"blocks are used inside blocks more than {MAX_NESTING} deep (a block that uses itself?)"
            )
        return _Use(
            kind, args, row_stride, self._block_options(opts_cell, kind), number, name, declared, used_at
        )

    def _layer_options(self, kind: LayerKind, cell: str) -> dict:
        fields: dict = {}
        option_items = []
        for item in _items(cell) if cell.strip() else []:
            word = " ".join(item.lower().split())
            if m := _PADDING.match(word):
                _takes(kind, "padding")
                if "padding" in fields:
                    raise RuleError(f"the padding is given twice in the Options cell ({item!r})")
                v = m.group(1)
                fields["padding"] = int(v) if v.isdigit() else ("half" if "//" in v else v)
            elif m := _GROUPS.match(word):
                _takes(kind, "groups")
                fields["groups"] = grammar.whole_number(m.group(1), "the groups")
            elif word in _CEIL:
                _takes(kind, "ceil mode")
                fields["ceil"] = True
            else:
                option_items.append(item)
        if kind.options_key:
            base = self.header.options[kind.options_key] or Options()
            own = _option_fields(option_items, "in the Options cell")
            fields["options"] = replace(base, **own)
            if own:
                fields["own_options"] = tuple(sorted(own.items(), key=lambda kv: kv[0]))
        elif option_items:
            raise RuleError(
                f"a {kind.label} row has no bias, batch norm or activation to set "
                f"(got {', '.join(option_items)})"
            )
        return fields

    def _block_options(self, cell: str, kind) -> dict:
        if isinstance(kind, _UserBlock) and cell.strip():
            raise RuleError(
                f"block {kind.name} takes its options from its own rows, not from an Options cell"
            )
        items = _items(cell) if cell.strip() else []
        return _option_fields(items, "for a block (its Options cell sets the options of its convs)")

    # -- user-defined blocks --

    def define(self, s: _Section) -> None:
        key = s.name.lower()
        if s.table is None:
            raise SpecError(self.path, s.line, self.lines[s.line - 1], f"block '{s.name}' has no table")
        if key in self.user or kind_for_type(key) or key == "identity":
            raise SpecError(
                self.path,
                s.line,
                self.lines[s.line - 1],
                f"a block called '{s.name}' exists already (a built-in type or another block)",
            )
        params = tuple(p.strip() for p in s.params.split(",")) if s.params.strip() else ()
        for p in params:
            if not _NAME.match(p) or p.lower() in _RESERVED_ARGS or params.count(p) > 1:
                raise SpecError(
                    self.path,
                    s.line,
                    self.lines[s.line - 1],
                    f"block parameters are distinct names (letters, digits, _) that are not words of the "
                    f"spec grammar (in, stride, x, dw, pool, relu, padding, …); got {p!r}",
                )
        head = _Header(s.header, self.path, _BLOCK_KEYS, f"block '{s.name}' (its keys: merge, after merge)")
        raw = self._raw_rows(s.table, s.name)
        branched = "branch" in raw[0][1]
        merge = _fold(head.get("merge") or ("" if branched else "sequence"))
        at = head.lines.get("merge", (s.line, ""))[0]
        if merge in ("seq", "sequence", "sequential") and not branched:
            merge = "seq"
        elif merge in ("add", "concat") and branched:
            pass
        else:
            raise SpecError(
                self.path,
                at,
                self.lines[at - 1],
                "a block with a Branch column merges its branches with '- merge: add' or "
                "'- merge: concat'; a block without one runs its rows in sequence",
            )
        after = head.field(
            "after merge", lambda v: _option_fields([v], "after a merge").get("activation", "x")
        )
        if after == "x":
            raise SpecError(
                self.path,
                head.lines["after merge"][0],
                self.lines[head.lines["after merge"][0] - 1],
                "after merge takes an activation: relu, relu6 or no activation",
            )
        uses_stride = any(_STRIDE_WORD.search(_group_marks_safe(c["type"])) for _, c in raw)
        self.user[key] = _UserBlock(s.name, params, merge, after, raw, s.line, uses_stride)

    def _user_args(self, block: _UserBlock, cell: str) -> dict:
        args = grammar.arguments(cell, block.params, f"block {block.name}({', '.join(block.params)})")
        return {
            p: grammar.whole_number(args[grammar.arg_key(p)], f"{block.name}'s {p}") for p in block.params
        }

    def _expand_user(self, use: _Use, block: _UserBlock, shape) -> Block:
        if use.stride != 1 and not block.uses_stride:
            raise self.fail(
                use.line,
                f"block {block.name} does not take a stride: write '/ stride' on its rows "
                f"that should have it, or use it with / s1",
                use.used_at,
            )
        used_at = use.used_at + (use.line,)
        if block.merge == "seq":
            items = self.rows(block.rows, use.args, use.stride, used_at)
            children, _ = self.expand(items, shape)
            return Block(
                "seq",
                tuple(children),
                kind=block.name,
                describe=_describe_args(use.args),
                line=use.line,
                name=use.name,
                declared_input=use.declared_input,
            )
        branches: dict[str, list] = {}
        for number, cells in block.rows:
            if not cells["branch"].strip():
                raise self.fail(
                    number, f"block {block.name}: every row names its branch in the Branch column", used_at
                )
            branches.setdefault(cells["branch"].strip(), []).append((number, cells))
        children = []
        for label, raw in branches.items():
            if not _NAME.match(label):
                raise self.fail(raw[0][0], f"a branch label is letters, digits and _, got {label!r}", used_at)
            identity = [r for r in raw if _fold(r[1]["type"]).split("/")[0].strip() == "identity"]
            if identity:
                if len(raw) > 1:
                    raise self.fail(
                        identity[0][0], f"branch '{label}' is the identity: it has no other rows", used_at
                    )
                children.append(Block("seq", (), name=label))
                continue
            items = self.rows(raw, use.args, use.stride, used_at)
            nodes, _ = self.expand(items, shape)
            children.append(Block("seq", tuple(nodes), name=label))
        merge = Layer(
            kind=block.merge,
            options=Options(bias=False, batch_norm=False, activation=block.activation),
            line=use.line,
            name=block.merge,
        )
        return Block(
            block.merge,
            tuple(children) + (merge,),
            kind=block.name,
            describe=_describe_args(use.args),
            line=use.line,
            name=use.name,
            declared_input=use.declared_input,
        )

    # -- expansion: block rows into blocks, with the shape that reaches them --

    def _spend(self, rows: int, item) -> None:
        """Count expanded rows as they are made, so a runaway expansion stops at once, at its row."""
        self.expanded += rows
        if self.expanded > MAX_ROWS:
            # a plain Layer row carries no use chain: its line is in the main table
            raise self.fail(
                item.line, f"the spec expands to more than {MAX_ROWS:,} rows", getattr(item, "used_at", ())
            )

    def expand(self, items: list, shape) -> tuple[list[Node], tuple]:
        nodes: list[Node] = []
        last_line = None
        for item in items:
            node: Node
            if isinstance(item, _Use):
                if isinstance(item.kind, _UserBlock):
                    node = self._expand_user(item, item.kind, shape)
                else:
                    conv = replace(self.header.options["conv"] or Options(), **item.options)
                    try:
                        node = item.kind.expand(item.args, BlockContext(shape, item.stride, conv, item.line))
                    except RuleError as e:
                        raise self.fail(item.line, str(e), item.used_at) from None
                    # every row of the expansion is the block row's, for errors and `show`
                    node = replace(
                        _with_line(node, item.line), name=item.name, declared_input=item.declared_input
                    )
                    self._spend(sum(1 for _ in leaves(node)), item)
            else:
                node = item
                self._spend(1, item)
            try:
                shape, last_line = output_shape(node, shape, last_line)
            except ShapeError as e:
                raise self.error_at(e.layer, str(e)) from None
            nodes.append(node)
        return nodes, shape


def _with_line(node: Node, line: int | None) -> Node:
    if isinstance(node, Layer):
        return node if node.line is not None else replace(node, line=line)
    return replace(
        node,
        line=node.line if node.line is not None else line,
        children=tuple(_with_line(c, line) for c in node.children),
    )


def _takes(kind: LayerKind, option: str) -> None:
    if option not in kind.row_options:
        takers = sorted(k.label for k in REGISTRY.values() if option in k.row_options)
        raise RuleError(f"a {kind.label} row takes no {option} (only {', '.join(takers)} rows do)")


def _bind(cell: str, bindings: dict) -> str:
    """A block row's cell with the block's argument names replaced by their values."""
    for name, value in bindings.items():
        cell = re.sub(rf"\b{re.escape(name)}\b", str(value), cell)
    return cell


def _bind_values(cell: str, bindings: dict) -> str:
    """A block row's arguments inside a block: a parameter stands for a value, never for an argument's name
    (``c c`` passes this block's ``c`` as the used block's ``c``)."""
    items = []
    for item in cell.split(","):
        head, _, last = item.strip().rpartition(" ")
        value = bindings.get(last)
        items.append(f"{head} {value}".strip() if value is not None else item.strip())
    return ", ".join(items) if cell.strip() else cell


def _describe_args(args: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in args.items())


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


def _group_marks_safe(cell: str) -> str:
    try:
        return _group_marks(cell)[0]
    except RuleError:
        return cell


def _weighted(node: Node) -> TypeGuard[Layer]:
    return isinstance(node, Layer) and node.options is not None and not REGISTRY[node.kind].merge


def _mark_classifier(children: list[Node], header: _Header, own: dict[int, dict]) -> list[Node]:
    """The row that produces the classes gets the classifier options, and α leaves it alone.

    It is the last conv or FC of the main table when the spec says how many classes there
    are, or when that row is an FC or is followed by a softmax; a backbone without a
    classifier has none. With ``last conv: fixed for α ≤ 1`` the conv before it is marked too.
    """
    weighted = [(i, n) for i, n in enumerate(children) if _weighted(n)]
    if not weighted:
        return children
    i, last = weighted[-1]
    softmax_after = any(isinstance(n, Layer) and n.kind == "softmax" for n in children[i + 1 :])
    if last.out_channels is None or not (header.classes is not None or last.kind == "fc" or softmax_after):
        return children
    key = REGISTRY[last.kind].options_key  # set for every kind with options (conv, depthwise, FC)
    kind_options = (header.options[key] if key is not None else None) or Options()
    options = replace(
        header.options["classifier"] or replace(kind_options, activation=None), **own.get(id(last), {})
    )
    out = children[:i] + [replace(last, role="classifier", options=options)] + children[i + 1 :]
    if header.last_conv_fixed:
        before = [(j, n) for j, n in weighted if j < i and n.kind == "conv"]
        if before:
            j, conv = before[-1]
            out[j] = replace(conv, role="last_conv")
    return out


def _classes(root: Block) -> int:
    """Without a ``classes`` entry: the outputs of the classifier, else 0 (a backbone: no classes)."""
    out = [
        n.out_channels
        for n in root.children
        if isinstance(n, Layer) and n.role == "classifier" and n.out_channels is not None
    ]
    return out[0] if out else 0


def _check_classes(root: Block, p: _Parser, header: _Header) -> None:
    if header.classes is None:
        return
    classifier = [n for n in root.children if isinstance(n, Layer) and n.role == "classifier"]
    if not classifier:
        last = next((n for n in reversed(root.children) if _weighted(n)), root.children[-1])
        raise p.error_at(
            last,
            f"the header says classes: {header.classes} but no conv or FC produces them "
            f"(the last weighted row of the main table must be a conv or an FC)",
        )
    if classifier[0].out_channels != header.classes:
        raise p.error_at(
            classifier[0],
            f"the last conv/FC gives {classifier[0].out_channels} outputs but the "
            f"header says classes: {header.classes}",
        )

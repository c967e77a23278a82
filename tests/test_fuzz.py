"""Property-based tests of the spec parser (hypothesis): every input either parses into a
valid spec or raises SpecError with a line number — never any other exception.

Two sources of input: arbitrary text built from the spec language's own alphabet (so
that it gets deep into the grammar, not only "no table"), and the built-in specs mutated
line by line (cells swapped, numbers changed, characters inserted, rows repeated or
dropped). CI runs 5,000 examples of each (the ``long`` settings profile in conftest.py).
"""

from importlib import resources

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from archprof.errors import SpecError
from archprof.parse import parse_spec
from archprof.shapes import resolve

BUILTINS = {
    name: (resources.files("archprof.specs") / f"{name}.md").read_text(encoding="utf-8")
    for name in ("mobilenet_v1", "mobilenet_v1_shallow", "vgg16")
}

TOKENS = [
    "|",
    "|---|",
    "| Type / Stride | Filter Shape | Input Size |",
    "|---|---|---|",
    "Conv",
    "Conv dw",
    "dw",
    "Max Pool",
    "Avg Pool",
    "FC",
    "Softmax",
    "Dropout",
    "Classifier",
    "Pool",
    "/",
    "s1",
    "s2",
    "s0",
    "×",
    "x",
    "X",
    "✕",
    "{",
    "}",
    "5×",
    "0×",
    "1000000×",
    "-",
    "- input:",
    "- classes:",
    "- conv:",
    "- fc:",
    "- classifier:",
    "- alpha:",
    "- resolution:",
    "- reported top-1:",
    "relu",
    "no bias",
    "batch norm",
    "p",
    "0.5",
    "1.5",
    "-1",
    "0",
    "1",
    "3",
    "7",
    "32",
    "224",
    "1024",
    "99999999",
    "1e3",
    ".",
    ",",
    "@",
    "%",
    "#",
    " ",
    "  ",
    "\n",
    "\t",
    "\r",
    "\x00",
    "é",
    "—",
    "ǅ",
    "\u2028",
]

fragments = st.lists(st.sampled_from(TOKENS) | st.text(max_size=4), max_size=60).map("".join)


def check(text: str) -> None:
    try:
        spec = parse_spec(text, "fuzz.md", "fuzz")
    except SpecError as e:
        event(f"SpecError: {e.expected.split(':')[0][:40]}")
        assert isinstance(e.line, int) and e.line >= 1, e
        assert str(e).startswith(f"fuzz.md:{e.line}:")
        assert "\n" not in str(e).strip(), "an error is one line"
        return
    event("parsed")
    rows = resolve(spec)  # a spec that parsed has a shape for every row
    assert len(rows) == len(spec.layers) >= 1
    assert all(min(r.out_shape) >= 1 for r in rows)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(fragments)
@example("")
@example("| Type / Stride | Filter Shape |\n|---|---|\n| Conv / s1 | 3 × 3 × 3 × 8 |\n")
def test_arbitrary_text(text):
    check(text)


@st.composite
def mutated(draw):
    text = BUILTINS[draw(st.sampled_from(sorted(BUILTINS)))]
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(
            st.sampled_from(
                ["number", "insert", "delete", "duplicate", "swap_cells", "replace_token", "drop_line"]
            )
        )
        line = lines[i]
        if op == "number":
            digits = [j for j, ch in enumerate(line) if ch.isdigit()]
            if digits:
                j = draw(st.sampled_from(digits))
                line = (
                    line[:j]
                    + draw(st.sampled_from(["0", "9", "99999", "-1", "", "1.5", "x"]))
                    + line[j + 1 :]
                )
        elif op == "insert":
            j = draw(st.integers(0, len(line)))
            line = line[:j] + draw(st.sampled_from(TOKENS) | st.text(max_size=3)) + line[j:]
        elif op == "delete" and line:
            j = draw(st.integers(0, len(line) - 1))
            line = line[:j] + line[j + draw(st.integers(1, 5)) :]
        elif op == "duplicate":
            lines.insert(i, line)
        elif op == "swap_cells":
            cells = line.split("|")
            if len(cells) > 3:
                a, b = draw(st.integers(1, len(cells) - 2)), draw(st.integers(1, len(cells) - 2))
                cells[a], cells[b] = cells[b], cells[a]
                line = "|".join(cells)
        elif op == "replace_token":
            for old in ("dw", "s1", "s2", "×", "Conv", "Pool", "{", "}", "5×", "FC"):
                if old in line and draw(st.booleans()):
                    line = line.replace(old, draw(st.sampled_from(TOKENS)), 1)
        elif op == "drop_line":
            line = ""
        if op != "duplicate":
            lines[i] = line
    return "\n".join(lines)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_builtins(text):
    check(text)


TYPES = [
    "Conv / s1",
    "Conv / s2",
    "Conv dw / s1",
    "Conv dw / s2",
    "Max Pool / s2",
    "Avg Pool / s1",
    "FC / s1",
    "Softmax / s1",
    "Dropout / s1",
    "5× { Conv dw / s1",
    "Conv / s1 }",
    "2× { Conv / s1 }",
    "Conv / s0",
]
FILTERS = [
    "3 × 3 × 3 × 8",
    "1 × 1 × 8 × 8",
    "3 × 3 × 8 dw",
    "Pool 2 × 2",
    "Pool 16 × 16",
    "8 × 10",
    "2048 × 10",
    "Classifier",
    "p 0.5",
    "p 1.5",
    "3 × 3 × 8",
    "3x3x8x16",
    "1 × 1 × 16 × 10",
]
SIZES = ["", "32 × 32 × 3", "16 × 16 × 8", "1 × 1 × 8", "32 × 32 × 8", "0 × 0 × 8", "x"]


@st.composite
def tables(draw):
    """Documents with a header and a table whose cells come from the language, in random combinations."""
    header = draw(
        st.lists(
            st.sampled_from(
                [
                    "- input: 32 × 32 × 3",
                    "- classes: 10",
                    "- conv: batch norm, relu",
                    "- fc: bias",
                    "- classifier: no activation",
                    "- alpha: 1, 0.5",
                    "- resolution: 32, 16",
                    "- input: 0 × 32 × 3",
                    "- classes: 0",
                    "- alpha: 0",
                    "- reported top-1: 1.0@32 50",
                    "# Title",
                ]
            ),
            max_size=6,
        )
    )
    columns = draw(st.sampled_from([3, 2]))
    head = (
        "| Type / Stride | Filter Shape | Input Size |"
        if columns == 3
        else "| Type / Stride | Filter Shape |"
    )
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        cells = [draw(st.sampled_from(TYPES) | fragments), draw(st.sampled_from(FILTERS) | fragments)]
        if columns == 3:
            cells.append(draw(st.sampled_from(SIZES)))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(header + ["", head, "|---" * columns + "|"] + rows) + "\n"


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_structured_tables(text):
    check(text)

"""Latency tables: row keys, the fitted models, lookup and estimation, the file, and the commands.

Most tests build a table from *synthetic* times — each row's time a known function of its
counted work — so that what the table predicts can be computed by hand beside it. One
test measures a real (tiny) table and checks that predicting the configuration it was
built from looks every row up.
"""

import json
import math
import subprocess
import sys

import pytest

from archprof import lut
from archprof.catalog import load
from archprof.errors import ConfigError
from archprof.shapes import resolve
from archprof.transforms import configure

# a synthetic machine: ms = A·mult-adds + B·bytes moved + C, the same for every row
A, B, C = 2e-9, 3e-7 / 1024, 0.004


def linear_ms(feats: dict) -> float:
    return A * feats["mult_adds"] + B * feats["moved_bytes"] + C


def record(spec, ms=linear_ms, scale=1.0) -> dict:
    rows = [{**row, "ms": ms(row["features"])} for row in lut.spec_rows(spec)]
    # the network's end to end: a known multiple of its rows' sum
    return {"label": spec.label, "rows": rows, "end_to_end_ms": scale * sum(r["ms"] for r in rows)}


ENV = {"backend": "torch", "threads": 1, "device": "cpu", "dtype": "float32", "batch": 1, "cpu": "test cpu"}


def mobilenet(alpha=1.0, resolution=224, name="mobilenet_v1"):
    return configure(load(name), "base", alpha, resolution)


def synthetic_table(configs, **kw) -> lut.Table:
    return lut.from_measurements([record(c, **kw) for c in configs], ENV)


# -- keys ---------------------------------------------------------------------------------------


def test_row_key_names_everything_a_runtime_sees():
    rows = resolve(mobilenet())
    first, dw = lut.row_key(rows[0]), lut.row_key(rows[1])
    # Table 1's first row: 3×3×3×32 conv, stride 2, on 224×224×3, with BN and ReLU and no bias
    assert first == "conv|in=3x224x224|out=32x112x112|k=3x3|s=2|g=1|p=1,1,1,1|opt=nobias,bn,relu"
    assert dw == "conv_dw|in=32x112x112|out=32x112x112|k=3x3|s=1|g=32|p=1,1,1,1|opt=nobias,bn,relu"
    assert lut.family(rows[0]) == "conv/3x3/s2" and lut.family(rows[1]) == "conv_dw/3x3/s1"
    assert lut.family(rows[-2]) == "fc"


def test_equal_rows_share_a_key_and_different_rows_do_not():
    full, shallow = resolve(mobilenet()), resolve(mobilenet(name="mobilenet_v1_shallow"))
    full_keys = {lut.row_key(r) for r in full}
    shallow_keys = {lut.row_key(r) for r in shallow}
    # the shallow variant drops five 14×14×512 pairs; what remains is the same rows
    assert shallow_keys <= full_keys
    # the five repeated pairs are one dw key and one pw key: 30 rows, 30 - 8 distinct keys
    assert len(full) == 30 and len(full_keys) == 22
    # α changes the channels, so every conv key; the softmax of 1000 classes stays
    narrow_keys = {lut.row_key(r) for r in resolve(mobilenet(0.5))}
    assert full_keys & narrow_keys == {k for k in full_keys if k.startswith("softmax")}


# -- fits ---------------------------------------------------------------------------------------


def test_fit_recovers_a_linear_machine():
    table = synthetic_table([mobilenet(a, r) for a in (1.0, 0.5) for r in (224, 160)])
    model = table.models["conv"]
    assert model.coef == pytest.approx((A, B, C), rel=1e-6)
    assert model.rows == sum(1 for e in table.entries.values() if e["family"].startswith("conv/"))


def test_fit_keeps_coefficients_non_negative():
    # times that fall with work: the unconstrained slope is negative; the fit must not predict faster rows for more work
    feats = [
        {"mult_adds": m, "moved_bytes": 1000, "in_c": 1, "out_c": 1, "out_hw": 1} for m in (1e6, 2e6, 3e6)
    ]
    model = lut.fit_model("x", feats, [3.0, 2.0, 1.0])
    assert all(c >= 0 for c in model.coef)
    # the best non-negative fit of falling times is a constant: their relative-error optimum lies within them
    assert model.coef[0] == 0 and 1.0 <= model(feats[0]) <= 3.0


def test_calibration_is_the_median_ratio_and_shrugs_off_a_busy_moment():
    # end to end / Σ rows: 1.05, 1.10, 1.00, 1.08 and one configuration timed while the host was busy, 2.4
    configs = [
        {"rows_ms": s, "rows": 30, "end_to_end_ms": r * s}
        for s, r in [(10, 1.05), (20, 1.10), (15, 1.00), (40, 1.08), (5, 2.4)]
    ]
    assert lut.fit_calibration(configs) == lut.Calibration(scale=pytest.approx(1.08, rel=1e-12))
    assert lut.fit_calibration([]) == lut.Calibration(1.0)


def test_a_table_built_on_a_busy_machine_says_so():
    calm = synthetic_table([mobilenet(), mobilenet(0.5, 160)], scale=1.02)
    assert lut.busy_warning(calm) is None
    busy = lut.from_measurements(
        [record(mobilenet(), scale=1.0), record(mobilenet(0.5, 160), scale=2.1)], ENV
    )
    assert "busy while measuring" in lut.busy_warning(busy) and "1.00–2.10×" in lut.busy_warning(busy)


# -- predicting ---------------------------------------------------------------------------------


def test_a_built_configuration_is_looked_up_row_by_row():
    spec = mobilenet(0.5, 160)
    table = synthetic_table([spec, mobilenet(), mobilenet(name="mobilenet_v1_shallow")], scale=1.125)
    p = lut.predict(table, spec)
    expected = {r["path"]: linear_ms(r["features"]) for r in lut.spec_rows(spec)}
    assert set(p.per_row_source.values()) == {lut.LOOKED_UP}
    assert p.per_row_ms == pytest.approx(expected, rel=1e-12)
    # each end to end = 1.125 × Σ rows: so is the prediction
    assert table.calibration.scale == pytest.approx(1.125, rel=1e-12)
    assert p.total_ms == pytest.approx(1.125 * sum(expected.values()), rel=1e-12)


def test_rows_not_in_the_table_are_estimated_and_marked():
    table = synthetic_table([mobilenet(a, r) for a in (1.0, 0.5, 0.25) for r in (224, 128)])
    spec = mobilenet(0.6, 200)  # no row of it is in the table but the softmax
    p = lut.predict(table, spec)
    sources = p.per_row_source
    assert sources["softmax30"] == lut.LOOKED_UP
    assert sum(s == lut.ESTIMATED for s in sources.values()) == 29
    # on a linear machine the model is exact and its residuals are 0: every estimate is the formula
    for row in lut.spec_rows(spec):
        assert p.per_row_ms[row["path"]] == pytest.approx(linear_ms(row["features"]), rel=1e-6)


def test_estimates_are_corrected_by_their_neighbours():
    # a machine where depthwise rows run 30 % slower than the model of their family can say from work alone
    # (the dw model is shared by all dw rows; make only the 512-channel ones slow)
    def ms(f):
        return linear_ms(f) * (1.3 if f["in_c"] == f["out_c"] == 512 and f["mult_adds"] < 3e6 else 1.0)

    table = synthetic_table([mobilenet(a, r) for a in (1.0, 0.75) for r in (224, 192, 160)], ms=ms)
    spec = mobilenet(1.0, 208)
    p = lut.predict(table, spec)
    rows = {r["path"]: r for r in lut.spec_rows(spec)}
    slow = [path for path, r in rows.items() if ms(r["features"]) > linear_ms(r["features"])]
    assert slow  # the 14×14×512 depthwise rows at 208 px: 13×13
    model = table.models["conv_dw"]
    for path in slow:
        raw = model(rows[path]["features"])
        # the correction moves the estimate from the plain fit toward the measured neighbours' 1.3×
        assert p.per_row_ms[path] > raw * 1.1


def misaligned(f: dict) -> bool:
    return f["in_c"] % 8 != 0 or f["out_c"] % 8 != 0


def test_misaligned_rows_are_corrected_by_misaligned_neighbours(monkeypatch):
    # a machine where rows whose channels are not multiples of 8 run 15 % slower than work alone says (oneDNN's
    # block tails); the table has such rows from the off-grid widths 0.4 and 1.3 (12, 25, 51, … channels)
    def ms(f):
        return linear_ms(f) * (1.15 if misaligned(f) else 1.0)

    configs = [mobilenet(a, r) for a in (1.0, 0.75, 0.5, 0.4, 1.3) for r in (224, 160)]
    odd = mobilenet(0.9, 192)  # 28, 57, 115, 230, 460, 921 channels: none in the table
    rows = [r for r in lut.spec_rows(odd) if r["family"].startswith("conv")]
    assert all(misaligned(r["features"]) for r in rows)

    def ratios(spec):
        table = lut.from_measurements([record(c, ms=ms) for c in configs], ENV)
        p = lut.predict(table, spec)
        return [
            p.per_row_ms[r["path"]] / ms(r["features"])
            for r in lut.spec_rows(spec)
            if r["family"].startswith("conv") and p.per_row_source[r["path"]] == lut.ESTIMATED
        ]

    near = ratios(odd)
    assert len(near) == len(rows)  # none of them in the table
    # every estimate within 6 % of the slow machine's time (here 0.945–1.0: the prior's pull toward no
    # correction and neighbours of other sizes leave a few per cent)
    assert all(0.94 < x < 1.06 for x in near), near
    monkeypatch.setattr(lut, "MISALIGNED_DISTANCE", 0.0)  # aligned neighbours as near as misaligned ones
    blind = ratios(odd)
    # blind to alignment, the aligned rows pull the correction toward 1: 12–13 % fast here
    assert sum(x < 0.9 for x in blind) >= len(blind) - 1, blind
    monkeypatch.undo()
    # an aligned configuration no row of which is in the table is not slowed by its misaligned neighbours
    assert all(0.95 < x < 1.05 for x in ratios(mobilenet(1.0, 208)))


def test_rows_of_misaligned_pixels_are_corrected_by_rows_like_them(monkeypatch):
    # a machine where rows whose output pixels are not a multiple of 8 run 15 % slower (a 1×1 conv's GEMM
    # blocks pixels as it blocks channels): MobileNetV1's 14 × 14 stage at 224 px (196 pixels) and 10 × 10 at
    # 160 are slow, 12 × 12 at 192 and 8 × 8 at 128 are not; at 208 px the stage is 13 × 13 (169: slow)
    def ms(f):
        return linear_ms(f) * (1.15 if f["out_hw"] % 8 else 1.0)

    configs = [mobilenet(a, r) for a in (1.0, 0.5) for r in (224, 192, 160, 128)]
    spec = mobilenet(1.0, 208)

    def ratios():
        table = lut.from_measurements([record(c, ms=ms) for c in configs], ENV)
        p = lut.predict(table, spec)
        return [
            p.per_row_ms[r["path"]] / ms(r["features"])
            for r in lut.spec_rows(spec)
            if r["features"]["out_hw"] == 13 * 13 and r["family"].startswith("conv")
        ]

    near = ratios()
    assert len(near) == 12  # the stride-2 dw into the stage and its pw, then 5 dw + pw pairs
    assert all(0.94 < x < 1.06 for x in near), near
    monkeypatch.setattr(lut, "MISALIGNED_DISTANCE", 0.0)
    blind = ratios()  # 12 × 12 as near as 14 × 14: the correction halfway
    assert sum(abs(x - 1) for x in near) < sum(abs(x - 1) for x in blind)


def test_a_kind_the_table_never_saw_is_an_error_that_says_how_to_fix_it():
    table = synthetic_table([mobilenet()])
    with pytest.raises(ConfigError, match=r"^the latency table has no 'max_pool' rows.*archprof lut build"):
        lut.predict(table, configure(load("resnet18"), "base", 1.0, 224))


# -- the file -----------------------------------------------------------------------------------


def test_a_table_survives_its_file(tmp_path):
    table = synthetic_table([mobilenet(a, r) for a in (1.0, 0.5) for r in (224, 160)], scale=1.07)
    again = lut.decode(table.to_json(), "t.json")
    assert again.entries == table.entries and again.configurations == table.configurations
    assert again.calibration == table.calibration
    assert {k: m.coef for k, m in again.models.items()} == {k: m.coef for k, m in table.models.items()}
    spec = mobilenet(0.8, 176)
    assert lut.predict(again, spec).per_row_ms == lut.predict(table, spec).per_row_ms
    data = json.loads(table.to_json())
    assert data["format"] == lut.FORMAT and data["environment"]["threads"] == 1


@pytest.mark.parametrize(
    "text, words",
    [
        ("not json", "not one archprof wrote"),
        ('{"format": "other"}', "not one archprof wrote"),
        ('{"format": "archprof-latency-table/1", "entries": 3}', "not one archprof wrote"),
    ],
)
def test_a_bad_table_file_is_one_clear_error(text, words):
    with pytest.raises(ConfigError, match=words):
        lut.decode(text, "bad.json")


def _mutated(change) -> str:
    """A synthetic table's file with one thing changed by ``change(data, first_key)``."""
    data = json.loads(synthetic_table([mobilenet(0.5, 160)]).to_json())
    change(data, sorted(data["entries"])[0])
    return json.dumps(data)


def _set(*path, value):
    def change(data, key):
        where = data
        for p in path[:-1]:
            where = where[key if p is KEY else p]
        where[key if path[-1] is KEY else path[-1]] = value

    return change


def _drop(*path):
    def change(data, key):
        where = data
        for p in path[:-1]:
            where = where[key if p is KEY else p]
        del where[key if path[-1] is KEY else path[-1]]

    return change


KEY = object()  # stands for the table's first entry key in a path


@pytest.mark.parametrize(
    "change, words",
    [
        # each of these decoded, then failed later (a traceback) or predicted nonsense (a negative time)
        (_set("environment", value=[]), "'environment' is a list, not an object"),
        (_set("environment", value="cpu"), "'environment' is 'cpu', not an object"),
        (_set("environment", "specs", value=[1, 2]), "specs is not a list of names"),
        (_set("environment", "threads", value="1"), "threads is '1', not a whole number"),
        (_set("environment", "threads", value=True), "threads is True"),
        (_drop("entries", KEY, "features", "in_c"), "features in_c is missing"),
        (_set("entries", KEY, "features", "mult_adds", value="12"), "mult_adds is '12'"),
        (_set("entries", KEY, "features", "in_c", value=-5), "in_c is -5"),
        (_set("entries", KEY, "features", "mult_adds", value=float("nan")), "mult_adds is nan"),
        (_set("entries", KEY, "ms", value="1.5"), "ms is '1.5', not a number of ms"),
        (_set("entries", KEY, "ms", value=-1.0), "ms is -1.0, not a number of ms at least 0"),
        (_set("entries", KEY, "ms", value=float("nan")), "ms is nan"),
        (_set("entries", KEY, "ms", value=float("inf")), "ms is inf"),
        (_set("entries", KEY, "ms", value=1e308), "ms is 1e+308"),
        (_set("entries", KEY, "ms", value=True), "ms is True"),
        (_drop("entries", KEY, "ms"), "ms is missing"),
        (_set("entries", KEY, value=3), "is 3, not an object"),
        (_set("entries", KEY, "family", value=5), "has no family"),
        (_set("entries", value=[]), "'entries' is a list, not an object"),
        (_set("configurations", value={}), "'configurations' is an object, not a list"),
        (_set("configurations", 0, value=3), "configuration 1 is 3, not an object"),
        (_drop("configurations", 0, "rows"), "configuration 1: rows is missing"),
        (
            _set("configurations", 0, "end_to_end_ms", value=0),
            "end_to_end_ms is 0, not a number of ms greater",
        ),
        (_set("configurations", 0, "end_to_end_ms", value=float("nan")), "end_to_end_ms is nan"),
        (
            _drop(
                "environment",
            ),
            "no 'environment'",
        ),
    ],
)
def test_a_table_of_the_wrong_structure_is_refused_where_it_is_decoded(change, words):
    with pytest.raises(ConfigError, match=r"^latency table 'bad.json' is not one archprof wrote \(") as e:
        lut.decode(_mutated(change), "bad.json")
    assert words in str(e.value)


def test_json_nested_too_deep_is_a_bad_table_not_a_recursion_error():
    with pytest.raises(ConfigError, match="not one archprof wrote"):
        lut.decode("[" * 200_000, "deep.json")


def test_a_table_of_the_wrong_structure_is_one_line_on_the_command_line(run, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(_mutated(_set("entries", KEY, "ms", value="1.5")), encoding="utf-8")
    for args in (
        ["lut", "show", str(path)],
        ["profile", "mobilenet_v1", "--latency", "predicted", "--table", str(path)],
    ):
        code, out, err = run(*args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        assert err.startswith("archprof: error: latency table") and "ms is '1.5'" in err


def test_a_table_path_that_is_no_regular_file_is_refused_before_it_is_read(tmp_path):
    # a FIFO blocked the read forever and /dev/zero read until memory ran out (a MemoryError traceback):
    # in a child with a timeout, so that a regression fails rather than hangs
    import os

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    paths = [str(tmp_path / "fifo"), str(tmp_path / "dir")] + ["/dev/zero"] * os.path.exists("/dev/zero")
    code = (
        "import sys; from archprof import lut; from archprof.errors import ConfigError\n"
        "for p in sys.argv[1:]:\n"
        "    try: lut.load(p)\n"
        "    except ConfigError as e: print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *paths], capture_output=True, text=True, timeout=60, check=False
    )
    lines = done.stdout.splitlines()
    assert len(lines) == len(paths), done.stderr
    assert "it is not a regular file" in lines[0] and "it is a directory" in lines[1]
    assert all(line.startswith("cannot read latency table") for line in lines)


def test_a_table_file_too_large_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(lut.MAX_TABLE_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ConfigError, match=r"is 64\.0 MiB; .*rebuild it"):
        lut.load(path)


def test_a_missing_table_says_how_to_build_one(tmp_path):
    with pytest.raises(ConfigError, match=r"no latency table.*archprof lut build"):
        lut.TablePredictor(tmp_path / "none.json")


def test_a_table_of_another_setting_is_refused(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(synthetic_table([mobilenet()]).to_json(), encoding="utf-8")
    lut.TablePredictor(path, threads=1)  # its own setting
    with pytest.raises(ConfigError, match="threads 1, not 4"):
        lut.TablePredictor(path, threads=4)


def test_the_default_path_is_per_user_and_per_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHPROF_DATA_DIR", str(tmp_path))
    assert lut.default_path("onnxruntime", 2) == tmp_path / "latency" / "onnxruntime-cpu-float32-2thread.json"
    assert lut.default_path(batch=8).name == "torch-cpu-float32-1thread-batch8.json"
    monkeypatch.delenv("ARCHPROF_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert lut.default_path() == tmp_path / "xdg" / "archprof" / "latency" / "torch-cpu-float32-1thread.json"


# -- the commands -------------------------------------------------------------------------------


@pytest.fixture
def table_file(tmp_path, monkeypatch):
    """A synthetic table where ``profile --latency predicted`` looks for it."""
    monkeypatch.setenv("ARCHPROF_DATA_DIR", str(tmp_path))
    path = lut.default_path()
    path.parent.mkdir(parents=True)
    configs = [mobilenet(a, r) for a in (1.0, 0.5) for r in (224, 160)] + [
        mobilenet(name="mobilenet_v1_shallow")
    ]
    path.write_text(synthetic_table(configs, scale=1.02).to_json(), encoding="utf-8")
    return path


def test_profile_predicted_gives_rows_and_end_to_end(run, table_file):
    code, out, err = run(
        "profile",
        "mobilenet_v1",
        "--alpha",
        "0.5",
        "--resolution",
        "160",
        "--latency",
        "predicted",
        "--format",
        "json",
    )
    assert code == 0, err
    data = json.loads(out)
    leaves = [r for r in data["layers"] if not r["is_block"]]
    assert {r["latency_source"] for r in leaves} == {"lookup"}
    expected = {r["path"]: linear_ms(r["features"]) for r in lut.spec_rows(mobilenet(0.5, 160))}
    assert {r["path"]: r["latency_ms"] for r in leaves} == pytest.approx(expected, rel=1e-12)
    p = data["predicted"]
    assert p["rows_looked_up"] == 30 and p["rows_estimated"] == 0
    assert p["end_to_end_ms"] == pytest.approx(1.02 * sum(expected.values()), rel=1e-9)
    assert data["totals"]["latency_ms"] == pytest.approx(sum(expected.values()), rel=1e-12)


def test_profile_predicted_marks_estimates_in_the_table(run, table_file):
    code, out, _err = run("profile", "mobilenet_v1", "--alpha", "0.6", "--latency", "predicted")
    assert code == 0
    assert out.count("≈") >= 29 and "29 estimated" in out and "1 looked up" in out


def test_profile_predicted_runs_nothing(table_file):
    # torch is never imported: no model is built, nothing is timed
    code = (
        "import sys; from archprof.cli import main; "
        "rc = main(['profile', 'mobilenet_v1', '--latency', 'predicted', '--format', 'json']); "
        "print(rc, 'torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**__import__("os").environ},
    )
    assert done.stdout.strip().splitlines()[-1] == "0 False", done.stderr


@pytest.mark.parametrize(
    "args, words",
    [
        (["--latency", "predicted", "--no-latency"], "contradict"),
        (["--latency", "predicted", "--min-run-time", "1"], "--min-run-time only applies to running"),
        (["--table", "x.json"], "give --latency predicted too"),
        (["--latency", "predicted", "--threads", "3"], "no latency table"),
    ],
)
def test_profile_predicted_contradictions(run, table_file, args, words):
    code, out, err = run("profile", "mobilenet_v1", *args)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1 and out == ""


def test_sweep_predicts_every_configuration(run, table_file):
    code, out, err = run(
        "sweep",
        "mobilenet_v1",
        "--alpha",
        "0.5,1",
        "--resolution",
        "160,200",
        "--latency",
        "predicted",
        "--format",
        "json",
    )
    assert code == 0, err
    rows = json.loads(out)["configurations"]
    table = lut.load(table_file)
    for row in rows:
        spec = mobilenet(row["alpha"], row["resolution"])
        assert row["latency_ms"] == pytest.approx(lut.predict(table, spec).total_ms, rel=1e-12)
    sources = {(r["alpha"], r["resolution"]): r["latency_source"] for r in rows}
    assert sources[(0.5, 160)] == "30/30 rows looked up"
    # 200 px halves to 100, 50, 25, 13 and 7: from the 7×7 stage's pw on (pw, dw, pw, pool, FC, softmax) as at 224
    assert sources[(1.0, 200)] == "6/30 rows looked up"


@pytest.mark.parametrize(
    "backend, words",
    [
        ("bogus", "unknown backend 'bogus'; known: torch, onnxruntime"),
        ("torch,onnxruntime", "a latency table is of one backend; got 'torch,onnxruntime'"),
        ("../../elsewhere", "unknown backend '../../elsewhere'"),
    ],
)
def test_sweep_predicts_for_a_known_backend_only(run, table_file, backend, words):
    # it said "no latency table at …/bogus-cpu-float32-1thread.json" (a default path made of the name), or,
    # with --table, "build one for backend torch,onnxruntime (archprof lut build --backend torch,onnxruntime)"
    for table in ([], ["--table", str(table_file)]):
        code, out, err = run("sweep", "mobilenet_v1", "--latency", "predicted", "--backend", backend, *table)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and words in err, err


def test_sweep_prediction_options_need_predicted_latency(run):
    code, _out, err = run("sweep", "mobilenet_v1", "--threads", "2")
    assert code == 2 and "--threads only applies to predicted latency" in err


def test_lut_build_measures_a_table_that_looks_its_configuration_up(run, tmp_path):
    path = tmp_path / "tiny.json"
    code, _out, err = run(
        "lut",
        "build",
        "mobilenet_v1",
        "--alpha",
        "0.25",
        "--resolution",
        "96",
        "--run-time",
        "0.2",
        "--output",
        str(path),
    )
    assert code == 0, err
    table = lut.load(path)
    spec = mobilenet(0.25, 96)
    assert set(table.entries) == {r["key"] for r in lut.spec_rows(spec)}  # 22 distinct of 30 rows
    assert len(table.entries) == 22 and len(table.configurations) == 1
    assert all(e["ms"] > 0 for e in table.entries.values())
    env = table.environment
    assert env["threads"] == 1 and env["backend"] == "torch" and env["specs"] == ["mobilenet_v1"]
    # the five repeated 14×14 pairs were timed five times per pass: one entry each, from all of them
    assert table.configurations[0]["rows"] == 30
    p = lut.predict(table, spec)
    assert set(p.per_row_source.values()) == {"lookup"}
    code, out, _err = run("lut", "show", str(path))
    assert code == 0 and "22 distinct row configurations" in out and "conv_dw/3x3/s1" in out
    assert math.isfinite(p.total_ms) and p.total_ms > 0


def test_lut_build_refuses_what_it_cannot_write_before_measuring(run, tmp_path):
    code, _out, err = run("lut", "build", "mobilenet_v1", "--output", str(tmp_path))
    assert code == 2 and "directory" in err and len(err.strip().splitlines()) == 1


def test_lut_show_without_a_table(run):
    code, _out, err = run("lut", "show")
    assert code == 2 and "archprof lut build" in err


def test_lut_help_names_the_data_directory(run):
    code, out, _err = run("lut", "--help")
    assert code == 0 and "ARCHPROF_DATA_DIR" in out


def test_lut_build_on_cuda_without_a_gpu_is_one_line(run, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the next test builds on it")
    code, _out, err = run(
        "lut", "build", "mobilenet_v1", "--device", "cuda", "--output", str(tmp_path / "t.json")
    )
    assert code == 2 and "no CUDA GPU" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t.json").exists()


def test_lut_build_on_cuda_times_rows_with_cuda_events(run, tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    path = tmp_path / "cuda.json"
    code, _out, err = run(
        "lut",
        "build",
        "mobilenet_v1",
        "--alpha",
        "0.25",
        "--resolution",
        "96",
        "--device",
        "cuda",
        "--run-time",
        "0.3",
        "--output",
        str(path),
    )
    assert code == 0, err
    table = lut.load(path)
    assert table.environment["device"] == "cuda" and table.environment.get("gpu")
    p = lut.TablePredictor(path, device="cuda").predict(mobilenet(0.25, 96))
    assert set(p.per_row_source.values()) == {"lookup"} and p.total_ms > 0


def test_lut_show_keeps_escape_sequences_off_the_terminal(run, tmp_path):
    table = synthetic_table([mobilenet()])
    table.environment = {**table.environment, "cpu": "evil\x1b]52;c;cHduZWQ=\x07cpu", "date": "\x1b[2J"}
    path = tmp_path / "evil.json"
    path.write_text(table.to_json(), encoding="utf-8")
    code, out, _err = run("lut", "show", str(path))
    assert code == 0 and "evil" in out and "\x1b" not in out and "\x07" not in out
    code, out, _err = run("profile", "mobilenet_v1", "--latency", "predicted", "--table", str(path))
    assert code == 0 and "evil" in out and "\x1b" not in out


def test_profile_predicted_from_a_table_that_does_not_say_its_setting(run, tmp_path):
    # an environment without threads printed "None threads"; what the table does not say is "?", as in lut show
    table = synthetic_table([mobilenet()])
    table.environment = {}
    path = tmp_path / "bare.json"
    path.write_text(table.to_json(), encoding="utf-8")
    code, out, err = run("profile", "mobilenet_v1", "--latency", "predicted", "--table", str(path))
    assert code == 0, err
    assert "None" not in out and "measured with ? on ?, ? threads" in " ".join(out.split())


def test_the_api_refuses_a_table_it_would_not_use(table_file):
    import archprof

    # table= without predicted=True was ignored (counts only, no latency, no word), and table="" quietly
    # predicted from the per-user table
    with pytest.raises(ConfigError, match=r"give predicted=True too"):
        archprof.profile("mobilenet_v1", table=str(table_file))
    with pytest.raises(ConfigError, match=r"table= is empty"):
        archprof.profile("mobilenet_v1", predicted=True, table="")
    p = archprof.profile("mobilenet_v1", predicted=True, table=str(table_file))
    assert p.extras["predicted"]["rows_looked_up"] == 30


def test_estimates_are_remembered_per_batch_and_dtype():
    table = synthetic_table([mobilenet(a, r) for a in (1.0, 0.5) for r in (224, 160)])
    spec = mobilenet(0.6, 200)
    one = lut.predict(table, spec)
    eight = lut.predict(table, spec, batch=8)  # on the same table object: no estimate of batch 1 reused
    fresh = lut.predict(
        synthetic_table([mobilenet(a, r) for a in (1.0, 0.5) for r in (224, 160)]), spec, batch=8
    )
    assert eight.per_row_ms == fresh.per_row_ms and eight.per_row_ms["pw27"] > one.per_row_ms["pw27"]


def test_lut_show_with_a_file_refuses_the_setting_options(run, tmp_path):
    path = tmp_path / "t.json"
    path.write_text(synthetic_table([mobilenet()]).to_json(), encoding="utf-8")
    code, _out, err = run("lut", "show", str(path), "--threads", "4")
    assert code == 2 and "--threads chooses a per-user table" in err


def test_lut_build_refuses_a_model_file_before_running_it(run, tmp_path):
    marker = tmp_path / "ran"
    model = tmp_path / "net.py"
    model.write_text(f"open({str(marker)!r}, 'w').close()\nimport torch\nNet = torch.nn.Identity\n")
    code, _out, err = run("lut", "build", f"{model}:Net", "--output", str(tmp_path / "t.json"))
    assert code == 2 and "is a model file" in err and not marker.exists()


def test_lut_build_adds_off_grid_widths_to_a_truncating_spec():
    from archprof import lut_build
    from archprof.catalog import builtin_names

    v1 = lut_build.configurations(["mobilenet_v1"])
    # its grid (4 α × 4 resolutions) and the three off-grid widths at its four resolutions
    assert len(v1) == 16 + 3 * 4
    assert {c.alpha for c in v1} == {1.0, 0.75, 0.5, 0.25, 0.4, 0.8, 1.3}
    assert {c.resolution for c in v1} == {224, 192, 160, 128}

    def misaligned_rows(spec) -> int:  # of the convs after the first (whose 3 input channels every width has)
        convs = [r for r in lut.spec_rows(spec) if r["family"].startswith("conv")][1:]
        return sum(misaligned(r["features"]) for r in convs)

    # why: the grid's widths fill oneDNN's 8-channel blocks, the off-grid ones mostly do not
    assert not any(misaligned_rows(c) for c in v1 if c.alpha in (1.0, 0.75, 0.5, 0.25))
    assert all(misaligned_rows(c) >= 20 for c in v1 if c.alpha in lut_build.OFF_GRID_ALPHAS)
    assert len(lut_build.configurations(["mobilenet_v1"], alphas=(0.5,))) == 4  # α given: just those
    assert len(lut_build.configurations(["mobilenet_v2"])) == 6 * 5  # make_divisible keeps multiples of 8
    assert len(lut_build.configurations(["vgg16"])) == 1  # one width: nothing to add
    # every built-in: 69 grid configurations, and 12 off-grid ones each for MobileNetV1 and its shallow variant
    assert len(lut_build.configurations(builtin_names())) == 69 + 2 * 12

"""Fuzzing the input surfaces a user controls: scenario TOML, the CSV loaders of `rsilab fit`, the
series files of `rsilab evidence fit --add`, and sweep files (through their loader, see below).

Inputs are random mutations of valid ones (types, ranges, unknown keys, unicode, huge numbers,
NaN and infinities, deep nesting, dropped and repeated rows and columns) and random bytes. The
property, for every input, through the real CLI on a real store:

- exit 0 with a result, or exit 2 with exactly one line on stderr that names the input file
  (and so the field or the row and column, which the error types add after it); never a
  traceback, never any other exit code;
- never a hang: each input finishes within ``BOUND_SECONDS``;
- never a partially written run: a failed input adds no run to the store, a successful one adds
  only finished runs.

Each test is bounded in examples (hypothesis ``max_examples``) and prints how many inputs it ran
and its slowest input (``pytest -s`` shows them).
"""
from __future__ import annotations

import csv
import io
import json
import math
import signal
import sqlite3
import time
import tomllib
import warnings
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rsilab.cli import cli
from rsilab.core.toml_text import to_toml

# Generous for two shared, busy cores: the slowest valid input here (a preset at 64 samples)
# takes about a second alone; a hang is anything beyond this.
BOUND_SECONDS = 30.0
FUZZ = settings(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large, HealthCheck.large_base_example])


class Tally:
    """How many inputs a test ran and the slowest one."""

    def __init__(self, name: str):
        self.name, self.count, self.slowest, self.slowest_input = name, 0, 0.0, ""
        self.warnings: dict[str, str] = {}
        self.results = 0

    def warned(self, caught: list, shown: str) -> None:
        for w in caught:
            self.warnings.setdefault(f"{w.category.__name__}: {w.message}", shown[:400])

    def add(self, seconds: float, shown: str) -> None:
        self.count += 1
        if seconds > self.slowest:
            self.slowest, self.slowest_input = seconds, shown[:2000]

    def report(self) -> None:
        if not self.count:
            return
        print(f"\n[fuzz] {self.name}: {self.count} inputs ({self.results} results, the rest one-line errors); slowest {self.slowest:.2f} s: {self.slowest_input!r}")
        for text, shown in self.warnings.items():
            print(f"[fuzz] {self.name}: warning printed: {text} (first on {shown!r})")


def _run_count(store: Path) -> tuple[int, int]:
    if not store.exists():
        return 0, 0
    con = sqlite3.connect(store)
    try:
        total, unfinished = con.execute(
            "SELECT COUNT(*), COALESCE(SUM(status != 'finished'), 0) FROM runs").fetchone()
    except sqlite3.OperationalError:  # no runs table yet
        return 0, 0
    finally:
        con.close()
    return int(total), int(unfinished)


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"still running after {BOUND_SECONDS:g} s")


def check_cli(args: list[str], named: Path, store: Path, tally: Tally, shown: str) -> None:
    before, _ = _run_count(store)
    started = time.perf_counter()
    # SIGALRM interrupts Python code past the bound (compiled loops only when they return, and
    # then the elapsed time below still fails the input).
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, BOUND_SECONDS)
    try:
        # As a user runs it: a numerical warning is printed, not raised (the suite's
        # warnings-are-errors setting would turn it into a crash that users never see).
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = CliRunner().invoke(cli, args + ["--store", str(store)], catch_exceptions=True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - started
    tally.warned(caught, shown)
    assert not isinstance(res.exception, Hang), f"took over {BOUND_SECONDS:g} s on {shown!r}"
    tally.add(seconds, shown)
    after, unfinished = _run_count(store)
    assert seconds < BOUND_SECONDS, f"took {seconds:.1f} s on {shown!r}"
    if res.exit_code == 0:
        assert unfinished == 0, "a run was left unfinished"
        tally.results += 1
        return
    assert res.exit_code == 2, (res.exit_code, repr(res.exception), shown, res.output[-800:])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    err = res.stderr.strip()
    assert "Traceback" not in res.output + res.stderr
    assert len(err.splitlines()) == 1, (err, shown)
    assert named.name in err, (err, shown)
    assert after == before, f"a failed input wrote {after - before} run(s)"


# -- scenario TOML ---------------------------------------------------------------------------------
def _presets() -> dict[str, dict]:
    root = resources.files("rsilab.presets")
    return {e.name: tomllib.loads(e.read_text(encoding="utf-8")) for e in root.iterdir() if e.name.endswith(".toml")}


PRESETS = _presets()
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_float = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, 0.0, -0.0]))
_int = st.one_of(st.integers(-10, 10), st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, -1, 2**31, 10**18]))
_scalar = st.one_of(st.booleans(), _int, _float, _text)


def _nested(depth: int):
    value = _scalar
    for _ in range(depth):
        value = st.one_of(st.lists(value, max_size=2), st.dictionaries(st.sampled_from(["a", "low", "dist"]), value,
                                                                        max_size=2))
    return value


_value = st.one_of(_scalar, st.lists(_scalar, max_size=4),
                   st.dictionaries(st.sampled_from(["dist", "low", "high", "mean", "sd", "x"]), _scalar, max_size=4),
                   st.integers(5, 60).flatmap(_nested))


@st.composite
def mutated_scenario(draw) -> dict:
    doc = json.loads(json.dumps(PRESETS[draw(st.sampled_from(sorted(PRESETS)))], allow_nan=True))
    for _ in range(draw(st.integers(1, 3))):
        section = draw(st.sampled_from(sorted(doc) + ["unknown_section"]))
        action = draw(st.sampled_from(["replace", "delete", "unknown_key", "replace_section"]))
        table = doc.setdefault(section, {})
        if action == "replace_section" or not isinstance(table, dict):
            doc[section] = draw(_value)
            continue
        keys = sorted(table)
        if action == "unknown_key" or not keys:
            table[draw(_text.filter(bool))] = draw(_value)
        elif action == "delete":
            del table[draw(st.sampled_from(keys))]
        else:
            key = draw(st.sampled_from(keys))
            inner = table[key]
            if isinstance(inner, dict) and inner and draw(st.booleans()):
                inner[draw(st.sampled_from(sorted(inner)))] = draw(_value)
            else:
                table[key] = draw(_value)
    return doc


@pytest.fixture(scope="module")
def toml_tally():
    tally = Tally("scenario TOML (mutated presets)")
    yield tally
    tally.report()


@settings(FUZZ, max_examples=60)
@given(doc=mutated_scenario())
def test_fuzz_scenario_toml(tmp_path_factory, toml_tally, doc):
    tmp = tmp_path_factory.mktemp("toml")
    path = tmp / "scenario.toml"
    text = to_toml(doc)
    path.write_text(text, encoding="utf-8")
    check_cli(["simulate", str(path), "--samples", "64", "--json"], path, tmp / "s.sqlite", toml_tally, text)


@pytest.fixture(scope="module")
def bytes_tally():
    tally = Tally("scenario TOML (random bytes)")
    yield tally
    tally.report()


@settings(FUZZ, max_examples=25)
@given(data=st.one_of(st.binary(max_size=400),
                      st.sampled_from(sorted(PRESETS)).flatmap(
                          lambda name: st.integers(0, 2000).map(
                              lambda cut: to_toml(PRESETS[name]).encode()[:cut] + b"\xff\x00["))))
def test_fuzz_scenario_random_bytes(tmp_path_factory, bytes_tally, data):
    tmp = tmp_path_factory.mktemp("bytes")
    path = tmp / "scenario.toml"
    path.write_bytes(data)
    check_cli(["simulate", str(path), "--samples", "64", "--json"], path, tmp / "s.sqlite", bytes_tally, repr(data))


# -- sweep files ---------------------------------------------------------------------------------
# A valid sweep file starts Ray and runs experiments, too slow to repeat per input; the fuzz
# therefore calls the loader the CLI calls first (nothing runs before the whole file is valid):
# it must return a spec or raise one RsilabError naming the file, on one line.
SWEEP_BASE = tomllib.loads((Path(__file__).resolve().parents[1] / "docs" / "sweeps" /
                            "learned_optimizer_hidden.toml").read_text(encoding="utf-8"))


@st.composite
def mutated_sweep(draw) -> dict:
    doc = json.loads(json.dumps(SWEEP_BASE))
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(sorted(doc) + ["unknown"]))
        action = draw(st.sampled_from(["replace", "delete", "inner", "inner", "add_inner"]))
        if action == "delete" and key in doc:
            del doc[key]
        elif action in ("inner", "add_inner") and isinstance(doc.get(key), dict):
            table = doc[key]
            name = draw(st.sampled_from(sorted(table) + ["d_model", "lr", "hidden", "rounds", "seed"]))
            if action == "add_inner":
                name = draw(st.one_of(st.just(name), _text.filter(bool)))
            table[name] = draw(st.one_of(_value, st.lists(_scalar, min_size=1, max_size=5),
                                         st.lists(st.integers(-2, 64), min_size=1, max_size=4),
                                         st.integers(-2, 64),
                                         st.lists(st.dictionaries(st.sampled_from(["hidden", "rounds", "x"]), _scalar,
                                                                  max_size=2), max_size=3)))
        else:
            doc[key] = draw(_value)
    return doc


@pytest.fixture(scope="module")
def sweep_tally():
    tally = Tally("sweep file (loader)")
    yield tally
    tally.report()


@settings(FUZZ, max_examples=60)
@given(doc=st.one_of(mutated_sweep(), st.binary(max_size=200)))
def test_fuzz_sweep_file(tmp_path_factory, sweep_tally, doc):
    from rsilab.errors import RsilabError
    from rsilab.sweep.spec import load_spec

    path = tmp_path_factory.mktemp("sweep") / "sweep.toml"
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    else:
        path.write_text(to_toml(doc), encoding="utf-8")
    started = time.perf_counter()
    try:
        spec = load_spec(path)
    except RsilabError as exc:
        message = str(exc)
        assert len(message.splitlines()) == 1 and str(path) in message, message
    else:
        assert spec.cells and len(spec.cells) == len(spec.configs)
        sweep_tally.results += 1
    seconds = time.perf_counter() - started
    sweep_tally.add(seconds, path.read_text(encoding="utf-8", errors="replace"))
    assert seconds < BOUND_SECONDS


# -- the CSV loaders -------------------------------------------------------------------------------
ROUNDS = [["round", "capability", "compute_flop"]] + [[str(i), repr(1.0 + 0.6 * i ** 1.2), repr(1e18 * 2 ** i)]
                                                       for i in range(7)]
SCALING = [["x", "loss"]] + [[repr(10.0 ** (3 + i / 3)), repr(1.5 + 20.0 * (10.0 ** (3 + i / 3)) ** -0.3)]
                             for i in range(12)]
RND_INPUTS = [["domain", "year_index", "research_input"]] + [[d, str(t), repr(100.0 * 1.3 ** t)]
                                                             for d in ("A", "B") for t in range(8)]
RND_ENDPOINTS = [["domain", "t0", "t1", "efficiency_t0", "efficiency_t1"], ["A", "0", "7", "1", "300"],
                 ["B", "0", "7", "1", "40"]]

def _evidence_rows() -> list[list[str]]:
    """Three series of the shipped registry under new ids (the first 15 rows)."""
    text = resources.files("rsilab.estimate").joinpath("self_improvement_rounds.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    return [rows[0]] + [["fz_" + r[0]] + r[1:] for r in rows[1:16]]


EVIDENCE = _evidence_rows()

_cell = st.one_of(_text, st.sampled_from(["", "nan", "NaN", "inf", "-inf", "1e309", "-1e309", "0", "-1",
                                          "1e-320", "9" * 400, "  3 ", "1,5", "0x10", "\u0661\u0662", "true"]),
                  _float.map(repr), _int.map(str))


@st.composite
def mutated_csv(draw, rows: list[list[str]]) -> bytes:
    rows = [list(r) for r in rows]
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["cell", "cell", "cell", "drop_row", "dup_row", "drop_col", "rename_col",
                                       "add_col", "truncate", "ragged", "empty"]))
        if action == "cell" and len(rows) > 1:
            r = draw(st.integers(1, len(rows) - 1))
            c = draw(st.integers(0, len(rows[r]) - 1)) if rows[r] else 0
            if rows[r]:
                rows[r][c] = draw(_cell)
        elif action == "drop_row" and len(rows) > 1:
            del rows[draw(st.integers(1, len(rows) - 1))]
        elif action == "dup_row" and len(rows) > 1:
            rows.append(list(rows[draw(st.integers(1, len(rows) - 1))]))
        elif action == "drop_col" and rows and rows[0]:
            c = draw(st.integers(0, len(rows[0]) - 1))
            rows = [r[:c] + r[c + 1:] for r in rows]
        elif action == "rename_col" and rows and rows[0]:
            rows[0][draw(st.integers(0, len(rows[0]) - 1))] = draw(_text)
        elif action == "add_col":
            name = draw(_text)
            rows = [r + ([name] if i == 0 else [draw(_cell)]) for i, r in enumerate(rows)]
        elif action == "truncate":
            rows = rows[:draw(st.integers(0, len(rows)))]
        elif action == "ragged" and len(rows) > 1:
            rows[draw(st.integers(1, len(rows) - 1))].append(draw(_cell))
        elif action == "empty":
            rows = []
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    if draw(st.integers(0, 9)) == 0:  # now and then, bytes that are not UTF-8 or a stray NUL
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff\xfe", b"\x00", b"\r", b'"'])) + data[at:]
    return data


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


@pytest.fixture(scope="module")
def csv_tally():
    tallies = {name: Tally(f"CSV loader: {name}") for name in ("fit rounds", "fit scaling", "fit rnd-returns",
                                                                "evidence fit --add")}
    yield tallies
    for tally in tallies.values():
        tally.report()


@settings(FUZZ, max_examples=40)
@given(data=st.one_of(mutated_csv(ROUNDS), st.binary(max_size=200)))
def test_fuzz_rounds_csv(tmp_path_factory, csv_tally, data):
    tmp = tmp_path_factory.mktemp("rounds")
    path = tmp / "rounds.csv"
    path.write_bytes(data)
    check_cli(["fit", "rounds", str(path), "--bootstrap", "100", "--json"], path, tmp / "s.sqlite",
              csv_tally["fit rounds"], repr(data))


@settings(FUZZ, max_examples=40)
@given(data=st.one_of(mutated_csv(SCALING), st.binary(max_size=200)))
def test_fuzz_scaling_csv(tmp_path_factory, csv_tally, data):
    tmp = tmp_path_factory.mktemp("scaling")
    path = tmp / "scaling.csv"
    path.write_bytes(data)
    check_cli(["fit", "scaling", str(path), "--form", "power", "--bootstrap", "0", "--json"], path,
              tmp / "s.sqlite", csv_tally["fit scaling"], repr(data))


@settings(FUZZ, max_examples=40)
@given(which=st.sampled_from(["inputs", "endpoints"]), draw=st.data())
def test_fuzz_rnd_returns_csv(tmp_path_factory, csv_tally, which, draw):
    base = RND_INPUTS if which == "inputs" else RND_ENDPOINTS
    data = draw.draw(st.one_of(mutated_csv(base), st.binary(max_size=200)), label=which)
    tmp = tmp_path_factory.mktemp("rnd")
    inputs, endpoints = tmp / "inputs.csv", tmp / "endpoints.csv"
    inputs.write_bytes(data if which == "inputs" else _csv_bytes(RND_INPUTS))
    endpoints.write_bytes(data if which == "endpoints" else _csv_bytes(RND_ENDPOINTS))
    named = inputs if which == "inputs" else endpoints
    check_cli(["fit", "rnd-returns", str(inputs), str(endpoints), "--draws", "200", "--json"], named,
              tmp / "s.sqlite", csv_tally["fit rnd-returns"], f"{which}: {data!r}")


@settings(FUZZ, max_examples=30)
@given(data=st.one_of(mutated_csv(EVIDENCE), st.binary(max_size=200)))
def test_fuzz_evidence_csv(tmp_path_factory, csv_tally, data):
    tmp = tmp_path_factory.mktemp("evidence")
    path = tmp / "series.csv"
    path.write_bytes(data)
    check_cli(["evidence", "fit", "--method", "grid", "--add", str(path), "--only-added", "--json", "--plot",
               str(tmp / "forest.png")],
              path, tmp / "s.sqlite", csv_tally["evidence fit --add"], repr(data))


def test_the_unmutated_inputs_succeed(tmp_path):
    # The fuzz starts from valid inputs: each must give a result and one finished run.
    store = tmp_path / "s.sqlite"
    (tmp_path / "rounds.csv").write_bytes(_csv_bytes(ROUNDS))
    (tmp_path / "scaling.csv").write_bytes(_csv_bytes(SCALING))
    (tmp_path / "inputs.csv").write_bytes(_csv_bytes(RND_INPUTS))
    (tmp_path / "endpoints.csv").write_bytes(_csv_bytes(RND_ENDPOINTS))
    (tmp_path / "scenario.toml").write_text(to_toml(PRESETS["default.toml"]))
    (tmp_path / "series.csv").write_bytes(_csv_bytes(EVIDENCE))
    commands = [["fit", "rounds", str(tmp_path / "rounds.csv"), "--bootstrap", "100", "--json"],
                ["fit", "scaling", str(tmp_path / "scaling.csv"), "--form", "power", "--bootstrap", "0", "--json"],
                ["fit", "rnd-returns", str(tmp_path / "inputs.csv"), str(tmp_path / "endpoints.csv"), "--draws", "200",
                 "--json"],
                ["simulate", str(tmp_path / "scenario.toml"), "--samples", "64", "--json"],
                ["evidence", "fit", "--method", "grid", "--add", str(tmp_path / "series.csv"), "--only-added", "--json",
                 "--plot", str(tmp_path / "forest.png")]]
    for i, args in enumerate(commands, 1):
        res = CliRunner().invoke(cli, args + ["--store", str(store)])
        assert res.exit_code == 0, (args, res.output[-500:], res.stderr[-500:])
        assert _run_count(store) == (i, 0)
